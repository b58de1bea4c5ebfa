// rpmvercmp against the real rpm: every expected value comes from `rpm.vercmp` in rpm's Lua.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareEvr, rpmvercmp } from '../../src/release/index.js';

const pairs: [string, string][] = [
  ['1.0', '1.0'], ['1.0', '2.0'], ['2.0', '1.0'], ['2.0.1', '2.0.1'], ['2.0', '2.0.1'], ['2.0.1a', '2.0.1'],
  ['5.5p1', '5.5p1'], ['5.5p1', '5.5p2'], ['5.5p10', '5.5p1'], ['10xyz', '10.1xyz'], ['xyz10', 'xyz10.1'],
  ['xyz.4', '8'], ['8', 'xyz.4'], ['1.0010', '1.9'], ['1.05', '1.5'], ['1.0', '1'], ['2.50', '2.5'],
  ['fc4', 'fc.4'], ['FC5', 'fc4'], ['2a', '2.0'], ['1.0a', '1.0'], ['1', 'a'], ['a', '1'], ['+', '_'], ['1+', '1_'],
  ['1.0~rc1', '1.0'], ['1.0~rc1', '1.0~rc2'], ['1.0~rc1~git123', '1.0~rc1'], ['1.0^', '1.0'], ['1.0^git1', '1.0^git2'],
  ['1.0^git1', '1.01'], ['1.0^20160101', '1.0.1'], ['1.0~rc1^git1', '1.0~rc1'], ['1.0^git1~pre', '1.0^git1'],
  ['327.el7', '1160.el7'], ['957.21.3.el7', '957.5.1.el7'], ['284.25.1.0.1.el9_2', '284.25.1.el9_2'],
  ['372.32.1.rt7.189.el8_6', '372.32.1.el8_6'], ['348.7.1.el8_5', '348.el8'], ['300.fc39', '300.fc40'], ['0.rc1.fc41', '1.fc41'],
];

/** One rpm run for all pairs: rpm.vercmp in rpm's embedded Lua, one result per line. */
function rpmSaysAll(list: [string, string][]): number[] {
  const lua = list.map(([a, b]) => `t[#t+1]=rpm.vercmp('${a}','${b}')`).join(' ');
  const out = execFileSync('rpm', ['--eval', `%{lua:local t={} ${lua} print(table.concat(t, ','))}`], { encoding: 'utf8' });
  return out.trim().split(',').map(Number);
}

describe('rpmvercmp', () => {
  it('agrees with rpm.vercmp on every vector', () => {
    const got = pairs.map(([a, b]) => `${a} ${b} ${rpmvercmp(a, b)}`);
    const said = rpmSaysAll(pairs);
    expect(said).toHaveLength(pairs.length);
    const want = pairs.map(([a, b], i) => `${a} ${b} ${said[i]}`);
    expect(got).toEqual(want);
  });
  it('is antisymmetric', () => {
    for (const [a, b] of pairs) expect(rpmvercmp(a, b)).toBe(-rpmvercmp(b, a) || 0);
  });
  it('compareEvr orders epoch, then version, then release', () => {
    expect(compareEvr('3.10.0-327.el7', '3.10.0-1160.el7')).toBe(-1);
    expect(compareEvr('1:3.10.0-1.el7', '3.10.0-1160.el7')).toBe(1);
    expect(compareEvr('5.14.0-284.11.1.el9_2', '5.14.0-284.11.1.el9_2')).toBe(0);
    expect(compareEvr('4.18.0-348.el8', '4.18.0-348.7.1.el8_5')).toBe(-1);
  });
});
