// core/busy.ts: the spans behind the timings' decode busy and write (issue 19, item 1). The end
// to end checks are in test/cli/fetch-partial.test.ts (a partial fetch's lanes) and
// test/cli/fetch-interrupt.test.ts (the decoder thread of a 300 MB payload).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BusySpans, busyClock } from '../../src/core/busy.js';
import { decodeStream, type Compression } from '../../src/core/decompress.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { covered } from '../../src/pipeline/timings.js';

const collect = (): { events: ProgressEvent[]; spans: BusySpans } => {
  const events: ProgressEvent[] = [];
  return { events, spans: new BusySpans((e) => events.push(e), 'decode') };
};
const ranges = (events: ProgressEvent[]): [number, number][] => events.flatMap((e) => (e.kind === 'busy' ? [[e.from, e.to] as [number, number]] : []));

describe('BusySpans', () => {
  it('joins spans that overlap or touch (lanes at work together) and keeps gaps apart', () => {
    const { events, spans } = collect();
    spans.span(0, 10);
    spans.span(5, 20); // another lane, overlapping
    spans.span(20.5, 30); // within the 1 ms join
    spans.span(40, 50); // a gap: the held span is emitted
    expect(ranges(events)).toEqual([[0, 30]]);
    spans.flush();
    expect(ranges(events)).toEqual([
      [0, 30],
      [40, 50],
    ]);
    expect(covered(ranges(events))).toBe(40);
    spans.flush(); // nothing held: nothing more
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ kind: 'busy', what: 'decode' });
  });

  it('start/stop: one span while running; flush closes an open one', async () => {
    const { events, spans } = collect();
    const a = busyClock();
    spans.start();
    spans.start(); // already running: the first start counts
    await new Promise((r) => setTimeout(r, 15));
    spans.stop();
    spans.stop(); // not running: nothing
    spans.start();
    spans.flush();
    const b = busyClock();
    const r = ranges(events);
    expect(r.length).toBeGreaterThanOrEqual(1);
    expect(r[0]![0]).toBeGreaterThanOrEqual(a);
    expect(r.at(-1)![1]).toBeLessThanOrEqual(b);
    expect(covered(r)).toBeGreaterThanOrEqual(14);
  });

  it('time() records the span also when the work fails', async () => {
    const { events, spans } = collect();
    await expect(spans.time(Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(await spans.time(Promise.resolve(7))).toBe(7);
    spans.flush();
    expect(ranges(events).length).toBeGreaterThanOrEqual(1);
  });

  it('without a listener it does nothing (off)', async () => {
    const spans = new BusySpans(undefined, 'write');
    expect(spans.off).toBe(true);
    spans.start();
    spans.span(0, 1);
    expect(await spans.time(Promise.resolve('x'))).toBe('x');
    spans.flush();
  });
});

describe('decoders on the main thread are clocked per input chunk (core/decompress.ts)', () => {
  // 8 MiB of half-compressible bytes, compressed by the real tools.
  const plain = Buffer.concat(Array.from({ length: 64 }, (_, i) => Buffer.concat([randomBytes(64 << 10), Buffer.alloc(64 << 10, i)])));
  const made: [Compression, string[]][] = [
    ['xz', ['xz', '-c', '-3']],
    ['gzip', ['gzip', '-c']],
    ['zstd', ['zstd', '-c', '-q']],
  ];
  it.each(made)('%s: the output is the input, and the decode left busy spans', async (kind, cmd) => {
    const packed = execFileSync(cmd[0]!, cmd.slice(1), { input: plain, maxBuffer: 64 << 20 });
    const events: ProgressEvent[] = [];
    const busy = new BusySpans((e) => events.push(e), 'decode');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let o = 0; o < packed.length; o += 64 << 10) yield packed.subarray(o, o + (64 << 10));
    }
    const out: Buffer[] = [];
    for await (const c of decodeStream(kind, chunks(), { mapError: (e) => e as Error, busy })) out.push(Buffer.from(c));
    expect(Buffer.concat(out).equals(plain)).toBe(true);
    const r = ranges(events);
    expect(r.length).toBeGreaterThanOrEqual(1); // flushed at the end of the stream
    expect(covered(r)).toBeGreaterThan(0);
  });
});
