// The oops parser's result types (oops.ts fills them, oops-format.ts prints them).

export type OopsKind =
  | 'null-pointer-dereference'
  | 'paging-request'
  | 'general-protection'
  | 'bug'
  | 'oops'
  | 'warning'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'hung-task'
  | 'oom-kill'
  | 'machine-check'
  | 'panic';

/** A code location as the kernel's kallsyms printed it: function+0xoffset/0xlength [module]. */
export interface CodeLocation {
  function: string | null;
  offset: number | null;
  length: number | null;
  module: string | null;
  /** Raw address when printed ("[<ffffffff810aa989>]", arm64 bare "0x…"), lowercase hex without 0x. */
  address: string | null;
}

export type TraceEntry =
  | ({ type: 'frame'; reliable: boolean; context: string | null } & CodeLocation)
  /** <IRQ>, </IRQ>, <NMI>, </NMI>, <EOI>, <<EOE>>, <TASK>, </TASK>, <SOFTIRQ>, </SOFTIRQ>. */
  | { type: 'marker'; marker: string }
  /** A register dump inside the trace (exception frame): its "RIP: cs:location"; powerpc "--- interrupt: 300 at location" (segment: the trap vector). */
  | { type: 'exception'; segment: string | null; location: CodeLocation };

export interface TaintFlag {
  bit: number;
  letter: string;
  meaning: string;
}

export interface Oops {
  kind: OopsKind;
  /** The line that starts the report, prefixes stripped. */
  headline: string;
  /** 0-based index of that line in the input. */
  line: number;
  /** Faulting data address (page faults), hex as printed; null otherwise. */
  faultAddress: string | null;
  /** "Oops: 0000 [#1] PREEMPT SMP NOPTI" → error code, die counter and the config words. */
  oops: { trap: string | null; errorCode: string; count: number; flags: string[] } | null;
  /** Where it happened: RIP (x86_64 kernel mode), IP (3.x), pc (arm64). */
  pc: (CodeLocation & { segment: string | null }) | null;
  /** arm64 link register. */
  lr: CodeLocation | null;
  /** Registers of the kernel-mode dump, as printed (hex strings). */
  registers: Record<string, string>;
  trace: TraceEntry[];
  modules: { name: string; taint: string | null }[] | null;
  lastUnloaded: string | null;
  tainted: { raw: string; flags: TaintFlag[] } | null;
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  hardware: string | null;
  release: string | null;
  /** What follows the release on the CPU:/Pid: line ("#1  Debian 6.1.192-3", "#1 PREEMPT(full)"). */
  build: string | null;
  workqueue: string | null;
  /** 2.6.x "last sysfs file: <path>" (the sysfs file read last before the oops); null on 3.x+. */
  lastSysfsFile: string | null;
  /** "kernel BUG at <file>:<line>!" / "WARNING: … at <file>:<line>". */
  source: string | null;
  /** The "Kernel panic - not syncing: …" message that followed, if any. */
  panic: string | null;
}

export interface OopsReport {
  /** The first report: the cause. */
  first: Oops | null;
  /** Reports after it (often consequences of the first), in log order. */
  others: Oops[];
}
