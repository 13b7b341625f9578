// Worker thread of the deflate pool (deflate-pool.ts): compresses one block into a gzip member per message.
import { parentPort } from 'node:worker_threads';
import { isImprintError } from '../errors.js';
import type { FromDeflateWorker, ToDeflateWorker } from './deflate-pool.js';
import { gzipMember } from './gzip-member.js';

const port = parentPort;
if (port === null) throw new Error('deflate-worker.ts runs only as a worker thread');

port.on('message', (message: ToDeflateWorker) => {
  let reply: FromDeflateWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    // A fresh buffer of its own (never a slab of Node's Buffer pool), so it can be transferred.
    const output = gzipMember(message.job);
    const input = message.job.data;
    // The input goes back too, so the pool can reuse its buffer for another block.
    reply = { id: message.id, output, input };
    transfer = [output.buffer as ArrayBuffer, input.buffer as ArrayBuffer];
  } catch (err) {
    reply = {
      id: message.id,
      error: {
        ...(isImprintError(err) ? { code: err.code } : {}),
        message: err instanceof Error ? err.message : String(err),
      },
    };
  }
  port.postMessage(reply, transfer);
});
