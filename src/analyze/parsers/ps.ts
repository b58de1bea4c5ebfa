// `ps`: "   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM" then one row per task,
// ">" marking tasks active on a CPU. State codes: RU IN UN ZO ST TR DE SW WA PA ID NE.
import { lines } from './common.js';

export interface PsRow {
  active: boolean;
  pid: number;
  ppid: number;
  cpu: number;
  task: string;
  state: string;
  memPercent: number;
  vsz: number;
  rss: number;
  comm: string;
  /** comm in brackets: a kernel thread. */
  kernelThread: boolean;
}

export interface PsResult {
  rows: PsRow[];
  /** Count per state code, e.g. { RU: 2, IN: 40, UN: 3 }. */
  stateCounts: Record<string, number>;
}

const ROW = /^\s*(>?)\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]{8,16})\s+([A-Z]{2})\s+(\d+(?:\.\d+)?)\s+(\d+)\s+(\d+)\s+(.*)$/;

export function parsePs(text: string): PsResult {
  const rows: PsRow[] = [];
  const stateCounts: Record<string, number> = {};
  for (const l of lines(text)) {
    const m = ROW.exec(l);
    if (!m) continue;
    const comm = m[10]!.trim();
    const row: PsRow = {
      active: m[1] === '>',
      pid: Number(m[2]),
      ppid: Number(m[3]),
      cpu: Number(m[4]),
      task: m[5]!,
      state: m[6]!,
      memPercent: Number(m[7]),
      vsz: Number(m[8]),
      rss: Number(m[9]),
      comm: comm.replace(/^\[(.*)\]$/, '$1'),
      kernelThread: /^\[.*\]$/.test(comm),
    };
    rows.push(row);
    stateCounts[row.state] = (stateCounts[row.state] ?? 0) + 1;
  }
  return { rows, stateCounts };
}
