// The first oops, panic, BUG, WARNING, lockup, hung task, OOM kill or MCE in a kernel log, parsed
// into fields (shared/design/printk-and-oops.md §7, §8). Pure: text in, structs out. Lines may carry
// a "[    1.234567] " timestamp, a "[  T123] " caller column, a "<N>" level or a syslog prefix
// ("Mon DD hh:mm:ss host kernel: "); those are stripped before matching. Kernel generations word
// the same facts differently: 3.x "IP: [<addr>] f+o/l", 4.x+ "RIP: 0010:f+o/l [mod]", arm64
// "pc : f+o/l"; "Call Trace:" frames as "[<addr>] ? f+o/l" (3.x) or " ? f+o/l [mod]" (4.x+).

import { parseLegacyLine } from './oops-legacy.js';
import { parsePowerpcLine, parsePowerpcTraceLine, POWERPC_STARTS } from './oops-powerpc.js';
import { joinWrapped, LOC_RE, parseLocation, parseTaintRelease, stripPrefix } from './oops-lines.js';
import type { CodeLocation, Oops, OopsKind, OopsReport, TraceEntry } from './oops-types.js';

export type { CodeLocation, Oops, OopsKind, OopsReport, TaintFlag, TraceEntry } from './oops-types.js';
export { decodeTaint, parseLocation, stripPrefix } from './oops-lines.js';
export { formatOops, oopsHeadline } from './oops-format.js';

interface Start {
  kind: OopsKind;
  re: RegExp;
  /** Group holding the fault address. */
  addr?: number;
}

// Report openers, most specific first. "Oops:", "invalid opcode:" and "Kernel panic" open a report
// only when no other opener came before (syzkaller's reportStartIgnores has the same idea).
const STARTS: Start[] = [
  { kind: 'null-pointer-dereference', re: /^BUG: unable to handle kernel NULL pointer dereference at\s+(\S+)/, addr: 1 },
  { kind: 'null-pointer-dereference', re: /^BUG: kernel NULL pointer dereference, address: (\S+)/, addr: 1 },
  { kind: 'null-pointer-dereference', re: /^Unable to handle kernel NULL pointer dereference at virtual address (\S+)/, addr: 1 },
  { kind: 'paging-request', re: /^BUG: unable to handle (?:kernel paging request|page fault for address)(?: at|:)\s+(\S+)/, addr: 1 },
  { kind: 'paging-request', re: /^Unable to handle kernel paging request at virtual address (\S+)/, addr: 1 },
  { kind: 'paging-request', re: /^BUG: unable to handle page fault for address: (\S+)/, addr: 1 },
  { kind: 'general-protection', re: /^general protection fault\b/ },
  { kind: 'bug', re: /^kernel BUG at (\S+)!/ },
  { kind: 'warning', re: /^WARNING: (?:CPU: \d+ PID: \d+ )?at / },
  { kind: 'soft-lockup', re: /^(?:watchdog: )?BUG: soft lockup - CPU#(\d+) stuck for/ },
  { kind: 'hard-lockup', re: /Watchdog detected hard LOCKUP on cpu (\d+)|^Watchdog CPU:\d+ Hard LOCKUP/ },
  { kind: 'hung-task', re: /^INFO: task (\S+):(\d+) blocked for more than \d+ seconds/ },
  { kind: 'oom-kill', re: /^(\S.*) invoked oom-killer: / },
  { kind: 'oom-kill', re: /^Out of memory: Kill(?:ed)? process / },
  { kind: 'machine-check', re: /^(?:mce: )?\[Hardware Error\]: |^Machine Check Exception: / },
  // SLUB's consistency report (mm/slub.c slab_bug): "BUG <cache> (<taint>): <what>".
  { kind: 'bug', re: /^BUG [\w.-]+ \((?:Not tainted|Tainted: [^)]*)\): / },
  ...POWERPC_STARTS,
  { kind: 'bug', re: /^BUG: (?!unable to handle|kernel NULL|soft lockup)/ },
];
const WEAK_STARTS: Start[] = [
  { kind: 'oops', re: /^(?:Internal error: )?Oops(?: - [^:]+)?: / },
  { kind: 'bug', re: /^invalid opcode: / },
  { kind: 'panic', re: /^Kernel panic - not syncing: / },
];

const END_TRACE = /^---\[ end (?:trace|Kernel panic)/;
const MARKER = /^(<\/?(?:IRQ|NMI|TASK|SOFTIRQ|EOI)>|<<EOE>>)\s*(.*)$/;
const REG_PAIR = /\b(R[A-Z0-9]{1,2}|E[A-Z]{2}|EFLAGS|ORIG_RAX|CR[0-4]|DR[0-7]|FS|GS|knlGS|CS|DS|ES|x\d{1,2}|sp|pstate|pc|lr)\s*:\s*((?:[0-9a-f]{4}:)?[0-9a-fx]+(?:\([0-9a-f]+\))?)/g;

function matchStart(line: string, weak: boolean): { kind: OopsKind; m: RegExpExecArray; s: Start } | null {
  for (const s of weak ? WEAK_STARTS : STARTS) {
    const m = s.re.exec(line);
    if (m) return { kind: s.kind, m, s };
  }
  return null;
}

function emptyOops(kind: OopsKind, headline: string, line: number): Oops {
  return {
    kind,
    headline,
    line,
    faultAddress: null,
    oops: null,
    pc: null,
    lr: null,
    registers: {},
    trace: [],
    modules: null,
    lastUnloaded: null,
    tainted: null,
    cpu: null,
    pid: null,
    comm: null,
    hardware: null,
    release: null,
    build: null,
    workqueue: null,
    lastSysfsFile: null,
    source: null,
    panic: null,
  };
}

/** Find and parse every report in a kernel log; the first is the cause. */
export function parseOops(text: string): OopsReport {
  const lines = joinWrapped(text.split('\n')).map(stripPrefix);
  const starts: { at: number; kind: OopsKind; m: RegExpExecArray; s: Start }[] = [];
  let open = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (END_TRACE.test(l)) {
      open = false;
      continue;
    }
    const strong = matchStart(l, false);
    // A second "BUG:"/"WARNING" inside a report that is still open is part of it only when it
    // is the page-fault pair ("BUG: unable to handle …" after "BUG: kernel NULL …" never happens).
    if (strong && !(open && strong.kind === 'bug' && starts.at(-1)?.kind !== 'warning' && /^kernel BUG/.test(l) === false && i - starts.at(-1)!.at < 3)) {
      starts.push({ at: i, ...strong });
      open = true;
      continue;
    }
    if (!open) {
      const weak = matchStart(l, true);
      if (weak) {
        // A panic right after a report's end trace belongs to that report.
        if (weak.kind === 'panic' && starts.length > 0 && i - lastEnd(lines, i) <= 20) continue;
        starts.push({ at: i, ...weak });
        open = true;
      }
    }
  }
  const reports = starts.map((s, k) => parseReport(lines, s, starts[k + 1]?.at ?? lines.length));
  return { first: reports[0] ?? null, others: reports.slice(1) };
}

/** Index of the last "---[ end trace" line before i (or -inf). */
function lastEnd(lines: string[], i: number): number {
  for (let j = i - 1; j >= 0 && j >= i - 40; j--) if (END_TRACE.test(lines[j]!)) return j;
  return Number.NEGATIVE_INFINITY;
}

function parseReport(lines: string[], st: { at: number; kind: OopsKind; m: RegExpExecArray; s: Start }, limit: number): Oops {
  const o = emptyOops(st.kind, lines[st.at]!, st.at);
  if (st.s.addr !== undefined) o.faultAddress = st.m[st.s.addr]!.replace(/^\(null\)$/, '0000000000000000');
  if (st.kind === 'bug' && /^kernel BUG at/.test(o.headline)) o.source = st.m[1]!;
  if (st.kind === 'warning') o.source = /\bat (\S+)/.exec(o.headline)?.[1] ?? null;
  if (st.kind === 'panic') o.panic = o.headline.replace(/^Kernel panic - not syncing: /, '');
  if (st.kind === 'hung-task') {
    o.comm = st.m[1]!;
    o.pid = Number(st.m[2]);
  }
  if (st.kind === 'soft-lockup') {
    o.cpu = Number(st.m[1]);
    const who = /\[(.+):(\d+)\]\s*$/.exec(o.headline);
    if (who) {
      o.comm = who[1]!;
      o.pid = Number(who[2]);
    }
  }
  if (st.kind === 'hard-lockup') o.cpu = st.m[1] !== undefined ? Number(st.m[1]) : null;
  const victim = st.kind === 'oom-kill' ? /Kill(?:ed)? process (\d+),? \(([^)]+)\)/.exec(o.headline) : null;
  if (victim) {
    o.pid = Number(victim[1]);
    o.comm = victim[2]!;
  }
  parseOopsLine(o, o.headline);
  const warn = st.kind === 'warning' ? /^WARNING: (?:CPU: (\d+) PID: (\d+) )?at (\S+) (.*)$/.exec(o.headline) : null;
  if (warn && warn[1] !== undefined) {
    o.cpu = Number(warn[1]);
    o.pid = Number(warn[2]);
  }
  parseBody(o, lines, st.at + 1, limit);
  // A WARNING names its function on the first line; a later "RIP:" says the same with more detail.
  if (warn && o.pc === null) {
    const loc = parseLocation(warn[4]!);
    if (loc) o.pc = { ...loc, segment: null };
  }
  return o;
}

const OOPS_LINE = /^(?:Internal error: )?(?:Oops(?: - [^:]+)?: (?:([a-z][a-z0-9 ]*): )?|invalid opcode: |general protection fault(?:, [^:]+)?: )([0-9a-f]+) \[#(\d+)\]\s*(.*)$/;

/** "Oops: 0000 [#1] PREEMPT SMP NOPTI", "Oops: invalid opcode: 0000 [#1] …", "general protection fault: 0000 [#1] …". */
function parseOopsLine(o: Oops, l: string): boolean {
  const m = OOPS_LINE.exec(l);
  if (!m) return false;
  o.oops ??= {
    trap: m[1] ?? (/^invalid opcode/.test(l) ? 'invalid opcode' : /^general protection/.test(l) ? 'general protection fault' : null),
    errorCode: m[2]!,
    count: Number(m[3]),
    flags: m[4]!.trim().split(/\s+/).filter(Boolean),
  };
  return true;
}

/** The call trace of a text that holds only a trace (no report opener). */
export function parseTrace(text: string): TraceEntry[] {
  const o = emptyOops('oops', '', 0);
  const lines = joinWrapped(text.split('\n')).map(stripPrefix);
  parseBody(o, lines, 0, lines.length);
  return o.trace;
}

function parseBody(o: Oops, lines: string[], from: number, limit: number): void {
  const st = { kind: o.kind };
  // The report runs to the next one; a "Kernel panic" within 20 lines after its end trace is its panic.
  let end = limit;
  let inTrace = false;
  let regsFrom: 'kernel' | 'user' | null = null;
  let context: string | null = null;
  let modulesOpen = false;
  let ended = false;
  for (let i = from; i < end; i++) {
    const l = lines[i]!;
    if (END_TRACE.test(l)) {
      ended = true;
      inTrace = false;
      // Look a little further for the panic line.
      end = Math.min(limit, i + 20);
      continue;
    }
    const panic = /^Kernel panic - not syncing: (.*)$/.exec(l);
    if (panic) {
      o.panic ??= panic[1]!;
      if (ended) break;
      continue;
    }
    if (ended) continue;
    if (modulesOpen) {
      // "Modules linked in:" may wrap onto lines that begin with a space and hold more names.
      if (/^ [a-z0-9_]+(?:\([A-Z]+\))?(?: |$)/.test(l) && !/^ {2}/.test(l) && !LOC_RE.test(l.trim()) && !MARKER.test(l.trim())) {
        addModules(o, l);
        continue;
      }
      modulesOpen = false;
    }
    let m: RegExpExecArray | null;
    if (parseOopsLine(o, l)) continue;
    let tr: ReturnType<typeof parseTaintRelease>;
    if ((m = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.+?)(?: Kdump: loaded)? ((?:Not tainted|Tainted: ).*)$/.exec(l)) && (tr = parseTaintRelease(m[4]!))) {
      if (o.cpu === null || st.kind !== 'soft-lockup') o.cpu = Number(m[1]);
      o.pid = Number(m[2]);
      o.comm = m[3]!;
      o.tainted = tr.tainted;
      o.release = tr.release;
      o.build = tr.rest || null;
      continue;
    }
    if (parseLegacyLine(o, l)) continue;
    if ((m = /^CPU (\d+)\s*$/.exec(l))) {
      o.cpu ??= Number(m[1]);
      continue;
    }
    if ((m = /^Hardware name: (.*)$/.exec(l))) {
      o.hardware ??= m[1]!.trim();
      continue;
    }
    if ((m = /^Workqueue: (.*)$/.exec(l))) {
      o.workqueue ??= m[1]!.trim();
      continue;
    }
    if ((m = /^Modules linked in:(.*)$/.exec(l))) {
      if (o.modules === null) {
        o.modules = [];
        addModules(o, m[1]!);
        modulesOpen = true;
      }
      continue;
    }
    if (!inTrace && parsePowerpcLine(o, l)) continue;
    // The faulting location.
    if ((m = /^R?IP: (?:([0-9a-f]{4}):)?(.*)$/.exec(l))) {
      const seg = m[1] ?? null;
      const raw = m[2]!.replace(/^\[<[0-9a-f]+>\]\s+(?=\[<)/, '');
      const loc = parseLocation(raw);
      const user = seg === '0033' || seg === '0023' || seg === 'e033';
      if (inTrace && loc) o.trace.push({ type: 'exception', segment: seg, location: loc });
      if (!user && loc && o.pc === null) {
        o.pc = { ...loc, segment: seg };
        regsFrom = 'kernel';
      } else regsFrom = user ? 'user' : regsFrom === 'kernel' && o.pc !== null && Object.keys(o.registers).length > 0 ? 'user' : regsFrom;
      continue;
    }
    if ((m = /^(?:pc : |PC is at )(.*)$/.exec(l))) {
      const loc = parseLocation(m[1]!);
      if (loc && o.pc === null) {
        o.pc = { ...loc, segment: null };
        regsFrom = 'kernel';
      }
      continue;
    }
    if ((m = /^(?:lr : |LR is at )(.*)$/.exec(l))) {
      o.lr ??= parseLocation(m[1]!);
      continue;
    }
    if (/^Call [Tt]race:/.test(l)) {
      if (o.trace.length === 0) inTrace = true;
      regsFrom = null;
      continue;
    }
    if (inTrace) {
      const t = l.trim();
      const mk = MARKER.exec(t);
      if (mk) {
        const marker = mk[1]!;
        o.trace.push({ type: 'marker', marker });
        if (/^<(IRQ|NMI|TASK|SOFTIRQ)>$/.test(marker)) context = marker.slice(1, -1);
        else context = null;
        if (mk[2]) pushFrame(o, mk[2], context);
        continue;
      }
      const ppc = parsePowerpcTraceLine(t);
      if (ppc === 'skip') continue;
      if (ppc && 'frame' in ppc) {
        o.trace.push({ type: 'frame', context, ...ppc.frame });
        continue;
      }
      if (ppc) {
        o.trace.push({ type: 'exception', segment: ppc.interrupt, location: ppc.location });
        continue;
      }
      if (pushFrame(o, t, context)) continue;
      // Register and code lines of a nested exception frame stay inside the trace.
      if (/^(?:Code: |[A-Z0-9]{2,5}: ?[0-9a-f]|RSP: |---)/.test(t) || t === '') {
        if (regsFrom === 'kernel' && !t.startsWith('Code: ')) for (const p of t.matchAll(REG_PAIR)) if (!(p[1]! in o.registers)) o.registers[p[1]!] = p[2]!;
        continue;
      }
      inTrace = false;
    }
    if ((m = /^pstate: ([0-9a-f]+)/.exec(l))) {
      o.registers['pstate'] ??= m[1]!;
      continue;
    }
    if (regsFrom === 'kernel') {
      const pairs = [...l.matchAll(REG_PAIR)];
      if (pairs.length > 0 && /^(?:[A-Za-z0-9]{1,6} ?: *[0-9a-f]|pstate: )/.test(l)) {
        for (const p of pairs) if (!(p[1]! in o.registers)) o.registers[p[1]!] = p[2]!;
        continue;
      }
    }
    if ((m = /^CR2: ([0-9a-f]+)\s*$/.exec(l)) && o.faultAddress === null && (o.kind === 'paging-request' || o.kind === 'null-pointer-dereference')) o.faultAddress = m[1]!;
    // Hung task: "      Tainted: G        W   E     4.19.0-6-amd64 #1 Debian …" on its own line.
    if (o.tainted === null && /^\s+(?:Not tainted|Tainted: )/.test(l) && (tr = parseTaintRelease(l.trim()))) {
      o.tainted = tr.tainted;
      o.release ??= tr.release;
      o.build ??= tr.rest || null;
      continue;
    }
    // OOM: the victim ("Killed process 15784 (python3)" 5.x, "Kill process N (x) score" 4.x).
    if (o.kind === 'oom-kill' && (m = /Kill(?:ed)? process (\d+),? \(([^)]+)\)/.exec(l))) {
      o.pid = Number(m[1]);
      o.comm = m[2]!;
    }
  }
}

function pushFrame(o: Oops, t: string, context: string | null): boolean {
  const m = /^(?:\[<([0-9a-f]+)>\]\s+)?(\? )?(.*)$/.exec(t)!;
  const loc = parseLocation(m[3]!);
  if (!loc || (loc.function === null && !/^0x/.test(m[3]!))) return false;
  o.trace.push({ type: 'frame', reliable: m[2] === undefined, context, ...loc, address: m[1] ?? loc.address });
  return true;
}

function addModules(o: Oops, s: string): void {
  let t = s;
  const lu = /\[last unloaded: ([^\]]+)\]/.exec(t);
  if (lu) {
    o.lastUnloaded = lu[1]!.trim();
    t = t.replace(lu[0], '');
  }
  for (const w of t.trim().split(/\s+/).filter(Boolean)) {
    // "zfs(POE)"; RHEL 6 marks each flag apart: "symap(P)(U)" → "PU".
    const m = /^([A-Za-z0-9_\-]+)((?:\([A-Z+\-]+\))*)$/.exec(w);
    if (m) o.modules!.push({ name: m[1]!, taint: m[2] ? m[2].replace(/[()]/g, '') : null });
  }
}
