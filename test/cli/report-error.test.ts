import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError, type Terminal } from '../../src/cli/output.js';
import { ImprintError } from '../../src/errors.js';

function terminal(): { t: Terminal; text: () => string } {
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  err.on('data', (c: Buffer) => chunks.push(c));
  return {
    t: { out: new PassThrough(), err, color: false, tty: false },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

describe('reportError', () => {
  it('prints a cause only when the message does not already quote it', () => {
    const full = new Error('ENOSPC: no space left on device, write');
    const quoted = terminal();
    reportError(
      quoted.t,
      new ImprintError('IO', `writing a blob into /c: ${full.message}`, { cause: full, hint: 'Free space.' }),
    );
    assert.equal(
      quoted.text(),
      'error: writing a blob into /c: ENOSPC: no space left on device, write\n  hint: Free space.\n',
    );
    const other = terminal();
    reportError(other.t, new ImprintError('IO', 'reading /x failed', { cause: new Error('EIO: i/o error') }));
    assert.equal(other.text(), 'error: reading /x failed\n  caused by: EIO: i/o error\n');
  });
});
