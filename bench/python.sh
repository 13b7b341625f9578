#!/usr/bin/env bash
# Benchmarks the main job (examples/python: python3 + ca-certificates) against peers, with hyperfine:
#   warm    imprint build, packages cached, layer cache cold (install + tar + gzip -6); also with
#           IMPRINT_NATIVE_DEFLATE=0 (the WebAssembly libdeflate, as on hosts without Debian 12's libdeflate0)
#           and with IMPRINT_LIBLZMA=0 (xz processes instead of the in-process liblzma)
#   nochange imprint build with every layer cached
#   cold    imprint build from an empty cache (downloads included)
#   c-tools the irreducible work in one C pipeline on the same .debs:
#           ar p | xz -dc | tee >(sha256sum) | gzip -6 -n | sha256sum
#   mmdebstrap --variant=extract of the same package list to a tarball (downloads included)
# and peak memory of the warm build (/usr/bin/time -v). Prints a Markdown table; run from the repo root
# after `npm ci`. Needs hyperfine, mmdebstrap, xz-utils, binutils (ar).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache="$work/cache"
spec="$work/python"
cp -r examples/python "$spec"
rm -rf "$spec/out" "$spec/imprint.lock"
imprint=("$PWD/bin/imprint" --cache-dir "$cache") # as the README runs it (its sh launcher, then node)
export SOURCE_DATE_EPOCH=1700000000

"${imprint[@]}" build "$spec" -o "oci:$work/out" >/dev/null   # lock, fetch, fill caches
mapfile -t debs < <(node -e '
  const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const p of lock.platforms["linux/amd64"]) console.log(process.argv[2] + "/blobs/sha256/" + p.sha256);
' "$spec/imprint.lock" "$cache")
pkgs=$(node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(l.platforms["linux/amd64"].map(p=>p.name).join(","))' "$spec/imprint.lock")
bytes=$(cat "${debs[@]}" | wc -c)
cat > "$work/c-tools.sh" <<SH
set -e
for f in ${debs[*]}; do ar p "\$f" \$(ar t "\$f" | grep '^data\.tar'); done | xz -dc | tee >(sha256sum >/dev/null) | gzip -6 -n | sha256sum >/dev/null
SH
suite_url=$(node --input-type=module -e '
  const { findAptSource } = await import(process.argv[1] + "/dist/debian/apt-sources.js");
  console.log((await findAptSource("bookworm")).url);
' "$PWD")

echo "# ${#debs[@]} packages, $bytes bytes of .deb files"
echo "# deflate engine: $(node --input-type=module -e 'const m = await import(process.argv[1] + "/dist/compress/libdeflate.js"); console.log(m.deflateEngine())' "$PWD")"
hyperfine --runs "$runs" --export-markdown "$work/table.md" \
  --command-name 'imprint build, warm (layer cache cold)' --prepare "rm -rf $cache/layers" "${imprint[*]} build $spec -o oci:$work/out" \
  --command-name 'imprint build, warm, WebAssembly deflate only' --prepare "rm -rf $cache/layers" "env IMPRINT_NATIVE_DEFLATE=0 ${imprint[*]} build $spec -o oci:$work/out" \
  --command-name 'imprint build, warm, xz program instead of liblzma' --prepare "rm -rf $cache/layers" "env IMPRINT_LIBLZMA=0 ${imprint[*]} build $spec -o oci:$work/out" \
  --command-name 'imprint build, no change' --prepare true "${imprint[*]} build $spec -o oci:$work/out" \
  --command-name 'C tools: ar | xz -dc | gzip -6' --prepare true "bash $work/c-tools.sh" \
  --command-name 'imprint build, cold (downloads)' --prepare "rm -rf $cache" "${imprint[*]} build $spec -o oci:$work/out" \
  --command-name 'mmdebstrap --variant=extract (downloads)' --prepare "rm -f $work/mm.tar" "mmdebstrap --quiet --variant=extract --include=$pkgs bookworm $work/mm.tar $suite_url"
cat "$work/table.md"

# The ratio to the C pipeline, in alternating pairs: on a shared VM the machine's speed drifts by
# tens of percent within minutes, which skews two hyperfine series run one after the other. CPU is
# read system-wide from /proc/stat (with IMPRINT_LIBLZMA=0, imprint's xz children are reaped by
# init, so /usr/bin/time under-counts them).
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
timed() { # prints "wall_s cpu_s" of "$@"
  local b0 t0 b1 t1
  b0=$(busy); t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); b1=$(busy)
  echo "$(echo "$t1 - $t0" | bc) $(echo "scale=2; ($b1 - $b0) / $(getconf CLK_TCK)" | bc)"
}
pairs=${PAIRS:-7}
echo
echo "| pair | imprint warm: wall s (CPU s) | C pipeline: wall s (CPU s) | ratio |"
echo "|---:|---:|---:|---:|"
ratios=()
for i in $(seq "$pairs"); do
  rm -rf "$cache/layers"
  read -r iw ic < <(timed "${imprint[@]}" build "$spec" -o "oci:$work/out")
  read -r cw cc < <(timed bash "$work/c-tools.sh")
  r=$(echo "scale=3; $iw / $cw" | bc)
  ratios+=("$r")
  printf '| %d | %.2f (%.2f) | %.2f (%.2f) | %.2f |\n' "$i" "$iw" "$ic" "$cw" "$cc" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median ratio %.2f (min %.2f, max %.2f)\n", a[int((NR+1)/2)], a[1], a[NR]}'

rm -rf "$cache/layers"
/usr/bin/time -v "${imprint[@]}" build "$spec" -o "oci:$work/out" 2>&1 >/dev/null | grep -E 'Maximum resident|Elapsed'
