// The progress renderer: a bar with bytes, rate and ETA on a TTY; nothing but event lines
// without a TTY; nothing at all with --quiet.
import { describe, expect, it } from 'vitest';
import { createProgress, formatBytes, formatDuration } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let out = '';
  const s = {
    isTTY,
    columns: 120,
    write: (chunk: string) => {
      out += chunk;
      return true;
    },
    text: () => out,
  };
  return s as unknown as NodeJS.WriteStream & { text: () => string };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('progress', () => {
  it('draws bytes, total, rate and ETA on a TTY and clears the line when done', async () => {
    const s = fakeStream(true);
    const p = createProgress({ quiet: false, stream: s, label: '3.10.0-327.el7' });
    p.listener({ kind: 'download-start', name: 'a.rpm', url: 'http://127.0.0.1/a.rpm', total: 10 * 1024 * 1024, resumedFrom: 0 });
    p.listener({ kind: 'download-start', name: 'b.rpm', url: 'http://127.0.0.1/b.rpm', total: 10 * 1024 * 1024, resumedFrom: 0 });
    await sleep(150);
    p.listener({ kind: 'download-progress', name: 'a.rpm', received: 2 * 1024 * 1024, total: 10 * 1024 * 1024 });
    await sleep(150);
    p.listener({ kind: 'download-progress', name: 'b.rpm', received: 3 * 1024 * 1024, total: 10 * 1024 * 1024 });
    const last = s.text().split('\r\x1b[2K').pop()!;
    expect(last).toMatch(/^3\.10\.0-327\.el7: 5\.0 MiB \/ 20\.0 MiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA \d+:\d\d$/);
    p.listener({ kind: 'retry', name: 'a.rpm', url: 'http://127.0.0.1/a.rpm', attempt: 1, delayMs: 1000, reason: 'HTTP 503' });
    expect(s.text()).toContain('kdbg: a.rpm: HTTP 503; retry 1 in 1.0s\n');
    p.done();
    expect(s.text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('prints no bar without a TTY, only event lines', () => {
    const s = fakeStream(false);
    const p = createProgress({ quiet: false, stream: s, label: 'x' });
    p.listener({ kind: 'download-start', name: 'a.rpm', url: 'u', total: 100, resumedFrom: 0 });
    p.listener({ kind: 'download-progress', name: 'a.rpm', received: 50, total: 100 });
    expect(s.text()).toBe('');
    p.listener({ kind: 'failover', name: 'a.rpm', from: 'http://127.0.0.1:1/a', to: 'http://127.0.0.1:2/a', reason: 'HTTP 503' });
    expect(s.text()).toBe('kdbg: a.rpm: HTTP 503; switching to http://127.0.0.1:2/a\n');
  });

  it('is silent with --quiet', () => {
    const s = fakeStream(true);
    const p = createProgress({ quiet: true, stream: s, label: 'x' });
    p.listener({ kind: 'download-start', name: 'a.rpm', url: 'u', total: 100, resumedFrom: 0 });
    p.listener({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: 'no sources' });
    p.done();
    expect(s.text()).toBe('');
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(600 * 1024 * 1024)).toBe('600.0 MiB');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Infinity)).toBe('--:--');
  });
});
