// Triage rules: which panic this is (the log's own words first, then sys PANIC), where the kernel
// log's panic window lies, which task panicked, and which frame is the culprit (skipping the
// panic/oops machinery and reclaim frames).

import type { BtResult, BtTask } from './parsers/bt.js';
import type { LogLine } from './parsers/log.js';
import type { SysInfo } from './parsers/sys.js';
import type { Evidence, PanicClass, PanicTask } from './triage-types.js';

export interface Rule {
  cls: PanicClass;
  re: RegExp;
}

// Order matters only for lines matching several rules; the latest matching line before the panic wins.
export const RULES: Rule[] = [
  { cls: 'machine-check', re: /Machine check|MCE: \[Hardware Error\]|Fatal machine check/i },
  { cls: 'hard-lockup', re: /hard LOCKUP|Hard LOCKUP/ },
  { cls: 'soft-lockup', re: /soft lockup - CPU#\d+ stuck|softlockup: hung tasks/ },
  { cls: 'hung-task', re: /INFO: task .+:\d+ blocked for more than \d+ seconds|hung_task: blocked tasks/ },
  { cls: 'oom-panic', re: /Out of memory and no killable processes|System is deadlocked on memory|Out of memory: compulsory panic_on_oom|panic_on_oom/ },
  { cls: 'null-dereference', re: /NULL pointer dereference/ },
  { cls: 'paging-request', re: /unable to handle (?:kernel )?paging request|unable to handle page fault for address/ },
  { cls: 'general-protection-fault', re: /general protection fault/ },
  { cls: 'divide-error', re: /divide error:/ },
  { cls: 'stack-overflow', re: /stack guard page was hit|kernel stack overflow|corrupted stack end detected|stack-protector: Kernel stack is corrupted/ },
  { cls: 'kernel-bug', re: /kernel BUG at [^!]+!/ },
  { cls: 'sysrq', re: /sysrq triggered crash|SysRq : Trigger a crash|sysrq: Trigger a crash/ },
  { cls: 'nmi', re: /NMI: Not continuing|NMI received for unknown reason|Uhhuh\. NMI received|NMI IOCK error|NMI: PCI system error/ },
  { cls: 'warning-panic', re: /panic_on_warn set/ },
];

export const PANIC_LINE = /Kernel panic - not syncing/;
/** Frames that belong to the panic/oops machinery rather than to the culprit. */
export const MACHINERY = /^(panic|__crash_kexec|crash_kexec|machine_kexec|oops_end|die|__die|do_trap|do_error_trap|exc_\w+|asm_exc_\w+|page_fault_oops|no_context|__bad_area_nosemaphore|bad_area_nosemaphore|do_user_addr_fault|handle_page_fault|page_fault|do_page_fault|__do_page_fault|async_page_fault|kernelmode_fixup_or_oops|__warn|report_bug|handle_bug|do_invalid_op|invalid_op|nmi_panic|unknown_nmi_error(\.cold)?|default_do_nmi|do_nmi|end_repeat_nmi|nmi|watchdog_overflow_callback|watchdog_timer_fn|dump_stack\w*|dump_backtrace\w*|show_stack|out_of_memory|check_panic_on_oom|vpanic|hung_task_panic|check_hung_\w+|watchdog)$/;

export const RECLAIM = /^(shrink_\w+|kswapd\w*|balance_pgdat|try_to_free_pages|do_try_to_free_pages|__alloc_pages_slowpath\w*|__perform_reclaim|__alloc_pages_direct_reclaim|page_referenced\w*|try_to_unmap\w*|rmap_walk\w*|super_cache_scan|prune_\w+)$/;

/**
 * The log up to and including the last "Kernel panic - not syncing" (what led to the panic), and
 * the lines panic() printed after it (its own stack dump: "CPU: … PID: … Comm: …", "RIP: …"),
 * up to "---[ end Kernel panic".
 */
export function panicWindow(log: readonly LogLine[]): { lines: LogLine[]; after: LogLine[]; panicIndex: number } {
  let idx = -1;
  for (let i = log.length - 1; i >= 0; i--) {
    if (PANIC_LINE.test(log[i]!.text)) {
      idx = i;
      break;
    }
  }
  const end = idx === -1 ? log.length : idx + 1;
  const start = Math.max(0, end - 400);
  const after: LogLine[] = [];
  if (idx !== -1) {
    for (const l of log.slice(idx + 1, idx + 121)) {
      if (/---\[ end Kernel panic/.test(l.text)) break;
      after.push(l);
    }
  }
  return { lines: log.slice(start, end), after, panicIndex: idx };
}

export function classify(sys: SysInfo | null, window: readonly LogLine[]): { cls: PanicClass; evidence: Evidence[]; line: string | null } {
  // Latest matching log line before the panic: the event closest to the panic caused it.
  for (let i = window.length - 1; i >= 0; i--) {
    const t = window[i]!.text;
    for (const r of RULES) {
      if (!r.re.test(t)) continue;
      // Evidence: every line of the same kind close before the panic (e.g. "Uhhuh. NMI received…" and "NMI: Not continuing").
      const same = window.slice(Math.max(0, i - 60), i + 1).filter((l) => r.re.test(l.text)).slice(-4);
      const first = same[0]?.text ?? t;
      return { cls: r.cls, evidence: same.map((l) => ({ command: 'log', line: l.text })), line: /NULL pointer|paging request|page fault for|kernel BUG at/.test(first) ? first : t };
    }
  }
  const p = sys?.panic ?? '';
  for (const r of RULES) if (r.re.test(p)) return { cls: r.cls, evidence: [{ command: 'sys', line: `PANIC: "${p}"` }], line: p };
  const last = window[window.length - 1]?.text ?? '';
  if (PANIC_LINE.test(last)) return { cls: 'panic', evidence: [{ command: 'log', line: last }], line: last };
  if (p !== '') return { cls: 'panic', evidence: [{ command: 'sys', line: `PANIC: "${p}"` }], line: p };
  return { cls: 'unknown', evidence: [], line: null };
}

export function panicTaskFrom(bt: BtResult | null, window: readonly LogLine[]): { task: PanicTask | null; evidence: Evidence[] } {
  const t = bt?.tasks[0];
  if (t) {
    return {
      task: { pid: t.pid, command: t.command, cpu: t.cpu, task: t.task },
      evidence: [{ command: 'bt', line: `PID: ${t.pid}  TASK: ${t.task}  CPU: ${t.cpu ?? '-'}  COMMAND: "${t.command}"` }],
    };
  }
  for (let i = window.length - 1; i >= 0; i--) {
    const m = /CPU: (\d+) PID: (\d+) Comm: (\S+)/.exec(window[i]!.text);
    if (m) return { task: { pid: Number(m[2]), command: m[3]!, cpu: Number(m[1]), task: null }, evidence: [{ command: 'log', line: window[i]!.text }] };
  }
  return { task: null, evidence: [] };
}

/** The last kernel-mode "RIP: 0010:fn+0x5/0x10 [mod]" before the panic. */
export function logRip(window: readonly LogLine[], after: readonly LogLine[] = []): { text: string; module: string | null; line: string } | null {
  const order = [...[...window].reverse(), ...after];
  for (const l of order) {
    const t = l.text;
    // 6.x: "RIP: 0010:fn+0x5/0x10 [mod]"; RHEL 7: "IP: [<addr>] fn+0x9/0x30", "RIP: 0010:[<a>]  [<a>] fn+…", "RIP  [<a>] fn+…"; arm64: "pc : fn+…".
    const m = /\b(?:[RE]?IP|pc)\b\s*:?\s*(?:[0-9a-f]{4}:)?(?:\[<[0-9a-f]+>\]\s*)*([A-Za-z_.$][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+)(?:\s+\[(\w+)\])?/.exec(t);
    if (m) return { text: m[1]!, module: m[2] ?? null, line: t };
  }
  return null;
}

/** The exception RIP in kernel text from the panic task's bt, skipping user-mode register dumps. */
export function exceptionOf(task: BtTask | undefined): { location: string; address: string | null } | null {
  const e = task?.exceptions[0];
  if (!e) return null;
  return { location: e.location, address: e.registers['RIP'] ?? e.registers['PC'] ?? e.registers['EIP'] ?? null };
}

/** The first frame that is not panic/oops machinery: where the kernel was when things went wrong. */
export function culpritFrame(task: BtTask | undefined): { location: string; address: string; module: string | null } | null {
  for (const f of task?.frames ?? []) {
    if (!MACHINERY.test(f.function.replace(/\.cold$/, '')) && !MACHINERY.test(f.function)) return { location: f.function, address: f.address, module: f.module };
  }
  return null;
}

/**
 * The first reliable ("?"-less) entry of the kernel's own "Call Trace:" that is not panic/oops
 * machinery. crash's bt can stop early (seen on a sysrq dump: bt showed only `panic`), while
 * the kernel printed the whole trace into the log.
 */
export function logTraceCulprit(lines: readonly LogLine[]): { location: string; module: string | null; line: string } | null {
  let inTrace = false;
  for (const l of lines) {
    if (/Call Trace:/.test(l.text)) {
      inTrace = true;
      continue;
    }
    if (!inTrace) continue;
    const m = /^\s*([A-Za-z_.$][\w.$]*)\+(0x[0-9a-f]+)\/0x[0-9a-f]+(?:\s+\[(\w+)\])?\s*$/.exec(l.text);
    if (!m) continue;
    if (MACHINERY.test(m[1]!.replace(/\.cold$/, '')) || MACHINERY.test(m[1]!)) continue;
    return { location: `${m[1]!}+${m[2]!}`, module: m[3] ?? null, line: l.text };
  }
  return null;
}

/** Where to point `dis -l` and `sym` (chosen right after bt, before the rest of the plan runs). */
export function pickTarget(bt: BtResult | null, logText: LogLine[] | null): { location: string; address: string | null } | null {
  const pw = logText ? panicWindow(logText) : { lines: [], after: [] };
  const fromLog = logRip(pw.lines, pw.after);
  if (fromLog) return { location: fromLog.text.replace(/\/0x[0-9a-f]+$/, ''), address: null };
  const t = bt?.tasks[0];
  const fromTrace = logTraceCulprit(pw.after.length ? pw.after : pw.lines);
  return exceptionOf(t) ?? culpritFrame(t) ?? (fromTrace ? { location: fromTrace.location, address: null } : null);
}
