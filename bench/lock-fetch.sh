#!/usr/bin/env bash
# Lock and fetch benchmarks (docs/benchmarks.md, section "Lock and fetch").
#
#   1. `imprint lock` of a ~30-package set (curl on bookworm, amd64) with a warm metadata cache,
#      online (3 Release files re-fetched and verified) and --offline; `imprint --version` for the
#      start-up cost. Runs the compiled CLI (bin/imprint, dist/ built by `npm run build` first).
#   2. A cold fetch of the .deb files locked for python3 + ca-certificates (amd64, ~18.6 MB) into an
#      empty store with fetchPackages (6 in flight, sha256 verified, fsynced), against curl fetching
#      the same URLs one after another (one process, one connection) and 6 at a time (xargs -P6),
#      and `node -e 0` for node's own start-up; plus the phases inside the fetching process.
#
# Needs the network to the host's Debian archive (the apt source for bookworm), hyperfine, curl, jq.
# Usage: bench/lock-fetch.sh [RUNS]   (default 5 runs per fetch command, 10 per lock command)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
work=$(mktemp -d /tmp/imprint-bench-lock.XXXXXX)
trap 'rm -rf "$work"' EXIT

npm run --silent build
imprint() { "$root/bin/imprint" "$@"; }
cache=$work/cache

spec() { # spec DIR PACKAGES
  mkdir -p "$1"
  cat >"$1/imprint.yaml" <<EOF
version: 1
platforms: [linux/amd64]
sources:
  - suites: [bookworm, bookworm-updates]
  - suites: [bookworm-security]
packages: [$2]
EOF
}
spec "$work/lock30" "curl"
spec "$work/py" "python3, ca-certificates"

echo "== machine"
echo "load before: $(cut -d" " -f1-3 /proc/loadavg)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "node: $(node --version); curl: $(curl --version | head -1 | cut -d' ' -f1-2); hyperfine: $(hyperfine --version)"

echo "== warming the metadata cache"
imprint --cache-dir "$cache" lock "$work/lock30"
imprint --cache-dir "$cache" lock "$work/py"

echo "== lock, warm metadata cache"
hyperfine --warmup 1 --runs $((runs * 2)) --export-markdown "$work/lock.md" \
  -n 'imprint --version (start-up)' "$root/bin/imprint --version" \
  -n 'imprint lock (curl, 32 packages)' "$root/bin/imprint --cache-dir $cache lock $work/lock30" \
  -n 'imprint lock --offline (curl, 32 packages)' "$root/bin/imprint --cache-dir $cache lock --offline $work/lock30"

echo "== cold fetch of the python3 + ca-certificates closure"
lock=$work/py/imprint.lock
jq -r '.sources as $s | .platforms["linux/amd64"][] | "\($s[.repo].url)/\(.filename)"' "$lock" >"$work/urls"
count=$(wc -l <"$work/urls")
bytes=$(jq '[.platforms["linux/amd64"][].size] | add' "$lock")
echo "$count files, $bytes bytes"

# Phases inside the process, in ms since it started (performance.now()): node ready to run this
# script, imprint's modules loaded, first body bytes, all blobs stored; and the CPU time of the fetch.
cat >"$work/fetch.mjs" <<EOF
const boot = performance.now();
const { appendFileSync, readFileSync } = await import('node:fs');
const { fetchPackages } = await import('$root/dist/debian/fetch.js');
const { lockDownloads } = await import('$root/dist/lock/create-downloads.js');
const { parseLock } = await import('$root/dist/lock/serialize.js');
const { BlobStore } = await import('$root/dist/store/index.js');
const imported = performance.now();
const [lockFile, storeDir] = process.argv.slice(2);
const lock = parseLock(readFileSync(lockFile), lockFile);
const started = performance.now();
const cpu = process.cpuUsage();
let firstByte = Number.NaN;
const onProgress = (p) => {
  if (Number.isNaN(firstByte) && p.bytes > 0) firstByte = performance.now();
};
const r = await fetchPackages(lockDownloads(lock), { store: new BlobStore(storeDir), onProgress });
const done = performance.now();
const used = process.cpuUsage(cpu);
appendFileSync('$work/fetch-times', \`\${boot} \${imported} \${firstByte} \${done} \${started} \${(used.user + used.system) / 1000}\\n\`);
if (r.fetched !== ${count}) throw new Error('expected ${count} downloads, got ' + r.fetched);
EOF

hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/fetch.md" --export-json "$work/fetch.json" \
  --prepare "rm -rf $work/store $work/curl && mkdir -p $work/curl" \
  -n 'node -e 0 (node start-up, the fixed cost)' "node -e 0" \
  -n 'imprint fetchPackages (6 in flight, verified)' "node $work/fetch.mjs $lock $work/store" \
  -n 'curl, sequential (one connection)' "xargs curl -sfL --remote-name-all --output-dir $work/curl <$work/urls" \
  -n 'curl, xargs -P6' "xargs -P6 -n1 curl -sfL --remote-name-all --output-dir $work/curl <$work/urls"

echo "== results (load after: $(cut -d" " -f1-3 /proc/loadavg))"
cat "$work/lock.md"
echo
cat "$work/fetch.md"
echo
echo "fetched: $count files, $bytes bytes"
echo "rates (bytes / mean wall time):"
jq -r --argjson b "$bytes" '.results[] | select(.command | startswith("node -e 0") | not) | "  \(.command): \(($b / .mean / 1e6 * 10 | floor) / 10) MB/s"' "$work/fetch.json"
echo "fetchPackages phases, ms since the process started (best of $(wc -l <"$work/fetch-times") runs by total):"
sort -g -k4 "$work/fetch-times" | head -1 | awk -v b="$bytes" '{
  printf "  node ready %.0f, modules loaded %.0f, first body byte %.0f, all stored %.0f\n", $1, $2, $3, $4
  printf "  fetch alone (lock parsed to all stored): %.0f ms wall (%.1f MB/s), %.0f ms CPU\n", $4 - $5, b / ($4 - $5) / 1e3, $6
}'
