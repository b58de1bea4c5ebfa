// `sys`: "KEY: value" lines with right-aligned keys. Shapes seen: crash 8.0.x on Debian 6.1, and
// crash 7.x on CentOS 7 (same keys; PANIC may be "" or carry the Oops/BUG text).
import { lines } from './common.js';

export interface SysInfo {
  /** Every KEY: value pair as printed (keys upper-case, as crash prints them). */
  fields: Record<string, string>;
  kernel: string | null;
  dumpfile: string | null;
  /** "[PARTIAL DUMP]" and similar bracketed notes after DUMPFILE. */
  dumpfileNotes: string[];
  cpus: number | null;
  offlineCpus: number | null;
  date: string | null;
  uptime: string | null;
  loadAverage: string | null;
  tasks: number | null;
  nodename: string | null;
  release: string | null;
  version: string | null;
  machine: string | null;
  memory: string | null;
  /** PANIC string without the quotes; null when absent, '' when crash printed "". */
  panic: string | null;
}

export function parseSys(text: string): SysInfo {
  const fields: Record<string, string> = {};
  let last: string | null = null;
  for (const l of lines(text)) {
    const m = /^\s*([A-Z][A-Z ]*[A-Z]):\s?(.*)$/.exec(l);
    if (m) {
      last = m[1]!;
      fields[last] = m[2]!.trim();
    } else if (last !== null && /^\s{8,}\S/.test(l)) {
      // continuation lines (e.g. a long PANIC string wrapped by crash 7)
      fields[last] = `${fields[last]} ${l.trim()}`;
    }
  }
  const num = (k: string): number | null => {
    const m = /^(\d+)/.exec(fields[k] ?? '');
    return m ? Number(m[1]) : null;
  };
  const df = fields['DUMPFILE'] ?? null;
  const dumpfileNotes = df ? [...df.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]!) : [];
  const off = /OFFLINE:\s*(\d+)/.exec(fields['CPUS'] ?? '');
  let panic: string | null = fields['PANIC'] ?? null;
  // crash 8.0.2 prints `PANIC: "Oops: 0000 [#1] …" (check log for details)`: keep the quoted part.
  if (panic !== null) panic = /^"(.*)"(?:\s.*)?$/.exec(panic)?.[1] ?? panic;
  return {
    fields,
    kernel: fields['KERNEL'] ?? null,
    dumpfile: df ? df.replace(/\s*\[[^\]]+\]/g, '').trim() : null,
    dumpfileNotes,
    cpus: num('CPUS'),
    offlineCpus: off ? Number(off[1]) : null,
    date: fields['DATE'] ?? null,
    uptime: fields['UPTIME'] ?? null,
    loadAverage: fields['LOAD AVERAGE'] ?? null,
    tasks: num('TASKS'),
    nodename: fields['NODENAME'] ?? null,
    release: fields['RELEASE'] ?? null,
    version: fields['VERSION'] ?? null,
    machine: fields['MACHINE'] ?? null,
    memory: fields['MEMORY'] ?? null,
    panic,
  };
}
