// The kernel's VMCOREINFO text (an ELF note "VMCOREINFO", type 0, in vmcores; a copy in the
// kdump-compressed sub-header): lines `KEY=value\n`. Values are printed by different macros in
// different bases (SYMBOL hex without 0x, NUMBER signed decimal, arm64 PHYS_OFFSET with 0x), so
// values stay strings here and only the few facts kdbg needs are interpreted.

import { LimitError } from '../core/errors.js';

/** VMCOREINFO_BYTES is one page in the kernel; QEMU copies at most 1 MiB. */
export const VMCOREINFO_MAX_BYTES = 1 << 20;

export interface VmcoreinfoFacts {
  osrelease: string | null;
  /** BUILD-ID (since Linux 5.9): 40 lowercase hex chars. */
  buildId: string | null;
  pageSize: number | null;
  /** KERNELOFFSET (KASLR slide), hex as printed (no 0x). */
  kernelOffset: string | null;
  /** CRASHTIME epoch seconds (only written at panic time: absent from QEMU dumps of a live guest). */
  crashTime: number | null;
}

/**
 * Parse VMCOREINFO text into an ordered key → value map (the first occurrence of a key wins).
 * Tolerates a trailing NUL padding and lines without '='. Throws LimitError for absurd sizes.
 */
export function parseVmcoreinfo(text: Uint8Array | string, label = 'input', offset = 0): Record<string, string> {
  const len = typeof text === 'string' ? text.length : text.length;
  if (len > VMCOREINFO_MAX_BYTES) {
    throw new LimitError(`${label}: VMCOREINFO at offset ${offset} is ${len} bytes, over the limit of ${VMCOREINFO_MAX_BYTES}`, {
      file: label,
      format: 'VMCOREINFO',
      offset,
      expected: `<= ${VMCOREINFO_MAX_BYTES} bytes`,
      found: `${len} bytes`,
    });
  }
  let s = typeof text === 'string' ? text : new TextDecoder('latin1').decode(text);
  const nul = s.indexOf('\0');
  if (nul !== -1) s = s.slice(0, nul);
  const out: Record<string, string> = {};
  for (const line of s.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    // Keys are identifiers with ( ) . - _ ; anything else means this is not VMCOREINFO text.
    if (!/^[A-Za-z0-9_().\-]+$/.test(key)) continue;
    if (!(key in out)) out[key] = line.slice(eq + 1).replace(/\r$/, '');
  }
  return out;
}

/** True when the text looks like VMCOREINFO (has OSRELEASE or PAGESIZE). */
export function looksLikeVmcoreinfo(entries: Record<string, string>): boolean {
  return 'OSRELEASE' in entries || 'PAGESIZE' in entries;
}

export function vmcoreinfoFacts(entries: Record<string, string>): VmcoreinfoFacts {
  const osrelease = entries['OSRELEASE']?.trim() || null;
  const b = entries['BUILD-ID']?.trim().toLowerCase();
  const buildId = b && /^[0-9a-f]{2,128}$/.test(b) && b.length % 2 === 0 ? b : null;
  const ps = entries['PAGESIZE'];
  const pageSize = ps !== undefined && /^\d{1,9}$/.test(ps.trim()) ? Number(ps.trim()) : null;
  const ko = entries['KERNELOFFSET']?.trim();
  const kernelOffset = ko && /^(0x)?[0-9a-fA-F]{1,16}$/.test(ko) ? ko.replace(/^0x/, '').toLowerCase() : null;
  const ct = entries['CRASHTIME']?.trim();
  const crashTime = ct !== undefined && /^-?\d{1,15}$/.test(ct) ? Number(ct) : null;
  return { osrelease, buildId, pageSize, kernelOffset, crashTime };
}
