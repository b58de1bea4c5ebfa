// One kernel log record, whatever ring layout it came from, and the problems met reading the ring.
// The JSON form (docs/analyze.md, "kdbg log --json") is LogRecordJson.

import type { RingLayout } from './keys.js';

export interface LogRecord {
  /** printk_info.seq (lockless ring); the record's index in walk order for older layouts. */
  sequence: number;
  /** ts_nsec: local_clock() nanoseconds since boot; null for the plain character ring. */
  tsNsec: bigint | null;
  /** Log level 0–7 when the dump tells it (see LogReadResult.levelSource), else null. */
  level: number | null;
  facility: number | null;
  /** Kernel's caller id: "T<pid>" (task) or "C<cpu>" (interrupt context); null when not exported. */
  caller: string | null;
  /** The text bytes as stored (no trailing newline; may contain '\n' for multi-line records). */
  text: Uint8Array;
  /** dev_printk_info (lockless ring): the old dictionary's SUBSYSTEM= and DEVICE=. */
  subsystem: string | null;
  device: string | null;
}

export type LogProblemCode =
  /** VMCOREINFO has no key of any known ring layout. */
  | 'no-layout'
  /** A key the layout needs is missing (a vendor rename?). */
  | 'missing-key'
  /** Memory the ring lives in is not in the dump (excluded by dump level, outside the dump). */
  | 'unreadable'
  /** Records whose descriptor or block does not add up (torn by a concurrent writer, corrupted). */
  | 'torn'
  /** Sequence numbers jump: records between were skipped (reserved or unreadable). */
  | 'gap';

export interface LogProblem {
  code: LogProblemCode;
  message: string;
}

export interface LogReadResult {
  layout: RingLayout | null;
  records: LogRecord[];
  /** How level and facility were obtained: 'inferred' from the bytes after text_len, or null. */
  levelSource: 'inferred' | null;
  problems: LogProblem[];
}

/** Caller id as the kernel prints it (printk.c print_caller): bit 31 set → CPU, else thread. */
export function callerName(id: number): string {
  return id & 0x80000000 ? `C${id & 0x7fffffff}` : `T${id}`;
}
