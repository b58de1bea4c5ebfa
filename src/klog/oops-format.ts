// An oops as a headline and as the few lines of a first look.

import type { CodeLocation, Oops, OopsKind } from './oops-types.js';

const fmtLoc = (l: CodeLocation): string =>
  l.function === null ? `0x${l.address ?? '?'}${l.module ? ` [${l.module}]` : ''}` : `${l.function}+0x${l.offset!.toString(16)}/0x${l.length!.toString(16)}${l.module ? ` [${l.module}]` : ''}`;

const KIND_TEXT: Record<OopsKind, string> = {
  'null-pointer-dereference': 'NULL pointer dereference',
  'paging-request': 'bad paging request',
  'general-protection': 'general protection fault',
  bug: 'kernel BUG',
  oops: 'Oops',
  warning: 'WARNING',
  'soft-lockup': 'soft lockup',
  'hard-lockup': 'hard lockup',
  'hung-task': 'hung task',
  'oom-kill': 'OOM kill',
  'machine-check': 'machine check',
  panic: 'panic',
};

/**
 * The first-look headline: "NULL pointer dereference at 0000000000000008 in
 * kdbg_oops_read_value+0x5 [kdbg_oops] (init, pid 1, CPU 0), tainted: OE".
 */
export function oopsHeadline(o: Oops): string {
  let s = KIND_TEXT[o.kind];
  if (o.kind === 'panic' && o.panic) s = `panic: ${o.panic}`;
  else if (o.kind === 'bug' && o.source) s = `kernel BUG at ${o.source}`;
  else if (o.kind === 'bug') s = bugWhat(o.headline) ?? s;
  if (o.faultAddress) s += ` at ${o.faultAddress}`;
  const named = (l: CodeLocation): string => `${l.function}+0x${l.offset!.toString(16)}${l.module ? ` [${l.module}]` : ''}`;
  const where = o.pc ?? firstReliable(o);
  if (where && where.function) s += ` in ${named(where)}`;
  else if (where && where.address !== null) {
    // A PC kallsyms cannot name (a call through a NULL or stale function pointer: "RIP: 0010:0x0",
    // "NIP [0000000000000000] 0x0"): the address, and who called it — the link register where the
    // architecture prints one, else the first reliable frame of the trace.
    s += ` in 0x${where.address.replace(/^0+(?=[0-9a-f])/, '')}${where.module ? ` [${where.module}]` : ''}`;
    const caller = o.lr?.function ? o.lr : firstReliable(o);
    if (caller) s += `, called from ${named(caller)}`;
  }
  const who = [o.comm, o.pid !== null ? `pid ${o.pid}` : null, o.cpu !== null ? `CPU ${o.cpu}` : null].filter(Boolean).join(', ');
  if (who) s += ` (${who})`;
  if (o.tainted) s += `, tainted: ${o.tainted.flags.length ? o.tainted.flags.map((f) => f.letter).join('') : 'none'}`;
  return s;
}

/**
 * What a BUG other than `kernel BUG at file:line` says it is, for the headline: "BUG: Bad page
 * state in process swapper/34  pfn:…" is a "Bad page state", "BUG: scheduling while atomic: …" a
 * "scheduling while atomic", "BUG: KASAN: slab-out-of-bounds in f+0x…" a "KASAN:
 * slab-out-of-bounds", and SLUB's "BUG <cache> (<taint>): <what>" a "slab <cache>: <what>". The
 * text stops before what the rest of the headline says anyway (the process, the function) or a
 * detail after ": "; null when the line has neither form.
 */
export function bugWhat(headline: string): string | null {
  const slub = /^BUG ([\w.-]+) \((?:Not tainted|Tainted: [^)]*)\): (.+)$/.exec(headline);
  if (slub) return `slab ${slub[1]}: ${slub[2]!.trim()}`;
  const m = /^BUG: (.+)$/.exec(headline);
  if (!m) return null;
  const t = m[1]!.trim();
  const at = t.search(/ in process\b| in [\w.$]+\+0x| at \S+:\d+/);
  if (at > 0) return t.slice(0, at);
  const colon = t.indexOf(': ');
  return colon > 0 ? t.slice(0, colon) : t;
}

/**
 * The first frame that is not the printing or panic machinery. arm64 starts its "Call trace:" with
 * dump_backtrace/show_stack, and prints return addresses as they are: a `+0x0` frame is the
 * return address of a call that was the last instruction of the function before it (a noreturn
 * call such as panic()), so the named function never ran; it is passed over.
 */
function firstReliable(o: Oops): CodeLocation | null {
  for (const e of o.trace) {
    if (e.type !== 'frame' || !e.reliable || !e.function || e.offset === 0) continue;
    if (!/^(dump_stack|dump_stack_lvl|dump_backtrace|show_stack|panic|nmi_panic|__warn|warn_slowpath)/.test(e.function)) return e;
  }
  return null;
}

/** A short human rendering: headline, panic, then the call trace with its boundaries. */
export function formatOops(o: Oops): string {
  const out = [oopsHeadline(o)];
  if (o.panic && o.kind !== 'panic') out.push(`panic: ${o.panic}`);
  if (o.release) out.push(`kernel: ${o.release}${o.build ? ` ${o.build}` : ''}`);
  if (o.hardware) out.push(`hardware: ${o.hardware}`);
  if (o.modules) out.push(`modules: ${o.modules.map((m) => m.name + (m.taint ? `(${m.taint})` : '')).join(' ') || 'none'}`);
  if (o.trace.length) {
    out.push('call trace:');
    for (const e of o.trace) {
      if (e.type === 'marker') out.push(`  ${e.marker}`);
      else if (e.type === 'exception') out.push(`  -- exception at ${e.segment ? `${e.segment}:` : ''}${fmtLoc(e.location)} --`);
      else out.push(`  ${e.reliable ? '' : '? '}${fmtLoc(e)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
