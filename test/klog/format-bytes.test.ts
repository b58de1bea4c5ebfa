// formatRecordsBytes() (src/klog/format.ts), the byte writer `kdbg log` prints with, writes exactly
// what formatRecord() writes: on the real logs of the fixture dumps, with and without the caller
// column, and on seeded random records (any byte, newlines, timestamps on both sides of 2^53 ns and
// none, long texts that cross the 64 KiB pieces).
import { describe, expect, it } from 'vitest';
import { readDumpLog } from '../../src/klog/index.js';
import { formatRecord, formatRecordsBytes } from '../../src/klog/format.js';
import type { LogRecord } from '../../src/klog/record.js';
import { requireFixture } from '../helpers/fixtures.js';

function bytesOf(records: readonly LogRecord[], caller: boolean): { bytes: Buffer; pieces: number } {
  const parts: Uint8Array[] = [];
  formatRecordsBytes(records, { caller }, (b) => parts.push(b));
  // A piece is the sink's to keep: none is reused for the next.
  expect(new Set(parts.map((p) => p.buffer)).size).toBe(parts.length);
  return { bytes: Buffer.concat(parts), pieces: parts.length };
}

const strings = (records: readonly LogRecord[], caller: boolean): Buffer => Buffer.from(records.map((r) => formatRecord(r, { caller })).join(''), 'latin1');

describe('formatRecordsBytes writes the bytes of formatRecord', () => {
  it('on the logs of the fixture dumps', async () => {
    for (const f of [['sysrq', 'vmcore.elf'], ['oops', 'vmcore.kdump-zlib'], ['nmi', 'vmcore.kdump-lzo']]) {
      const log = await readDumpLog(requireFixture('vmcores', ...f));
      expect(log.records.length).toBeGreaterThan(100);
      for (const caller of [false, true]) expect(bytesOf(log.records, caller).bytes.equals(strings(log.records, caller)), f.join('/')).toBe(true);
    }
  });

  it('on random records (2000 seeded, in pieces of 64 KiB)', () => {
    let seed = 0x6b8b4567;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const records: LogRecord[] = [];
    for (let i = 0; i < 2000; i++) {
      const len = rand(8) === 0 ? rand(2000) : rand(120);
      const text = new Uint8Array(len);
      const plain = rand(3) !== 0;
      for (let k = 0; k < len; k++) text[k] = plain ? (rand(200) === 0 ? 0x0a : 0x20 + rand(95)) : rand(256);
      const pick = rand(8);
      const tsNsec = pick === 0 ? null : pick === 1 ? 2n ** 53n + BigInt(rand(2 ** 30)) * 1_000_003n : pick === 2 ? 2n ** 64n - 1n - BigInt(rand(1000)) : pick < 5 ? BigInt(rand(2 ** 30)) * BigInt(rand(64)) : BigInt(rand(2 ** 30)) * BigInt(rand(2 ** 23));
      records.push({ sequence: i, tsNsec, level: 6, facility: 0, caller: rand(4) === 0 ? null : rand(2) ? `T${rand(2 ** 22)}` : `C${rand(4096)}`, text, subsystem: null, device: null });
    }
    // The same texts as views of one buffer, as the lockless ring's records are (out of order).
    const all = Buffer.concat(records.map((r) => r.text));
    const views: LogRecord[] = [];
    let at = 0;
    for (const r of records) {
      views.push({ ...r, text: new Uint8Array(all.buffer, all.byteOffset + at, r.text.length) });
      at += r.text.length;
    }
    views.reverse();
    for (const set of [records, views]) {
      for (const caller of [false, true]) {
        const { bytes, pieces } = bytesOf(set, caller);
        expect(pieces).toBeGreaterThan(2);
        expect(bytes.equals(strings(set, caller))).toBe(true);
      }
    }
  });
});
