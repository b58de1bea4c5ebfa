// What triage produces (findings with quoted evidence, the panic's class, task and fault
// location) and what it reads (parsed crash output).

import type { BtResult } from './parsers/bt.js';
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
