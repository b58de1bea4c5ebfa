// `kdbg reports` over real reports: first-look reports written by `kdbg analyze --no-fetch -o` on
// the three real QEMU dumps, full analysis reports built by buildReport from the recorded crash
// 8.0.6 sessions of the same crashes (no crash run: the parse is the real one), and synthetic
// copies of both with varied hosts, times and dump paths. Plus broken report.json files, which must
// each be one warning line and skipped.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/analyze/index.js';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { splitTranscript } from '../../src/analyze/transcript.js';
import { firstLook } from '../../src/klog/index.js';
import type { ReportsResult } from '../../src/pipeline/reports.js';
import { parseSince } from '../../src/pipeline/reports.js';
import { requireFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);
const kdbg = join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js');
const KINDS = ['sysrq', 'nmi', 'oops'] as const;
/** Per kind: how many synthetic analyze copies, on which hosts, from which day of November 2026. */
const FLEET = { sysrq: { copies: 2, day: 10 }, nmi: { copies: 3, day: 12 }, oops: { copies: 5, day: 20 } } as const;
const HOSTS = ['web-1', 'web-2', 'db-1'];

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [kdbg, ...args], { maxBuffer: 64 << 20, ...(opts.cwd ? { cwd: opts.cwd } : {}), env: { ...process.env, ...opts.env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

let root: string;
const real: Record<string, { firstLook: string; analyze: AnalysisReport }> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kdbg-reports-'));
  for (const k of KINDS) {
    const dump = requireFixture('vmcores', k, 'vmcore.kdump-zlib');
    const out = join(root, 'firstlook', k);
    const r = await cli(['analyze', '--no-fetch', dump, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const transcript = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'crash', '8.0.6', `${k}.txt`), 'utf8');
    const analyze = await buildReport({
      dump: { path: dump, format: 'kdump-compressed', release: null, buildId: null },
      vmlinux: { path: 'vmlinux', release: null, buildId: null, banner: null },
      verification: null,
      crash: { path: 'crash', version: '8.0.6', from: 'flag' },
      session: { sections: splitTranscript(transcript), startup: '', transcript, durationMs: 1, exitCode: 0 },
      kernelVersion: null,
    });
    real[k] = { firstLook: join(out, 'report.json'), analyze };
    // The watch layout: <report-dir>/<dump>.kdbg/report.json, one per dump, on several hosts.
    for (let i = 0; i < FLEET[k].copies; i++) {
      const copy = structuredClone(analyze);
      copy.system.nodename = HOSTS[i % HOSTS.length]!;
      copy.system.date = new Date(Date.UTC(2026, 10, FLEET[k].day + i, 8, 30)).toUTCString();
      copy.dump.path = `/var/crash/${k}-${i}/vmcore`;
      const d = join(root, 'watch', `${k}-${i}`, 'vmcore.kdbg');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'report.json'), JSON.stringify(copy));
      // watch --analyze also leaves watch.json there: the folder is still one dump.
      writeFileSync(join(d, 'watch.json'), JSON.stringify({ kdbgWatch: 1, dump: copy.dump.path, identity: { release: null }, firstLook: null }));
    }
  }
  // Broken ones, next to the good ones.
  const bad = join(root, 'watch', 'broken');
  mkdirSync(join(bad, 'truncated'), { recursive: true });
  writeFileSync(join(bad, 'truncated', 'report.json'), JSON.stringify(real['oops']!.analyze).slice(0, 500));
  mkdirSync(join(bad, 'dangling'), { recursive: true });
  symlinkSync(join(bad, 'nowhere.json'), join(bad, 'dangling', 'report.json'));
  mkdirSync(join(bad, 'foreign'), { recursive: true });
  writeFileSync(join(bad, 'foreign', 'report.json'), '{"schema":"something.else/v3"}');
  mkdirSync(join(bad, 'hollow'), { recursive: true });
  writeFileSync(join(bad, 'hollow', 'report.json'), '{"schema":"kdbg.analyze/v1"}');
}, 120_000);

describe('kdbg reports', () => {
  it('groups the fleet by signature: count, first and last seen, hosts; the first look and the analysis of one crash share a group', async () => {
    const r = await cli(['reports', '--json', join(root, 'watch'), join(root, 'firstlook')]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as ReportsResult;
    expect(j.schema).toBe('kdbg.reports/v1');
    expect(j.reports).toHaveLength(10 + 3);
    expect(j.groups).toHaveLength(3);
    for (const k of KINDS) {
      const sig = real[k]!.analyze.summary.signature;
      const g = j.groups.find((x) => x.id === sig.id)!;
      expect(g, k).toBeDefined();
      expect(g.text).toBe(sig.text);
      expect(g.count).toBe(FLEET[k].copies + 1);
      const rows = g.reports.map((i) => j.reports[i]!);
      expect(rows.filter((x) => x.status === 'analyzed')).toHaveLength(FLEET[k].copies);
      expect(rows.filter((x) => x.status === 'first-look').map((x) => x.file)).toEqual([real[k]!.firstLook]);
      expect(g.hosts.sort()).toEqual(HOSTS.slice(0, FLEET[k].copies).sort());
      const analysed = rows.filter((x) => x.status === 'analyzed').map((x) => x.crashTime!).sort();
      expect(analysed[0]).toBe(new Date(Date.UTC(2026, 10, FLEET[k].day, 8, 30)).toISOString());
      expect(analysed.at(-1)).toBe(new Date(Date.UTC(2026, 10, FLEET[k].day + FLEET[k].copies - 1, 8, 30)).toISOString());
      // The first-look rows carry the dump file's mtime (the dump header has no time): the group's last seen.
      expect(g.lastSeen! >= analysed.at(-1)!).toBe(true);
      expect(g.firstSeen).toBe(analysed[0]);
    }
    expect(j.groups.map((g) => g.count)).toEqual([6, 4, 3]);
    // Newest first.
    const times = j.reports.map((x) => x.crashTime!);
    expect([...times].sort().reverse()).toEqual(times);
    // The broken files: one warning each, nothing else lost.
    expect(j.warnings).toHaveLength(4);
    expect(j.warnings.find((w) => w.includes('truncated'))).toMatch(/not JSON/);
    expect(j.warnings.find((w) => w.includes('dangling'))).toMatch(/not readable \(ENOENT\)/);
    expect(j.warnings.find((w) => w.includes('foreign'))).toMatch(/not a kdbg report \(schema "something\.else\/v3"/);
    expect(j.warnings.find((w) => w.includes('hollow'))).toMatch(/missing or malformed fields/);
    expect(r.stderr.trim().split('\n')).toHaveLength(4);
    for (const l of r.stderr.trim().split('\n')) expect(l).toMatch(/^kdbg reports: warning: \/.*report\.json: /);
  }, 60_000);

  it('--since DATE keeps the dumps from that day on', async () => {
    const r = await cli(['reports', '--json', '--since', '2026-11-12', join(root, 'watch')]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as ReportsResult;
    expect(j.since).toBe('2026-11-12T00:00:00.000Z');
    // sysrq on Nov 10, 11 drop out; nmi 12-14 and oops 20-24 stay.
    expect(j.reports).toHaveLength(3 + 5);
    expect(j.groups.map((g) => [g.class, g.count])).toEqual([['null-dereference', 5], ['nmi', 3]]);
  }, 60_000);

  it('prints the groups as text, and one line per dump with --no-group', async () => {
    const g = await cli(['reports', join(root, 'watch')]);
    expect(g.code).toBe(0);
    const lines = g.stdout.split('\n');
    expect(lines[0]).toBe('10 dumps, 3 signatures');
    const oops = real['oops']!.analyze.summary.signature;
    expect(lines).toContain(`5×  ${oops.id}  ${oops.text}`);
    expect(g.stdout).toContain('first 2026-11-20 08:30  last 2026-11-24 08:30  hosts web-1, web-2, db-1');
    const flat = await cli(['reports', '--no-group', join(root, 'watch')]);
    const rows = flat.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^HOST +CRASHED \(UTC\) +KERNEL +SIGNATURE +STATUS +HEADLINE$/);
    expect(rows).toHaveLength(11);
    expect(rows[1]).toMatch(new RegExp(`^web-2 +2026-11-24 08:30 +\\S+ +${oops.id} +analyzed +`));
  }, 60_000);

  it('reads older reports without summary.signature by computing it from their call chain', async () => {
    const d = join(root, 'old');
    mkdirSync(d, { recursive: true });
    const old = JSON.parse(JSON.stringify(real['nmi']!.analyze)) as { summary: Record<string, unknown> };
    delete old.summary['signature'];
    writeFileSync(join(d, 'report.json'), JSON.stringify(old));
    const j = JSON.parse((await cli(['reports', '--json', d])).stdout) as ReportsResult;
    expect(j.reports[0]!.signature).toEqual({ id: real['nmi']!.analyze.summary.signature.id, text: real['nmi']!.analyze.summary.signature.text, class: 'nmi' });
  }, 60_000);

  it('reads watch.json where watch ran without --analyze (the first look it holds, signature computed if absent)', async () => {
    const d = join(root, 'plain-watch', 'vmcore.kdbg');
    mkdirSync(d, { recursive: true });
    const dump = requireFixture('vmcores', 'oops', 'vmcore.kdump-zlib');
    const identity = JSON.parse((await cli(['identify', '--json', dump])).stdout) as { release: string };
    const look = await firstLook(dump);
    // The shape pipeline/watch/process.ts writes, as a watch.json from before signatures.
    writeFileSync(join(d, 'watch.json'), JSON.stringify({ kdbgWatch: 1, dump, dmesg: null, processedAt: new Date().toISOString(), identity, firstLook: { headline: look!.headline, oops: look!.oops, laterReports: look!.others }, fetch: {}, analysis: null }));
    const j = JSON.parse((await cli(['reports', '--json', join(root, 'plain-watch')])).stdout) as ReportsResult;
    expect(j.warnings).toEqual([]);
    expect(j.reports).toHaveLength(1);
    expect(j.reports[0]).toMatchObject({ schema: 'kdbg.watch/1', status: 'first-look', kernel: identity.release, headline: look!.headline, timeSource: 'dump-mtime' });
    expect(j.reports[0]!.signature!.id).toBe(real['oops']!.analyze.summary.signature.id);
  }, 60_000);

  it("without DIR reads the watches' state files: their done dumps' reports and their failed dumps", async () => {
    const state = join(root, 'xdg-state');
    mkdirSync(join(state, 'kdbg'), { recursive: true });
    const items: Record<string, unknown> = {};
    for (let i = 0; i < FLEET.oops.copies; i++) {
      const d = join(root, 'watch', `oops-${i}`, 'vmcore.kdbg');
      items[`oops-${i}/vmcore`] = { status: 'done', size: 1, mtimeMs: 1, at: '2026-11-30T00:00:00.000Z', reports: [join(d, 'watch.json'), join(d, 'report.md'), join(d, 'report.json')] };
    }
    items['bad/vmcore'] = { status: 'failed', size: 1, mtimeMs: 1, at: '2026-11-29T10:00:00.000Z', reports: [], error: { code: 'KDBG_E_FORMAT', message: 'bad/vmcore: not a crash dump', exitCode: 65 } };
    // The shape pipeline/watch/loop.ts saves.
    writeFileSync(join(state, 'kdbg', 'watch-crash-0123456789ab.json'), JSON.stringify({ version: 1, dir: join(root, 'watch'), items }));
    const empty = mkdtempSync(join(tmpdir(), 'kdbg-reports-cwd-'));
    const r = await cli(['reports', '--json'], { cwd: empty, env: { XDG_STATE_HOME: state } });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as ReportsResult;
    expect(j.dirs).toEqual([]);
    expect(j.watchStates).toEqual([join(state, 'kdbg', 'watch-crash-0123456789ab.json')]);
    expect(j.reports).toHaveLength(FLEET.oops.copies + 1);
    expect(j.reports.filter((x) => x.status === 'analyzed')).toHaveLength(FLEET.oops.copies);
    expect(j.reports.find((x) => x.status === 'failed')).toMatchObject({ dump: 'bad/vmcore', headline: 'bad/vmcore: not a crash dump', crashTime: '2026-11-29T10:00:00.000Z', timeSource: 'watch-state', signature: null });
    expect(j.groups.map((g) => [g.id, g.count])).toEqual([[real['oops']!.analyze.summary.signature.id, 5], [null, 1]]);
    // No state files: the current directory.
    const none = await cli(['reports'], { cwd: empty, env: { XDG_STATE_HOME: join(root, 'no-state') } });
    expect(none.stdout.trim()).toBe('no reports under .');
  }, 60_000);

  it('a missing directory is exit 66, a bad --since exit 64, one line each', async () => {
    const m = await cli(['reports', join(root, 'no-such-dir')]);
    expect(m.code).toBe(66);
    expect(m.stderr.trim().split('\n')[0]).toContain('no-such-dir: no such file or directory');
    const s = await cli(['reports', '--since', 'last tuesday', root]);
    expect(s.code).toBe(64);
    expect(s.stderr).toContain('--since last tuesday');
  }, 60_000);
});

describe('parseSince', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  it.each([
    ['7d', '2026-11-24T00:00:00.000Z'],
    ['24h', '2026-11-30T00:00:00.000Z'],
    ['30m', '2026-11-30T23:30:00.000Z'],
    ['2w', '2026-11-17T00:00:00.000Z'],
    ['2026-11-25', '2026-11-25T00:00:00.000Z'],
    ['2026-11-25T08:00:00Z', '2026-11-25T08:00:00.000Z'],
  ])('%s', (s, want) => expect(parseSince(s, now).toISOString()).toBe(want));
});
