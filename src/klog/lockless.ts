// Layout C: the lockless ring buffer `prb` (Linux 5.10+, kernel/printk/printk_ringbuffer.[ch]),
// read with the VMCOREINFO keys of log_buf_vmcoreinfo_setup() alone (shared/design/printk-and-oops.md
// §4). The walk is makedumpfile's dump_lockless_dmesg(): descriptors from tail_id to head_id, each
// shown only when its state_var carries the same ID and the committed or finalized state, data-less
// blocks skipped. One deliberate difference: whether a text block wraps is decided with the
// kernel's DATA_WRAPS(begin) != DATA_WRAPS(next - 1) (printk_ringbuffer.c since 67e1b0052f6b, which
// stopped wrapping a block that ends exactly at the ring's end); the older tools' rule
// `index(begin) > index(next)` misreads such a block, and DATA_WRAPS reads older kernels the same.
//
// decodeLocklessRing() (lockless-walk.ts) is pure (bytes in, records out); readLocklessRing() fetches
// the bytes.

import type { KernelMemory } from './memory.js';
import { length, need, offset, size, symbol } from './keys.js';
import type { Vmcoreinfo } from './keys.js';
import { decodeLocklessRing, textRanges } from './lockless-walk.js';
import type { Holes, LocklessBytes, LocklessHeader, LocklessLayout } from './lockless-walk.js';
import type { LogProblem, LogReadResult } from './record.js';

export { decodeLocklessRing, textRanges };
export type { Holes, LocklessBytes, LocklessHeader, LocklessLayout };

/**
 * Bounds on sizes read from the dump: the kernel makes count_bits = size_bits - PRB_AVGBITS (5), and
 * kdbg reads at most MAX_RING_BYTES of descriptors, infos and text together (a 32 MiB log_buf_len
 * needs about 0.1 GiB); larger values mean a corrupt header, reported, not allocated.
 */
const MAX_SIZE_BITS = 31;
const MAX_RING_BYTES = 1 << 30;

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
