// Unix ar archives, the container of .deb/.ddeb packages.
//
// Spec: glibc <ar.h> (struct ar_hdr) and deb(5) from dpkg 1.21.22
// (https://salsa.debian.org/dpkg-team/dpkg/-/blob/1.21.22/man/deb.pod). Supported subset:
// - the common "!<arch>\n" global header followed by 60-byte member headers;
// - names padded with spaces, GNU binutils' trailing "/" ("debian-binary/") stripped;
// - BSD long names "#1/<len>" (the name is the first <len> bytes of the member data);
// - the GNU symbol table "/" and long-name table "//" are returned as members named "/" and "//"
//   (a deb has neither; callers skip them);
// - member data padded to an even offset with one "\n".
// Invariants: every numeric field is checked to be digits and bounded before use; a member's
// body must be drained or abandoned before the next header is read (the generator skips an
// undrained remainder itself, so abandoning is cheap and safe).

import { boundedLength, type ByteSource, latin1Decoder } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';

export const AR_MAGIC = '!<arch>\n';
export const AR_HEADER_SIZE = 60;
/** ar_size has 10 decimal digits; anything above this is not representable. */
export const AR_MAX_MEMBER_SIZE = 9_999_999_999;
/** BSD "#1/<len>" names: far more than any real name, far less than memory trouble. */
const AR_MAX_BSD_NAME = 4096;

/** One decoded `struct ar_hdr`, with the offsets kdbg reports in errors. */
export interface ArMemberHeader {
  /** Member name with GNU "/" and BSD "#1/" conventions undone. */
  ar_name: string;
  ar_date: number;
  ar_uid: number;
  ar_gid: number;
  /** st_mode bits (the field is octal text). */
  ar_mode: number;
  /** Size of the member's data (excluding a BSD long name stored in front of it). */
  ar_size: number;
  /** Absolute offset of the 60-byte header in the input. */
  headerOffset: number;
  /** Absolute offset of the member's data (after a BSD long name). */
  dataOffset: number;
}

export interface ArEntry {
  header: ArMemberHeader;
  /** Exactly `header.ar_size` bytes, as views; drain or abandon before advancing. */
  body: AsyncGenerator<Uint8Array>;
}

function formatError(src: ByteSource, message: string, offset: number, expected: string, found: string): InputFormatError {
  return new InputFormatError(`${src.label}: ${message} at offset ${offset}`, { file: src.label, format: 'ar', offset, expected, found });
}

function printable(b: Uint8Array): string {
  return JSON.stringify(latin1Decoder.decode(b));
}

/**
 * Parse a space-padded decimal (or octal) ar field. Empty means 0 (binutils leaves uid/gid blank in
 * some modes); anything else that is not digits is an error, so corrupt headers are caught early.
 */
function parseField(src: ByteSource, raw: Uint8Array, radix: 8 | 10, field: string, offset: number, max: number): number {
  const text = latin1Decoder.decode(raw).replace(/ +$/, '');
  if (text === '') return 0;
  const re = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(text)) {
    throw formatError(src, `ar member header field ${field} is not ${radix === 8 ? 'octal' : 'decimal'}`, offset, `${radix === 8 ? 'octal' : 'decimal'} digits`, printable(raw));
  }
  // parseInt is exact here: at most 12 digits.
  return boundedLength(parseInt(text, radix), max, { label: src.label, format: 'ar', field, offset });
}

/** Decode the 60-byte header at the cursor (already read into `h`). Pure; exported for tests. */
export function decodeArHeader(src: ByteSource, h: Uint8Array, headerOffset: number): Omit<ArMemberHeader, 'dataOffset'> & { bsdNameLength: number } {
  if (h[58] !== 0x60 || h[59] !== 0x0a) {
    throw formatError(src, 'ar member header has a bad terminator (ar_fmag)', headerOffset + 58, '"`\\n"', printable(h.subarray(58, 60)));
  }
  let name = latin1Decoder.decode(h.subarray(0, 16)).replace(/ +$/, '');
  const ar_date = parseField(src, h.subarray(16, 28), 10, 'ar_date', headerOffset + 16, Number.MAX_SAFE_INTEGER);
  const ar_uid = parseField(src, h.subarray(28, 34), 10, 'ar_uid', headerOffset + 28, 999_999);
  const ar_gid = parseField(src, h.subarray(34, 40), 10, 'ar_gid', headerOffset + 34, 999_999);
  const ar_mode = parseField(src, h.subarray(40, 48), 8, 'ar_mode', headerOffset + 40, 0o77777777);
  const size = parseField(src, h.subarray(48, 58), 10, 'ar_size', headerOffset + 48, AR_MAX_MEMBER_SIZE);
  let bsdNameLength = 0;
  const bsd = /^#1\/([0-9]+)$/.exec(name);
  if (bsd) {
    bsdNameLength = boundedLength(Number(bsd[1]), Math.min(AR_MAX_BSD_NAME, size), { label: src.label, format: 'ar', field: 'BSD name length', offset: headerOffset });
    name = '';
  } else if (name !== '/' && name !== '//' && name.endsWith('/')) {
    name = name.slice(0, -1); // GNU: "debian-binary/"
  }
  if (name === '' && bsdNameLength === 0) {
    throw formatError(src, 'ar member has an empty name', headerOffset, 'a member name', printable(h.subarray(0, 16)));
  }
  return { ar_name: name, ar_date, ar_uid, ar_gid, ar_mode, ar_size: size - bsdNameLength, headerOffset, bsdNameLength };
}

/** Check the global header. Throws InputFormatError when the input is not an ar archive. */
export async function readArMagic(src: ByteSource): Promise<void> {
  const at = src.position;
  const m = await src.peek(8);
  if (latin1Decoder.decode(m) !== AR_MAGIC) {
    throw formatError(src, 'not an ar archive (bad magic)', at, '"!<arch>\\n"', printable(m));
  }
  await src.skip(8);
}

/**
 * Walk the members of an ar archive from the cursor (which must be at the global header).
 * Yields `{header, body}`; the caller drains or abandons `body`. Ends at end of input; a partial
 * header or body is a TruncatedError naming the offset.
 */
export async function* readArEntries(src: ByteSource): AsyncGenerator<ArEntry> {
  await readArMagic(src);
  for (;;) {
    if (await src.atEnd()) return;
    const headerOffset = src.position;
    const h = await src.read(AR_HEADER_SIZE, 'ar member header');
    const d = decodeArHeader(src, h, headerOffset);
    let name = d.ar_name;
    if (d.bsdNameLength > 0) {
      name = latin1Decoder.decode(await src.read(d.bsdNameLength, 'ar BSD long name')).replace(/\0+$/, '');
    }
    const header: ArMemberHeader = {
      ar_name: name,
      ar_date: d.ar_date,
      ar_uid: d.ar_uid,
      ar_gid: d.ar_gid,
      ar_mode: d.ar_mode,
      ar_size: d.ar_size,
      headerOffset,
      dataOffset: src.position,
    };
    const end = header.dataOffset + header.ar_size;
    let active = true;
    const body = (async function* (): AsyncGenerator<Uint8Array> {
      if (!active) throw new Error('ar member body read after the walk moved on');
      yield* src.stream(end - src.position, `ar member ${JSON.stringify(name)} data`);
    })();
    yield { header, body };
    active = false;
    // Skip whatever the consumer left unread, then the pad byte that keeps headers even.
    const left = end - src.position;
    if (left > 0) await src.skip(left, `ar member ${JSON.stringify(name)} data`);
    if (end % 2 === 1 && !(await src.atEnd())) await src.skip(1, 'ar padding');
  }
}
