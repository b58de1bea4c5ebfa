// `kmem -i`: "LABEL  PAGES  SIZE  PERCENTAGE" rows, e.g.
//   "         FREE    45862     179.1 MB   87% of TOTAL MEM" and "    TOTAL MEM    52626     205.6 MB         ----".
// crash 7.x (CentOS 7) prints the same table (sometimes without SHARED/BUFFERS rows).
import { lines, sizeToBytes } from './common.js';

export interface KmemRow {
  label: string;
  pages: number;
  /** As printed ("205.6 MB"). */
  size: string;
  /** Parsed from `size` (crash rounds, so this is approximate). */
  bytes: number | null;
  percent: number | null;
  /** What `percent` is of ("TOTAL MEM", "TOTAL SWAP", "TOTAL LIMIT"). */
  of: string | null;
}

export interface KmemInfo {
  rows: KmemRow[];
  byLabel: Record<string, KmemRow>;
  /** Derived: USED % of TOTAL MEM, SWAP USED %, COMMITTED % of COMMIT LIMIT. */
  usedPercent: number | null;
  swapUsedPercent: number | null;
  committedPercent: number | null;
  /** COMMITTED pages > COMMIT LIMIT pages. */
  overcommitted: boolean | null;
}

const ROW = /^\s*([A-Z][A-Z ]*?[A-Z])\s+(\d+)\s+(0|\d+(?:\.\d+)?\s*[KMGTP]?B)\s+(?:----|(\d+)%\s+of\s+(.+?))\s*$/;

export function parseKmemInfo(text: string): KmemInfo {
  const rows: KmemRow[] = [];
  for (const l of lines(text)) {
    const m = ROW.exec(l);
    if (!m) continue;
    rows.push({ label: m[1]!, pages: Number(m[2]), size: m[3]!, bytes: sizeToBytes(m[3]!), percent: m[4] === undefined ? null : Number(m[4]), of: m[5] ?? null });
  }
  const byLabel: Record<string, KmemRow> = {};
  for (const r of rows) byLabel[r.label] = r;
  const pct = (a: string, b: string): number | null => {
    const x = byLabel[a];
    if (x?.percent != null) return x.percent;
    const t = byLabel[b];
    if (x && t && t.pages > 0) return Math.round((100 * x.pages) / t.pages);
    return null;
  };
  const committed = byLabel['COMMITTED'];
  const limit = byLabel['COMMIT LIMIT'];
  const swapTotal = byLabel['TOTAL SWAP'];
  return {
    rows,
    byLabel,
    usedPercent: pct('USED', 'TOTAL MEM'),
    swapUsedPercent: swapTotal && swapTotal.pages === 0 ? null : pct('SWAP USED', 'TOTAL SWAP'),
    committedPercent: pct('COMMITTED', 'COMMIT LIMIT'),
    overcommitted: committed && limit ? committed.pages > limit.pages : null,
  };
}
