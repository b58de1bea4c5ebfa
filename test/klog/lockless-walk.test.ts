// The lockless ring walk (src/klog/lockless-walk.ts), which reads the ring's 64-bit words as two
// 32-bit halves, against the walk it replaced (kept below as the reference: the same walk in
// BigInt arithmetic). On the real rings of the fixture dumps and on hundreds of damaged copies,
// also read as 4-byte-word and big-endian rings (nonsense bytes for those layouts, which both walks
// must read alike), and with tail_id/head_id anywhere in the 64-bit range: the same records, the
// same problems, the same text ranges; where the reference throws, the new walk throws too.
import { describe, expect, it } from 'vitest';
import { readLocklessBytes } from '../../src/klog/lockless.js';
import { decodeLocklessRing, textRanges, walkProblems } from '../../src/klog/lockless-walk.js';
import type { Holes, LocklessBytes, LocklessHeader, LocklessLayout } from '../../src/klog/lockless-walk.js';
import { liveSlots } from '../../src/klog/lockless.js';
import { openDumpForLog } from '../../src/klog/open.js';
import { callerName } from '../../src/klog/record.js';
import type { LogProblem, LogRecord } from '../../src/klog/record.js';
import { requireFixture } from '../helpers/fixtures.js';

function word(dv: DataView, at: number, L: LocklessLayout): bigint {
  return L.wordSize === 8 ? dv.getBigUint64(at, L.littleEndian) : BigInt(dv.getUint32(at, L.littleEndian));
}

const overlaps = (holes: Holes, a: number, b: number): boolean => holes.some(([s, e]) => s < b && a < e);

const DESC_COMMITTED = 1n;
const DESC_FINALIZED = 2n;

/** The BigInt walk (lockless.ts until session 9). */
function referenceDecode(r: LocklessBytes, L: LocklessLayout): { records: LogRecord[]; problems: LogProblem[]; levelInferred: boolean } {
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
  // The messages are the walk's own wording (walkProblems): what is compared is the counting.
  problems.push(...walkProblems(records, unreadable, torn));
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
 * The data-ring ranges the text blocks of `slots` occupy, merged where less than a page apart: the
 * part of the ring worth reading (a young log fills a fifth of a 128 KiB ring). Descriptors the
 * walk will reject anyway only make a range larger, never an out-of-ring read.
 */
function referenceTextRanges(descs: Uint8Array, slots: readonly [number, number][], h: LocklessHeader, L: LocklessLayout, pageSize: number): [number, number][] {
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

/** Records as plain data (text as hex), for toEqual. */
function plain(out: { records: LogRecord[]; problems: LogProblem[]; levelInferred: boolean }): unknown {
  return { ...out, records: out.records.map((r) => ({ ...r, text: Buffer.from(r.text).toString('hex') })) };
}

/** Both walks on the same bytes: equal results, or both throw. */
function same(r: LocklessBytes, L: LocklessLayout, what: string): void {
  let want: unknown;
  let wantErr = false;
  try {
    want = plain(referenceDecode(r, L));
  } catch {
    wantErr = true;
  }
  if (wantErr) {
    expect(() => decodeLocklessRing(r, L), what).toThrow();
    return;
  }
  expect(plain(decodeLocklessRing(r, L)), what).toEqual(want);
  for (const slots of [liveSlots(r.header, L.wordSize), [[0, 2 ** r.header.count_bits]] as [number, number][]]) {
    let ranges: unknown;
    try {
      ranges = referenceTextRanges(r.descs, slots, r.header, L, 4096);
    } catch {
      expect(() => textRanges(r.descs, slots, r.header, L, 4096), what).toThrow();
      continue;
    }
    expect(textRanges(r.descs, slots, r.header, L, 4096), what).toEqual(ranges);
  }
}

async function ring(...file: string[]): Promise<{ L: LocklessLayout; bytes: LocklessBytes }> {
  const d = await openDumpForLog(requireFixture('vmcores', ...file));
  try {
    const got = await readLocklessBytes(d.identity.vmcoreinfo!, d.memory!);
    if (!('layout' in got)) throw new Error(got.message);
    return { L: got.layout, bytes: got.bytes };
  } finally {
    await d.close();
  }
}

describe('the lockless walk in 32-bit halves reads what the BigInt walk read', async () => {
  const rings = [await ring('sysrq', 'vmcore.elf'), await ring('oops', 'vmcore.kdump-zlib'), await ring('nmi', 'vmcore.kdump-zlib')];

  it('on the real rings of the fixture dumps', () => {
    for (const { L, bytes } of rings) {
      const out = decodeLocklessRing(bytes, L);
      expect(out.records.length).toBeGreaterThan(100);
      same(bytes, L, 'real ring');
    }
  });

  it('on damaged copies, as 8-byte little-endian, 4-byte and big-endian rings, with any tail and head (600 seeded rounds)', () => {
    let seed = 0x1d872b41;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const big = (): bigint => (BigInt(rand(2 ** 30)) << 34n) | (BigInt(rand(2 ** 30)) << 4n) | BigInt(rand(16));
    const holes = (len: number): Holes => (rand(4) === 0 ? [[rand(len), rand(len)]] : []);
    for (let round = 0; round < 600; round++) {
      const { L: real, bytes: clean } = rings[round % rings.length]!;
      const L: LocklessLayout = { ...real, wordSize: rand(4) === 0 ? 4 : 8, littleEndian: rand(4) !== 0 };
      const r: LocklessBytes = { ...clean, descs: clean.descs.slice(), infos: clean.infos.slice(), data: clean.data.slice() };
      for (let k = 0; k < rand(64); k++) {
        const arr = [r.descs, r.infos, r.data][rand(3)]!;
        arr[rand(arr.length)] = rand(256);
      }
      // A word set to a value near a wrap: an lpos or ID whose low half is 0 or all ones.
      if (rand(3) === 0) {
        const at = rand(r.descs.length - 8) & ~7;
        new DataView(r.descs.buffer).setBigUint64(at, [0n, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n, 0xc000000000000000n][rand(5)]!, true);
      }
      const h: LocklessHeader = { ...r.header };
      const pick = rand(6);
      if (pick === 0) Object.assign(h, { tail_id: big(), head_id: big() });
      else if (pick === 1) Object.assign(h, { head_id: h.tail_id + BigInt(rand(2 ** h.count_bits + 3)) });
      else if (pick === 2) Object.assign(h, { tail_id: (1n << 62n) - BigInt(rand(8)), head_id: BigInt(rand(8)) });
      else if (pick === 3) Object.assign(h, { tail_id: (1n << 64n) - 1n - BigInt(rand(3)), head_id: (1n << 64n) - 1n });
      // The sysrq dump's IDs are a few thousand below 2^32: a walk across it.
      else if (pick === 4) Object.assign(h, { tail_id: (1n << 32n) - BigInt(rand(9)), head_id: (1n << 32n) + BigInt(rand(9)) });
      r.header = h;
      r.descHoles = holes(r.descs.length);
      r.infoHoles = holes(r.infos.length);
      r.dataHoles = holes(r.data.length);
      same(r, L, `round ${round}`);
    }
  });
  it('with every lpos moved so that a block ends on a 32-bit boundary (the data ring turned to match)', () => {
    let checked = 0;
    for (const { L, bytes: clean } of rings) {
      const ref = referenceDecode(clean, L);
      const dsize = 2 ** clean.header.size_bits;
      const dv = new DataView(clean.descs.buffer, clean.descs.byteOffset);
      const lpos = L['prb_desc.text_blk_lpos'];
      const slotsUsed = liveSlots(clean.header, L.wordSize);
      // Ends of some blocks of the walk: next of the descriptors in its slots.
      const nexts: bigint[] = [];
      for (const [first, n] of slotsUsed) {
        for (let s = first; s < first + n; s += 37) {
          const at = s * L['SIZE(prb_desc)'] + lpos;
          if ((dv.getBigUint64(at + L['prb_data_blk_lpos.begin'], true) & 1n) === 0n) nexts.push(dv.getBigUint64(at + L['prb_data_blk_lpos.next'], true));
        }
      }
      for (const next of nexts) {
        const delta = BigInt.asUintN(64, (1n << 32n) - (next & 0xffffffffn));
        const shift = Number(delta % BigInt(dsize));
        const r: LocklessBytes = { ...clean, descs: clean.descs.slice(), data: new Uint8Array(dsize) };
        for (let i = 0; i < dsize; i++) r.data[(i + shift) % dsize] = clean.data[i]!;
        const w = new DataView(r.descs.buffer, r.descs.byteOffset);
        for (let s = 0; s < 2 ** r.header.count_bits; s++) {
          for (const f of ['prb_data_blk_lpos.begin', 'prb_data_blk_lpos.next'] as const) {
            const at = s * L['SIZE(prb_desc)'] + lpos + L[f];
            const v = w.getBigUint64(at, true);
            if ((v & 1n) === 0n) w.setBigUint64(at, BigInt.asUintN(64, v + delta), true);
          }
        }
        same(r, L, `lpos + ${delta}`);
        // The moved ring still reads (blocks that now straddle the ring's end excepted).
        expect(decodeLocklessRing(r, L).records.length).toBeGreaterThan(ref.records.length - 3);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
