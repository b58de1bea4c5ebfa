// The dump's own call trace (what the kernel printed with its kallsyms when it crashed, read by the
// first look before any vmlinux) set beside crash's `bt` of the panicking task. They usually tell
// the same story from two ends, and where they differ an engineer wants to see it at once: crash
// unwinds from the kexec back through panic, the kernel printed from the fault; the kernel prints
// unreliable `? fn` guesses that crash's unwinder skips; crash may lose frames when its unwinder
// stumbles (or invent them when the vmlinux is wrong). Pure: two frame lists in, an alignment out.

import type { ChainEntry } from './call-chain.js';
import { GENERIC_FRAME, normalizeFunction } from './signature.js';

/** One entry of the log's call trace, in a shape free of the klog stage's types. */
export interface LogTraceFrame {
  function: string;
  /** Bytes into the function as the log printed it (function+0x1a/0x40). */
  offset: number | null;
  module: string | null;
  /** false: the log's "? fn" (a stale return address the unwinder found on the stack). */
  reliable: boolean;
  /** The RIP/pc of a register dump (the fault itself), not a stack frame. */
  exception: boolean;
}

export interface LogTrace {
  /** The first-look headline the trace belongs to. */
  headline: string;
  frames: LogTraceFrame[];
}

/**
 * both: the frame is in each; log-only / bt-only: a real difference; log-unreliable: a "? fn" guess
 * crash skipped, as expected; panic-path: before the first common frame, how each side got from the
 * fault to where it printed (bt: machine_kexec, __crash_kexec, panic; the log: dump_stack, panic).
 */
export type LogBtStatus = 'both' | 'log-only' | 'log-unreliable' | 'bt-only' | 'panic-path';

export interface LogBtRow {
  status: LogBtStatus;
  /** "fn+0x1a [mod]" as the log printed it; null for a bt-only row. */
  log: string | null;
  /** "#3 fn [mod]" or "[exception RIP: fn+26]"; null for a log-only row. */
  bt: string | null;
  /** Index into the report's callChain, null for a log-only row. */
  chainIndex: number | null;
}

export interface LogBtComparison {
  headline: string;
  rows: LogBtRow[];
  /** Frames found in both, in the same order. */
  matched: number;
  /** Reliable log frames that bt does not have (unreliable ones are expected to be missing). */
  logOnly: string[];
  /** bt frames after the first common frame that the log does not have. */
  btOnly: string[];
  /** One sentence: whether they agree, and where not. */
  verdict: string;
}

function logName(f: LogTraceFrame): string {
  const off = f.offset !== null ? `+0x${f.offset.toString(16)}` : '';
  return `${f.reliable ? '' : '? '}${f.function}${off}${f.module ? ` [${f.module}]` : ''}`;
}

function btName(c: ChainEntry): string {
  if (c.kind === 'exception') return `[exception RIP: ${c.function}${c.offset !== null ? `+${c.offset}` : ''}]`;
  return `#${c.level} ${c.function}${c.module ? ` [${c.module}]` : ''}`;
}

/**
 * Align the log's frames with crash's call chain by function name (normalised: offsets and
 * .isra/.constprop/.cold suffixes dropped, since one side may print the clone and the other the
 * symbol) as the longest common subsequence, then read the differences off the alignment.
 */
export function compareLogWithBt(trace: LogTrace, chain: readonly ChainEntry[]): LogBtComparison {
  const a = trace.frames.map((f) => normalizeFunction(f.function));
  const b = chain.map((c) => normalizeFunction(c.function));
  // LCS table, (n+1)×(m+1); traces are tens of frames, so the quadratic table is nothing.
  const n = a.length;
  const m = b.length;
  const len: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) len[i]![j] = a[i] === b[j] && a[i] !== '' ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!);
  }
  const rows: LogBtRow[] = [];
  let i = 0;
  let j = 0;
  let seenCommon = false;
  const btRow = (k: number): LogBtRow => ({
    // Before the first frame both name, bt's frames are the way from the crash back to the fault
    // (machine_kexec, __crash_kexec, panic, oops_end …): the kernel printed its trace before them.
    status: !seenCommon && GENERIC_FRAME.test(b[k]!) ? 'panic-path' : 'bt-only',
    log: null,
    bt: btName(chain[k]!),
    chainIndex: k,
  });
  const logRow = (k: number): LogBtRow => ({
    status: !trace.frames[k]!.reliable ? 'log-unreliable' : !seenCommon && GENERIC_FRAME.test(a[k]!) ? 'panic-path' : 'log-only',
    log: logName(trace.frames[k]!),
    bt: null,
    chainIndex: null,
  });
  while (i < n && j < m) {
    // An unreliable log frame ("? ksys_write+0x6b", a stale return address the unwinder passed)
    // that a reliable frame of the same function follows must not take bt's frame from it: when
    // passing it over loses no match, it is passed over.
    const staleTwin = a[i] === b[j] && !trace.frames[i]!.reliable && len[i + 1]![j]! === len[i]![j]!;
    if (a[i] === b[j] && a[i] !== '' && !staleTwin) {
      rows.push({ status: 'both', log: logName(trace.frames[i]!), bt: btName(chain[j]!), chainIndex: j });
      seenCommon = true;
      i++;
      j++;
    } else if (len[i + 1]![j]! >= len[i]![j + 1]!) rows.push(logRow(i++));
    else rows.push(btRow(j++));
  }
  while (i < n) rows.push(logRow(i++));
  while (j < m) rows.push(btRow(j++));
  const matched = rows.filter((r) => r.status === 'both').length;
  const logOnly = rows.filter((r) => r.status === 'log-only').map((r) => r.log!);
  const btOnly = rows.filter((r) => r.status === 'bt-only').map((r) => r.bt!);
  return { headline: trace.headline, rows, matched, logOnly, btOnly, verdict: verdictOf(matched, logOnly, btOnly, n, m) };
}

function verdictOf(matched: number, logOnly: string[], btOnly: string[], n: number, m: number): string {
  if (n === 0) return 'the log printed no call trace to compare';
  if (m === 0) return 'crash gave no backtrace to compare';
  if (matched === 0) return 'the log and bt share no frame: bt may be of another task or context, or the vmlinux may not be the one that crashed';
  const parts: string[] = [];
  if (logOnly.length) parts.push(`${logOnly.length} reliable log frame${logOnly.length === 1 ? '' : 's'} not in bt (${logOnly.slice(0, 4).join(', ')}${logOnly.length > 4 ? ', …' : ''})`);
  if (btOnly.length) parts.push(`${btOnly.length} bt frame${btOnly.length === 1 ? '' : 's'} not in the log (${btOnly.slice(0, 4).join(', ')}${btOnly.length > 4 ? ', …' : ''})`);
  if (parts.length === 0) return `they agree: ${matched} frame${matched === 1 ? '' : 's'} in the same order (bt adds only the panic path; the log's "?" guesses aside)`;
  return `${matched} frame${matched === 1 ? '' : 's'} agree; ${parts.join('; ')}`;
}
