import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { type ContentRef, ContentSpool, emptySpoolStats } from '../../src/debian/install-spool.js';
import { ioError } from '../../src/debian/install-spool-io.js';

const root = mkdtempSync(join(tmpdir(), 'imprint-spool-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `s${++n}`);

/** Deterministic bytes: `size` bytes derived from `seed`. */
function body(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A stream of `data` in chunks of `chunk` bytes, yielding to the event loop between chunks. */
function slowly(data: Buffer, chunk: number): Readable {
  return Readable.from(
    (async function* () {
      for (let off = 0; off < data.length; off += chunk) {
        await new Promise((r) => setImmediate(r));
        yield data.subarray(off, off + chunk);
      }
    })(),
  );
}

async function read(spool: ContentSpool, ref: ContentRef): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await spool.opener(ref, 'x')()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const packFiles = (dir: string): string[] =>
  existsSync(join(dir, 'tmp')) ? readdirSync(join(dir, 'tmp')).filter((f) => f.includes('pack')) : [];

describe('ContentSpool', () => {
  it('overlapping captures each get their own bytes', async () => {
    const dir = freshDir();
    const spool = new ContentSpool(dir);
    const bodies = Array.from({ length: 40 }, (_, i) => body(1000 + i * 37_000, i));
    const tally = emptySpoolStats();
    const refs = await Promise.all(
      bodies.map((b, i) => spool.capture(slowly(b, 4096 + i * 100), b.length, `f${i}`, tally)),
    );
    for (const [i, ref] of refs.entries()) {
      assert.equal(
        ref.sha256,
        createHash('sha256')
          .update(bodies[i] as Buffer)
          .digest('hex'),
      );
      assert.ok((await read(spool, ref)).equals(bodies[i] as Buffer), `body ${i}`);
    }
    assert.equal(tally.packedFiles, 29); // up to 1 MiB; the 11 larger ones are content-addressed files
    assert.equal(tally.spooledFiles, 11);
    assert.deepEqual(tally, spool.stats);
    await spool.flush();
    await spool.close();
    assert.deepEqual(packFiles(dir), []);
    await assert.rejects(read(spool, refs[0] as ContentRef), { code: 'INTERNAL' });
  });

  it('small bodies stay in memory within the budget; larger ones, and small ones beyond it, go to the pack file', async () => {
    const dir = freshDir();
    const spool = new ContentSpool(dir, { memoryBudget: 4 * 1024 * 1024 });
    const small = Array.from({ length: 400 }, (_, i) => body(10_000 + i, 200 + i)); // one segment: kept
    const medium = Array.from({ length: 12 }, (_, i) => body(500_000 + i, 300 + i)); // over the 64 KiB limit
    const refs = [];
    for (const [i, b] of small.entries())
      refs.push(await spool.capture(Readable.from([b]), b.length, `s${i}`));
    await spool.flush();
    assert.deepEqual(packFiles(dir), [], 'no pack file while only small bodies came');
    for (const [i, b] of medium.entries())
      refs.push(await spool.capture(slowly(b, 65536), b.length, `m${i}`));
    const more = Array.from({ length: 800 }, (_, i) => body(10_000, 1000 + i)); // a second and third small segment
    for (const [i, b] of more.entries())
      refs.push(await spool.capture(Readable.from([b]), b.length, `x${i}`));
    await spool.flush();
    const [pack] = packFiles(dir);
    assert.ok(pack !== undefined);
    // Written: the medium segment sealed when full (8 bodies), and the second small segment (over budget).
    const all = [...small, ...medium, ...more];
    for (const [i, ref] of refs.entries())
      assert.ok((await read(spool, ref)).equals(all[i] as Buffer), `body ${i}`);
    const big = body(2_000_000, 99);
    const file = await spool.capture(Readable.from([big]), big.length, 'large');
    assert.equal(file.store, 'file');
    assert.ok((await read(spool, file)).equals(big));
    // Beyond 16 MiB a spooled body is streamed rather than read whole.
    const huge = body(17 * 1024 * 1024, 98);
    const streamed = await spool.capture(Readable.from([huge]), huge.length, 'huge');
    assert.ok((await read(spool, streamed)).equals(huge));
    await spool.close();
    assert.deepEqual(packFiles(dir), []);
  });

  it('openers give packed bodies synchronously (in memory, in the pack file, adopted), never after close', async () => {
    const dir = freshDir();
    const writer = new ContentSpool(dir, { memoryBudget: 0 });
    const bodies = [body(10, 1), body(100_000, 2), body(5_000, 3), body(0, 4), body(700_000, 5)];
    const refs: ContentRef[] = [];
    for (const [i, b] of bodies.entries())
      refs.push(await writer.capture(Readable.from([b]), b.length, `y${i}`));
    const large = await writer.capture(Readable.from([body(2_000_000, 6)]), 2_000_000, 'large');
    assert.equal(writer.opener(large, 'large').sync, undefined, 'content-addressed files are streamed');
    const check = (spool: ContentSpool, where: string) => {
      for (const [i, ref] of refs.entries()) {
        const whole = spool.opener(ref, `y${i}`).sync?.();
        assert.ok(whole?.equals(bodies[i] as Buffer), `${where}, body ${i}`);
      }
    };
    check(writer, 'segments in memory');
    await writer.flush();
    const pack = await writer.packPath();
    assert.ok(pack !== undefined, 'flush() wrote the segments to the pack file');
    check(writer, 'the pack file');
    const reader = new ContentSpool(dir);
    reader.adopt(pack);
    const first = refs[1] as ContentRef;
    assert.equal(reader.opener(first, 'y1').sync?.(), undefined, 'not before the pack is open');
    assert.ok((await read(reader, first)).equals(bodies[1] as Buffer));
    assert.ok(
      reader
        .opener(first, 'y1')
        .sync?.()
        ?.equals(bodies[1] as Buffer),
      'once it is open',
    );
    await reader.close();
    assert.equal(reader.opener(first, 'y1').sync?.(), undefined);
    await assert.rejects(read(reader, first), { code: 'INTERNAL' });
    await writer.close();
    assert.equal(writer.opener(refs[0] as ContentRef, 'y0').sync?.(), undefined);
  });

  it('openers read a range in place: from a segment in memory, the pack file, or a body file of its own', async () => {
    const dir = freshDir();
    const spool = new ContentSpool(dir, { memoryBudget: 0 });
    const packed = body(300_000, 7);
    const own = body(3_000_000, 8);
    const packedRef = await spool.capture(Readable.from([packed]), packed.length, 'packed');
    const ownRef = await spool.capture(Readable.from([own]), own.length, 'own');
    assert.equal(ownRef.store, 'file');
    const ranges: Array<[number, number]> = [
      [0, 64],
      [1234, 99_000],
      [packed.length - 10, packed.length],
      [500, 500],
    ];
    const check = (ref: ContentRef, data: Buffer, where: string) => {
      const range = spool.opener(ref, where).range;
      assert.ok(range !== undefined, where);
      for (const [s, e] of ranges)
        assert.ok(range(s, e)?.equals(data.subarray(s, e)), `${where} [${s}, ${e})`);
      assert.equal(range(0, data.length + 1), undefined, `${where}: beyond the body`);
    };
    check(packedRef, packed, 'segment in memory');
    check(ownRef, own, 'body file');
    await spool.flush();
    check(packedRef, packed, 'pack file');
    // A body file of another size than recorded (the spool changed): no range; the stream reports it.
    const file = (ownRef as Extract<ContentRef, { store: 'file' }>).path;
    writeFileSync(file, own.subarray(0, 1000));
    assert.equal(spool.opener(ownRef, 'own').range?.(0, 10), undefined);
    await assert.rejects(read(spool, ownRef), { code: 'SIZE_MISMATCH' });
    await spool.close();
    assert.equal(spool.opener(packedRef, 'packed').range?.(0, 10), undefined, 'never after close');
  });

  it("a packed body's opener is one function: sync and range come from its prototype (a tree holds one a file)", async () => {
    const dir = freshDir();
    const spool = new ContentSpool(dir);
    const data = body(5_000, 9);
    const ref = await spool.capture(Readable.from([data]), data.length, 'small');
    const open = spool.opener(ref, 'pkg_1_all.deb', 'usr/share/x');
    // Own sync/range functions cost ~150 bytes a file more (three functions and a property array).
    assert.deepEqual(
      Object.getOwnPropertyNames(open).filter((k) => k === 'sync' || k === 'range'),
      [],
    );
    assert.ok(open.sync?.()?.equals(data));
    assert.ok(open.range?.(10, 20)?.equals(data.subarray(10, 20)));
    assert.equal(open.range?.(0, data.length + 1), undefined);
    assert.ok((await read(spool, ref)).equals(data));
    // Every empty body shares one opener.
    const empty = await spool.capture(Readable.from([]), 0, 'empty');
    assert.equal(spool.opener(empty, 'a', 'x'), spool.opener(empty, 'b', 'y'));
    await spool.close();
    // Errors still name the package and the path.
    await assert.rejects(async () => open(), /pkg_1_all\.deb: \/usr\/share\/x/);
  });

  it('with memoryBudget 0, flush() puts every ref in the pack file for another spool to read', async () => {
    const dir = freshDir();
    const writer = new ContentSpool(dir, { memoryBudget: 0 });
    const bodies = [body(10, 1), body(3_000_000, 2), body(2_000_000, 3), body(5, 4)];
    const refs = [];
    for (const [i, b] of bodies.entries())
      refs.push(await writer.capture(Readable.from([b]), b.length, `h${i}`));
    await writer.flush();
    const pack = await writer.packPath();
    assert.ok(pack !== undefined && statSync(pack).size > 0);
    const reader = new ContentSpool(dir);
    reader.adopt(pack);
    for (const [i, ref] of refs.entries()) assert.ok((await read(reader, ref)).equals(bodies[i] as Buffer));
    await reader.close(); // deletes the adopted pack
    assert.deepEqual(packFiles(dir), []);
  });

  it('large bodies get files of their own, deleted on close; a worker hands its files to the spool that reads them', async () => {
    const dir = freshDir();
    const worker = new ContentSpool(dir, { packThreshold: 1000, memoryBudget: 0 });
    const main = new ContentSpool(dir, { packThreshold: 1000 });
    const big = body(50_000, 3);
    const ref = await worker.capture(Readable.from([big]), big.length, 'big');
    assert.equal(ref.store, 'file');
    const bodyFiles = () => readdirSync(join(dir, 'tmp')).filter((f) => f.includes('body'));
    assert.equal(bodyFiles().length, 1);
    main.adoptFiles(worker.takeFiles());
    await worker.close(); // handed over: not the worker's to delete
    assert.ok((await read(main, ref)).equals(big));
    await main.close();
    assert.deepEqual(bodyFiles(), [], 'nothing of the build stays in the cache');
    assert.deepEqual(readdirSync(dir), ['tmp']);
  });

  it('identical bodies are stored once; sizes must match the header', async () => {
    const spool = new ContentSpool(freshDir());
    const b = body(5000, 9);
    const one = await spool.capture(Readable.from([b]), b.length, 'a');
    const two = await spool.capture(Readable.from([b]), b.length, 'b');
    assert.deepEqual(one, two);
    assert.equal(spool.stats.duplicateFiles, 1);
    await assert.rejects(spool.capture(Readable.from([b]), b.length + 1, 'short'), { code: 'TAR_INVALID' });
    await assert.rejects(spool.capture(Readable.from([b]), b.length - 1, 'long'), { code: 'TAR_INVALID' });
    await assert.rejects(spool.capture(Readable.from([b]), 0, 'not empty'), { code: 'TAR_INVALID' });
    const empty = await spool.capture(Readable.from([]), 0, 'empty');
    assert.equal(empty.store, 'empty');
    // A failed capture leaves the others intact.
    assert.ok((await read(spool, one)).equals(b));
    await spool.close();
  });
});

describe('spool errors', () => {
  it('tell a cache this user cannot write (another user’s, read-only) from a full one', () => {
    const errno = (code: string) =>
      Object.assign(new Error(`${code}: failed, open '/c/spool/tmp/x'`), { code });
    for (const code of ['EACCES', 'EPERM', 'EROFS'])
      assert.match(
        ioError('cannot create a spool file in /c/spool', errno(code)).hint ?? '',
        /this user cannot write there .*--cache-dir DIR/,
        code,
      );
    assert.match(
      ioError('writing the build spool in /c/spool', errno('ENOSPC')).hint ?? '',
      /free space there/,
    );
  });
});
