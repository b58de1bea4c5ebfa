// The first look's crash signature: the oops the dump's own log holds, as the same signature the
// full analysis makes from crash's bt (analyze/signature.ts), so `analyze --no-fetch` and
// `analyze` of one dump name one bug alike.

import { classFromText, crashSignature } from '../analyze/signature.js';
import type { CrashSignature, TraceFrame } from '../analyze/signature.js';
import type { PanicClass } from '../analyze/triage-types.js';
import type { LogTrace } from '../analyze/log-vs-bt.js';
import type { CodeLocation, Oops, OopsKind } from '../klog/oops-types.js';

/** The oops parser's kinds in triage's words, when no triage rule matched the report's own lines. */
const KIND_CLASS: Record<OopsKind, PanicClass> = {
  'null-pointer-dereference': 'null-dereference',
  'paging-request': 'paging-request',
  'general-protection': 'general-protection-fault',
  bug: 'kernel-bug',
  oops: 'panic',
  warning: 'warning-panic',
  'soft-lockup': 'soft-lockup',
  'hard-lockup': 'hard-lockup',
  'hung-task': 'hung-task',
  'oom-kill': 'oom-panic',
  'machine-check': 'machine-check',
  panic: 'panic',
};

/** A user-mode register dump ("RIP: 0033:0x47b7a0") is no kernel frame. */
const userSegment = (s: string | null): boolean => s !== null && /^00(?:33|23|2b)$/.test(s);

/** The log oops's code locations, innermost first, each with whether it is a register dump's RIP/pc. */
function oopsLocations(o: Oops): { at: CodeLocation; reliable: boolean; exception: boolean }[] {
  const out: { at: CodeLocation; reliable: boolean; exception: boolean }[] = [];
  const inTrace = o.trace.some((e) => e.type === 'exception' && e.location.function !== null && !userSegment(e.segment));
  if (!inTrace && o.pc && o.pc.function && !userSegment(o.pc.segment)) out.push({ at: o.pc, reliable: true, exception: true });
  for (const e of o.trace) {
    if (e.type === 'frame') out.push({ at: e, reliable: e.reliable, exception: false });
    else if (e.type === 'exception' && !userSegment(e.segment)) out.push({ at: e.location, reliable: true, exception: true });
  }
  return out;
}

/**
 * The log oops as a trace, innermost first: the kernel-mode RIP/pc printed before "Call Trace:"
 * (when the trace holds no register dump of its own, as an NMI's does), then the trace.
 */
export function oopsTrace(o: Oops): TraceFrame[] {
  return oopsLocations(o).map(({ at, reliable, exception }) => (exception ? { function: at.function, module: at.module } : { function: at.function, module: at.module, reliable }));
}

/** The same trace with offsets, for setting beside crash's bt in the full report (analyze/log-vs-bt.ts). */
export function oopsLogTrace(o: Oops, headline: string): LogTrace {
  const frames = oopsLocations(o).flatMap(({ at, reliable, exception }) => (at.function ? [{ function: at.function, offset: at.offset, module: at.module, reliable, exception }] : []));
  return { headline, frames };
}

export function oopsClass(o: Oops): PanicClass {
  return classFromText([o.headline, o.panic]) ?? KIND_CLASS[o.kind];
}

export function oopsSignature(o: Oops): CrashSignature {
  return crashSignature(oopsClass(o), oopsTrace(o));
}
