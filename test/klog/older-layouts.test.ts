// The 3.5–5.9 record ring and the pre-3.5 character ring, which no kernel that boots here uses:
// synthetic ELF vmcores whose memory holds the ring exactly as the kernel source lays it out
// (test/builders/printk.ts cites the functions), read by kdbg and by the real makedumpfile
// --dump-dmesg, which must agree byte for byte.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

import { recordsText } from '../../src/klog/format.js';
import { readDumpLog } from '../../src/klog/index.js';
import { decodeStructuredRing } from '../../src/klog/structured.js';
import { legacyDump, structuredDump, structuredRing } from '../builders/printk.js';
import type { PrintkRecord } from '../builders/printk.js';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'kdbg-klog-old-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function both(name: string, bytes: Uint8Array): Promise<{ kdbg: string; makedumpfile: string; log: Awaited<ReturnType<typeof readDumpLog>> }> {
  const file = join(tmp, `${name}.vmcore`);
  writeFileSync(file, bytes);
  await run('makedumpfile', ['--dump-dmesg', file, `${file}.txt`]);
  const log = await readDumpLog(file);
  return { kdbg: recordsText(log.records), makedumpfile: readFileSync(`${file}.txt`, 'latin1'), log };
}

const records = (n: number): PrintkRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    tsNsec: BigInt(i) * 1_234_567_891n + 17n,
    text: `record ${i} ${'y'.repeat((i * 7) % 41)}${i % 9 === 4 ? '\n  continued' : ''}${i % 13 === 5 ? '\tTAB \x01 bell' : ''}`,
    level: i % 8,
    facility: i % 3,
    ...(i % 5 === 0 ? { dict: `SUBSYSTEM=pci\0DEVICE=+pci:0000:00:0${i % 10}.0` } : {}),
  }));

describe('layout B: struct printk_log records (3.5–5.9)', () => {
  it('a ring that never wrapped', async () => {
    const d = structuredDump(records(40));
    expect(d.first).toBe(0);
    const r = await both('b-nowrap', d.bytes);
    expect(r.log.layout).toBe('structured');
    expect(r.log.problems).toEqual([]);
    expect(r.log.records).toHaveLength(40);
    expect(r.kdbg).toBe(r.makedumpfile);
    // Level and facility come from the bytes after dict_len (not exported, inferred).
    expect(r.log.levelSource).toBe('inferred');
    expect(r.log.records.map((x) => [x.level, x.facility])).toEqual(records(40).map((x) => [x.level, x.facility]));
  });

  it('a ring that wrapped (end marker) and dropped its oldest records', async () => {
    const d = structuredDump(records(400));
    expect(d.first).toBeGreaterThan(0);
    const r = await both('b-wrapped', d.bytes);
    expect(r.log.problems).toEqual([]);
    expect(r.kdbg).toBe(r.makedumpfile);
    expect(r.kdbg.trimEnd().split('\n').at(-1)).toMatch(/record 399 /);
    expect(r.log.records.length).toBeLessThan(400);
  });

  it('walk indexes that leave the buffer are reported as torn, records before them kept', () => {
    const ring = structuredRing(records(30), 4096);
    const broken = ring.buf.slice();
    // The 11th record's len now points beyond the buffer.
    let at = ring.first;
    for (let i = 0; i < 10; i++) at += new DataView(broken.buffer).getUint16(at + 8, true);
    new DataView(broken.buffer).setUint16(at + 8, 0xfff0, true);
    const out = decodeStructuredRing(broken, ring.first, ring.next, { littleEndian: true, size: 16, ts_nsec: 0, len: 8, text_len: 10, dict_len: 12, caller_id: null });
    expect(out.records).toHaveLength(11);
    expect(out.problems.map((p) => p.code)).toEqual(['torn']);
  });

  it('random corruption of the buffer and indexes never throws (300 seeded rounds)', () => {
    const ring = structuredRing(records(200), 4096);
    let seed = 0x1234567;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const L = { littleEndian: true, size: 16, ts_nsec: 0, len: 8, text_len: 10, dict_len: 12, caller_id: null };
    for (let round = 0; round < 300; round++) {
      const b = ring.buf.slice();
      for (let k = 0; k < 1 + rand(32); k++) b[rand(b.length)] = rand(256);
      const first = rand(4) === 0 ? rand(5000) : ring.first;
      const next = rand(4) === 0 ? rand(5000) : ring.next;
      const out = decodeStructuredRing(b, first, next, L);
      expect(out.records.length).toBeLessThanOrEqual(4096 / 16 + 1);
    }
  });
});

describe('layout A: the plain character ring (before 3.5)', () => {
  const text = (n: number): string => Array.from({ length: n }, (_, i) => `<${i % 8}>[ ${String(i).padStart(4)}.${String(i * 31).padStart(6, '0')}] plain line ${i}\n`).join('');

  it('not wrapped', async () => {
    const r = await both('a-nowrap', legacyDump(text(20)).bytes);
    expect(r.log.layout).toBe('legacy');
    expect(r.kdbg).toBe(r.makedumpfile);
    expect(r.log.records[3]!.level).toBe(3);
  });

  it('wrapped: the last log_buf_len bytes, starting mid-line as the tools print them', async () => {
    const r = await both('a-wrapped', legacyDump(text(300)).bytes);
    expect(r.kdbg).toBe(r.makedumpfile);
    expect(r.kdbg.endsWith('plain line 299\n')).toBe(true);
  });
});
