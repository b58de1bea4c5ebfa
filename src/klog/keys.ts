// Typed access to the VMCOREINFO keys the log readers use (shared/design/printk-and-oops.md §1):
// SYMBOL(x) is the run-time address in hex without 0x (KASLR slide included), SIZE/OFFSET/LENGTH
// are decimal, NUMBER is signed decimal unless printed with 0x. The ring layout is chosen by which
// keys are present, never by OSRELEASE: distributions backport (§1, last rule).

export type Vmcoreinfo = Readonly<Record<string, string>>;

/** The three printk ring layouts (§2, §3, §4). */
export type RingLayout = 'lockless' | 'structured' | 'legacy';

export function symbol(vi: Vmcoreinfo, name: string): bigint | null {
  const v = vi[`SYMBOL(${name})`]?.trim();
  return v !== undefined && /^(0x)?[0-9a-f]{1,16}$/i.test(v) ? BigInt(v.startsWith('0x') ? v : `0x${v}`) : null;
}

function decimal(v: string | undefined): number | null {
  const t = v?.trim();
  return t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : null;
}

export function size(vi: Vmcoreinfo, name: string): number | null {
  return decimal(vi[`SIZE(${name})`]);
}

/** OFFSET(struct.field). */
export function offset(vi: Vmcoreinfo, field: string): number | null {
  return decimal(vi[`OFFSET(${field})`]);
}

export function length(vi: Vmcoreinfo, name: string): number | null {
  return decimal(vi[`LENGTH(${name})`]);
}

/** NUMBER(x): `0x…` is hex, anything else signed decimal; arch keys matched case-insensitively. */
export function number(vi: Vmcoreinfo, name: string): bigint | null {
  let v = vi[`NUMBER(${name})`];
  if (v === undefined) {
    const want = `number(${name})`.toLowerCase();
    for (const [k, x] of Object.entries(vi)) if (k.toLowerCase() === want) v = x;
  }
  const t = v?.trim();
  if (t === undefined) return null;
  if (/^-?0x[0-9a-f]{1,16}$/i.test(t)) return t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
  if (/^-?\d{1,20}$/.test(t)) return BigInt(t);
  return null;
}

/** makedumpfile, crash and vmcore-dmesg all branch this way: prb, else log_first_idx, else log_buf. */
export function detectLayout(vi: Vmcoreinfo): RingLayout | null {
  if (symbol(vi, 'prb') !== null) return 'lockless';
  if (symbol(vi, 'log_first_idx') !== null) return 'structured';
  if (symbol(vi, 'log_buf') !== null) return 'legacy';
  return null;
}

/** Thrown (and caught by the readers) when a key a layout needs is missing. */
export class MissingKeyError extends Error {
  constructor(readonly key: string) {
    super(`VMCOREINFO lacks ${key}`);
  }
}

export function need<T>(v: T | null, key: string): T {
  if (v === null) throw new MissingKeyError(key);
  return v;
}
