import { pipeline, Readable } from 'node:stream';
import { openDecompressed } from '../compress/index.js';
import { HashingStream } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { layerWhiteout } from '../oci/whiteout.js';
import { readTar, type TarReadEntry } from '../tar/index.js';
import { implicitDirMeta, type VNode } from '../vfs/node.js';
import { FileTree } from '../vfs/tree.js';

/** The origin of every node that comes from the base image. */
export const BASE_ORIGIN = 'base';

/** Files under these prefixes (small ones) are kept in memory while scanning: what effects read. */
const KEEP_PREFIXES = ['etc/'];
const KEEP_MAX_FILE = 256 * 1024;
const KEEP_MAX_TOTAL = 16 * 1024 * 1024;

/** The base image's filesystem as a tree, and its nodes by key (the identity a changeset compares). */
export interface LowerTree {
  tree: FileTree;
  nodes: ReadonlyMap<string, VNode>;
}

/**
 * Reads the base's layers in order into a tree of metadata (OCI whiteouts and opaque directories
 * applied; each layer's uncompressed digest checked against `diffIds`, the config's, where given), for laying the build's own content over it. File contents are not kept, except small files
 * under /etc (accounts, configuration effects merge them); other contents are read again from their
 * layer when something opens them. Cost: decompresses and parses every base layer once.
 */
export async function lowerTree(
  blobs: BlobReader,
  layers: readonly Descriptor[],
  diffIds: readonly string[] = [],
): Promise<LowerTree> {
  const tree = new FileTree(implicitDirMeta(0));
  let kept = 0;
  for (const [i, layer] of layers.entries()) {
    const what = `base layer ${layer.digest}`;
    const { stream: tar } = await openDecompressed(await blobs.open(layer), { what });
    const hashing = new HashingStream();
    // The callback form returns the last stream; an error of either destroys both.
    const stream = pipeline(tar, hashing, () => undefined);
    const opaque: string[] = [];
    const whiteouts: string[] = [];
    const entries: Array<{ key: string; node: VNode }> = [];
    for await (const e of readTar(stream, { archive: what })) {
      const key = e.path.replace(/\/$/, '');
      const wh = layerWhiteout(key, what);
      if (wh !== null) {
        if ('opaqueDir' in wh) opaque.push(wh.opaqueDir);
        else whiteouts.push(wh.removes);
        continue;
      }
      let body: Buffer | undefined;
      if (e.type === 'file' && e.size <= KEEP_MAX_FILE && kept + e.size <= KEEP_MAX_TOTAL && keep(key)) {
        body = await collect(e.body, e.size);
        kept += e.size;
      }
      entries.push({ key, node: nodeOf(e, body, () => readLayerFile(blobs, layer, key, e.size)) });
    }
    // readTar read the stream to its end: the digest is complete.
    const diffId = diffIds[i];
    if (diffId !== undefined && hashing.digest() !== diffId) {
      throw new ImprintError(
        'INVALID_IMAGE',
        `${what}: its uncompressed content is ${hashing.digest()}, but the config's rootfs.diff_ids[${i}] is ${diffId}`,
        {
          hint: 'Runtimes refuse an image whose layers are not its diff_ids, and one built on it alike: rebuild or fetch the base image again, then run `imprint lock`.',
          details: { layer: layer.digest, index: i, expected: diffId, found: hashing.digest() },
        },
      );
    }
    // A layer's whiteouts hide what the layers below hold (the tree holds nothing else yet); its own
    // entries then apply. Each removal costs what it removes, so a layer of 40,000 whiteouts is linear.
    for (const dir of opaque) tree.removeBelow(dir);
    for (const gone of whiteouts) tree.remove(gone);
    for (const { key, node } of entries) tree.add(key, node, { onExisting: 'replace' });
  }
  const nodes = new Map<string, VNode>();
  for (const key of tree.keys()) nodes.set(key, tree.get(key)!);
  return { tree, nodes };
}

function keep(key: string): boolean {
  return KEEP_PREFIXES.some((p) => key.startsWith(p));
}

function nodeOf(e: TarReadEntry, body: Buffer | undefined, reread: () => Promise<Readable>): VNode {
  const meta = {
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    origin: BASE_ORIGIN,
    ...(e.xattrs !== undefined && Object.keys(e.xattrs).length > 0 ? { xattrs: e.xattrs } : {}),
  };
  switch (e.type) {
    case 'file':
      return {
        ...meta,
        kind: 'file',
        size: e.size,
        content: body === undefined ? reread : () => Readable.from([body]),
      };
    case 'dir':
      return { ...meta, kind: 'dir' };
    case 'symlink':
      return { ...meta, kind: 'symlink', target: e.linkname ?? '' };
    case 'hardlink':
      return { ...meta, kind: 'hardlink', target: `/${e.linkname ?? ''}` };
    case 'char':
    case 'block':
      return { ...meta, kind: e.type, major: e.devmajor ?? 0, minor: e.devminor ?? 0 };
    case 'fifo':
      return { ...meta, kind: 'fifo' };
  }
}

async function collect(body: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  const out = Buffer.concat(chunks);
  if (out.length !== size)
    throw new ImprintError('TAR_INVALID', `a body of ${out.length} bytes, expected ${size}`);
  return out;
}

/** The content of one file of a base layer, found by scanning the layer again. Buffers that file. */
async function readLayerFile(
  blobs: BlobReader,
  layer: Descriptor,
  key: string,
  size: number,
): Promise<Readable> {
  const what = `base layer ${layer.digest}`;
  const { stream } = await openDecompressed(await blobs.open(layer), { what });
  for await (const e of readTar(stream, { archive: what })) {
    if (e.path === key && e.type === 'file') return Readable.from([await collect(e.body, size)]);
  }
  throw new ImprintError('INTERNAL', `${what}: /${key} is no longer in the layer`);
}
