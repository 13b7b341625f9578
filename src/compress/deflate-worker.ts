// Worker thread of the deflate pool (deflate-pool.ts): compresses one block per message.
import { parentPort } from 'node:worker_threads';
import { isImprintError } from '../errors.js';
import { deflateBlock } from './deflate.js';
import type { FromDeflateWorker, ToDeflateWorker } from './deflate-pool.js';

const port = parentPort;
if (port === null) throw new Error('deflate-worker.ts runs only as a worker thread');

port.on('message', (message: ToDeflateWorker) => {
  let reply: FromDeflateWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    let output = deflateBlock(message.job);
    // Only a buffer this thread owns alone may be transferred (never a slab of Node's Buffer pool).
    if (output.byteOffset !== 0 || output.byteLength !== output.buffer.byteLength) output = output.slice();
    reply = { id: message.id, output };
    transfer = [output.buffer as ArrayBuffer];
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
