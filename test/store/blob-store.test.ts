import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Digest, sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { BlobStore, readBounded, TEMP_PREFIX, writeFileAtomic } from '../../src/store/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshStore(): Promise<BlobStore> {
  return new BlobStore(await mkdtemp(join(dir, 's-')));
}

/** A stream that yields `chunks` and then fails with `err` (if given). */
function chunkStream(chunks: Buffer[], err?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const c of chunks) yield c;
      if (err) throw err;
    })(),
  );
}

async function readAll(s: Readable): Promise<Buffer> {
  return readBounded(s, 1 << 30, 'test');
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isImprintError(err), `expected an ImprintError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('BlobStore', () => {
  const data = Buffer.from('hello, content-addressed world\n');
  const digest = sha256(data);

  it('path is a pure function of the digest', () => {
    const store = new BlobStore('/x/y');
    assert.equal(store.path(digest), `/x/y/blobs/sha256/${digest.slice(7)}`);
    assert.throws(
      () => store.path('sha256:abc' as Digest),
      (e: unknown) => isImprintError(e, 'INVALID_IMAGE'),
    );
  });

  it('puts a stream, reports digest and size, and reads it back verified', async () => {
    const store = await freshStore();
    assert.equal(await store.has(digest), false);
    const stored = await store.put(chunkStream([data.subarray(0, 5), data.subarray(5)]));
    assert.deepEqual(stored, { digest, size: data.length });
    assert.equal(await store.has(digest), true);
    assert.deepEqual(await readAll(await store.open(digest)), data);
    assert.deepEqual(await readAll(await store.open({ digest, size: data.length })), data);
    assert.deepEqual(await store.readBytes({ digest, size: data.length }), data);
    const st = await stat(store.path(digest));
    assert.equal(st.mode & 0o777, 0o444);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });

  it('rejects a digest or size mismatch and leaves nothing behind', async () => {
    const store = await freshStore();
    const wrong = sha256('other');
    await rejectsWith(store.put(chunkStream([data]), { digest: wrong }), 'DIGEST_MISMATCH');
    await rejectsWith(store.put(chunkStream([data]), { size: data.length - 1 }), 'SIZE_MISMATCH');
    await rejectsWith(store.put(chunkStream([data]), { size: data.length + 1 }), 'SIZE_MISMATCH');
    await rejectsWith(store.putBytes(data, { digest: wrong }), 'DIGEST_MISMATCH');
    assert.equal(await store.has(wrong), false);
    assert.equal(await store.has(digest), false);
    assert.deepEqual(await readdir(store.tmpDir), []);
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);
  });

  it('writes a stream of many uneven chunks byte for byte (writes batched behind the source)', async () => {
    const store = await freshStore();
    const chunks: Buffer[] = [];
    let seed = 1;
    for (let total = 0; total < 3 << 20; ) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const chunk = Buffer.alloc(1 + (seed % 70_000), seed % 251);
      chunks.push(chunk);
      total += chunk.length;
    }
    const whole = Buffer.concat(chunks);
    const stored = await store.put(chunkStream(chunks), { digest: sha256(whole), size: whole.length });
    assert.deepEqual(stored, { digest: sha256(whole), size: whole.length });
    assert.ok((await readFile(store.path(stored.digest))).equals(whole));
    // read whole, and caught when corrupt
    assert.ok((await store.readBytes(stored, 4 << 20)).equals(whole));
    const file = store.path(stored.digest);
    await chmod(file, 0o644);
    whole[whole.length >> 1] = (whole[whole.length >> 1] as number) ^ 1;
    await writeFile(file, whole);
    await rejectsWith(store.readBytes(stored, 4 << 20), 'DIGEST_MISMATCH');
  });

  it('stops reading a source as soon as it exceeds the expected size', async () => {
    const store = await freshStore();
    let pulled = 0;
    const endless = Readable.from(
      (async function* () {
        for (;;) {
          pulled++;
          yield data;
        }
      })(),
    );
    await rejectsWith(store.put(endless, { size: data.length * 3 }), 'SIZE_MISMATCH');
    assert.ok(pulled < 100, `pulled ${pulled} chunks`);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });

  it('a failing source leaves nothing behind and surfaces the failure', async () => {
    const store = await freshStore();
    await assert.rejects(store.put(chunkStream([data], new Error('source broke'))), /source broke/);
    assert.deepEqual(await readdir(store.tmpDir), []);
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);
  });

  it('does not open a function source when the expected blob is present', async () => {
    const store = await freshStore();
    await store.putBytes(data);
    let opened = 0;
    const stored = await store.put(
      () => {
        opened++;
        return chunkStream([data]);
      },
      { digest, size: data.length },
    );
    assert.deepEqual(stored, { digest, size: data.length });
    assert.equal(opened, 0);
  });

  it('missing blobs are BLOB_NOT_FOUND', async () => {
    const store = await freshStore();
    await rejectsWith(store.open(digest), 'BLOB_NOT_FOUND');
    await rejectsWith(store.readBytes({ digest, size: 1 }), 'BLOB_NOT_FOUND');
  });

  it('verifies on read: a corrupted file fails with DIGEST_MISMATCH at the end of the stream', async () => {
    const store = await freshStore();
    await store.putBytes(data);
    const file = store.path(digest);
    await chmod(file, 0o644);
    const corrupt = Buffer.from(data);
    corrupt[0] = corrupt[0]! ^ 1;
    await writeFile(file, corrupt);
    await rejectsWith(readAll(await store.open(digest)), 'DIGEST_MISMATCH');
    await rejectsWith(store.readBytes({ digest, size: data.length }), 'DIGEST_MISMATCH');
    // a declared size that does not match the file fails before any byte is read
    await rejectsWith(store.open({ digest, size: data.length + 3 }), 'SIZE_MISMATCH');
    await rejectsWith(store.readBytes({ digest, size: data.length + 3 }), 'SIZE_MISMATCH');
    await rejectsWith(store.readBytes({ digest: sha256('absent'), size: 1 }), 'BLOB_NOT_FOUND');
    const empty = await store.putBytes(new Uint8Array(0));
    assert.equal((await store.readBytes(empty)).length, 0);
  });

  it('readBytes refuses blobs above the bound', async () => {
    const store = await freshStore();
    await store.putBytes(data);
    await rejectsWith(store.readBytes({ digest, size: data.length }, 4), 'INVALID_IMAGE');
  });

  it('concurrent writers of the same digest both succeed and leave one valid file', async () => {
    const store = await freshStore();
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const chunks = (): Buffer[] =>
      Array.from({ length: 48 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
    const results = await Promise.all(Array.from({ length: 6 }, () => store.put(chunkStream(chunks()))));
    for (const r of results) assert.deepEqual(r, { digest: sha256(big), size: big.length });
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), [sha256(big).slice(7)]);
    assert.deepEqual(await readdir(store.tmpDir), []);
    assert.equal((await readAll(await store.open(sha256(big)))).length, big.length);
  });

  it('concurrent writer processes of the same digest both succeed', async () => {
    const store = await freshStore();
    const script = fileURLToPath(new URL('./put-worker.ts', import.meta.url));
    const run = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, store.root], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve(out.trim()) : reject(new Error(`worker exited ${code}`)),
        );
      });
    const outs = await Promise.all([run(), run(), run()]);
    assert.equal(new Set(outs).size, 1);
    const [first] = outs;
    const d = first as Digest;
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), [d.slice(7)]);
    assert.equal(sha256(await readFile(store.path(d))), d);
  });

  it('copyFrom links or copies a blob from another store, and never leaves a temporary link', async () => {
    const a = await freshStore();
    const b = await freshStore();
    const stored = await a.putBytes(data);
    assert.deepEqual(await b.copyFrom(a, stored), stored);
    assert.deepEqual(await b.readBytes(stored), data);
    assert.deepEqual(await b.copyFrom(a, stored), stored); // present already
    assert.deepEqual(await a.copyFrom(a, stored), stored); // same file: rename of a link onto itself
    assert.deepEqual(await readdir(a.tmpDir), []);
    assert.deepEqual(await readdir(b.tmpDir), []);
    await rejectsWith(b.copyFrom(a, { digest: sha256('nope'), size: 4 }), 'BLOB_NOT_FOUND');
    await rejectsWith(b.copyFrom(a, { digest: stored.digest, size: 3 }), 'SIZE_MISMATCH');
  });

  it('cleanupStale removes only temporary files older than the cutoff', async () => {
    const store = await freshStore();
    await store.putBytes(data);
    const old = join(store.tmpDir, `${TEMP_PREFIX}old`);
    const fresh = join(store.tmpDir, `${TEMP_PREFIX}fresh`);
    const foreign = join(store.tmpDir, 'not-ours');
    await writeFile(old, 'partial');
    await writeFile(fresh, 'partial');
    await writeFile(foreign, 'x');
    await utimes(old, new Date(1000_000), new Date(1000_000));
    await utimes(fresh, new Date(3000_000), new Date(3000_000));
    assert.equal(await store.cleanupStale(new Date(2000_000)), 1);
    assert.deepEqual((await readdir(store.tmpDir)).sort(), [`${TEMP_PREFIX}fresh`, 'not-ours']);
    assert.equal(await store.has(digest), true);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file and leaves the previous content when the writer fails', async () => {
    const d = await mkdtemp(join(dir, 'atomic-'));
    const target = join(d, 'index.json');
    await writeFileAtomic(target, Buffer.from('one'));
    assert.equal(await readFile(target, 'utf8'), 'one');
    assert.equal((await stat(target)).mode & 0o777, 0o644);
    await assert.rejects(
      writeFileAtomic(target, () => chunkStream([Buffer.from('tw')], new Error('boom'))),
      /boom/,
    );
    assert.equal(await readFile(target, 'utf8'), 'one');
    assert.deepEqual(await readdir(d), ['index.json']);
    await writeFileAtomic(target, () => chunkStream([Buffer.from('tw'), Buffer.from('o')]));
    assert.equal(await readFile(target, 'utf8'), 'two');
  });

  it('says what to do when the file system is full (ENOSPC, EDQUOT), for a file and a blob', async () => {
    const d = await mkdtemp(join(dir, 'atomic-'));
    const target = join(d, 'out.tar');
    const full = (code: string) =>
      Object.assign(new Error(`${code}: no space left on device, write`), { code, errno: -28 });
    await assert.rejects(
      writeFileAtomic(target, () => chunkStream([Buffer.from('x')], full('ENOSPC'))),
      {
        code: 'IO',
        hint: `The file system holding ${d} is full: free space there, or name a directory on another file system.`,
      },
    );
    await assert.rejects(
      writeFileAtomic(target, () => chunkStream([], full('EDQUOT'))),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'IO'));
        assert.match(err.hint ?? '', /is over your quota/);
        return true;
      },
    );
    assert.deepEqual(await readdir(d), []);
    const store = await freshStore();
    await assert.rejects(
      store.put(() => chunkStream([Buffer.from('x')], full('ENOSPC'))),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'IO'), String(err));
        assert.match(err.hint ?? '', new RegExp(`The file system holding ${store.root} is full`));
        return true;
      },
    );
  });

  it('says why the file cannot be created (no such directory, not a directory) without naming its temporary file', async () => {
    const d = await mkdtemp(join(dir, 'atomic-'));
    const missing = join(d, 'no-such-dir', 'out.html');
    await assert.rejects(writeFileAtomic(missing, Buffer.from('x')), (err: unknown) => {
      assert.ok(isImprintError(err, 'IO'), String(err));
      assert.equal(err.message, `writing ${missing}: the directory ${join(d, 'no-such-dir')} does not exist`);
      assert.equal(err.details.code, 'ENOENT');
      assert.equal(err.cause, undefined);
      return true;
    });
    await writeFile(join(d, 'file'), 'x');
    await assert.rejects(writeFileAtomic(join(d, 'file', 'out'), Buffer.from('x')), {
      code: 'IO',
      message: `writing ${join(d, 'file', 'out')}: ${join(d, 'file')} is not a directory`,
    });
  });

  it('names the path and the code of a blob write that fails (the CLI tells a cache not writable from them)', async () => {
    const d = await mkdtemp(join(dir, 'blob-'));
    await writeFile(join(d, 'file'), 'x');
    const store = new BlobStore(join(d, 'file', 'imprint'));
    await assert.rejects(store.putBytes(Buffer.from('x')), (err: unknown) => {
      assert.ok(isImprintError(err, 'IO'), String(err));
      assert.equal(err.details.code, 'ENOTDIR');
      assert.ok(String(err.details.file).startsWith(join(d, 'file')), String(err.details.file));
      return true;
    });
  });
});
