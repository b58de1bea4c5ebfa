// RPM lead and header structures (signature and main header have the same shape): bounded
// parsing of the index and data store. Big-endian; field names follow rpm's (lib/header.cc, rpmtag.h).

import { boundedLength, dataView, latin1Decoder, type ByteSource } from '../core/byte-source.js';
import { InputFormatError, LimitError } from '../core/errors.js';

export const FORMAT = 'rpm';
export const RPM_LEAD_SIZE = 96;
export const RPM_LEAD_MAGIC = Uint8Array.of(0xed, 0xab, 0xee, 0xdb);
export const RPM_HEADER_MAGIC = Uint8Array.of(0x8e, 0xad, 0xe8, 0x01);
export const RPM_HEADER_INTRO_SIZE = 16;
/** rpm's own sanity limits (HEADER_TAGS_MAX, HEADER_DATA_MAX in lib/header.cc). */
export const HEADER_TAGS_MAX = 0xffff;
export const HEADER_DATA_MAX = 0x0fffffff;

export const RpmTagType = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;

/** Main-header tags kdbg reads (rpmtag.h). The signature header has its own tag space. */
export const RpmTag = {
  HEADERIMMUTABLE: 63,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  ARCHIVESIZE: 1046,
  FILEDEVICES: 1095,
  FILEINODES: 1096,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PAYLOADFLAGS: 1126,
  LONGFILESIZES: 5008,
  FILEDIGESTALGO: 5011,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
  PAYLOADDIGESTALT: 5097,
  RPMFORMAT: 5114,
} as const;

/** Signature-header tags (rpmSigTag_e). */
export const RpmSigTag = {
  HEADERSIGNATURES: 62,
  /** OpenPGP signatures of the main header: DSA/ECDSA/EdDSA, RSA (binary packets). */
  DSAHEADER: 267,
  RSAHEADER: 268,
  SHA1: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273,
  SIZE: 1000,
  MD5: 1004,
  PAYLOADSIZE: 1007,
  /** rpm ≥ 6: the header's OpenPGP signatures, each base64 (STRING_ARRAY). */
  OPENPGP: 278,
} as const;

/** RPMFILE_GHOST: listed in the header, absent from the payload. */
export const RPMFILE_GHOST = 0x40;

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archnum: number;
  /** NUL-padded package label (informational only). */
  name: string;
  osnum: number;
  signature_type: number;
}

export interface RpmHeaderEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

export interface RpmHeader {
  /** File offset of the header's magic. */
  offset: number;
  il: number;
  dl: number;
  /** 16 + 16·il + dl: the bytes covered by the header digests. */
  size: number;
  entries: Map<number, RpmHeaderEntry>;
  /** The index entries as stored (16·il bytes): with `data`, the bytes a header signature covers (rpm-sig.ts). */
  index: Uint8Array;
  /** The data section (dl bytes). */
  data: Uint8Array;
  /** For messages. */
  label: string;
  which: 'signature' | 'main';
}

export interface Ctx {
  label: string;
  offset?: number;
}

export function formatError(ctx: Ctx, what: string, extra: { expected?: string; found?: string; offset?: number } = {}): InputFormatError {
  const offset = extra.offset ?? ctx.offset ?? 0;
  return new InputFormatError(`${ctx.label}: not a valid RPM: ${what} (offset ${offset})`, {
    file: ctx.label,
    format: FORMAT,
    offset,
    ...(extra.expected === undefined ? {} : { expected: extra.expected }),
    ...(extra.found === undefined ? {} : { found: extra.found }),
  });
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Parse the 96-byte lead. Like rpm (rpmLeadCheck) only the magic is enforced. */
export function parseRpmLead(b: Uint8Array, ctx: Ctx): RpmLead {
  if (b.length < RPM_LEAD_SIZE) throw formatError(ctx, `lead is ${b.length} bytes, needs ${RPM_LEAD_SIZE}`, { offset: 0 });
  if (!RPM_LEAD_MAGIC.every((x, i) => b[i] === x)) {
    throw formatError(ctx, 'bad lead magic', { offset: 0, expected: 'edabeedb', found: hexOf(b.subarray(0, 4)) });
  }
  const v = dataView(b);
  const nameBytes = b.subarray(10, 76);
  const nul = nameBytes.indexOf(0);
  return {
    major: b[4]!,
    minor: b[5]!,
    type: v.getUint16(6),
    archnum: v.getUint16(8),
    name: latin1Decoder.decode(nul === -1 ? nameBytes : nameBytes.subarray(0, nul)),
    osnum: v.getUint16(76),
    signature_type: v.getUint16(78),
  };
}

/** Parse the 16-byte header intro: magic, reserved, il (index entries), dl (data length). */
export function parseRpmHeaderIntro(b: Uint8Array, ctx: Ctx): { il: number; dl: number } {
  const offset = ctx.offset ?? 0;
  if (!RPM_HEADER_MAGIC.every((x, i) => b[i] === x)) {
    throw formatError(ctx, 'bad header magic', { offset, expected: '8eade801', found: hexOf(b.subarray(0, 4)) });
  }
  const v = dataView(b);
  const il = boundedLength(v.getUint32(8), HEADER_TAGS_MAX, { label: ctx.label, format: FORMAT, field: 'il (header index entries)', offset: offset + 8 });
  const dl = boundedLength(v.getUint32(12), HEADER_DATA_MAX, { label: ctx.label, format: FORMAT, field: 'dl (header data length)', offset: offset + 12 });
  if (il === 0) throw formatError(ctx, 'header has no index entries', { offset: offset + 8 });
  return { il, dl };
}

/** Parse index + data of a header whose intro has been read. Checks every entry stays in bounds. */
export function parseRpmHeader(index: Uint8Array, data: Uint8Array, ctx: Ctx & { which: 'signature' | 'main'; il: number; dl: number }): RpmHeader {
  const offset = ctx.offset ?? 0;
  const v = dataView(index);
  const entries = new Map<number, RpmHeaderEntry>();
  for (let i = 0; i < ctx.il; i++) {
    const at = i * 16;
    const e: RpmHeaderEntry = { tag: v.getUint32(at), type: v.getUint32(at + 4), offset: v.getInt32(at + 8), count: v.getUint32(at + 12) };
    const entryOffset = offset + RPM_HEADER_INTRO_SIZE + at;
    if (e.type > RpmTagType.I18NSTRING) throw formatError(ctx, `tag ${e.tag} has unknown type ${e.type}`, { offset: entryOffset });
    // Region trailers (tags 61-63) carry a negative offset inside their data; only their own
    // entry's offset must be in bounds. Every other entry must start inside the data section.
    if (e.offset < 0 || e.offset > ctx.dl) {
      throw formatError(ctx, `tag ${e.tag} data offset ${e.offset} outside the ${ctx.dl}-byte data section`, { offset: entryOffset });
    }
    const elem = elementSize(e.type);
    if (elem > 0) {
      const end = e.offset + elem * e.count;
      if (e.count > ctx.dl || end > ctx.dl) {
        throw formatError(ctx, `tag ${e.tag} (${e.count} × ${elem} bytes at ${e.offset}) overruns the ${ctx.dl}-byte data section`, { offset: entryOffset });
      }
    } else if (e.count > ctx.dl + 1) {
      throw new LimitError(`${ctx.label}: RPM tag ${e.tag} count ${e.count} exceeds the data section (${ctx.dl} bytes) at offset ${entryOffset}`, {
        file: ctx.label,
        format: FORMAT,
        offset: entryOffset,
        expected: `<= ${ctx.dl}`,
        found: String(e.count),
      });
    }
    // Later duplicates are ignored, like rpm's lookup which finds the first sorted entry.
    if (!entries.has(e.tag)) entries.set(e.tag, e);
  }
  return { offset, il: ctx.il, dl: ctx.dl, size: RPM_HEADER_INTRO_SIZE + 16 * ctx.il + ctx.dl, entries, index, data, label: ctx.label, which: ctx.which };
}

function elementSize(type: number): number {
  switch (type) {
    case RpmTagType.CHAR:
    case RpmTagType.INT8:
    case RpmTagType.BIN:
      return 1;
    case RpmTagType.INT16:
      return 2;
    case RpmTagType.INT32:
      return 4;
    case RpmTagType.INT64:
      return 8;
    default:
      return 0; // strings: variable
  }
}

/** Read one header (intro, index, data) from a stream positioned at its magic. */
export async function readRpmHeader(src: ByteSource, which: 'signature' | 'main'): Promise<RpmHeader> {
  const offset = src.position;
  const intro = await src.read(RPM_HEADER_INTRO_SIZE, `${which} header intro`);
  const { il, dl } = parseRpmHeaderIntro(intro, { label: src.label, offset });
  // Copy: the views returned by read() may alias chunks the source keeps buffered.
  const index = (await src.read(16 * il, `${which} header index (${il} entries)`)).slice();
  const data = (await src.read(dl, `${which} header data (${dl} bytes)`)).slice();
  return parseRpmHeader(index, data, { label: src.label, offset, which, il, dl });
}
