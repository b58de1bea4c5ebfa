// Pieces of one oops line: the Tainted: flags, the prefixes a log line may carry (syslog,
// "<N>", timestamp, caller column), and a code location "f+0xo/0xl [mod]".

import type { CodeLocation, Oops, TaintFlag } from './oops-types.js';

// taint_flags[] in kernel/panic.c; Documentation/admin-guide/tainted-kernels.rst.
const TAINTS: [string, string][] = [
  ['P', 'proprietary module loaded'],
  ['F', 'module force-loaded'],
  ['S', 'out-of-spec system or CPU'],
  ['R', 'module force-unloaded'],
  ['M', 'machine check'],
  ['B', 'bad page'],
  ['U', 'taint requested by userspace'],
  ['D', 'kernel died recently (oops or BUG)'],
  ['A', 'ACPI table overridden'],
  ['W', 'warning issued'],
  ['C', 'staging driver loaded'],
  ['I', 'firmware workaround'],
  ['O', 'out-of-tree module loaded'],
  ['E', 'unsigned module loaded'],
  ['L', 'soft lockup occurred'],
  ['K', 'kernel live-patched'],
  ['X', 'auxiliary (distribution) taint'],
  ['T', 'randstruct build'],
  ['N', 'in-kernel test run'],
  ['J', 'fwctl used'],
];

/** Decode the flags of "Tainted: G           OE     " by position (bit i at column i), else by letter. */
export function decodeTaint(raw: string): TaintFlag[] {
  const s = raw.replace(/-+\s*$/, '').replace(/\s+$/, '');
  // RHEL 6/7 print the bits from 12 on as '-' when unset ("P           --L---"): a blank too.
  const byPosition = [...s].every((c, i) => c === ' ' || c === '-' || (i === 0 && c === 'G') || TAINTS[i]?.[0] === c);
  const out: TaintFlag[] = [];
  [...s].forEach((c, i) => {
    if (c === ' ' || c === 'G' || c === '-') return;
    const bit = byPosition ? i : TAINTS.findIndex(([l]) => l === c);
    if (bit >= 0) out.push({ bit, letter: c, meaning: TAINTS[bit]![1] });
  });
  return out;
}

// Prefixes: syslog "Mon DD hh:mm:ss host kernel: ", "<N>", "[ts]", "[ T123]"/"[  C0]".
const SYSLOG = /^\S+ +\d+ \d\d:\d\d:\d\d(?:\.\d+)? (?:\S+ )?kernel: /;
const PREFIX = /^(?:<\d+>)?(?:\[ *\d+\.\d+\] ?)?(?:\[ *[CT]\d+\] ?)?/;

export function stripPrefix(line: string): string {
  return line.replace(SYSLOG, '').replace(PREFIX, '');
}

// A mail client wraps a long kernel line at ~80 columns and the tail lands on a line of its own,
// without the log prefix ("[4394470.275783] RAX: … RCX:" then "0000000000000100"). The tails seen
// in quoted reports, each after the line it belongs to: [that line (prefix stripped), the tail].
const WRAPPED_TAILS: [RegExp, RegExp][] = [
  // A register's value, after its name: "RCX:" / "0000000000000100", "ORIG_RAX:" / "ffffffffffffff13".
  [/\b(?:R[A-Z0-9]{1,2}|E[A-Z]{2}|EFLAGS|ORIG_RAX|CR[0-4]|DR[0-7]):$/, /^[0-9a-f]{4,16}$/],
  // The FS/GS row's last pair.
  [/\bGS:\S+$/, /^knlGS:[0-9a-f]+$/],
  // The release (and the RHEL dash field before it) after the taint letters of the CPU: line.
  [/^CPU: \d+ .*(?:Not tainted|Tainted: [A-Z -]*)$/, /^[A-Z -]*\d+\.\d+\S*/],
  // The BIOS date of the Hardware name: line.
  [/^Hardware name: /, /^\d\d\/\d\d\/\d{4}$/],
  // More bytes of a Code: line (which may wrap twice).
  [/^Code: /, /^(?:<?[0-9a-f]{2}>? )*<?[0-9a-f]{2}>?$/],
];

/**
 * Join the wrapped tails back onto their lines (one blank between). A joined tail's own line is
 * left empty, so the line numbers stay those of the input.
 */
export function joinWrapped(raw: readonly string[]): string[] {
  const out = [...raw];
  let host = -1;
  for (let i = 0; i < out.length; i++) {
    const l = out[i]!;
    const t = l.trim();
    if (host >= 0 && t !== '' && stripPrefix(t) === t) {
      const h = stripPrefix(out[host]!).trim();
      if (WRAPPED_TAILS.some(([line, tail]) => line.test(h) && tail.test(t))) {
        out[host] = `${out[host]!.trimEnd()} ${t}`;
        out[i] = '';
        continue;
      }
    }
    host = i;
  }
  return out;
}

const LOC = String.raw`([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([^\]\s]+)\])?`;
export const LOC_RE = new RegExp(`^${LOC}`);

export function parseLocation(s: string): CodeLocation | null {
  const t = s.trim();
  const addr = /^\[<([0-9a-f]+)>\]\s*(.*)$/.exec(t);
  const rest = addr ? addr[2]! : t;
  const m = LOC_RE.exec(rest);
  if (m) return { function: m[1]!, offset: parseInt(m[2]!, 16), length: parseInt(m[3]!, 16), module: m[4] ?? null, address: addr ? addr[1]! : null };
  const bare = /^0x([0-9a-f]+)(?: \[([^\]@\s]+)[^\]]*\])?/.exec(rest);
  if (bare) return { function: null, offset: null, length: null, module: bare[2] ?? null, address: bare[1]! };
  if (addr) return { function: null, offset: null, length: null, module: null, address: addr[1]! };
  return null;
}

/**
 * "Not tainted 6.1.0-22-amd64 #1 …" / "Tainted: G        W        --------- -  - 4.18.0-160.el8.x86_64 #1"
 * / "Tainted: P           --L------------    2.6.32-696.23.1.el6.x86_64 #1 VMware, Inc. …": the
 * taint string runs to the first blank before a release ("digit.digit"); RHEL 6/7/8 append a field
 * of dashes (RHEL-only taint bits, a letter where set), so the string may hold '-' between letters.
 * raw drops the trailing blanks and dashes; the letters are decoded by decodeTaint.
 */
const TAINT_RELEASE = /^(Not tainted|Tainted: ([A-Z][A-Z -]*?))\s+(\d+\.\d+\S*)\s*(.*)$/;

export function parseTaintRelease(s: string): { tainted: NonNullable<Oops['tainted']>; release: string; rest: string } | null {
  const m = TAINT_RELEASE.exec(s);
  if (!m) return null;
  const raw = m[2] === undefined ? '' : m[2].replace(/[\s-]+$/, '');
  return { tainted: { raw, flags: decodeTaint(raw) }, release: m[3]!, rest: m[4]!.trim() };
}
