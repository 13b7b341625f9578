#!/usr/bin/env bash
# `imprint diff` throughput (docs/benchmarks.md, section "imprint diff").
#
# Generates two images of ~500 MB uncompressed each (4 gzip layers of ~125 MB, files of 1 KiB..4 MiB,
# half random bytes and half text, so gzip has work to do) where B differs from A by one file in
# every layer: every layer pair must be streamed and compared. Then times, with hyperfine:
#   - decompressing every layer of both images, with `gzip -dc` and with Node's zlib (what imprint uses),
#   - `imprint diff oci:A oci:B` (from source through tsx; exits 1 because the images differ),
# and the diff's peak RSS (/usr/bin/time when installed). Needs hyperfine and node.
# Usage: bench/diff.sh [RUNS] [MB]   (default 3 runs, 500 MB per image); KEEP_WORK=DIR keeps (and reuses) the images.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-3}
mb=${2:-500}
work=$(mktemp -d /tmp/imprint-bench-diff.XXXXXX)
gen=$root/.cache/bench-diff-gen.ts
gunzip=$root/.cache/bench-diff-gunzip.mjs
dist=$root/.cache/bench-diff-dist
cli=$root/.cache/bench-diff-cli.mjs
mkdir -p "$root/.cache"
if [ -n "${KEEP_WORK:-}" ]; then work=$KEEP_WORK; mkdir -p "$work"; fi
trap 'if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; fi; rm -rf "$gen" "$gunzip" "$dist" "$cli"' EXIT

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node: $(node --version), zlib $(node -p process.versions.zlib); $(gzip --version | head -1); hyperfine: $(hyperfine --version)"

cat >"$gen" <<'TS'
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { compressStream } from '../src/compress/index.js';
import { sha256 } from '../src/digest/index.js';
import { canonicalJson } from '../src/oci/canonical-json.js';
import { MediaType } from '../src/oci/media-types.js';
import type { Descriptor } from '../src/oci/types.js';
import { BlobStore } from '../src/store/index.js';
import { type TarWriteEntry, tarStream } from '../src/tar/index.js';
import { parseReference, writeImageSet } from '../src/transport/index.js';

const [work, mbText] = process.argv.slice(2) as [string, string];
const layerBytes = (Number(mbText) * 1024 * 1024) / 4;
// deterministic pseudo-random bytes: sha256 in counter mode
function bytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash('sha256').update(`${seed}/${i}`).digest().copy(out, off);
  return out;
}
function text(seed: string, n: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'layer', 'image', 'tar', 'entry', 'digest', 'config'];
  const r = bytes(seed, Math.ceil(n / 6));
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) { const w = `${words[r[i % r.length]! % 10]}${i % 13 === 0 ? '\n' : ' '}`; parts.push(w); len += w.length; }
  return Buffer.from(parts.join('').slice(0, n));
}
function entries(layer: number, variant: string): TarWriteEntry[] {
  const out: TarWriteEntry[] = [{ path: `l${layer}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 }];
  let total = 0;
  for (let i = 0; total < layerBytes; i++) {
    const size = [1024, 16 * 1024, 256 * 1024, 4 * 1024 * 1024][i % 4]!;
    const changed = i === 7 && variant === 'b';
    const seed = `${layer}/${i}${changed ? '/changed' : ''}`;
    out.push({ path: `l${layer}/f${String(i).padStart(5, '0')}`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size,
      body: () => Readable.from([i % 2 === 0 ? bytes(seed, size) : text(seed, size)]) });
    total += size;
  }
  return out;
}
for (const variant of ['a', 'b']) {
  const store = new BlobStore(`${work}/store`);
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let l = 0; l < 4; l++) {
    const hash = createHash('sha256');
    const tar = tarStream(entries(l, variant));
    tar.on('data', (c: Buffer) => hash.update(c));
    const stored = await store.put(tar.pipe(compressStream({ compression: 'gzip', level: 1 })));
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: stored.digest, size: stored.size });
    diffIds.push(`sha256:${hash.digest('hex')}`);
  }
  const config = { mediaType: MediaType.ociConfig, ...(await store.putBytes(canonicalJson({
    architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created_by: `layer ${i}` })) }))) };
  const manifest = { mediaType: MediaType.ociManifest, ...(await store.putBytes(canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers }))), platform: { os: 'linux', architecture: 'amd64' } };
  await writeImageSet(parseReference(`oci:${work}/${variant}`), { index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifest] }, blobs: store });
  void sha256;
}
TS

cat >"$gunzip" <<'JS'
// Decompresses every file named on the command line with Node's zlib, one after another, with the
// chunk sizes imprint's decoder uses (1 MiB reads), output discarded.
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
for (const f of process.argv.slice(2)) {
  const out = createReadStream(f, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 256 * 1024 }));
  out.resume();
  await finished(out);
}
JS

echo "== compiling src/ to $dist (imprint runs compiled, as bin/imprint does from dist/)"
npx tsc -p tsconfig.build.json --outDir "$dist" >/dev/null || true # others' type errors do not stop emit
test -f "$dist/cli/main.js"
# what `imprint diff A B` does (src/cli/diff.ts), without the CLI module (its version.js finds
# package.json relative to dist/)
cat >"$cli" <<JS
import { diffImageSets, renderText } from '$dist/diff/index.js';
import { parseReference, readImageSet } from '$dist/transport/index.js';
const [, a, b] = process.argv.slice(2);
const r = await diffImageSets(await readImageSet(parseReference(a)), await readImageSet(parseReference(b)), {}, { a, b });
process.stdout.write(renderText(r));
process.exitCode = r.identical ? 0 : 1;
JS

echo "== generating two images of ${mb} MB (uncompressed) in $work"
if [ ! -f "$work/b/index.json" ]; then node --import tsx "$gen" "$work" "$mb"; fi
layers=()
for v in a b; do
  for d in $(node -e 'const fs=require("fs");const dir=process.argv[1];const ix=JSON.parse(fs.readFileSync(dir+"/index.json"));const m=JSON.parse(fs.readFileSync(dir+"/blobs/sha256/"+ix.manifests[0].digest.slice(7)));for(const l of m.layers)console.log(l.digest.slice(7))' "$work/$v"); do
    layers+=("$work/$v/blobs/sha256/$d")
  done
done
echo "layers: ${#layers[@]}, compressed $(du -cb "${layers[@]}" | tail -1 | cut -f1) bytes"

echo "== timings"
hyperfine --runs "$runs" --warmup 1 -i \
  -n 'gzip -dc (both images)' "gzip -dc ${layers[*]} >/dev/null" \
  -n 'node zlib gunzip (both images)' "node $gunzip ${layers[*]}" \
  -n 'imprint diff' "node $cli diff oci:$work/a oci:$work/b >/dev/null"

echo "== diff output and peak memory"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f 'peak RSS %M KiB, %e s' node $cli diff oci:"$work"/a oci:"$work"/b || true
else
  node $cli diff oci:"$work"/a oci:"$work"/b || true
fi
