// The panicking task's call chain with each frame's place (file:line), the way an engineer reads
// it after `bt -l`: the faulting location first (the exception RIP, whose line `dis -rl` found),
// then every frame. Which entry faulted and which one called it decide the two source snippets of
// the report. Pure: no crash, no files.
import type { BtTask } from './parsers/bt.js';
import type { FaultLocation } from './triage-types.js';

export interface ChainEntry {
  /** bt's "#N"; null for an exception RIP (it is not a frame of its own in bt). */
  level: number | null;
  kind: 'exception' | 'frame';
  function: string;
  /** Bytes into the function: known for an exception RIP, not for bt's frames ("fn at addr"). */
  offset: number | null;
  address: string | null;
  module: string | null;
  file: string | null;
  line: number | null;
  /** The stack it is on ("NMI exception stack", …), null: the task's own. */
  stack: string | null;
}

/** bt's frames in order, each exception RIP placed before the frame it interrupted. */
export function callChain(task: BtTask | null, location: FaultLocation | null): ChainEntry[] {
  if (!task) return [];
  const out: ChainEntry[] = [];
  const exc = (i: number): void => {
    for (const e of task.exceptions.filter((x) => x.beforeFrame === i)) {
      // The exception's own line is the one dis -rl found for the fault, when they name the same function.
      const same = location !== null && location.function === e.function && location.offset === e.offset;
      out.push({
        level: null,
        kind: 'exception',
        function: e.function,
        offset: e.offset,
        address: e.registers['RIP'] ?? e.registers['PC'] ?? null,
        module: same ? location.module : null,
        file: same ? location.file : null,
        line: same ? location.line : null,
        stack: e.stack,
      });
    }
  };
  task.frames.forEach((f, i) => {
    exc(i);
    out.push({ level: f.level, kind: 'frame', function: f.function, offset: null, address: f.address, module: f.module, file: f.file, line: f.line, stack: f.stack });
  });
  exc(task.frames.length);
  return out;
}

/**
 * The chain entry of the fault and the one of its caller (indexes into `chain`, null when not
 * found). The fault is the exception RIP naming the location's function, else the first frame of
 * that function; the caller is the next frame after it.
 */
export function faultAndCaller(chain: readonly ChainEntry[], location: FaultLocation | null): { fault: number | null; caller: number | null } {
  if (!location) return { fault: null, caller: null };
  let fault = chain.findIndex((c) => c.kind === 'exception' && c.function === location.function);
  if (fault < 0) fault = chain.findIndex((c) => c.function === location.function);
  if (fault < 0) return { fault: null, caller: null };
  const caller = chain.findIndex((c, i) => i > fault && c.kind === 'frame');
  return { fault, caller: caller < 0 ? null : caller };
}

/** "file.c:123" of an entry, or null. */
export function placeOf(c: Pick<ChainEntry, 'file' | 'line'>): string | null {
  return c.file !== null && c.line !== null ? `${c.file}:${c.line}` : null;
}
