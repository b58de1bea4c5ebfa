// The watch loop's own rules, in-process with a processor that writes a real file per dump:
// a growing file waits until its size settles; a dump interrupted by the stop signal is not
// recorded and is handled at the next start; dumps directly in DIR count; the state file is
// private (0600) and survives a corrupt predecessor.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWatch, type DumpProcessor, type WatchEvent } from '../../src/pipeline/watch/loop.js';

function recorder(): { processDump: DumpProcessor; handled: string[] } {
  const handled: string[] = [];
  return {
    handled,
    processDump: async (item) => {
      handled.push(item.rel);
      const out = `${item.path}.kdbg-test.txt`;
      writeFileSync(out, `${item.size}\n`);
      return { reports: [out], summary: { size: item.size } };
    },
  };
}

describe('runWatch', () => {
  it('waits for a growing dump to settle, then processes it once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-wl-'));
    mkdirSync(join(dir, 'host-2026-11-25-12:00:00'));
    const dump = join(dir, 'host-2026-11-25-12:00:00', 'vmcore');
    writeFileSync(dump, 'x');
    const ac = new AbortController();
    const { processDump, handled } = recorder();
    const events: WatchEvent[] = [];
    const run = runWatch({ dir, stateFile: join(dir, '.state.json'), processDump, settleMs: 600, rescanMs: 100, signal: ac.signal, onEvent: (e) => events.push(e) });
    // Keep writing for ~1.5 s: longer than settleMs in total, but never still for settleMs.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 150));
      appendFileSync(dump, 'y'.repeat(1000));
    }
    expect(handled).toEqual([]);
    const lastWrite = Date.now();
    while (handled.length === 0 && Date.now() - lastWrite < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - lastWrite).toBeGreaterThanOrEqual(550);
    expect(handled).toEqual(['host-2026-11-25-12:00:00/vmcore']);
    ac.abort();
    const summary = await run;
    expect(summary.processed).toBe(1);
    expect(summary.state.items['host-2026-11-25-12:00:00/vmcore']?.size).toBe(10_001);
    expect(events.filter((e) => e.event === 'waiting')).toHaveLength(1);
    expect(statSync(join(dir, '.state.json')).mode & 0o777).toBe(0o600);
  });

  it('does not record a dump interrupted by the stop signal; the next start handles it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-wl-'));
    writeFileSync(join(dir, 'vmcore'), 'flat layout: a dump directly in DIR');
    const stateFile = join(dir, 'state', 'w.json');
    mkdirSync(join(dir, 'state'));
    const ac = new AbortController();
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const slow: DumpProcessor = (_item, signal) =>
      new Promise((_resolve, reject) => {
        started();
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    const run = runWatch({ dir, stateFile, processDump: slow, settleMs: 0, rescanMs: 100, signal: ac.signal });
    await isStarted;
    ac.abort();
    const first = await run;
    expect(first.processed + first.failed).toBe(0);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ version: 1, dir, items: {} });

    const { processDump, handled } = recorder();
    const second = await runWatch({ dir, stateFile, processDump, settleMs: 0, rescanMs: 100, signal: new AbortController().signal, once: true });
    expect(handled).toEqual(['vmcore']);
    expect(second.state.items['vmcore']?.status).toBe('done');
  });

  it('starts fresh from a corrupt state file and replaces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-wl-'));
    mkdirSync(join(dir, '202611251200'));
    writeFileSync(join(dir, '202611251200', 'dump.202611251200'), 'dump');
    const stateFile = join(dir, 'state.json');
    writeFileSync(stateFile, '{ truncated');
    const { processDump, handled } = recorder();
    await runWatch({ dir, stateFile, processDump, settleMs: 0, rescanMs: 100, signal: new AbortController().signal, once: true });
    expect(handled).toEqual(['202611251200/dump.202611251200']);
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as { items: Record<string, unknown> }).items).toHaveProperty(['202611251200/dump.202611251200']);
  });

  it("kdump-tools' makedumpfile failure: a stale dump-incomplete does not block the cp fallback's vmcore.<stamp>", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-wl-'));
    const d = join(dir, '202611251200');
    mkdirSync(d);
    // makedumpfile failed an hour ago and left its temporary behind …
    writeFileSync(join(d, 'dump-incomplete'), 'partial');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(d, 'dump-incomplete'), old, old);
    const ac = new AbortController();
    const { processDump, handled } = recorder();
    const run = runWatch({ dir, stateFile: join(dir, '.state.json'), processDump, settleMs: 60_000, rescanMs: 100, signal: ac.signal });
    // … then kdump-tools copied /proc/vmcore to vmcore-incomplete and renamed it.
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(d, 'vmcore-incomplete'), 'the whole dump');
    await new Promise((r) => setTimeout(r, 300));
    expect(handled).toEqual([]);
    renameSync(join(d, 'vmcore-incomplete'), join(d, 'vmcore.202611251200'));
    const t0 = Date.now();
    while (handled.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    // Handled on the rename, long before the 60 s settle time.
    expect(handled).toEqual(['202611251200/vmcore.202611251200']);
    ac.abort();
    await run;
  });

  it('a stale incomplete file found at start does not block a finished dump (settle rule)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-wl-'));
    const d = join(dir, '202611251300');
    mkdirSync(d);
    writeFileSync(join(d, 'dump-incomplete'), 'partial');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(d, 'dump-incomplete'), old, old);
    writeFileSync(join(d, 'vmcore.202611251300'), 'dump');
    const { processDump, handled } = recorder();
    await runWatch({ dir, stateFile: join(dir, '.state.json'), processDump, settleMs: 200, rescanMs: 100, signal: new AbortController().signal, once: true });
    expect(handled).toEqual(['202611251300/vmcore.202611251300']);
  });
});
