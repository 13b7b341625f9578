// OpenSSL's subject-name hash (X509_NAME_hash, `openssl x509 -subject_hash`), as `openssl rehash`
// uses it to name the `<hash>.0` links in /etc/ssl/certs. A minimal DER reader, no crypto beyond SHA-1.
import { createHash } from 'node:crypto';
import { ImprintError } from '../../errors.js';

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one DER TLV at `pos` (single-byte tags; definite lengths of up to 4 bytes). */
function readTlv(der: Uint8Array, pos: number, limit: number, what: string): Tlv {
  if (pos + 2 > limit) throw bad(what, `truncated DER at byte ${pos}`);
  const tag = der[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw bad(what, `multi-byte DER tag at byte ${pos}`);
  let len = der[pos + 1] as number;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw bad(what, `unsupported DER length at byte ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[body + i] as number);
    body += n;
  }
  const end = body + len;
  if (end > limit) throw bad(what, `DER element at byte ${pos} runs past its container`);
  return { tag, start: pos, body, end };
}

/** The children of a constructed TLV. */
function children(der: Uint8Array, t: Tlv, what: string): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = t.body; pos < t.end; ) {
    const c = readTlv(der, pos, t.end, what);
    out.push(c);
    pos = c.end;
  }
  return out;
}

/** The DER of a certificate's subject Name (tbsCertificate's 6th field, 5th without the [0] version). */
export function subjectNameDer(cert: Uint8Array, what = 'certificate'): Uint8Array {
  const outer = readTlv(cert, 0, cert.length, what);
  if (outer.tag !== 0x30) throw bad(what, 'not a DER SEQUENCE');
  const tbs = children(cert, outer, what)[0];
  if (tbs === undefined || tbs.tag !== 0x30) throw bad(what, 'no tbsCertificate');
  const fields = children(cert, tbs, what);
  const first = fields[0]?.tag === 0xa0 ? 1 : 0; // explicit [0] version
  const subject = fields[first + 4];
  if (subject === undefined || subject.tag !== 0x30) throw bad(what, 'no subject Name');
  return cert.subarray(subject.start, subject.end);
}

// ASN.1 string types OpenSSL canonicalises (ASN1_MASK_CANON): UTF8, Printable, T61, IA5, Visible, Universal, BMP.
const CANON_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e]);

/** A string value as UTF-8, as ASN1_STRING_to_UTF8 converts it. */
function toUtf8(tag: number, bytes: Uint8Array, what: string): Buffer {
  switch (tag) {
    case 0x0c:
      return Buffer.from(bytes);
    case 0x1e: {
      if (bytes.length % 2 !== 0) throw bad(what, 'BMPString of odd length');
      let s = '';
      for (let i = 0; i < bytes.length; i += 2)
        s += String.fromCharCode(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
      return Buffer.from(s, 'utf8');
    }
    case 0x1c: {
      if (bytes.length % 4 !== 0) throw bad(what, 'UniversalString length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < bytes.length; i += 4) {
        s += String.fromCodePoint(new DataView(bytes.buffer, bytes.byteOffset + i, 4).getUint32(0));
      }
      return Buffer.from(s, 'utf8');
    }
    default:
      // One byte, one code point: ASCII (every PrintableString, most others) is its own UTF-8.
      return bytes.every((b) => b < 0x80)
        ? Buffer.from(bytes)
        : Buffer.from(Buffer.from(bytes).toString('latin1'), 'utf8');
  }
}

const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);

/** x509_name_canon's string canonical form: trim, collapse ASCII whitespace runs to one space, ASCII lowercase. */
export function canonicalString(utf8: Buffer): Buffer {
  let from = 0;
  let to = utf8.length;
  while (from < to && isSpace(utf8[from] as number)) from++;
  while (to > from && isSpace(utf8[to - 1] as number)) to--;
  const out = Buffer.allocUnsafe(to - from);
  let n = 0;
  for (let i = from; i < to; ) {
    const b = utf8[i] as number;
    if (b >= 0x80) {
      out[n++] = b;
      i++;
    } else if (isSpace(b)) {
      out[n++] = 0x20;
      while (i < to && isSpace(utf8[i] as number)) i++;
    } else {
      out[n++] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
      i++;
    }
  }
  return out.subarray(0, n);
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

/** DER SET OF ordering: by encoding, bytewise, a prefix first. */
function derOrder(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/**
 * The canonical encoding OpenSSL hashes: for each RDN, the DER of a SET OF its attributes where
 * string values are re-encoded as canonical UTF8String; the RDN encodings concatenated without the
 * outer SEQUENCE header (x509_name_canon / i2d_name_canon).
 */
export function canonicalNameEncoding(nameDer: Uint8Array, what = 'certificate'): Buffer {
  const name = readTlv(nameDer, 0, nameDer.length, what);
  if (name.tag !== 0x30) throw bad(what, 'subject is not a SEQUENCE');
  const rdns: Buffer[] = [];
  for (const rdn of children(nameDer, name, what)) {
    if (rdn.tag !== 0x31) throw bad(what, 'RDN is not a SET');
    const avas: Buffer[] = [];
    for (const ava of children(nameDer, rdn, what)) {
      const [oid, value] = children(nameDer, ava, what);
      if (ava.tag !== 0x30 || oid === undefined || oid.tag !== 0x06 || value === undefined)
        throw bad(what, 'malformed AttributeTypeAndValue');
      const oidDer = Buffer.from(nameDer.subarray(oid.start, oid.end));
      const valueDer = CANON_TAGS.has(value.tag)
        ? tlv(0x0c, canonicalString(toUtf8(value.tag, nameDer.subarray(value.body, value.end), what)))
        : Buffer.from(nameDer.subarray(value.start, value.end));
      avas.push(tlv(0x30, Buffer.concat([oidDer, valueDer])));
    }
    rdns.push(tlv(0x31, Buffer.concat(avas.sort(derOrder))));
  }
  return Buffer.concat(rdns);
}

/** `openssl x509 -subject_hash` of a DER certificate: 8 lowercase hex digits. Pure. */
export function subjectHash(certDer: Uint8Array, what = 'certificate'): string {
  const md = createHash('sha1')
    .update(canonicalNameEncoding(subjectNameDer(certDer, what), what))
    .digest();
  return md.readUInt32LE(0).toString(16).padStart(8, '0');
}

/** The DER certificates of a PEM text (CERTIFICATE, X509 CERTIFICATE, TRUSTED CERTIFICATE blocks), in order. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN (CERTIFICATE|X509 CERTIFICATE|TRUSTED CERTIFICATE)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(Buffer.from((m[2] as string).replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'));
  }
  return out;
}

function bad(what: string, why: string): ImprintError {
  return new ImprintError('UNSUPPORTED', `${what}: cannot read the certificate's subject: ${why}`, {
    details: { what },
  });
}
