// Triage rules: parsed crash output → findings, each resting on quoted evidence lines. The kernel
// log around the panic is the primary witness (it names the fault: "BUG: kernel NULL pointer
// dereference, address: …", "RIP: 0010:fn+0x5/0x10"); sys PANIC, bt, kmem -i and ps add the task,
// the CPU, the code location and the state of the machine.
//
// Files: triage-types.ts (what it reads and produces), triage-rules.ts (classification, panic
// window, task and culprit frame); this file composes them into findings.

import { splitLocation } from './parsers/bt.js';
import type { Evidence, FaultLocation, Finding, PanicClass, Triage, TriageInput } from './triage-types.js';
import { classify, culpritFrame, exceptionOf, logRip, logTraceCulprit, PANIC_LINE, panicTaskFrom, panicWindow, RECLAIM } from './triage-rules.js';

export type { Evidence, FaultLocation, Finding, PanicClass, PanicTask, Triage, TriageInput } from './triage-types.js';
export { culpritFrame, exceptionOf, logTraceCulprit, pickTarget } from './triage-rules.js';

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
