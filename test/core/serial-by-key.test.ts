// core/serial-by-key.ts: calls with one key run one after another, other keys at the same time.
import { describe, expect, it } from 'vitest';
import { serialByKey } from '../../src/core/serial-by-key.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('serialByKey', () => {
  it('runs a second call with the same key only after the first settled, even when it failed; other keys overlap', async () => {
    const run = serialByKey();
    const events: string[] = [];
    const job = (name: string, ms: number, fail = false) => async (): Promise<string> => {
      events.push(`start ${name}`);
      await tick(ms);
      events.push(`end ${name}`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const a1 = run('a', job('a1', 30, true));
    const a2 = run('a', job('a2', 5));
    const b1 = run('b', job('b1', 5));
    await expect(a1).rejects.toThrow('a1 failed');
    expect(await a2).toBe('a2');
    expect(await b1).toBe('b1');
    expect(events.indexOf('start a2')).toBeGreaterThan(events.indexOf('end a1'));
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'));
  });

  it('lets the second call see what the first left behind (the memo pattern it serves)', async () => {
    const run = serialByKey();
    const memo = new Map<string, number>();
    let computed = 0;
    const get = (k: string): Promise<number> =>
      run(k, async () => {
        const hit = memo.get(k);
        if (hit !== undefined) return hit;
        await tick(10);
        computed++;
        memo.set(k, 42);
        return 42;
      });
    expect(await Promise.all([get('x'), get('x'), get('x')])).toEqual([42, 42, 42]);
    expect(computed).toBe(1);
  });
});
