// Rendering log records. The text form is makedumpfile --dump-dmesg's (printk.c dump_record and
// makedumpfile.c dump_log_entry, shared/design/printk-and-oops.md §5): "[%5lld.%06ld] ", then with
// `caller` the column "[%8s] " that makedumpfile ≥ 1.7.5 prints; a '\n' inside a record continues
// on a new line indented by the prefix width; bytes that are neither printable nor space are
// written "\xNN". One difference: makedumpfile passes a signed char to "%02x", so on x86 a byte
// ≥ 0x80 comes out "\xffffffNN"; kdbg writes "\xNN".

import type { LogRecord } from './record.js';

export interface FormatOptions {
  /** Add makedumpfile ≥ 1.7.5's caller column ("[     T42] "). */
  caller?: boolean;
}

/** The "[    1.234567] " prefix: seconds, then microseconds (ts_nsec / 1000, truncated). */
export function timePrefix(tsNsec: bigint | null): string {
  if (tsNsec === null) return '';
  // In plain numbers while exact (below 2^53 ns, 104 days of uptime): BigInt division costs more
  // than the rest of a record's formatting in a short-lived process.
  if (tsNsec < 9_007_199_254_740_992n) {
    const n = Number(tsNsec);
    const r = n % 1e9;
    return `[${String((n - r) / 1e9).padStart(5)}.${String((r - (r % 1000)) / 1000).padStart(6, '0')}] `;
  }
  const s = tsNsec / 1_000_000_000n;
  const us = (tsNsec % 1_000_000_000n) / 1000n;
  return `[${s.toString().padStart(5)}.${us.toString().padStart(6, '0')}] `;
}

// Made on first use: `kdbg log`'s text goes through formatRecordsBytes(), which decodes nothing.
let latin1Decoder: InstanceType<typeof TextDecoder> | undefined;
const latin1 = (): InstanceType<typeof TextDecoder> => (latin1Decoder ??= new TextDecoder('latin1'));
const isPrintOrSpace = (b: number): boolean => (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d);
/** A byte formatRecord writes as \xNN (the newline, 0x0a, is handled apart). */
const NEEDS_ESCAPE = /[^\t\x0b-\r -~\n]/;

/** The timestamp and, with --caller, the caller column that start a record's line. */
function recordPrefix(r: LogRecord, opts: FormatOptions): string {
  const prefix = timePrefix(r.tsNsec);
  return opts.caller && r.caller !== null ? `${prefix}[${r.caller.padStart(8)}] ` : prefix;
}

/** A record whose text needs no \xNN: its continuation lines indented under the prefix. */
function plainLine(prefix: string, text: string, multiline: boolean): string {
  return `${prefix}${multiline ? text.replaceAll('\n', `\n${' '.repeat(prefix.length)}`) : text}\n`;
}

/** One record as makedumpfile prints it, ending with '\n'. */
export function formatRecord(r: LogRecord, opts: FormatOptions = {}): string {
  const prefix = recordPrefix(r, opts);
  // Nearly every record is printable ASCII: decoded in one call and checked by one regular
  // expression instead of a loop over its bytes (a third of a `kdbg log` process before).
  const whole = latin1().decode(r.text);
  if (!NEEDS_ESCAPE.test(whole)) return plainLine(prefix, whole, whole.includes('\n'));
  const indent = ' '.repeat(prefix.length);
  let out = prefix;
  let run = 0;
  const t = r.text;
  for (let i = 0; i < t.length; i++) {
    const b = t[i]!;
    if (b === 0x0a) out += `\n${indent}`;
    else if (isPrintOrSpace(b)) {
      // Copy runs of plain bytes at once.
      run = i;
      while (i + 1 < t.length && t[i + 1] !== 0x0a && isPrintOrSpace(t[i + 1]!)) i++;
      out += latin1().decode(t.subarray(run, i + 1));
    } else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}\n`;
}

/** The --json record (schema in docs/analyze.md). */
export interface LogRecordJson {
  sequence: number;
  /** Seconds since boot with microsecond precision, as the text prefix shows it; null if unknown. */
  timestamp: number | null;
  /** ts_nsec exactly, as a decimal string (u64). */
  timestampNsec: string | null;
  level: number | null;
  facility: number | null;
  caller: string | null;
  text: string;
  subsystem?: string;
  device?: string;
}

let utf8Decoder: InstanceType<typeof TextDecoder> | undefined;

export function recordJson(r: LogRecord): LogRecordJson {
  const j: LogRecordJson = {
    sequence: r.sequence,
    timestamp: r.tsNsec === null ? null : Number(r.tsNsec / 1000n) / 1e6,
    timestampNsec: r.tsNsec === null ? null : r.tsNsec.toString(),
    level: r.level,
    facility: r.facility,
    caller: r.caller,
    text: (utf8Decoder ??= new TextDecoder('utf-8', { fatal: false })).decode(r.text),
  };
  if (r.subsystem !== null) j.subsystem = r.subsystem;
  if (r.device !== null) j.device = r.device;
  return j;
}

/** The text of records, lines joined as the log shows them (for the oops parser). */
export function recordsText(records: readonly LogRecord[], opts: FormatOptions = {}): string {
  let s = '';
  for (const r of records) s += formatRecord(r, opts);
  return s;
}

/**
 * What formatRecord() writes for each record, as bytes (its text is ASCII: bytes outside it are
 * written \xNN), handed to `sink` in pieces of about CHUNK bytes, for `kdbg log`. The same strings,
 * made with fewer calls: the records' text bytes are decoded once per buffer they lie in (the
 * lockless ring's records are views of one data ring), as Latin-1 by Buffer (a copy, where
 * TextDecoder's 'latin1' is windows-1252 through ICU, one call per record); a record is a slice of
 * that string, which one regular expression checks for bytes that need \xNN. A byte loop in JavaScript
 * costs more than all of this in a process this short (the interpreter's per-byte work, about 5 M
 * instructions for the sysrq dump's 25 KB). test/klog/format-bytes.test.ts checks the bytes.
 */
export function formatRecordsBytes(records: readonly LogRecord[], opts: FormatOptions, sink: (bytes: Uint8Array) => void): void {
  const spans = textSpans(records);
  let chunk = '';
  // Indexed loops: for-of makes an iterator result object per record in the interpreter.
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const t = r.text;
    const sp = spans.get(t.buffer)!;
    const a = t.byteOffset - sp.base;
    const b = a + t.length;
    const text = sp.text.slice(a, b);
    if (NEEDS_ESCAPE.test(text)) chunk += formatRecord(r, opts);
    else {
      const nl = sp.text.indexOf('\n', a);
      chunk += plainLine(recordPrefix(r, opts), text, nl !== -1 && nl < b);
    }
    if (chunk.length >= CHUNK) {
      sink(Buffer.from(chunk, 'latin1'));
      chunk = '';
    }
  }
  if (chunk) sink(Buffer.from(chunk, 'latin1'));
}

const CHUNK = 1 << 16;
interface TextSpan {
  /** Byte offset in the buffer where `text` starts. */
  base: number;
  /** The bytes from the first record's text to the end of the last one's, as Latin-1. */
  text: string;
}

function textSpans(records: readonly LogRecord[]): Map<ArrayBufferLike, TextSpan> {
  const ends = new Map<ArrayBufferLike, [number, number]>();
  for (let i = 0; i < records.length; i++) {
    const t = records[i]!.text;
    const e = ends.get(t.buffer);
    if (!e) ends.set(t.buffer, [t.byteOffset, t.byteOffset + t.length]);
    else {
      if (t.byteOffset < e[0]) e[0] = t.byteOffset;
      if (t.byteOffset + t.length > e[1]) e[1] = t.byteOffset + t.length;
    }
  }
  const spans = new Map<ArrayBufferLike, TextSpan>();
  for (const [buf, [from, to]] of ends) {
    spans.set(buf, { base: from, text: Buffer.from(buf, from, to - from).toString('latin1') });
  }
  return spans;
}
