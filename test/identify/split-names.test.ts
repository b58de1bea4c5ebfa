// The order of a split set's parts when their pfn ranges tie: names compared with their digit runs
// as numbers (identify/split.ts), without loading ICU's collator.
import { describe, expect, it } from 'vitest';
import { compareNamesNumeric } from '../../src/identify/split.js';

describe('compareNamesNumeric', () => {
  it('orders digit runs as numbers and the rest by code unit', () => {
    const names = ['vmcore.split-10', 'vmcore.split-2', 'vmcore.split-1', 'dump.b', 'dump.a', 'vmcore.split-01', 'vmcore.split', 'vmcore.split-100000000000000000001'];
    expect([...names].sort(compareNamesNumeric)).toEqual([
      'dump.a',
      'dump.b',
      'vmcore.split',
      'vmcore.split-1',
      'vmcore.split-01',
      'vmcore.split-2',
      'vmcore.split-10',
      'vmcore.split-100000000000000000001',
    ]);
  });

  it('is 0 only for equal names and antisymmetric', () => {
    expect(compareNamesNumeric('a7', 'a7')).toBe(0);
    expect(Math.sign(compareNamesNumeric('a7', 'a07'))).toBe(-Math.sign(compareNamesNumeric('a07', 'a7')));
    expect(compareNamesNumeric('a7', 'a07')).not.toBe(0);
    expect(Math.sign(compareNamesNumeric('x9y', 'x10y'))).toBe(-1);
  });
});
