// The first look's crash signature: the oops the dump's own log holds, as the same signature the
// full analysis makes from crash's bt (analyze/signature.ts), so `analyze --no-fetch` and
// `analyze` of one dump name one bug alike.

import { classFromText, crashSignature } from '../analyze/signature.js';
import type { CrashSignature, TraceFrame } from '../analyze/signature.js';
import type { PanicClass } from '../analyze/triage-types.js';
import type { Oops, OopsKind } from '../klog/oops-types.js';

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

/**
 * The log oops as a trace, innermost first: the kernel-mode RIP/pc printed before "Call Trace:"
 * (when the trace holds no register dump of its own, as an NMI's does), then the trace.
 */
export function oopsTrace(o: Oops): TraceFrame[] {
  const out: TraceFrame[] = [];
  const inTrace = o.trace.some((e) => e.type === 'exception' && e.location.function !== null && !userSegment(e.segment));
  if (!inTrace && o.pc && o.pc.function && !userSegment(o.pc.segment)) out.push({ function: o.pc.function, module: o.pc.module });
  for (const e of o.trace) {
    if (e.type === 'frame') out.push({ function: e.function, module: e.module, reliable: e.reliable });
    else if (e.type === 'exception' && !userSegment(e.segment)) out.push({ function: e.location.function, module: e.location.module });
  }
  return out;
}

export function oopsClass(o: Oops): PanicClass {
  return classFromText([o.headline, o.panic]) ?? KIND_CLASS[o.kind];
}

export function oopsSignature(o: Oops): CrashSignature {
  return crashSignature(oopsClass(o), oopsTrace(o));
}
