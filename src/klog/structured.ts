// Layout B: variable-length `struct printk_log` records (Linux 3.5–5.9; `struct log` before 3.11),
// and layout A: the plain character ring (before 3.5). shared/design/printk-and-oops.md §2 and §3.
//
// Layout B walk (makedumpfile log_from_idx/log_next, crash log_from_idx/log_next): from
// log_first_idx to log_next_idx; a record whose `len` is 0 marks the end of the buffer, the real
// record being at offset 0. Records are not merged (LOG_CONT is not exported).
// Layout A: `log_end` counts bytes ever written; the text is the last min(log_end, log_buf_len)
// bytes of the ring, already formatted ("<N>[    1.234567] text\n").

import { need, offset, size, symbol } from './keys.js';
import type { Vmcoreinfo } from './keys.js';
import type { KernelMemory } from './memory.js';
import { callerName } from './record.js';
import type { LogProblem, LogReadResult, LogRecord } from './record.js';

/** log_buf_len is an int (LOG_BUF_LEN_MAX = 2^31); kdbg reads at most 1 GiB of it (a corrupt value is reported, not allocated). */
const MAX_BUF = 1 << 30;

export interface StructuredLayout {
  littleEndian: boolean;
  /** SIZE(printk_log) or SIZE(log). */
  size: number;
  ts_nsec: number;
  len: number;
  text_len: number;
  dict_len: number;
  caller_id: number | null;
}

export function structuredLayout(vi: Vmcoreinfo, littleEndian: boolean): StructuredLayout {
  const struct = size(vi, 'printk_log') !== null ? 'printk_log' : 'log';
  const o = (f: string): number => need(offset(vi, `${struct}.${f}`), `OFFSET(${struct}.${f})`);
  return {
    littleEndian,
    size: need(size(vi, struct), 'SIZE(printk_log)'),
    ts_nsec: o('ts_nsec'),
    len: o('len'),
    text_len: o('text_len'),
    dict_len: o('dict_len'),
    caller_id: offset(vi, `${struct}.caller_id`),
  };
}

/** Walk the record buffer (pure). `first`/`next` are log_first_idx/log_next_idx. */
export function decodeStructuredRing(buf: Uint8Array, first: number, next: number, L: StructuredLayout, holes: readonly (readonly [number, number])[] = []): { records: LogRecord[]; problems: LogProblem[]; levelInferred: boolean } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = L.littleEndian;
  const records: LogRecord[] = [];
  const problems: LogProblem[] = [];
  // struct printk_log: u64 ts_nsec; u16 len, text_len, dict_len; u8 facility; u8 flags:5, level:3;
  // [u32 caller_id]. Not exported, but when the struct ends (or caller_id starts) 4 bytes after
  // dict_len, those are the facility and flags/level bytes.
  const levelInferred = L.dict_len + 4 === (L.caller_id ?? L.size);
  let unreadable = 0;
  let idx = first;
  let steps = 0;
  // Every record holds at least its header: more steps than that means the walk loops.
  const maxSteps = Math.floor(buf.length / Math.max(L.size, 1));
  const u16 = (at: number): number => dv.getUint16(at, le);
  while (idx !== next) {
    if (idx < 0 || idx + L.size > buf.length || steps++ >= maxSteps) {
      problems.push({ code: 'torn', message: `record index ${idx} is outside the ${buf.length}-byte buffer or the walk loops: stopped after ${records.length} records` });
      break;
    }
    let at = idx;
    let len = u16(at + L.len);
    if (len === 0) {
      // End-of-buffer marker: the record is at the start.
      at = 0;
      len = u16(L.len);
      if (len === 0) {
        problems.push({ code: 'torn', message: `zero-length record at offset 0 (reached from ${idx}): stopped after ${records.length} records` });
        break;
      }
    }
    const textLen = Math.min(u16(at + L.text_len), Math.max(0, buf.length - at - L.size));
    if (holes.some(([s, e]) => s < at + L.size + textLen && at < e)) unreadable++;
    else {
      const flags = levelInferred ? dv.getUint8(at + L.dict_len + 3) : 0;
      records.push({
        sequence: records.length + unreadable,
        tsNsec: dv.getBigUint64(at + L.ts_nsec, le),
        level: levelInferred ? (le ? flags >> 5 : flags & 7) : null,
        facility: levelInferred ? dv.getUint8(at + L.dict_len + 2) : null,
        caller: L.caller_id === null ? null : callerName(dv.getUint32(at + L.caller_id, le)),
        text: buf.slice(at + L.size, at + L.size + textLen),
        subsystem: null,
        device: null,
      });
    }
    idx = at + len;
  }
  if (unreadable > 0) problems.push({ code: 'unreadable', message: `${unreadable} record${unreadable === 1 ? '' : 's'} not in the dump (their pages were excluded or are missing)` });
  return { records, problems, levelInferred };
}

async function readWord(mem: KernelMemory, va: bigint, bytes: 4 | 8): Promise<bigint | null> {
  const b = await mem.readExact(va, bytes);
  if (!b) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return bytes === 8 ? dv.getBigUint64(0, mem.littleEndian) : BigInt(dv.getUint32(0, mem.littleEndian));
}

export async function readStructuredRing(vi: Vmcoreinfo, mem: KernelMemory): Promise<LogReadResult> {
  const L = structuredLayout(vi, mem.littleEndian);
  const fail = (message: string): LogReadResult => ({ layout: 'structured', records: [], levelSource: null, problems: [{ code: 'unreadable', message }] });
  const ptrSize = (size(vi, 'long') ?? 8) === 4 ? 4 : 8;
  const bufPtr = await readWord(mem, need(symbol(vi, 'log_buf'), 'SYMBOL(log_buf)'), ptrSize);
  const len = await readWord(mem, need(symbol(vi, 'log_buf_len'), 'SYMBOL(log_buf_len)'), 4);
  const first = await readWord(mem, need(symbol(vi, 'log_first_idx'), 'SYMBOL(log_first_idx)'), 4);
  const next = await readWord(mem, need(symbol(vi, 'log_next_idx'), 'SYMBOL(log_next_idx)'), 4);
  if (bufPtr === null || len === null || first === null || next === null) return fail('log_buf, log_buf_len, log_first_idx or log_next_idx is not in the dump');
  if (len === 0n || len > BigInt(MAX_BUF)) return { layout: 'structured', records: [], levelSource: null, problems: [{ code: 'torn', message: `implausible log_buf_len ${len}` }] };
  const buf = await mem.read(bufPtr, Number(len));
  const out = decodeStructuredRing(buf.bytes, Number(first), Number(next), L, buf.holes);
  return { layout: 'structured', records: out.records, levelSource: out.levelInferred ? 'inferred' : null, problems: out.problems };
}

/** Layout A: split the character ring's last min(log_end, len) bytes into lines (pure). */
export function decodeLegacyRing(buf: Uint8Array, logEnd: bigint): LogRecord[] {
  const len = BigInt(buf.length);
  let text: Uint8Array;
  if (logEnd < len) text = buf.subarray(0, Number(logEnd));
  else {
    const idx = Number(logEnd & (len - 1n));
    text = new Uint8Array(buf.length);
    text.set(buf.subarray(idx), 0);
    text.set(buf.subarray(0, idx), buf.length - idx);
  }
  const records: LogRecord[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text[i] !== 0x0a) continue;
    if (i > start || i < text.length) {
      const line = text.slice(start, i);
      const m = /^<(\d)>/.exec(new TextDecoder('latin1').decode(line.subarray(0, 3)));
      records.push({ sequence: records.length, tsNsec: null, level: m ? Number(m[1]) : null, facility: null, caller: null, text: line, subsystem: null, device: null });
    }
    start = i + 1;
  }
  return records;
}

export async function readLegacyRing(vi: Vmcoreinfo, mem: KernelMemory): Promise<LogReadResult> {
  const ptrSize = (size(vi, 'long') ?? 8) === 4 ? 4 : 8;
  const bufPtr = await readWord(mem, need(symbol(vi, 'log_buf'), 'SYMBOL(log_buf)'), ptrSize);
  const len = await readWord(mem, need(symbol(vi, 'log_buf_len'), 'SYMBOL(log_buf_len)'), 4);
  // log_end is an unsigned (u32) since 2.6.25, as vmcore-dmesg reads it.
  const end = await readWord(mem, need(symbol(vi, 'log_end'), 'SYMBOL(log_end)'), 4);
  if (bufPtr === null || len === null || end === null) return { layout: 'legacy', records: [], levelSource: null, problems: [{ code: 'unreadable', message: 'log_buf, log_buf_len or log_end is not in the dump' }] };
  if (len === 0n || len > BigInt(MAX_BUF) || (len & (len - 1n)) !== 0n) return { layout: 'legacy', records: [], levelSource: null, problems: [{ code: 'torn', message: `implausible log_buf_len ${len} (a power of two is expected)` }] };
  const buf = await mem.read(bufPtr, Number(len));
  const problems: LogProblem[] = buf.holes.length ? [{ code: 'unreadable', message: `${buf.holes.reduce((n, [s, e]) => n + e - s, 0)} bytes of the log buffer are not in the dump (shown as NULs)` }] : [];
  return { layout: 'legacy', records: decodeLegacyRing(buf.bytes, end), levelSource: null, problems };
}
