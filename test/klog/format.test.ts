// formatRecord/timePrefix at their edges: the plain-number timestamp path ends at 2^53 ns, and
// the one-call path for printable records must write what the byte loop writes for every other
// byte (the real-tool comparisons in log-fixtures and older-layouts cover ordinary records).
import { describe, expect, it } from 'vitest';
import { formatRecord, timePrefix } from '../../src/klog/format.js';
import type { LogRecord } from '../../src/klog/record.js';

const rec = (text: Uint8Array | string, tsNsec: bigint | null = 1_000_000n, caller: string | null = null): LogRecord => ({
  sequence: 0,
  tsNsec,
  level: 6,
  facility: 0,
  caller,
  text: typeof text === 'string' ? new TextEncoder().encode(text) : text,
  subsystem: null,
  device: null,
});

describe('timePrefix', () => {
  it('splits seconds and truncated microseconds on both sides of 2^53 ns', () => {
    expect(timePrefix(0n)).toBe('[    0.000000] ');
    expect(timePrefix(999_999_999n)).toBe('[    0.999999] ');
    expect(timePrefix(1_000_000_000n)).toBe('[    1.000000] ');
    expect(timePrefix(12_345_678_999n)).toBe('[   12.345678] ');
    expect(timePrefix(2n ** 53n - 1n)).toBe('[9007199.254740] ');
    expect(timePrefix(2n ** 53n + 1_500_000n)).toBe('[9007199.256240] ');
    expect(timePrefix(2n ** 64n - 1n)).toBe('[18446744073.709551] ');
    expect(timePrefix(null)).toBe('');
  });
});

describe('formatRecord', () => {
  it('prints printable text as it is, continuation lines under the prefix', () => {
    expect(formatRecord(rec('hello world'))).toBe('[    0.001000] hello world\n');
    expect(formatRecord(rec('a\nb\tc\r\x0b\x0cd'))).toBe('[    0.001000] a\n               b\tc\r\x0b\x0cd\n');
    expect(formatRecord(rec('x\ny', 5n, 'T42'), { caller: true })).toBe(`[    0.000000] [     T42] x\n${' '.repeat(26)}y\n`);
    expect(formatRecord(rec(''))).toBe('[    0.001000] \n');
  });

  it('writes \\xNN for every byte that is neither printable nor space, 0x80-0xff included', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const want = [...all].map((b) => (b === 0x0a ? `\n${' '.repeat(15)}` : (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d) ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    expect(formatRecord(rec(all))).toBe(`[    0.001000] ${want}\n`);
    expect(formatRecord(rec(Uint8Array.of(0x41, 0x80, 0x0a, 0x9f, 0x42)))).toBe('[    0.001000] A\\x80\n               \\x9fB\n');
  });
});
