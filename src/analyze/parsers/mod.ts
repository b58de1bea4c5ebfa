// `mod`: "MODULE NAME BASE SIZE OBJECT FILE" (crash 8.0.x) or "MODULE NAME SIZE OBJECT FILE"
// (crash 7.x); OBJECT FILE is a path, or "(not loaded)" possibly followed by "[CONFIG_KALLSYMS]".
import { lines } from './common.js';

export interface ModRow {
  module: string;
  name: string;
  base: string | null;
  size: number;
  /** Path of the debuginfo crash loaded (mod -s/-S), else null. */
  objectFile: string | null;
  notes: string[];
}

export function parseMod(text: string): ModRow[] {
  const out: ModRow[] = [];
  let hasBase = true;
  for (const l of lines(text)) {
    if (/^\s*MODULE\s+NAME\s+/.test(l)) {
      hasBase = /\bBASE\b/.test(l);
      continue;
    }
    const m = hasBase
      ? /^\s*([0-9a-f]{8,16})\s+(\S+)\s+([0-9a-f]{8,16})\s+(\d+)\s+(.*)$/.exec(l)
      : /^\s*([0-9a-f]{8,16})\s+(\S+)\s+()(\d+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const rest = m[5]!.trim();
    const notes = [...rest.matchAll(/\[([^\]]+)\]/g)].map((x) => x[1]!);
    const obj = rest.replace(/\s*\[[^\]]+\]/g, '').trim();
    out.push({ module: m[1]!, name: m[2]!, base: m[3] === '' ? null : m[3]!, size: Number(m[4]), objectFile: obj === '' || obj.startsWith('(') ? null : obj, notes });
  }
  return out;
}
