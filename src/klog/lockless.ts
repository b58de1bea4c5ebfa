// Layout C: the lockless ring buffer `prb` (Linux 5.10+, kernel/printk/printk_ringbuffer.[ch]),
// read with the VMCOREINFO keys of log_buf_vmcoreinfo_setup() alone (shared/design/printk-and-oops.md
// §4). The walk is makedumpfile's dump_lockless_dmesg(): descriptors from tail_id to head_id, each
// shown only when its state_var carries the same ID and the committed or finalized state, data-less
// blocks skipped. One deliberate difference: whether a text block wraps is decided with the
// kernel's DATA_WRAPS(begin) != DATA_WRAPS(next - 1) (printk_ringbuffer.c since 67e1b0052f6b, which
// stopped wrapping a block that ends exactly at the ring's end); the older tools' rule
// `index(begin) > index(next)` misreads such a block, and DATA_WRAPS reads older kernels the same.
//
// decodeLocklessRing() is pure (bytes in, records out); readLocklessRing() fetches the bytes.

import type { KernelMemory } from './memory.js';
import { length, need, offset, size, symbol } from './keys.js';
import type { Vmcoreinfo } from './keys.js';
import { callerName } from './record.js';
import type { LogProblem, LogReadResult, LogRecord } from './record.js';

/**
 * Bounds on sizes read from the dump: the kernel makes count_bits = size_bits - PRB_AVGBITS (5), and
 * kdbg reads at most MAX_RING_BYTES of descriptors, infos and text together (a 32 MiB log_buf_len
 * needs about 0.1 GiB); larger values mean a corrupt header, reported, not allocated.
 */
const MAX_SIZE_BITS = 31;
const MAX_RING_BYTES = 1 << 30;

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

export function locklessLayout(vi: Vmcoreinfo, littleEndian: boolean): LocklessLayout {
  const o = (f: string): number => need(offset(vi, f), `OFFSET(${f})`);
  const s = (n: string): number => need(size(vi, n), `SIZE(${n})`);
  const word = size(vi, 'atomic_long_t') ?? 8;
  return {
    wordSize: word === 4 ? 4 : 8,
    littleEndian,
    'SIZE(printk_ringbuffer)': s('printk_ringbuffer'),
    'printk_ringbuffer.desc_ring': o('printk_ringbuffer.desc_ring'),
    'printk_ringbuffer.text_data_ring': o('printk_ringbuffer.text_data_ring'),
    'prb_desc_ring.count_bits': o('prb_desc_ring.count_bits'),
    'prb_desc_ring.descs': o('prb_desc_ring.descs'),
    'prb_desc_ring.infos': o('prb_desc_ring.infos'),
    'prb_desc_ring.head_id': o('prb_desc_ring.head_id'),
    'prb_desc_ring.tail_id': o('prb_desc_ring.tail_id'),
    'SIZE(prb_desc)': s('prb_desc'),
    'prb_desc.state_var': o('prb_desc.state_var'),
    'prb_desc.text_blk_lpos': o('prb_desc.text_blk_lpos'),
    'prb_data_blk_lpos.begin': o('prb_data_blk_lpos.begin'),
    'prb_data_blk_lpos.next': o('prb_data_blk_lpos.next'),
    'SIZE(printk_info)': s('printk_info'),
    'printk_info.seq': o('printk_info.seq'),
    'printk_info.ts_nsec': o('printk_info.ts_nsec'),
    'printk_info.text_len': o('printk_info.text_len'),
    'printk_info.caller_id': offset(vi, 'printk_info.caller_id'),
    'printk_info.dev_info': offset(vi, 'printk_info.dev_info'),
    'dev_printk_info.subsystem': offset(vi, 'dev_printk_info.subsystem'),
    'dev_printk_info.device': offset(vi, 'dev_printk_info.device'),
    'LENGTH(printk_info_subsystem)': length(vi, 'printk_info_subsystem'),
    'LENGTH(printk_info_device)': length(vi, 'printk_info_device'),
    'prb_data_ring.size_bits': o('prb_data_ring.size_bits'),
    'prb_data_ring.data': o('prb_data_ring.data'),
    'atomic_long_t.counter': offset(vi, 'atomic_long_t.counter') ?? 0,
  };
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

export function parseLocklessHeader(prb: Uint8Array, L: LocklessLayout): LocklessHeader {
  const dv = new DataView(prb.buffer, prb.byteOffset, prb.byteLength);
  const dr = L['printk_ringbuffer.desc_ring'];
  const tr = L['printk_ringbuffer.text_data_ring'];
  const c = L['atomic_long_t.counter'];
  return {
    count_bits: dv.getUint32(dr + L['prb_desc_ring.count_bits'], L.littleEndian),
    descs: word(dv, dr + L['prb_desc_ring.descs'], L),
    infos: word(dv, dr + L['prb_desc_ring.infos'], L),
    head_id: word(dv, dr + L['prb_desc_ring.head_id'] + c, L),
    tail_id: word(dv, dr + L['prb_desc_ring.tail_id'] + c, L),
    size_bits: dv.getUint32(tr + L['prb_data_ring.size_bits'], L.littleEndian),
    data: word(dv, tr + L['prb_data_ring.data'], L),
  };
}

function word(dv: DataView, at: number, L: LocklessLayout): bigint {
  return L.wordSize === 8 ? dv.getBigUint64(at, L.littleEndian) : BigInt(dv.getUint32(at, L.littleEndian));
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

const overlaps = (holes: Holes, a: number, b: number): boolean => holes.some(([s, e]) => s < b && a < e);

const DESC_COMMITTED = 1n;
const DESC_FINALIZED = 2n;

/** Walk the ring from tail_id to head_id (pure). */
export function decodeLocklessRing(r: LocklessBytes, L: LocklessLayout): { records: LogRecord[]; problems: LogProblem[]; levelInferred: boolean } {
  const bits = BigInt(L.wordSize * 8);
  const wordMask = (1n << bits) - 1n;
  const idMask = wordMask >> 2n;
  const count = 1n << BigInt(r.header.count_bits);
  const dsize = 1n << BigInt(r.header.size_bits);
  const dmask = dsize - 1n;
  const sizeBits = BigInt(r.header.size_bits);
  const descDv = new DataView(r.descs.buffer, r.descs.byteOffset, r.descs.byteLength);
  const infoDv = new DataView(r.infos.buffer, r.infos.byteOffset, r.infos.byteLength);
  const dataDv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  const le = L.littleEndian;
  const ws = L.wordSize;
  const c = L['atomic_long_t.counter'];
  // facility (u8) and the flags:5/level:3 byte follow text_len in struct printk_info; they are not
  // exported, but when caller_id sits exactly 4 bytes after text_len, those two bytes are all that
  // can be between them (printk_ringbuffer.h: u16 text_len; u8 facility; u8 flags:5; u8 level:3;
  // u32 caller_id).
  const tl = L['printk_info.text_len'];
  const levelInferred = L['printk_info.caller_id'] === tl + 4;
  const records: LogRecord[] = [];
  let unreadable = 0;
  let torn = 0;
  const dump = (id: bigint): void => {
    const slot = Number(id % count);
    const d = slot * L['SIZE(prb_desc)'];
    const inf = slot * L['SIZE(printk_info)'];
    if (overlaps(r.descHoles, d, d + L['SIZE(prb_desc)']) || overlaps(r.infoHoles, inf, inf + L['SIZE(printk_info)'])) {
      unreadable++;
      return;
    }
    const sv = word(descDv, d + L['prb_desc.state_var'] + c, L);
    if ((sv & idMask) !== id) return;
    const state = (sv >> (bits - 2n)) & 3n;
    if (state !== DESC_COMMITTED && state !== DESC_FINALIZED) return;
    const lp = d + L['prb_desc.text_blk_lpos'];
    const begin = word(descDv, lp + L['prb_data_blk_lpos.begin'], L);
    const next = word(descDv, lp + L['prb_data_blk_lpos.next'], L);
    // Data-less blocks (FAILED_LPOS 0x1, NO_LPOS 0x3) and empty ones carry no text.
    if ((begin & 1n) === 1n || (begin & dmask) === (next & dmask)) return;
    let textLen = infoDv.getUint16(inf + tl, le);
    const [start, end] = textBlock(begin, next, sizeBits, wordMask);
    if (end - start < ws || end > r.data.length) {
      torn++;
      return;
    }
    if (overlaps(r.dataHoles, start, end)) {
      unreadable++;
      return;
    }
    // Each block starts with the ID of the descriptor that owns it (struct prb_data_block).
    const blkId = ws === 8 ? dataDv.getBigUint64(start, le) : BigInt(dataDv.getUint32(start, le));
    if ((blkId & idMask) !== id) {
      torn++;
      return;
    }
    textLen = Math.min(textLen, end - start - ws);
    const callerOff = L['printk_info.caller_id'];
    const flagsByte = levelInferred ? infoDv.getUint8(inf + tl + 3) : 0;
    records.push({
      sequence: Number(infoDv.getBigUint64(inf + L['printk_info.seq'], le)),
      tsNsec: infoDv.getBigUint64(inf + L['printk_info.ts_nsec'], le),
      level: levelInferred ? (le ? flagsByte >> 5 : flagsByte & 7) : null,
      facility: levelInferred ? infoDv.getUint8(inf + tl + 2) : null,
      caller: callerOff === null ? null : callerName(infoDv.getUint32(inf + callerOff, le)),
      text: r.data.slice(start + ws, start + ws + textLen),
      subsystem: devString(r.infos, inf, L, 'subsystem'),
      device: devString(r.infos, inf, L, 'device'),
    });
  };
  const head = r.header.head_id & idMask;
  let id = r.header.tail_id & idMask;
  // A consistent ring holds at most `count` descriptors between tail and head.
  let steps = 0n;
  for (; id !== head && steps <= count; id = (id + 1n) & idMask, steps++) dump(id);
  const problems: LogProblem[] = [];
  if (id !== head) problems.push({ code: 'torn', message: `tail_id ${r.header.tail_id} and head_id ${r.header.head_id} are more than ${count} descriptors apart: the ring's indexes are inconsistent` });
  else dump(head);
  if (unreadable > 0) problems.push({ code: 'unreadable', message: `${unreadable} record${unreadable === 1 ? '' : 's'} not in the dump (their pages were excluded or are missing)` });
  if (torn > 0) problems.push({ code: 'torn', message: `${torn} record${torn === 1 ? '' : 's'} skipped: text block does not belong to its descriptor (overwritten or torn)` });
  let gaps = 0;
  for (let i = 1; i < records.length; i++) if (records[i]!.sequence !== records[i - 1]!.sequence + 1) gaps++;
  if (gaps > 0 && unreadable === 0 && torn === 0) problems.push({ code: 'gap', message: `${gaps} jump${gaps === 1 ? '' : 's'} in sequence numbers: records between were still being written (reserved) or discarded` });
  return { records, problems, levelInferred };
}

/**
 * Where a text block's bytes lie in the data ring: [start, end) offsets. A block that wraps is
 * stored whole at the ring's start (DATA_WRAPS(begin) != DATA_WRAPS(next - 1), see above).
 */
function textBlock(begin: bigint, next: bigint, sizeBits: bigint, wordMask: bigint): [number, number] {
  const dmask = (1n << sizeBits) - 1n;
  if (begin >> sizeBits !== ((next - 1n) & wordMask) >> sizeBits) return [0, Number(next & dmask)];
  const start = Number(begin & dmask);
  return [start, start + Number((next - begin) & wordMask)];
}

/**
 * The descriptor slots the walk from tail_id to head_id visits, as [first, count] runs: a log of a
 * few hundred records uses a few of the 4096 slots (the arrays are 440 KiB, 110 pages, on 6.1).
 * Every slot when tail and head are a whole ring or more apart (the walk then visits them all).
 */
export function liveSlots(h: LocklessHeader, wordSize: 4 | 8): [number, number][] {
  const idMask = ((1n << BigInt(wordSize * 8)) - 1n) >> 2n;
  const count = 2 ** h.count_bits;
  const steps = ((h.head_id & idMask) - (h.tail_id & idMask)) & idMask;
  if (steps + 1n >= BigInt(count)) return [[0, count]];
  const first = Number((h.tail_id & idMask) % BigInt(count));
  const n = Number(steps) + 1;
  return first + n <= count ? [[first, n]] : [[first, count - first], [0, n - (count - first)]];
}

/**
 * The data-ring ranges the text blocks of `slots` occupy, merged where less than a page apart: the
 * part of the ring worth reading (a young log fills a fifth of a 128 KiB ring). Descriptors the
 * walk will reject anyway only make a range larger, never an out-of-ring read.
 */
export function textRanges(descs: Uint8Array, slots: readonly [number, number][], h: LocklessHeader, L: LocklessLayout, pageSize: number): [number, number][] {
  const dv = new DataView(descs.buffer, descs.byteOffset, descs.byteLength);
  const bits = BigInt(L.wordSize * 8);
  const wordMask = (1n << bits) - 1n;
  const sizeBits = BigInt(h.size_bits);
  const ringLen = 2 ** h.size_bits;
  const ranges: [number, number][] = [];
  for (const [first, n] of slots) {
    for (let slot = first; slot < first + n; slot++) {
      const lp = slot * L['SIZE(prb_desc)'] + L['prb_desc.text_blk_lpos'];
      const begin = word(dv, lp + L['prb_data_blk_lpos.begin'], L);
      const next = word(dv, lp + L['prb_data_blk_lpos.next'], L);
      if ((begin & 1n) === 1n) continue;
      const [start, end] = textBlock(begin, next, sizeBits, wordMask);
      if (end > start) ranges.push([start, Math.min(end, ringLen)]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + pageSize) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

function devString(infos: Uint8Array, inf: number, L: LocklessLayout, which: 'subsystem' | 'device'): string | null {
  const di = L['printk_info.dev_info'];
  const off = L[`dev_printk_info.${which}`];
  const len = L[which === 'subsystem' ? 'LENGTH(printk_info_subsystem)' : 'LENGTH(printk_info_device)'];
  if (di === null || off === null || len === null) return null;
  const b = infos.subarray(inf + di + off, inf + di + off + len);
  // Most records have no device: no decoder call for them.
  if (b.length === 0 || b[0] === 0) return null;
  const nul = b.indexOf(0);
  return LATIN1.decode(nul === -1 ? b : b.subarray(0, nul));
}

const LATIN1 = new TextDecoder('latin1');

/** Fetch the ring's bytes (header, descriptor and info arrays, data ring) through kernel memory. */
export async function readLocklessBytes(vi: Vmcoreinfo, mem: KernelMemory): Promise<{ layout: LocklessLayout; bytes: LocklessBytes } | LogProblem> {
  const L = locklessLayout(vi, mem.littleEndian);
  const prbSym = need(symbol(vi, 'prb'), 'SYMBOL(prb)');
  const ptr = await mem.readExact(prbSym, L.wordSize);
  if (!ptr) return { code: 'unreadable', message: `the pointer prb at 0x${prbSym.toString(16)} is not in the dump` };
  const dv = new DataView(ptr.buffer, ptr.byteOffset, ptr.byteLength);
  const prb = L.wordSize === 8 ? dv.getBigUint64(0, L.littleEndian) : BigInt(dv.getUint32(0, L.littleEndian));
  const hb = await mem.readExact(prb, L['SIZE(printk_ringbuffer)']);
  if (!hb) return { code: 'unreadable', message: `struct printk_ringbuffer at 0x${prb.toString(16)} is not in the dump` };
  const header = parseLocklessHeader(hb, L);
  const ringBytes = 2 ** header.count_bits * (L['SIZE(prb_desc)'] + L['SIZE(printk_info)']) + 2 ** header.size_bits;
  if (header.count_bits > header.size_bits || header.size_bits > MAX_SIZE_BITS || header.size_bits < 4 || ringBytes > MAX_RING_BYTES) {
    return { code: 'torn', message: `implausible ring sizes (count_bits ${header.count_bits}, size_bits ${header.size_bits}): the ring header is corrupt` };
  }
  // Only what the walk will look at is read (the rest stays zero and is never visited): the slots
  // from tail to head, then the text blocks they point at. On the oops dump that is 45 of the
  // ring's 142 pages, each one decompressed (docs/analyze.md, "Measured").
  const count = 2 ** header.count_bits;
  const slots = liveSlots(header, L.wordSize);
  const descs = new Uint8Array(count * L['SIZE(prb_desc)']);
  const infos = new Uint8Array(count * L['SIZE(printk_info)']);
  const data = new Uint8Array(2 ** header.size_bits);
  const descHoles: [number, number][] = [];
  const infoHoles: [number, number][] = [];
  const dataHoles: [number, number][] = [];
  for (const [first, n] of slots) {
    await readInto(mem, header.descs, descs, first * L['SIZE(prb_desc)'], n * L['SIZE(prb_desc)'], descHoles);
    await readInto(mem, header.infos, infos, first * L['SIZE(printk_info)'], n * L['SIZE(printk_info)'], infoHoles);
  }
  for (const [start, end] of textRanges(descs, slots, header, L, 4096)) await readInto(mem, header.data, data, start, end - start, dataHoles);
  return { layout: L, bytes: { header, descs, infos, data, descHoles, infoHoles, dataHoles } };
}

/** Read `length` bytes of kernel memory at base+offset into `into` at `offset`, holes listed. */
async function readInto(mem: KernelMemory, base: bigint, into: Uint8Array, offset: number, length: number, holes: [number, number][]): Promise<void> {
  const r = await mem.read(base + BigInt(offset), length);
  into.set(r.bytes, offset);
  for (const [a, b] of r.holes) holes.push([offset + a, offset + b]);
}

/** Read the lockless ring through kernel virtual memory. */
export async function readLocklessRing(vi: Vmcoreinfo, mem: KernelMemory): Promise<LogReadResult> {
  const got = await readLocklessBytes(vi, mem);
  if (!('layout' in got)) return { layout: 'lockless', records: [], levelSource: null, problems: [got] };
  const out = decodeLocklessRing(got.bytes, got.layout);
  return { layout: 'lockless', records: out.records, levelSource: out.levelInferred ? 'inferred' : null, problems: out.problems };
}
