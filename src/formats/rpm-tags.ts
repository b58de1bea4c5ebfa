// Typed RPM tag accessors. Each returns null when the tag is absent and throws InputFormatError
// when present with the wrong type or malformed data.

import { dataView, textDecoder } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { FORMAT, RPM_HEADER_INTRO_SIZE, type RpmHeader, type RpmHeaderEntry, RpmTagType } from './rpm-header.js';

function entryError(h: RpmHeader, e: RpmHeaderEntry, what: string): InputFormatError {
  return new InputFormatError(`${h.label}: not a valid RPM: ${h.which} header tag ${e.tag}: ${what}`, {
    file: h.label,
    format: FORMAT,
    offset: h.offset + RPM_HEADER_INTRO_SIZE + 16 * h.il + e.offset,
  });
}

function readStrings(h: RpmHeader, e: RpmHeaderEntry, n: number): string[] {
  const out: string[] = [];
  let at = e.offset;
  for (let i = 0; i < n; i++) {
    const nul = h.data.indexOf(0, at);
    if (nul === -1) throw entryError(h, e, `string ${i} is not NUL-terminated inside the data section`);
    out.push(textDecoder.decode(h.data.subarray(at, nul)));
    at = nul + 1;
  }
  return out;
}

export function headerString(h: RpmHeader, tag: number): string | null {
  const e = h.entries.get(tag);
  if (!e) return null;
  if (e.type === RpmTagType.STRING || e.type === RpmTagType.STRING_ARRAY || e.type === RpmTagType.I18NSTRING) {
    return readStrings(h, e, 1)[0] ?? null;
  }
  throw entryError(h, e, `expected a string, found type ${e.type}`);
}

export function headerStringArray(h: RpmHeader, tag: number): string[] | null {
  const e = h.entries.get(tag);
  if (!e) return null;
  if (e.type === RpmTagType.STRING_ARRAY || e.type === RpmTagType.I18NSTRING) return readStrings(h, e, e.count);
  if (e.type === RpmTagType.STRING) return readStrings(h, e, 1);
  throw entryError(h, e, `expected a string array, found type ${e.type}`);
}

/** Integer array of any width (INT8/16/32 as numbers, INT64 narrowed when safe). */
export function headerIntArray(h: RpmHeader, tag: number): number[] | null {
  const e = h.entries.get(tag);
  if (!e) return null;
  const v = dataView(h.data);
  const out: number[] = new Array<number>(e.count);
  switch (e.type) {
    case RpmTagType.CHAR:
    case RpmTagType.INT8:
      for (let i = 0; i < e.count; i++) out[i] = v.getUint8(e.offset + i);
      return out;
    case RpmTagType.INT16:
      for (let i = 0; i < e.count; i++) out[i] = v.getUint16(e.offset + 2 * i);
      return out;
    case RpmTagType.INT32:
      for (let i = 0; i < e.count; i++) out[i] = v.getUint32(e.offset + 4 * i);
      return out;
    case RpmTagType.INT64:
      for (let i = 0; i < e.count; i++) {
        const x = v.getBigUint64(e.offset + 8 * i);
        if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw entryError(h, e, `value ${x} beyond 2^53`);
        out[i] = Number(x);
      }
      return out;
    default:
      throw entryError(h, e, `expected integers, found type ${e.type}`);
  }
}

export function headerInt(h: RpmHeader, tag: number): number | null {
  const a = headerIntArray(h, tag);
  return a === null ? null : (a[0] ?? null);
}
