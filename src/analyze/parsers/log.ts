// `log`: the kernel ring buffer, "[    3.003761] text" per line (no timestamp when printk time
// was off; crash 7 may print "<4>" levels with `log -l` — stripped if present).
import { lines } from './common.js';

export interface LogLine {
  /** Seconds since boot, or null. */
  time: number | null;
  text: string;
}

const TS = /^(?:<\d+>)?\[\s*(\d+\.\d+)\]\s?(.*)$/;

export function parseLog(text: string): LogLine[] {
  return lines(text).map((l) => {
    const m = TS.exec(l);
    return m ? { time: Number(m[1]), text: m[2]! } : { time: null, text: l.replace(/^<\d+>/, '') };
  });
}
