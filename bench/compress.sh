#!/usr/bin/env bash
# gzip layer compression (src/compress/README.md, section "Throughput").
#
# Compresses one fixed input, an uncompressed tar of system directories (default: /usr/lib/python3*:
# python3 and python3.11 on Debian 12, ~99 MB; sorted names, mtime 0 and numeric owners, so it is
# stable across runs), at level 6 with:
#   - imprint's compressStream (one gzip member per 1 MiB block, libdeflate 1.14 in WebAssembly) with the
#     default worker count and with 1 (inline),
#   - Node's zlib createGzip (fast, but its bytes depend on the CPU and the Node build),
#   - gzip -6 -n and, when installed, pigz -6 -n.
# imprint runs from a private compiled copy of src/ (under .cache/, as the CLI runs from dist/), so
# worker threads start without the tsx loader. Prints hyperfine's table, then MB/s and sizes.
# Needs hyperfine and node; pigz is optional. Usage: bench/compress.sh [RUNS] [DIR...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
shift || true
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then dirs=(/usr/lib/python3*); fi
work=$(mktemp -d /tmp/imprint-bench-compress.XXXXXX)
# Compiled code and the driver live in the checkout (.cache/ is ignored) so that dependencies resolve.
dist=$root/.cache/bench-compress-dist
run=$root/.cache/bench-compress-run.mjs
mkdir -p "$root/.cache"
trap 'rm -rf "$work" "$dist" "$run"' EXIT

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node: $(node --version), zlib $(node -p process.versions.zlib); $(gzip --version | head -1); hyperfine: $(hyperfine --version)"
if command -v pigz >/dev/null; then echo "$(pigz --version 2>&1)"; fi

echo "== input"
input=$work/input.tar
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$input" "${dirs[@]}" 2>/dev/null
bytes=$(stat -c %s "$input")
echo "tar of ${dirs[*]}: $bytes bytes"

echo "== compiling src/ to $dist"
npx tsc -p tsconfig.build.json --outDir "$dist" >/dev/null || true # others' type errors do not stop emit
test -f "$dist/compress/index.js"

# node run.mjs MODE [WORKERS] < input > output
cat >"$run" <<EOF
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { compressStream } from '$dist/compress/index.js';

const [mode, workers] = process.argv.slice(2);
const codec =
  mode === 'imprint' ? compressStream({ compression: 'gzip', level: 6, ...(workers ? { workers: Number(workers) } : {}) })
  : zlib.createGzip({ level: 6 });
await pipeline(createReadStream('$input', { highWaterMark: 1 << 20 }), codec, process.stdout);
EOF

names=()
commands=()
add() { names+=("$1"); commands+=("$2"); }
add "imprint (default workers: $(node -p "Math.min(require('os').availableParallelism(), 4)"))" "node $run imprint"
add 'imprint, 1 worker (inline)' "node $run imprint 1"
add 'Node zlib createGzip' "node $run zlib"
add 'gzip -6 -n' "gzip -6 -n -c $input"
if command -v pigz >/dev/null; then add "pigz -6 -n ($(nproc) threads)" "pigz -6 -n -c $input"; fi

echo "== compressed sizes (and round trip through gzip -dc)"
for i in "${!commands[@]}"; do
  ${commands[$i]} >"$work/out.gz"
  gzip -dc "$work/out.gz" | cmp -s - "$input" || { echo "round trip failed: ${names[$i]}"; exit 1; }
  printf '%-40s %10d bytes  ratio %.4f  sha256 %s\n' "${names[$i]}" "$(stat -c %s "$work/out.gz")" \
    "$(echo "$bytes / $(stat -c %s "$work/out.gz")" | bc -l)" "$(sha256sum "$work/out.gz" | cut -c1-16)"
done

echo "== time ($runs runs each)"
args=()
for i in "${!commands[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]} >/dev/null"); done
hyperfine --warmup 1 --runs "$runs" --export-json "$work/times.json" --export-markdown "$work/times.md" "${args[@]}"
cat "$work/times.md"
echo
node -e '
const r = require(process.argv[1]).results; const bytes = Number(process.argv[2]);
for (const x of r) console.log(`${x.command.padEnd(40)} ${(bytes / 1e6 / x.mean).toFixed(1).padStart(6)} MB/s (mean ${x.mean.toFixed(2)} s, user+sys ${(x.user + x.system).toFixed(2)} s)`);
' "$work/times.json" "$bytes"
