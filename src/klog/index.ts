// The klog stage: the crashed kernel's log buffer read from the dump with VMCOREINFO alone (no
// vmlinux), for `kdbg log` and the first look of `kdbg analyze`. Layouts by key (keys.ts), reading
// through kernel virtual memory (memory.ts, open.ts), rendering like makedumpfile (format.ts), and
// the oops parser over the resulting text (oops.ts).

import { detectLayout, MissingKeyError } from './keys.js';
import type { Vmcoreinfo } from './keys.js';
import { readLocklessRing } from './lockless.js';
import type { KernelMemory } from './memory.js';
import { openDumpForLog } from './open.js';
import type { LogReadResult } from './record.js';

export type { LogRecord, LogProblem, LogReadResult } from './record.js';
export type { RingLayout } from './keys.js';

/** Read the log ring through `mem`; never throws for a malformed ring, reports problems instead. */
export async function readLogRing(vi: Vmcoreinfo, mem: KernelMemory): Promise<LogReadResult> {
  const layout = detectLayout(vi);
  if (layout === null) {
    return { layout: null, records: [], levelSource: null, problems: [{ code: 'no-layout', message: 'VMCOREINFO names no printk ring (no SYMBOL(prb), SYMBOL(log_first_idx) or SYMBOL(log_buf))' }] };
  }
  try {
    if (layout === 'lockless') return await readLocklessRing(vi, mem);
    const { readStructuredRing, readLegacyRing } = await import('./structured.js');
    return layout === 'structured' ? await readStructuredRing(vi, mem) : await readLegacyRing(vi, mem);
  } catch (e) {
    if (e instanceof MissingKeyError) return { layout, records: [], levelSource: null, problems: [{ code: 'missing-key', message: `${e.message}, which the ${layout} ring reader needs` }] };
    throw e;
  }
}

export interface DumpLog extends LogReadResult {
  /** The dump files read: a split part alone when its pages held the log, else every part of the set (pfn order). */
  files: string[];
  release: string | null;
}

/** Open a dump file and read its kernel log. */
export async function readDumpLog(path: string): Promise<DumpLog> {
  const d = await openDumpForLog(path);
  try {
    const vi = d.identity.vmcoreinfo;
    if (!vi || !d.memory) {
      return { layout: null, records: [], levelSource: null, files: d.files, release: d.identity.release, problems: [{ code: 'no-layout', message: 'the dump has no VMCOREINFO note: nothing says where the log buffer is' }] };
    }
    const r = await readLogRing(vi, d.memory);
    return { ...r, files: d.files, release: d.identity.release };
  } finally {
    await d.close();
  }
}

export interface FirstLook {
  /** "NULL pointer dereference at 0000000000000008 in f+0x5 [mod] (comm, pid 1, CPU 0), tainted: OE". */
  headline: string;
  /** formatOops(): headline, panic, kernel, hardware, modules, call trace. */
  text: string;
  oops: import('./oops.js').Oops;
  others: number;
}

/**
 * The first look at a dump before any vmlinux is fetched: its log's first oops/panic. Null when
 * the log cannot be read or holds no report; never throws (the full analysis goes on either way).
 */
export async function firstLook(path: string): Promise<FirstLook | null> {
  try {
    const log = await readDumpLog(path);
    if (log.records.length === 0) return null;
    const { recordsText } = await import('./format.js');
    const { parseOops, oopsHeadline, formatOops } = await import('./oops.js');
    const r = parseOops(recordsText(log.records));
    if (!r.first) return null;
    return { headline: oopsHeadline(r.first), text: formatOops(r.first), oops: r.first, others: r.others.length };
  } catch {
    return null;
  }
}

/** The --no-fetch report of `kdbg analyze`: what the dump alone says (src/klog/report.ts renders it). */
export async function buildFirstLookReport(
  path: string,
  identity: { format: string; release: string | null; buildId: string | null; crashTime?: string | null },
  identifyMs: number,
  tailLines = 50,
): Promise<import('./report.js').FirstLookReport> {
  const t = Date.now();
  const log = await readDumpLog(path);
  const { recordsText } = await import('./format.js');
  const { parseOops, oopsHeadline } = await import('./oops.js');
  const text = recordsText(log.records);
  const r = parseOops(text);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return {
    schema: 'kdbg.firstlook/v1',
    dump: { path, format: identity.format, release: identity.release ?? log.release, buildId: identity.buildId, crashTime: identity.crashTime ?? null },
    firstLook: r.first ? { headline: oopsHeadline(r.first), oops: r.first, others: r.others } : null,
    log: { layout: log.layout, levelSource: log.levelSource, records: log.records.length, problems: log.problems, tail: lines.slice(-tailLines) },
    timings: { identifyMs, logMs: Date.now() - t },
  };
}
