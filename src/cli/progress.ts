// Renders ProgressEvents on stderr. On a TTY: one self-rewriting line with bytes, rate and ETA
// summed over the packages being downloaded. Without a TTY: no bar, only retry/failover/warning
// lines (useful in logs). With --quiet: nothing at all.

import type { ProgressEvent, ProgressListener } from '../core/types.js';

export interface ProgressOptions {
  quiet: boolean;
  stream?: NodeJS.WriteStream;
  label: string;
}

export interface ProgressRenderer {
  listener: ProgressListener;
  /** Clear the bar (call before printing the result). */
  done(): void;
}

const MiB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < MiB) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / 1024 / MiB).toFixed(2)} GiB`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function createProgress(opts: ProgressOptions): ProgressRenderer {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { listener: () => undefined, done: () => undefined };
  const tty = stream.isTTY === true;
  const pkgs = new Map<string, { received: number; total: number | null; done: boolean }>();
  const samples: Array<{ t: number; bytes: number }> = [];
  let lastDraw = 0;
  let drawn = false;

  // A message line replaces the bar, which is then redrawn below it.
  const line = (text: string): void => {
    const hadBar = drawn;
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
    stream.write(`${text}\n`);
    if (hadBar) draw(true);
  };

  const draw = (force = false): void => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    let received = 0;
    let total = 0;
    let totalKnown = true;
    for (const p of pkgs.values()) {
      received += p.received;
      if (p.total === null) totalKnown = false;
      else total += p.total;
    }
    samples.push({ t: now, bytes: received });
    while (samples.length > 2 && now - samples[0]!.t > 3000) samples.shift();
    const first = samples[0]!;
    const rate = now > first.t ? ((received - first.bytes) / (now - first.t)) * 1000 : 0;
    const parts = [`${opts.label}: ${formatBytes(received)}${totalKnown && total > 0 ? ` / ${formatBytes(total)}` : ''}`];
    if (rate > 0) parts.push(`${formatBytes(rate)}/s`);
    if (totalKnown && total > 0 && rate > 0) parts.push(`ETA ${formatDuration((total - received) / rate)}`);
    const cols = stream.columns ?? 100;
    stream.write(`\r\x1b[2K${parts.join('  ').slice(0, cols - 1)}`);
    drawn = true;
  };

  const listener = (e: ProgressEvent): void => {
    switch (e.kind) {
      case 'download-start': {
        const p = pkgs.get(e.name) ?? { received: 0, total: null, done: false };
        p.received = e.resumedFrom;
        p.total = e.total;
        pkgs.set(e.name, p);
        if (e.resumedFrom > 0 && !tty) line(`kdbg: ${e.name}: resuming at ${formatBytes(e.resumedFrom)}`);
        draw(true);
        break;
      }
      case 'download-progress': {
        const p = pkgs.get(e.name) ?? { received: 0, total: e.total, done: false };
        p.received = e.received;
        p.total = e.total;
        pkgs.set(e.name, p);
        draw();
        break;
      }
      case 'download-done': {
        const p = pkgs.get(e.name);
        if (p) {
          p.received = e.bytes;
          p.total = e.bytes;
          p.done = true;
        }
        draw(true);
        break;
      }
      case 'retry':
        line(`kdbg: ${e.name}: ${e.reason}; retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(1)}s`);
        break;
      case 'failover':
        line(`kdbg: ${e.name}: ${e.reason}; switching to ${e.to}`);
        break;
      case 'warning':
        line(`kdbg: warning: ${e.message}`);
        break;
      case 'info':
        line(`kdbg: ${e.message}`);
        break;
      case 'extract':
        break;
    }
  };

  return {
    listener,
    done: () => {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
