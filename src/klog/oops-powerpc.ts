// The powerpc wording of an oops (arch/powerpc/kernel/traps.c die(), process.c show_regs(),
// mm/fault.c; shared/design/printk-and-oops.md §7.6 for the hard-lockup line):
//   BUG: Kernel NULL pointer dereference on read at 0x00000000
//   BUG: Unable to handle kernel data access on read at 0xc000c01fff7f0000
//   BUG: Unable to handle kernel instruction fetch (NULL pointer?)
//   Faulting instruction address: 0xc000000000837974
//   Oops: Kernel access of bad area, sig: 11 [#1]
//   LE PAGE_SIZE=64K MMU=Radix SMP NR_CPUS=256 NUMA PowerNV
//   NIP:  c0000000002c8a64 LR: c00000000125dbc8 CTR: c00000000125e730   (and REGS:, MSR:, GPRnn: rows)
//   NIP [c000000000837974] ima_restore_measurement_list+0x94/0x6c0
//   LR [c00000000083b55c] ima_load_kexec_buffer+0xac/0x160
//   Call Trace:
//   [c00000000371fa80] [c00000000083b55c] ima_load_kexec_buffer+0xac/0x160 (unreliable)
//   --- interrupt: 300 at futex_cleanup+0x3c0/0x740
// A frame is "[stack pointer] [return address] f+o/l [mod]"; "(unreliable)" marks a frame the unwinder
// could not prove (the x86 "?"). Reports often carry faddr2line's "f at file:line" and "(inlined by)"
// lines between these; they are the reporter's, not the kernel's, and are passed over.

import { parseLocation } from './oops-lines.js';
import type { CodeLocation, Oops, OopsKind } from './oops-types.js';

/** Report openers; the fault address is printed with "0x", stored without it like x86's. */
export const POWERPC_STARTS: { kind: OopsKind; re: RegExp; addr?: number }[] = [
  { kind: 'null-pointer-dereference', re: /^BUG: Kernel NULL pointer dereference (?:on (?:read|write) )?at 0x([0-9a-f]+)/, addr: 1 },
  { kind: 'paging-request', re: /^BUG: Unable to handle kernel data access (?:on (?:read|write) )?at 0x([0-9a-f]+)/, addr: 1 },
  { kind: 'null-pointer-dereference', re: /^BUG: Unable to handle kernel instruction fetch \(NULL pointer\?\)/ },
  { kind: 'paging-request', re: /^BUG: Unable to handle kernel instruction fetch/ },
  { kind: 'paging-request', re: /^Unable to handle kernel paging request for (?:data at address 0x([0-9a-f]+)|instruction fetch)/, addr: 1 },
];

const OOPS = /^Oops: (.+), sig: (\d+) \[#(\d+)\]\s*(.*)$/;
const REG_ROW = /^(?:NIP|REGS|MSR|CFAR|DAR|DEAR|SOFTE):\s/;
const GPR_ROW = /^GPR(\d\d): ((?:[0-9a-f]+\s*)+)$/;
const PAIR = /\b([A-Z]{2,7}):\s+([0-9a-f]+)\b/g;
const AT = /^(NIP|LR) \[([0-9a-f]+)\] (.*)$/;
const DECORATION = /^(?:\(inlined by\) )?[\w.$]+ at \S+:\d+$|^LR = /;

function located(address: string | null, text: string): CodeLocation {
  const loc = parseLocation(text);
  return { function: loc?.function ?? null, offset: loc?.offset ?? null, length: loc?.length ?? null, module: loc?.module ?? null, address };
}

/**
 * Read one powerpc line outside the call trace into o; false when it is not one. The first register
 * dump is the kernel's at the fault; the ones after "--- interrupt:" inside the trace are not read.
 */
export function parsePowerpcLine(o: Oops, l: string): boolean {
  let m: RegExpExecArray | null;
  if ((m = OOPS.exec(l))) {
    // errorCode holds the signal the die() raised; the trap vector is the "TRAP:" register.
    o.oops ??= { trap: m[1]!, errorCode: m[2]!, count: Number(m[3]), flags: m[4]!.split(/\s+/).filter(Boolean) };
    return true;
  }
  // 4.x+ print the configuration on the line after "Oops:": "LE PAGE_SIZE=64K MMU=Radix SMP …".
  if (o.oops && o.oops.flags.length === 0 && /^(?:LE|BE) /.test(l) && o.pc === null) {
    o.oops.flags = l.trim().split(/\s+/);
    return true;
  }
  if ((m = /^Faulting instruction address: 0x([0-9a-f]+)/.exec(l))) {
    if (/instruction fetch/.test(o.headline)) o.faultAddress ??= m[1]!;
    return true;
  }
  if (o.pc === null && REG_ROW.test(l)) {
    for (const p of l.matchAll(PAIR)) if (!(p[1]! in o.registers)) o.registers[p[1]!] = p[2]!;
    return true;
  }
  if (o.pc === null && (m = GPR_ROW.exec(l.trim()))) {
    const base = Number(m[1]);
    m[2]!.trim().split(/\s+/).forEach((v, k) => {
      o.registers[`GPR${String(base + k).padStart(2, '0')}`] ??= v;
    });
    return true;
  }
  if ((m = AT.exec(l))) {
    if (m[1] === 'NIP') o.pc ??= { ...located(m[2]!, m[3]!), segment: null };
    else o.lr ??= located(m[2]!, m[3]!);
    return true;
  }
  return DECORATION.test(l.trim());
}

/** A powerpc trace line: a frame, an interrupt boundary, a decoration to skip, or null. */
export function parsePowerpcTraceLine(t: string): { frame: CodeLocation & { reliable: boolean } } | { interrupt: string; location: CodeLocation } | 'skip' | null {
  let m: RegExpExecArray | null;
  if ((m = /^\[[0-9a-f]+\] \[([0-9a-f]+)\] (.*?)( \(unreliable\))?\s*$/.exec(t))) return { frame: { ...located(m[1]!, m[2]!), reliable: m[3] === undefined } };
  if ((m = /^--- interrupt: ([0-9a-f]+) at (.*)$/.exec(t))) return { interrupt: m[1]!, location: located(null, m[2]!) };
  return DECORATION.test(t) ? 'skip' : null;
}
