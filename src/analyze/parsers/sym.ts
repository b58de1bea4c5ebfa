// `sym <address>`: "ffffffff81a592eb (t) native_safe_halt+11 debian/build/…/irqflags.h: 52"; for
// module symbols crash adds "[module]" after the name. Without line info the file part is absent.
import { lines } from './common.js';

export interface SymInfo {
  address: string;
  type: string;
  symbol: string;
  function: string;
  offset: number;
  module: string | null;
  file: string | null;
  line: number | null;
}

const SYM = /^([0-9a-f]+)\s+\((\w)\)\s+(\S+?)(?:\+(\d+))?(?:\s+\[([^\]]+)\])?(?:\s+(\S.*?):\s+(\d+))?\s*$/;

export function parseSym(text: string): SymInfo | null {
  for (const l of lines(text)) {
    const m = SYM.exec(l.trim());
    if (!m) continue;
    return {
      address: m[1]!,
      type: m[2]!,
      symbol: `${m[3]!}${m[4] === undefined ? '' : `+${m[4]}`}`,
      function: m[3]!,
      offset: m[4] === undefined ? 0 : Number(m[4]),
      module: m[5] ?? null,
      file: m[6] ?? null,
      line: m[7] === undefined ? null : Number(m[7]),
    };
  }
  return null;
}
