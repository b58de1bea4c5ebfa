// Dumps per signature over time: one small bar chart per signature, every chart on the same time
// axis (the fleet's first to last crash), so a signature that is new this week stands out next to
// one that has crashed every day. Days as buckets, weeks when the span is longer than 90 days.
import { escapeHtml as e } from '../../analyze/report/pictures.js';

const DAY = 86_400_000;

export interface TimeAxis {
  start: number;
  /** Bucket width in ms. */
  step: number;
  buckets: number;
  unit: 'day' | 'week';
}

/** The axis over all crash times (ISO 8601); null when there is none. */
export function timeAxis(times: readonly (string | null)[]): TimeAxis | null {
  const ms = times.filter((t): t is string => t !== null).map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t));
  if (ms.length === 0) return null;
  const last = Math.floor(Math.max(...ms) / DAY) * DAY;
  // At least two weeks wide: one day's dumps are then a bar at the right end, not a block.
  const first = Math.min(Math.floor(Math.min(...ms) / DAY) * DAY, last - 13 * DAY);
  const days = (last - first) / DAY + 1;
  const unit = days > 90 ? 'week' : 'day';
  const step = unit === 'week' ? 7 * DAY : DAY;
  return { start: first, step, buckets: Math.ceil(days / (step / DAY)), unit };
}

export function bucketCounts(axis: TimeAxis, times: readonly (string | null)[]): number[] {
  const counts = new Array<number>(axis.buckets).fill(0);
  for (const t of times) {
    const ms = t ? Date.parse(t) : NaN;
    if (Number.isNaN(ms)) continue;
    const i = Math.min(axis.buckets - 1, Math.max(0, Math.floor((ms - axis.start) / axis.step)));
    counts[i]!++;
  }
  return counts;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** A bar per bucket; the tallest bar of this chart fills the height, with its count written beside it. */
export function countChart(axis: TimeAxis, counts: readonly number[], label: string): string {
  const W = 300;
  const H = 50;
  const BOTTOM = 12;
  const TOP = 12;
  const max = Math.max(1, ...counts);
  const bw = W / axis.buckets;
  const bars = counts
    .map((n, i) => {
      if (n === 0) return '';
      const h = Math.max(2, ((H - BOTTOM - TOP) * n) / max);
      const x = i * bw;
      return `<rect x="${x.toFixed(1)}" y="${(H - BOTTOM - h).toFixed(1)}" width="${Math.max(1.5, Math.min(14, bw - 1)).toFixed(1)}" height="${h.toFixed(1)}" fill="#b00020"><title>${e(`${day(axis.start + i * axis.step)}${axis.unit === 'week' ? ' (week)' : ''}: ${n} dump${n === 1 ? '' : 's'}`)}</title></rect>`;
    })
    .join('');
  const axisLine = `<line x1="0" y1="${H - BOTTOM}" x2="${W}" y2="${H - BOTTOM}" stroke="#999"/>`;
  const ticks = `<text x="0" y="${H - 1}" font-size="9.5" fill="#555">${day(axis.start)}</text><text x="${W}" y="${H - 1}" font-size="9.5" fill="#555" text-anchor="end">${day(axis.start + (axis.buckets - 1) * axis.step)}</text><text x="0" y="9" font-size="9.5" fill="#555">max ${max} per ${axis.unit}</text>`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${e(label)}" data-counts="${counts.join(',')}" data-unit="${axis.unit}">${axisLine}${bars}${ticks}</svg>`;
}
