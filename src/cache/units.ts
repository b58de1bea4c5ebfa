// Size and duration flags of the cache commands (`--max-size 20G`, `--max-age 30d`).

import { DAY_MS } from './inventory.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `50G`, `512M`, `1.5T`, `2GiB`, `1000` (bytes). Binary units (K = 1024). null when unparseable. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text) ?? /^\s*(\d+)\s*(b)\s*$/i.exec(text);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isFinite(n) ? Math.floor(n) : null;
}

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: DAY_MS, w: 7 * DAY_MS };

/** `30d`, `12h`, `2w`, `90m`, `45s`. null when unparseable. */
export function parseAge(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) return null;
  const unit = AGE_UNITS[(m[2] ?? '').toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}
