// `bt`, `bt -a`, `foreach … bt`: one block per task, "PID: … TASK: … CPU: … COMMAND: "…"", then
// frames " #N [sp] function at addr [module]", exception frames ("[exception RIP: fn+off]" and
// register lines) and stack switches ("--- <NMI exception stack> ---", "--- <IRQ stack> ---").
// Same shape in crash 7.x (CentOS 7) and 8.0.x.
import { lines } from './common.js';

export interface BtFrame {
  level: number;
  sp: string;
  function: string;
  address: string;
  module: string | null;
  /** The stack this frame is on, from the last "--- <X> ---" line (null: the task's own stack). */
  stack: string | null;
  /** `bt -l`: the source file and line crash printed under the frame (null: no line info, or plain `bt`). */
  file: string | null;
  line: number | null;
}

export interface BtException {
  /** "down_read_trylock+9" as printed. */
  location: string;
  function: string;
  /** Offset in bytes (crash prints decimal: "+9" is 9). */
  offset: number;
  registers: Record<string, string>;
  /** Index in `frames` of the first frame after this exception block (frames.length when last). */
  beforeFrame: number;
  stack: string | null;
}

export interface BtTask {
  pid: number;
  task: string;
  cpu: number | null;
  command: string;
  frames: BtFrame[];
  exceptions: BtException[];
  /** Register blocks not introduced by "[exception RIP: …]" (e.g. the user-mode registers at syscall entry). */
  registers: Record<string, string>[];
  stackSwitches: string[];
  /** Lines crash printed for this task that were none of the above (warnings, "bt: …" errors). */
  other: string[];
}

export interface BtResult {
  tasks: BtTask[];
  /** Lines outside any task block. */
  other: string[];
}

const HEADER = /^PID:\s*(\d+)\s+TASK:\s*([0-9a-f]+)\s+CPU:\s*(\d+|-)\s+COMMAND:\s*"(.*)"/;
const FRAME = /^\s*#(\d+)\s+\[([0-9a-f]+)\]\s+(\S+)\s+at\s+([0-9a-f]+)(?:\s+\[([^\]]+)\])?/;
const EXC = /^\s*\[exception RIP:\s*([^\]+\s]+)(?:\+(\d+|0x[0-9a-f]+))?\]/;
const REG = /\b([A-Z][A-Z0-9_]*):\s+([0-9a-f]+)\b/g;
const SWITCH = /^\s*---\s*<(.+?)>\s*---/;
// `bt -l` prints "    debian/build/…/kernel/panic.c: 208" on the line after a frame; a path has a
// '/' or a '.', which register lines ("CS: 0033") never do.
const SRC = /^\s+(\S*[/.]\S*):\s+(\d+)\s*$/;

export function parseBt(text: string): BtResult {
  const tasks: BtTask[] = [];
  const other: string[] = [];
  let cur: BtTask | null = null;
  let stack: string | null = null;
  let regTarget: Record<string, string> | null = null;
  let lastFrame: BtFrame | null = null;
  for (const l of lines(text)) {
    const src = lastFrame && lastFrame.file === null ? SRC.exec(l) : null;
    lastFrame = null;
    if (src && cur) {
      const f = cur.frames[cur.frames.length - 1]!;
      f.file = src[1]!;
      f.line = Number(src[2]);
      continue;
    }
    const h = HEADER.exec(l.trim());
    if (h) {
      cur = { pid: Number(h[1]), task: h[2]!, cpu: h[3] === '-' ? null : Number(h[3]), command: h[4]!, frames: [], exceptions: [], registers: [], stackSwitches: [], other: [] };
      tasks.push(cur);
      stack = null;
      regTarget = null;
      continue;
    }
    if (cur === null) {
      if (l.trim() !== '') other.push(l);
      continue;
    }
    const f = FRAME.exec(l);
    if (f) {
      lastFrame = { level: Number(f[1]), sp: f[2]!, function: f[3]!, address: f[4]!, module: f[5] ?? null, stack, file: null, line: null };
      cur.frames.push(lastFrame);
      regTarget = null;
      continue;
    }
    const e = EXC.exec(l);
    if (e) {
      const off = e[2] === undefined ? 0 : e[2].startsWith('0x') ? parseInt(e[2], 16) : Number(e[2]);
      const fn = e[1]!;
      const exc: BtException = { location: `${fn}${e[2] === undefined ? '' : `+${e[2]}`}`, function: fn, offset: off, registers: {}, beforeFrame: cur.frames.length, stack };
      cur.exceptions.push(exc);
      regTarget = exc.registers;
      continue;
    }
    const s = SWITCH.exec(l);
    if (s) {
      stack = s[1]!;
      cur.stackSwitches.push(stack);
      regTarget = null;
      continue;
    }
    if (/^\s+(RIP|RAX|RBX|RDX|RBP|R8|R10|R13|ORIG_RAX|CS|EIP|EAX|PC|LR|SP|X\d+|PSW)\b.*:/.test(l) || /^\s+[A-Z0-9_]+:\s+[0-9a-f]+\s+[A-Z0-9_]+:/.test(l)) {
      if (regTarget === null) {
        regTarget = {};
        cur.registers.push(regTarget);
      }
      for (const m of l.matchAll(REG)) regTarget[m[1]!] = m[2]!;
      continue;
    }
    if (l.trim() !== '') cur.other.push(l);
  }
  return { tasks, other };
}

/** "fn+0x5/0x10" or "fn+5" → { function, offset }. */
export function splitLocation(loc: string): { function: string; offset: number } {
  const m = /^([^+\s]+)(?:\+(0x[0-9a-f]+|\d+))?/.exec(loc.trim());
  if (!m) return { function: loc, offset: 0 };
  const o = m[2];
  return { function: m[1]!, offset: o === undefined ? 0 : o.startsWith('0x') ? parseInt(o, 16) : Number(o) };
}
