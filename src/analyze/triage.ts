// Triage rules: parsed crash output → findings, each resting on quoted evidence lines. The kernel
// log around the panic is the primary witness (it names the fault: "BUG: kernel NULL pointer
// dereference, address: …", "RIP: 0010:fn+0x5/0x10"); sys PANIC, bt, kmem -i and ps add the task,
// the CPU, the code location and the state of the machine.

import type { BtResult, BtTask } from './parsers/bt.js';
import { splitLocation } from './parsers/bt.js';
import type { DisResult } from './parsers/dis.js';
import type { KmemInfo } from './parsers/kmem.js';
import type { LogLine } from './parsers/log.js';
import type { PsResult } from './parsers/ps.js';
import type { SymInfo } from './parsers/sym.js';
import type { SysInfo } from './parsers/sys.js';

export type PanicClass =
  | 'null-dereference'
  | 'paging-request'
  | 'general-protection-fault'
  | 'kernel-bug'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'hung-task'
  | 'oom-panic'
  | 'sysrq'
  | 'machine-check'
  | 'divide-error'
  | 'stack-overflow'
  | 'nmi'
  | 'warning-panic'
  | 'panic'
  | 'unknown';

export interface Evidence {
  /** The crash command whose output holds the line ("log", "sys", "bt", "kmem -i", …). */
  command: string;
  line: string;
}

export interface Finding {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  title: string;
  detail: string;
  evidence: Evidence[];
}

export interface FaultLocation {
  function: string;
  offset: number;
  /** "fn+0x5/0x10" or "fn+5" as the source printed it. */
  text: string;
  module: string | null;
  address: string | null;
  /** Where it came from: the log's RIP line, bt's exception frame, or the first non-panic frame. */
  from: 'log' | 'bt-exception' | 'bt-frame' | 'log-trace';
  file: string | null;
  line: number | null;
  instruction: string | null;
}

export interface PanicTask {
  pid: number;
  command: string;
  cpu: number | null;
  task: string | null;
}

export interface TriageInput {
  sys: SysInfo | null;
  bt: BtResult | null;
  log: LogLine[];
  kmem: KmemInfo | null;
  ps: PsResult | null;
  dis: DisResult | null;
  sym: SymInfo | null;
  hung: BtResult | null;
}

export interface Triage {
  panicClass: PanicClass;
  panicMessage: string | null;
  /** Address named by the fault message (NULL deref / paging request), hex. */
  faultAddress: string | null;
  /** "file:line" for `kernel BUG at`. */
  bugAt: string | null;
  task: PanicTask | null;
  location: FaultLocation | null;
  headline: string;
  probableCause: string;
  findings: Finding[];
}

interface Rule {
  cls: PanicClass;
  re: RegExp;
}

// Order matters only for lines matching several rules; the latest matching line before the panic wins.
const RULES: Rule[] = [
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

const PANIC_LINE = /Kernel panic - not syncing/;
/** Frames that belong to the panic/oops machinery rather than to the culprit. */
const MACHINERY = /^(panic|__crash_kexec|crash_kexec|machine_kexec|oops_end|die|__die|do_trap|do_error_trap|exc_\w+|asm_exc_\w+|page_fault_oops|no_context|__bad_area_nosemaphore|bad_area_nosemaphore|do_user_addr_fault|handle_page_fault|page_fault|do_page_fault|__do_page_fault|async_page_fault|kernelmode_fixup_or_oops|__warn|report_bug|handle_bug|do_invalid_op|invalid_op|nmi_panic|unknown_nmi_error(\.cold)?|default_do_nmi|do_nmi|end_repeat_nmi|nmi|watchdog_overflow_callback|watchdog_timer_fn|dump_stack\w*|show_stack|out_of_memory|check_panic_on_oom|vpanic|hung_task_panic|check_hung_\w+|watchdog)$/;

const RECLAIM = /^(shrink_\w+|kswapd\w*|balance_pgdat|try_to_free_pages|do_try_to_free_pages|__alloc_pages_slowpath\w*|__perform_reclaim|__alloc_pages_direct_reclaim|page_referenced\w*|try_to_unmap\w*|rmap_walk\w*|super_cache_scan|prune_\w+)$/;

/**
 * The log up to and including the last "Kernel panic - not syncing" (what led to the panic), and
 * the lines panic() printed after it (its own stack dump: "CPU: … PID: … Comm: …", "RIP: …"),
 * up to "---[ end Kernel panic".
 */
function panicWindow(log: readonly LogLine[]): { lines: LogLine[]; after: LogLine[]; panicIndex: number } {
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

function classify(sys: SysInfo | null, window: readonly LogLine[]): { cls: PanicClass; evidence: Evidence[]; line: string | null } {
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

function panicTaskFrom(bt: BtResult | null, window: readonly LogLine[]): { task: PanicTask | null; evidence: Evidence[] } {
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
function logRip(window: readonly LogLine[], after: readonly LogLine[] = []): { text: string; module: string | null; line: string } | null {
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

const HEADLINE: Record<PanicClass, string> = {
  'null-dereference': 'NULL pointer dereference',
  'paging-request': 'bad kernel paging request',
  'general-protection-fault': 'general protection fault',
  'kernel-bug': 'kernel BUG() assertion',
  'soft-lockup': 'soft lockup',
  'hard-lockup': 'hard lockup (NMI watchdog)',
  'hung-task': 'hung task (blocked in D state)',
  'oom-panic': 'out-of-memory panic',
  sysrq: 'SysRq-triggered crash',
  'machine-check': 'machine check (hardware error)',
  'divide-error': 'divide error',
  'stack-overflow': 'kernel stack overflow / corruption',
  nmi: 'unhandled NMI',
  'warning-panic': 'WARN() with panic_on_warn',
  panic: 'kernel panic',
  unknown: 'unknown cause',
};

export function triage(input: TriageInput): Triage {
  const findings: Finding[] = [];
  const { lines: window, after } = panicWindow(input.log);
  const { cls, evidence: clsEvidence, line: clsLine } = classify(input.sys, window);
  const panicLine = window.find((l) => PANIC_LINE.test(l.text))?.text ?? null;
  // The log's "Kernel panic - not syncing: …" is the panic() argument; sys PANIC is crash's
  // guess, which differs between versions (8.0.2 shows the Oops line instead).
  const panicMessage = (panicLine ? panicLine.replace(/^.*?(Kernel panic - not syncing)/, '$1') : null) ?? (input.sys?.panic || null);

  let faultAddress: string | null = null;
  let bugAt: string | null = null;
  if (clsLine) {
    const a = /(?:dereference(?:,)? (?:at|address:)|paging request at|for address:)\s*(?:0x)?([0-9a-f]+)/.exec(clsLine);
    if (a) faultAddress = a[1]!;
    const b = /kernel BUG at ([^!]+)!/.exec(clsLine);
    if (b) bugAt = b[1]!;
  }

  // --- task and CPU ---
  const { task, evidence: taskEv } = panicTaskFrom(input.bt, [...window, ...after]);

  // --- location ---
  const panicBt = input.bt?.tasks[0];
  let location: FaultLocation | null = null;
  const lr = logRip(window, after);
  const exc = exceptionOf(panicBt);
  const locEvidence: Evidence[] = [];
  if (lr && cls !== 'sysrq') {
    const s = splitLocation(lr.text);
    location = { function: s.function, offset: s.offset, text: lr.text, module: lr.module, address: null, from: 'log', file: null, line: null, instruction: null };
    locEvidence.push({ command: 'log', line: lr.line });
  } else if (exc && cls !== 'sysrq') {
    const s = splitLocation(exc.location);
    location = { function: s.function, offset: s.offset, text: exc.location, module: null, address: exc.address, from: 'bt-exception', file: null, line: null, instruction: null };
    locEvidence.push({ command: 'bt', line: `[exception RIP: ${exc.location}]` });
  } else {
    const c = culpritFrame(panicBt);
    const lt = c ? null : logTraceCulprit(after.length ? after : window);
    if (c) {
      location = { function: c.location, offset: 0, text: c.location, module: c.module, address: c.address, from: 'bt-frame', file: null, line: null, instruction: null };
      const f = panicBt?.frames.find((x) => x.address === c.address);
      if (f) locEvidence.push({ command: 'bt', line: `#${f.level} [${f.sp}] ${f.function} at ${f.address}${f.module ? ` [${f.module}]` : ''}` });
    } else if (lt) {
      const sl = splitLocation(lt.location);
      location = { function: sl.function, offset: sl.offset, text: lt.location, module: lt.module, address: null, from: 'log-trace', file: null, line: null, instruction: null };
      locEvidence.push({ command: 'log', line: lt.line.trim() });
    }
  }
  if (location) {
    if (exc && location.from === 'log' && splitLocation(exc.location).function === location.function) {
      location.address = exc.address;
      locEvidence.push({ command: 'bt', line: `[exception RIP: ${exc.location}]` });
    }
    if (input.sym && input.sym.function === location.function) {
      // A bt frame carries only its return address; sym turns it into fn+off.
      if (location.from === 'bt-frame' && input.sym.address === location.address) {
        location.offset = input.sym.offset;
        location.text = input.sym.symbol;
      }
      location.address ??= input.sym.address;
      location.module ??= input.sym.module;
      // sym of a bare function name gives the function's first line, not the faulting one.
      if (input.sym.file && input.sym.offset === location.offset) {
        location.file = input.sym.file;
        location.line = input.sym.line;
      }
      locEvidence.push({ command: 'sym', line: `${input.sym.address} (${input.sym.type}) ${input.sym.symbol}${input.sym.file ? ` ${input.sym.file}: ${input.sym.line}` : ''}` });
    }
    // dis -rl ends at the target instruction: its source line is the faulting line.
    // For a frame (a return address) the interesting instruction is the call just before it.
    const fn = input.dis?.instructions.filter((i) => i.function === location!.function) ?? [];
    let at = fn.findIndex((i) => i.offset === location!.offset);
    if (at > 0 && (location.from === 'bt-frame' || location.from === 'log-trace')) at -= 1;
    const ins = at === -1 ? undefined : fn[at];
    if (ins) {
      location.instruction = ins.text;
      location.address ??= ins.address;
      if (ins.file) {
        location.file = ins.file;
        location.line = ins.line;
      }
      locEvidence.push({ command: 'dis -l', line: `0x${ins.address} <${ins.function}+${ins.offset}>: ${ins.text}${ins.file ? `   (${ins.file}: ${ins.line})` : ''}` });
    }
  }

  // --- the panic finding ---
  const where = location ? `${location.text}${location.module ? ` [${location.module}]` : ''}` : 'an unknown location';
  const whoTxt = task ? `task ${task.command} (PID ${task.pid}) on CPU ${task.cpu ?? '?'}` : 'an unknown task';
  const srcTxt = location?.file ? ` (${location.file}:${location.line})` : '';
  const headline = `${HEADLINE[cls]}${faultAddress ? ` at address ${faultAddress}` : ''}${bugAt ? ` at ${bugAt}` : ''} in ${where}${srcTxt}, ${whoTxt}`;
  findings.push({
    id: 'panic-class',
    severity: cls === 'sysrq' ? 'info' : 'critical',
    title: `Panic: ${HEADLINE[cls]}`,
    detail: panicMessage ? `The kernel panicked: "${panicMessage}".` : 'The panic message was not found.',
    evidence: [...clsEvidence, ...(panicLine && !clsEvidence.some((e) => e.line === panicLine) ? [{ command: 'log', line: panicLine }] : [])],
  });
  if (location) {
    findings.push({
      id: 'fault-location',
      severity: cls === 'sysrq' ? 'info' : 'critical',
      title: `${location.from === 'bt-frame' || location.from === 'log-trace' ? 'Last function before the panic' : cls === 'nmi' ? 'Interrupted at' : 'Faulting function'}: ${where}${srcTxt}`,
      detail: location.instruction ? `Instruction: ${location.instruction}` : `From ${location.from === 'log' ? 'the RIP line of the oops' : location.from === 'bt-exception' ? 'the exception frame of bt' : 'the backtrace'}.`,
      evidence: locEvidence,
    });
  }
  if (task) findings.push({ id: 'panic-task', severity: 'info', title: `Panicking task: ${task.command} (PID ${task.pid}) on CPU ${task.cpu ?? '?'}`, detail: 'The task that was running on the CPU that panicked.', evidence: taskEv });

  // --- memory pressure ---
  const k = input.kmem;
  let pressure = false;
  if (k) {
    const ev: Evidence[] = [];
    const show = (label: string): void => {
      const r = k.byLabel[label];
      if (r) ev.push({ command: 'kmem -i', line: `${label}  ${r.pages} pages  ${r.size}${r.percent !== null ? `  ${r.percent}% of ${r.of}` : ''}` });
    };
    ['USED', 'FREE', 'SWAP USED', 'COMMITTED', 'COMMIT LIMIT'].forEach(show);
    const used = k.usedPercent;
    const swap = k.swapUsedPercent;
    pressure = (used !== null && used >= 90) || (swap !== null && swap >= 50) || k.overcommitted === true;
    const parts = [
      used !== null ? `memory ${used}% used` : null,
      swap !== null ? `swap ${swap}% used` : 'no swap',
      k.committedPercent !== null ? `committed ${k.committedPercent}% of the commit limit${k.overcommitted ? ' (overcommitted)' : ''}` : null,
    ].filter((x): x is string => x !== null);
    findings.push({ id: 'memory', severity: pressure ? 'warning' : 'info', title: pressure ? `Memory pressure: ${parts.join(', ')}` : `Memory: ${parts.join(', ')}`, detail: pressure ? 'The machine was short of memory when it crashed.' : 'No sign of memory pressure.', evidence: ev });
  }

  // --- D-state tasks ---
  const un = input.ps?.rows.filter((r) => r.state === 'UN') ?? [];
  if (input.ps) {
    const ev = un.slice(0, 20).map((r) => ({ command: 'ps', line: `${r.pid} ${r.ppid} ${r.cpu} ${r.task} UN ${r.comm}` }));
    for (const t of input.hung?.tasks.slice(0, 5) ?? []) {
      const fr = t.frames.slice(0, 4).map((f) => f.function).join(' ← ');
      if (fr) ev.push({ command: 'foreach UN bt', line: `${t.command} (${t.pid}): ${fr}` });
    }
    findings.push({
      id: 'd-state',
      severity: un.length > 0 ? (cls === 'hung-task' ? 'critical' : 'warning') : 'info',
      title: un.length > 0 ? `${un.length} task(s) in D state (uninterruptible): ${[...new Set(un.map((r) => r.comm))].slice(0, 6).join(', ')}` : 'No tasks in D state',
      detail: `Task states: ${Object.entries(input.ps.stateCounts).map(([s, n]) => `${s} ${n}`).join(', ')}.`,
      evidence: ev,
    });
  }

  // --- probable cause ---
  const inReclaim = (panicBt?.frames ?? []).some((f) => RECLAIM.test(f.function)) || (task !== null && /^kswapd/.test(task.command));
  let probableCause: string;
  switch (cls) {
    case 'sysrq':
      probableCause = `Deliberately triggered: someone wrote "c" to /proc/sysrq-trigger (or pressed SysRq-C) — ${whoTxt}. Not a kernel bug.`;
      break;
    case 'nmi':
      probableCause = 'An NMI nobody claimed (hypervisor or BMC "inject NMI", a watchdog card, or a hardware error) with kernel.unknown_nmi_panic or panic_on_unrecovered_nmi set.';
      break;
    case 'null-dereference':
    case 'paging-request':
    case 'general-protection-fault':
      probableCause = `A bad pointer was dereferenced in ${where}${faultAddress ? ` (address ${faultAddress}${cls === 'null-dereference' ? `: a NULL struct pointer, field at offset 0x${BigInt(`0x${faultAddress}`).toString(16)}` : ''})` : ''}.`;
      break;
    case 'hung-task':
      probableCause = `Tasks stayed blocked in D state past the hung-task timeout (${un.length} in D state at the time of the dump).`;
      break;
    case 'soft-lockup':
    case 'hard-lockup':
      probableCause = `A CPU spun without ${cls === 'hard-lockup' ? 'taking interrupts' : 'scheduling'} in ${where}.`;
      break;
    case 'oom-panic':
      probableCause = 'Memory was exhausted and the kernel was configured to panic on OOM.';
      break;
    default:
      probableCause = `${HEADLINE[cls]} in ${where}.`;
  }
  if (pressure && k) {
    probableCause += ` Memory pressure${inReclaim ? ' in page reclaim' : ''}: ${k.usedPercent ?? '?'}% of memory used${k.swapUsedPercent !== null ? `, swap ${k.swapUsedPercent}% used` : ''}.`;
  }
  return { panicClass: cls, panicMessage, faultAddress, bugAt, task, location, headline, probableCause, findings };
}
