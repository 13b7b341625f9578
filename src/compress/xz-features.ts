import { ImprintError } from '../errors.js';
import { crc32 } from './crc32.js';

// The .xz container (xz-file-format-1.2.0) read for its headers only, so that the host's xz accepts
// exactly what the WebAssembly decoder (xz-embedded, built without BCJ filters, SHA-256 checks or
// dictionaries over 64 MiB) accepts: a build must not succeed on one machine and fail on another.
// Compressed data is skipped by the sizes its LZMA2 chunk headers give, never decoded. Anything
// malformed stops the walk: the decoder then reports the corruption itself.

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
/** Check field size by check ID (0 none, 1 CRC32, 4 CRC64, 10 SHA-256, the rest reserved). */
const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const SUPPORTED_CHECKS = new Set([0, 1, 4]);
const LZMA2_FILTER_ID = 0x21;
/** LZMA2 dictionary-size byte 28 is 64 MiB, the largest the WebAssembly decoder allows. */
const MAX_DICT_PROPS = 28;

type State =
  | 'stream-header'
  | 'block-start'
  | 'block-header'
  | 'chunk-control'
  | 'chunk-uncompressed'
  | 'chunk-lzma'
  | 'index'
  | 'stream-padding'
  | 'lost';

/**
 * Follows an xz stream's structure as its bytes go by and throws COMPRESSION_UNSUPPORTED (naming
 * `what`) at the first stream or block using what the WebAssembly decoder lacks: a check other than
 * none/CRC32/CRC64, reserved flags, a filter chain other than LZMA2 alone, a dictionary over 64 MiB.
 * Cost: header bytes only; bodies are skipped by count.
 */
export class XzFeatureCheck {
  readonly #what: string;
  #state: State = 'stream-header';
  readonly #buf = Buffer.alloc(1024); // a block header is at most 1024 bytes
  #need = MAGIC.length + 6;
  #have = 0;
  #skip = 0;
  #checkSize = 0;
  /** Bytes of the current block's LZMA2 data so far (for the block padding). */
  #compressed = 0;
  /** Index: varints still to read, the one being read, bytes so far. */
  #indexVarints = 0;
  #indexSize = 0;
  #countValue = 0;
  #countShift = 0;
  #padding = 0;

  constructor(what: string) {
    this.#what = what;
  }

  /**
   * feed() for a Transform's _transform: true when the chunk may be decoded; false once the failure
   * went to `callback`.
   */
  admit(chunk: Uint8Array, callback: (err: Error) => void): boolean {
    try {
      this.feed(chunk);
      return true;
    } catch (err) {
      callback(err as Error);
      return false;
    }
  }

  /** Takes the next bytes of the stream; throws COMPRESSION_UNSUPPORTED for an unsupported feature. */
  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && this.#state !== 'lost') {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(this.#need - this.#have, chunk.length - i);
      this.#buf.set(chunk.subarray(i, i + n), this.#have);
      this.#have += n;
      i += n;
      if (this.#have === this.#need) {
        this.#have = 0;
        this.#step();
      }
    }
  }

  #expect(state: State, bytes: number): void {
    this.#state = state;
    this.#need = bytes;
  }

  #step(): void {
    const b = this.#buf;
    switch (this.#state) {
      case 'stream-header': {
        if (!MAGIC.every((m, k) => b[k] === m) || crc32(b.subarray(6, 8)) !== b.readUInt32LE(8)) {
          this.#state = 'lost';
          return;
        }
        const check = (b[7] as number) & 0x0f;
        if (b[6] !== 0 || ((b[7] as number) & 0xf0) !== 0) throw this.#unsupported('reserved stream flags');
        if (!SUPPORTED_CHECKS.has(check))
          throw this.#unsupported(`integrity check ${check} (not none, CRC32 or CRC64)`);
        this.#checkSize = CHECK_SIZE[check] as number;
        this.#expect('block-start', 1);
        return;
      }
      case 'block-start': {
        const size = b[0] as number;
        if (size === 0) {
          this.#indexVarints = -1; // the record count comes first
          this.#indexSize = 1;
          this.#countValue = 0;
          this.#countShift = 0;
          this.#expect('index', 1);
          return;
        }
        this.#expect('block-header', (size + 1) * 4); // byte 0 is already in the buffer
        this.#have = 1;
        return;
      }
      case 'block-header':
        this.#blockHeader(this.#need);
        return;
      case 'chunk-control': {
        const c = b[0] as number;
        this.#compressed += 1;
        if (c === 0x00) {
          this.#skip = ((4 - (this.#compressed % 4)) % 4) + this.#checkSize;
          this.#expect('block-start', 1);
        } else if (c === 0x01 || c === 0x02) {
          this.#expect('chunk-uncompressed', 2);
        } else if (c >= 0x80) {
          this.#expect('chunk-lzma', c >= 0xc0 ? 5 : 4);
        } else {
          this.#state = 'lost';
        }
        return;
      }
      case 'chunk-uncompressed': {
        const size = b.readUInt16BE(0) + 1;
        this.#compressed += 2 + size;
        this.#skip = size;
        this.#expect('chunk-control', 1);
        return;
      }
      case 'chunk-lzma': {
        const packed = b.readUInt16BE(2) + 1;
        this.#compressed += this.#need + packed;
        this.#skip = packed;
        this.#expect('chunk-control', 1);
        return;
      }
      case 'index':
        this.#indexByte(b[0] as number);
        return;
      case 'stream-padding': {
        if (b[0] === 0) {
          this.#padding++;
          return;
        }
        if (this.#padding % 4 !== 0) {
          this.#state = 'lost';
          return;
        }
        this.#expect('stream-header', MAGIC.length + 6); // byte 0 is already in the buffer
        this.#have = 1;
        return;
      }
      case 'lost':
        return;
    }
  }

  #blockHeader(size: number): void {
    const h = this.#buf.subarray(0, size);
    if (crc32(h.subarray(0, size - 4)) !== h.readUInt32LE(size - 4)) {
      this.#state = 'lost';
      return;
    }
    const flags = h[1] as number;
    if ((flags & 0x3c) !== 0) throw this.#unsupported('reserved block flags');
    let pos = 2;
    const varint = (): number => {
      let value = 0;
      for (let shift = 0; shift < 63 && pos < size - 4; shift += 7) {
        const byte = h[pos++] as number;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return value;
      }
      return -1;
    };
    const sizesOk = ((flags & 0x40) === 0 || varint() >= 0) && ((flags & 0x80) === 0 || varint() >= 0);
    if (!sizesOk) {
      this.#lose();
      return;
    }
    if ((flags & 0x03) !== 0)
      throw this.#unsupported(`a chain of ${(flags & 0x03) + 1} filters (only LZMA2 alone)`);
    const id = varint();
    if (id < 0) {
      this.#lose();
      return;
    }
    if (id !== LZMA2_FILTER_ID) throw this.#unsupported(`filter 0x${id.toString(16)} (only LZMA2)`);
    if (varint() !== 1 || pos >= size - 4) throw this.#unsupported('LZMA2 properties that are not one byte');
    const props = h[pos++] as number;
    if (props > MAX_DICT_PROPS) throw this.#unsupported('a dictionary larger than the 64 MiB limit');
    while (pos < size - 4)
      if (h[pos++] !== 0) throw this.#unsupported('block header padding that is not zero');
    this.#compressed = 0;
    this.#expect('chunk-control', 1);
  }

  #indexByte(byte: number): void {
    this.#indexSize++;
    this.#countValue += (byte & 0x7f) * 2 ** this.#countShift;
    this.#countShift += 7;
    if ((byte & 0x80) !== 0) {
      if (this.#countShift >= 63) this.#lose();
      return;
    }
    // A varint ended: the record count, or one field of a record.
    if (this.#indexVarints === -1) this.#indexVarints = 2 * this.#countValue;
    else this.#indexVarints--;
    this.#countValue = 0;
    this.#countShift = 0;
    if (this.#indexVarints > 0) return;
    // Index padding and CRC32, the stream footer, then stream padding or the next stream.
    this.#skip = ((4 - (this.#indexSize % 4)) % 4) + 4 + 12;
    this.#padding = 0;
    this.#expect('stream-padding', 1);
  }

  #lose(): void {
    this.#state = 'lost';
  }

  #unsupported(what: string): ImprintError {
    this.#state = 'lost';
    return new ImprintError(
      'COMPRESSION_UNSUPPORTED',
      `${this.#what}: expected an xz stream imprint can decode everywhere, found ${what}`,
      { details: { what: this.#what, codec: 'xz' } },
    );
  }
}
