// Helper process for blob-store.test.ts: writes one 4 MiB blob into the store at argv[2], prints its digest.
import { Readable } from 'node:stream';
import { BlobStore } from '../../src/store/index.js';

const root = process.argv[2];
if (root === undefined) throw new Error('usage: put-worker.ts STORE_ROOT');
const chunk = Buffer.alloc(64 * 1024, 0x5a);
const source = Readable.from(
  (async function* () {
    for (let i = 0; i < 64; i++) {
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
      yield chunk;
    }
  })(),
);
const stored = await new BlobStore(root).put(source);
process.stdout.write(`${stored.digest}\n`);
