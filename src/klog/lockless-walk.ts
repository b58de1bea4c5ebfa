// The walk of the lockless ring (lockless.ts says what it reads and why): descriptors from tail_id
// to head_id, with the ring's 64-bit words (IDs, state_var, lpos) as two unsigned 32-bit halves.
// The walk used BigInt before: about 30 BigInt operations per record, each a heap allocation, were
// 15 M of the 20 M instructions `kdbg log` spent reading the 401 records of the sysrq dump, and
// most of its young-generation garbage (docs/analyze.md, "Measured"). The result is the same, bit
// for bit: test/klog/lockless-walk.test.ts runs the BigInt walk beside this one on damaged rings.
//
// decodeLocklessRing() and textRanges() are pure (bytes in, records or ranges out).

import { callerName } from './record.js';
import type { LogProblem, LogRecord } from './record.js';

/** Where each field is, from VMCOREINFO (names are the kernel's struct.field). */
export interface LocklessLayout {
  wordSize: 4 | 8;
  littleEndian: boolean;
  'SIZE(printk_ringbuffer)': number;
  'printk_ringbuffer.desc_ring': number;
  'printk_ringbuffer.text_data_ring': number;
  'prb_desc_ring.count_bits': number;
  'prb_desc_ring.descs': number;
  'prb_desc_ring.infos': number;
  'prb_desc_ring.head_id': number;
  'prb_desc_ring.tail_id': number;
  'SIZE(prb_desc)': number;
  'prb_desc.state_var': number;
  'prb_desc.text_blk_lpos': number;
  'prb_data_blk_lpos.begin': number;
  'prb_data_blk_lpos.next': number;
  'SIZE(printk_info)': number;
  'printk_info.seq': number;
  'printk_info.ts_nsec': number;
  'printk_info.text_len': number;
  'printk_info.caller_id': number | null;
  'printk_info.dev_info': number | null;
  'dev_printk_info.subsystem': number | null;
  'dev_printk_info.device': number | null;
  'LENGTH(printk_info_subsystem)': number | null;
  'LENGTH(printk_info_device)': number | null;
  'prb_data_ring.size_bits': number;
  'prb_data_ring.data': number;
  'atomic_long_t.counter': number;
}

/** The ring's header fields, read from `struct printk_ringbuffer`. */
export interface LocklessHeader {
  count_bits: number;
  descs: bigint;
  infos: bigint;
  head_id: bigint;
  tail_id: bigint;
  size_bits: number;
  data: bigint;
}

/** Byte ranges [start, end) of an array that the dump did not hold (zero-filled). */
export type Holes = readonly (readonly [number, number])[];

export interface LocklessBytes {
  header: LocklessHeader;
  descs: Uint8Array;
  infos: Uint8Array;
  data: Uint8Array;
  descHoles: Holes;
  infoHoles: Holes;
  dataHoles: Holes;
}

/** The largest count_bits and size_bits this walk takes: a ring index fits the low 32-bit half. */
const MAX_RING_BITS = 31;
const TWO_32 = 4294967296;
/**
 * 2 ** size_bits - 1 for each size_bits the walk takes: textBlock runs twice per record, and `**`
 * in the interpreter is a call into the C library's pow() each time.
 */
const DATA_MASKS = Array.from({ length: MAX_RING_BITS + 1 }, (_, i) => 2 ** i - 1);

/**
 * How a ring word is read: `word(dv, at)` leaves its halves in `hi` and `lo` (`hi` is 0 for 4-byte
 * words), so that reading one allocates nothing. The halves are kept as signed 32-bit integers,
 * which V8 holds unboxed (small integers); an unsigned half above 2^31 would be a heap number, one
 * allocation per value in the interpreter. The ID of a descriptor or block is the word without its
 * top two bits (DESC_ID_MASK, printk_ringbuffer.h): `idHi`/`idLo` mask the halves.
 */
class Words {
  hi = 0;
  lo = 0;
  readonly idHi: number;
  readonly idLo: number;
  constructor(
    readonly size: 4 | 8,
    readonly le: boolean,
  ) {
    this.idHi = size === 8 ? 0x3fffffff : 0;
    this.idLo = size === 8 ? -1 : 0x3fffffff;
  }
  word(dv: DataView, at: number): void {
    if (this.size === 4) {
      this.hi = 0;
      this.lo = dv.getInt32(at, this.le);
    } else if (this.le) {
      this.lo = dv.getInt32(at, true);
      this.hi = dv.getInt32(at + 4, true);
    } else {
      this.hi = dv.getInt32(at, false);
      this.lo = dv.getInt32(at + 4, false);
    }
  }
  /** The state bits above the ID (desc_state: committed 1, finalized 2). */
  state(): number {
    return (this.size === 8 ? this.hi : this.lo) >>> 30;
  }
  /** The word just read, as an ID, equals the ID (idHi, idLo). */
  isId(idHi: number, idLo: number): boolean {
    return (this.hi & this.idHi) === idHi && (this.lo & this.idLo) === idLo;
  }
}

/** A u64 field as a number, rounded as Number(bigint) rounds (the sum of the halves is exact below 2^53). */
function u64(dv: DataView, at: number, le: boolean): number {
  const hi = dv.getUint32(le ? at + 4 : at, le);
  const lo = dv.getUint32(le ? at : at + 4, le);
  return hi === 0 ? lo : hi * TWO_32 + lo;
}

/** a < b for the 32-bit halves a and b read as unsigned (without making either a heap number). */
const below = (a: number, b: number): boolean => (a ^ -0x80000000) < (b ^ -0x80000000);

const overlaps = (holes: Holes, a: number, b: number): boolean => {
  for (let i = 0; i < holes.length; i++) {
    const h = holes[i]!;
    if (h[0] < b && a < h[1]) return true;
  }
  return false;
};

const DESC_COMMITTED = 1;
const DESC_FINALIZED = 2;

/** Where textBlock() leaves a block's [start, end) offsets in the data ring. */
interface Block {
  start: number;
  end: number;
}

/**
 * Where a text block's bytes lie in the data ring, from its lpos words (begin halves bHi/bLo, next
 * nHi/nLo), into `out`. A block that wraps is stored whole at the ring's start
 * (DATA_WRAPS(begin) != DATA_WRAPS(next - 1), see lockless.ts). The wrap count of a word is its
 * value >> size_bits: with size_bits < 32 that is (hi, lo >>> size_bits), compared half by half.
 */
function textBlock(bHi: number, bLo: number, nHi: number, nLo: number, sizeBits: number, wordSize: 4 | 8, out: Block): void {
  const dmask = DATA_MASKS[sizeBits]!;
  // next - 1, wrapped to the word size.
  const n1Lo = (nLo - 1) | 0;
  const n1Hi = wordSize === 8 && nLo === 0 ? (nHi - 1) | 0 : nHi;
  if (bHi !== n1Hi || bLo >>> sizeBits !== n1Lo >>> sizeBits) {
    out.start = 0;
    out.end = nLo & dmask;
    return;
  }
  // (next - begin) & wordMask: a block's length, unless the descriptor is torn.
  const dLo = (nLo - bLo) >>> 0;
  const dHi = wordSize === 8 ? (nHi - bHi - (below(nLo, bLo) ? 1 : 0)) >>> 0 : 0;
  out.start = bLo & dmask;
  out.end = out.start + (dHi === 0 ? dLo : dHi * TWO_32 + dLo);
}

/** The halves of a header ID (tail_id, head_id), masked as the walk masks IDs. */
function idHalves(v: bigint, w: Words): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u >> 32n) & w.idHi, Number(u & 0xffffffffn) & w.idLo];
}

/** Walk the ring from tail_id to head_id (pure). */
export function decodeLocklessRing(r: LocklessBytes, L: LocklessLayout): { records: LogRecord[]; problems: LogProblem[]; levelInferred: boolean } {
  const { count_bits: countBits, size_bits: sizeBits } = r.header;
  // readLocklessBytes() refuses these before reading anything.
  if (!(countBits >= 0 && countBits <= MAX_RING_BITS && sizeBits >= 0 && sizeBits <= MAX_RING_BITS)) {
    return { records: [], problems: [{ code: 'torn', message: `implausible ring sizes (count_bits ${countBits}, size_bits ${sizeBits}): the ring header is corrupt` }], levelInferred: false };
  }
  const count = 2 ** countBits;
  const dmask = 2 ** sizeBits - 1;
  const descDv = new DataView(r.descs.buffer, r.descs.byteOffset, r.descs.byteLength);
  const infoDv = new DataView(r.infos.buffer, r.infos.byteOffset, r.infos.byteLength);
  const dataDv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  const le = L.littleEndian;
  const ws = L.wordSize;
  const w = new Words(ws, le);
  const c = L['atomic_long_t.counter'];
  const descSize = L['SIZE(prb_desc)'];
  const infoSize = L['SIZE(printk_info)'];
  const stateAt = L['prb_desc.state_var'] + c;
  const beginAt = L['prb_desc.text_blk_lpos'] + L['prb_data_blk_lpos.begin'];
  const nextAt = L['prb_desc.text_blk_lpos'] + L['prb_data_blk_lpos.next'];
  const seqAt = L['printk_info.seq'];
  const tsAt = L['printk_info.ts_nsec'];
  const callerOff = L['printk_info.caller_id'];
  const dev = devStrings(r.infos, L);
  // facility (u8) and the flags:5/level:3 byte follow text_len in struct printk_info; they are not
  // exported, but when caller_id sits exactly 4 bytes after text_len, those two bytes are all that
  // can be between them (printk_ringbuffer.h: u16 text_len; u8 facility; u8 flags:5; u8 level:3;
  // u32 caller_id).
  const tl = L['printk_info.text_len'];
  const levelInferred = callerOff === tl + 4;
  const records: LogRecord[] = [];
  const blk: Block = { start: 0, end: 0 };
  let unreadable = 0;
  let torn = 0;
  const dump = (idHi: number, idLo: number): void => {
    // id % count: count is 2^count_bits with count_bits < 32, so the low half's low bits.
    const slot = idLo & (count - 1);
    const d = slot * descSize;
    const inf = slot * infoSize;
    if ((r.descHoles.length > 0 && overlaps(r.descHoles, d, d + descSize)) || (r.infoHoles.length > 0 && overlaps(r.infoHoles, inf, inf + infoSize))) {
      unreadable++;
      return;
    }
    w.word(descDv, d + stateAt);
    if (!w.isId(idHi, idLo)) return;
    const state = w.state();
    if (state !== DESC_COMMITTED && state !== DESC_FINALIZED) return;
    w.word(descDv, d + beginAt);
    const bHi = w.hi;
    const bLo = w.lo;
    w.word(descDv, d + nextAt);
    // Data-less blocks (FAILED_LPOS 0x1, NO_LPOS 0x3) and empty ones carry no text.
    if ((bLo & 1) === 1 || (bLo & dmask) === (w.lo & dmask)) return;
    let textLen = infoDv.getUint16(inf + tl, le);
    textBlock(bHi, bLo, w.hi, w.lo, sizeBits, ws, blk);
    const { start, end } = blk;
    if (end - start < ws || end > r.data.length) {
      torn++;
      return;
    }
    if (r.dataHoles.length > 0 && overlaps(r.dataHoles, start, end)) {
      unreadable++;
      return;
    }
    // Each block starts with the ID of the descriptor that owns it (struct prb_data_block).
    w.word(dataDv, start);
    if (!w.isId(idHi, idLo)) {
      torn++;
      return;
    }
    textLen = Math.min(textLen, end - start - ws);
    const flagsByte = levelInferred ? infoDv.getUint8(inf + tl + 3) : 0;
    records.push({
      sequence: u64(infoDv, inf + seqAt, le),
      tsNsec: infoDv.getBigUint64(inf + tsAt, le),
      level: levelInferred ? (le ? flagsByte >> 5 : flagsByte & 7) : null,
      facility: levelInferred ? infoDv.getUint8(inf + tl + 2) : null,
      caller: callerOff === null ? null : callerName(infoDv.getUint32(inf + callerOff, le)),
      // A view of the data ring, not a copy: one object per record instead of an ArrayBuffer too.
      text: r.data.subarray(start + ws, start + ws + textLen),
      subsystem: dev.subsystem(inf),
      device: dev.device(inf),
    });
  };
  const [headHi, headLo] = idHalves(r.header.head_id, w);
  let [idHi, idLo] = idHalves(r.header.tail_id, w);
  // A consistent ring holds at most `count` descriptors between tail and head.
  let steps = 0;
  for (; (idHi !== headHi || idLo !== headLo) && steps <= count; steps++) {
    dump(idHi, idLo);
    // id + 1, masked to an ID.
    if (ws === 8) {
      idLo = (idLo + 1) | 0;
      if (idLo === 0) idHi = (idHi + 1) & 0x3fffffff;
    } else idLo = (idLo + 1) & 0x3fffffff;
  }
  const problems: LogProblem[] = [];
  if (idHi !== headHi || idLo !== headLo) problems.push({ code: 'torn', message: `tail_id ${r.header.tail_id} and head_id ${r.header.head_id} are more than ${count} descriptors apart: the ring's indexes are inconsistent` });
  else dump(headHi, headLo);
  problems.push(...walkProblems(records, unreadable, torn));
  return { records, problems, levelInferred };
}

/**
 * What a walk found wrong besides inconsistent indexes: records not in the dump, torn records, and
 * gaps in the sequence numbers (reported only when nothing was missing or torn).
 */
export function walkProblems(records: readonly LogRecord[], unreadable: number, torn: number): LogProblem[] {
  const problems: LogProblem[] = [];
  if (unreadable > 0) problems.push({ code: 'unreadable', message: `${unreadable} record${unreadable === 1 ? '' : 's'} not in the dump (their pages were excluded or are missing)` });
  if (torn > 0) problems.push({ code: 'torn', message: `${torn} record${torn === 1 ? '' : 's'} skipped: text block does not belong to its descriptor (overwritten or torn)` });
  let gaps = 0;
  for (let i = 1; i < records.length; i++) if (records[i]!.sequence !== records[i - 1]!.sequence + 1) gaps++;
  if (gaps > 0 && unreadable === 0 && torn === 0) problems.push({ code: 'gap', message: `${gaps} jump${gaps === 1 ? '' : 's'} in sequence numbers: records between were still being written (reserved) or discarded` });
  return problems;
}

/**
 * The data-ring ranges the text blocks of `slots` occupy, merged where less than a page apart: the
 * part of the ring worth reading (a young log fills a fifth of a 128 KiB ring). Descriptors the
 * walk will reject anyway only make a range larger, never an out-of-ring read.
 */
export function textRanges(descs: Uint8Array, slots: readonly [number, number][], h: LocklessHeader, L: LocklessLayout, pageSize: number): [number, number][] {
  const dv = new DataView(descs.buffer, descs.byteOffset, descs.byteLength);
  const w = new Words(L.wordSize, L.littleEndian);
  const sizeBits = h.size_bits;
  const ringLen = 2 ** sizeBits;
  const beginAt = L['prb_desc.text_blk_lpos'] + L['prb_data_blk_lpos.begin'];
  const nextAt = L['prb_desc.text_blk_lpos'] + L['prb_data_blk_lpos.next'];
  const blk: Block = { start: 0, end: 0 };
  const ranges: [number, number][] = [];
  for (const [first, n] of slots) {
    for (let slot = first; slot < first + n; slot++) {
      const d = slot * L['SIZE(prb_desc)'];
      w.word(dv, d + beginAt);
      const bHi = w.hi;
      const bLo = w.lo;
      w.word(dv, d + nextAt);
      if ((bLo & 1) === 1) continue;
      textBlock(bHi, bLo, w.hi, w.lo, sizeBits, L.wordSize, blk);
      if (blk.end > blk.start) ranges.push([blk.start, Math.min(blk.end, ringLen)]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (let i = 0; i < ranges.length; i++) {
    const a = ranges[i]![0];
    const b = ranges[i]![1];
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + pageSize) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/**
 * dev_printk_info's SUBSYSTEM and DEVICE strings of the record whose printk_info starts at `inf`;
 * null where the layout does not export them or the string is empty. Most records have no device:
 * a zero first byte costs no decoder call and no view.
 */
function devStrings(infos: Uint8Array, L: LocklessLayout): { subsystem: (inf: number) => string | null; device: (inf: number) => string | null } {
  const one = (off: number | null, len: number | null): ((inf: number) => string | null) => {
    const di = L['printk_info.dev_info'];
    if (di === null || off === null || len === null || len === 0) return () => null;
    return (inf) => {
      const at = inf + di + off;
      if (infos[at] === 0) return null;
      const b = infos.subarray(at, at + len);
      if (b.length === 0) return null;
      const nul = b.indexOf(0);
      const str = nul === -1 ? b : b.subarray(0, nul);
      // ASCII (every name seen): one string by Buffer. TextDecoder's 'latin1' is windows-1252,
      // which differs from ISO 8859-1 in 0x80-0x9f, so other bytes still go through it.
      let ascii = true;
      for (let k = 0; k < str.length && ascii; k++) ascii = str[k]! < 0x80;
      return ascii ? Buffer.from(str.buffer, str.byteOffset, str.length).toString('latin1') : (LATIN1 ??= new TextDecoder('latin1')).decode(str);
    };
  };
  return { subsystem: one(L['dev_printk_info.subsystem'], L['LENGTH(printk_info_subsystem)']), device: one(L['dev_printk_info.device'], L['LENGTH(printk_info_device)']) };
}

let LATIN1: InstanceType<typeof TextDecoder> | undefined;
