// The report pages without a browser, fast: reports built by buildReport from the recorded crash
// 8.0.6 sessions of the three real QEMU dumps (the parse is the real one, no crash run), served by
// the real `startServe` on 127.0.0.1 with the web handler. Escaping of every free-text field, the
// filters, the chart counts, the token rules, and the picture helpers.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type AnalysisReport } from '../../src/analyze/index.js';
import { expandTabs, memoryBars, shortSourcePath } from '../../src/analyze/report/pictures.js';
import { splitTranscript } from '../../src/analyze/transcript.js';
import { startServe, type RunningServer } from '../../src/serve/server.js';
import { bucketCounts, timeAxis } from '../../src/serve/web/chart.js';
import { createWebHandler } from '../../src/serve/web/handler.js';
import type { FirstLookReport } from '../../src/klog/report.js';
import { requireFixture } from '../helpers/fixtures.js';

const KINDS = ['sysrq', 'nmi', 'oops'] as const;
const HOSTILE = '<script>alert(1)</script>"\'&<kdbg-x>';
const work = mkdtempSync(join(tmpdir(), 'kdbg-web-pages-'));
const real: Record<string, AnalysisReport> = {};
let open: RunningServer;
let firstLook: FirstLookReport;
let locked: RunningServer;
const TOKEN = 'test-token-abcdefghijklmnop';

beforeAll(async () => {
  for (const k of KINDS) {
    const transcript = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'crash', '8.0.6', `${k}.txt`), 'utf8');
    real[k] = await buildReport({
      dump: { path: requireFixture('vmcores', k, 'vmcore.kdump-zlib'), format: 'kdump-compressed', release: null, buildId: null },
      vmlinux: { path: 'vmlinux', release: null, buildId: null, banner: null },
      verification: null,
      crash: { path: 'crash', version: '8.0.6', from: 'flag' },
      session: { sections: splitTranscript(transcript), startup: '', transcript, durationMs: 1, exitCode: 0 },
      kernelVersion: null,
    });
  }
  // Three hosts × the three crashes on three days, and one hostile copy.
  ['a', 'b', 'c'].forEach((host, i) => {
    for (const k of KINDS) {
      const r = structuredClone(real[k]!);
      r.system.nodename = `host-${host}`;
      r.system.date = new Date(Date.UTC(2026, 10, 3 + i * 2, 9)).toUTCString();
      const d = join(work, 'fleet', `${host}-${k}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'report.json'), JSON.stringify(r));
    }
  });
  const h = structuredClone(real['oops']!);
  h.system.date = new Date(Date.UTC(2026, 10, 7, 10)).toUTCString();
  h.summary.headline = HOSTILE;
  h.summary.probableCause = HOSTILE;
  h.system.nodename = HOSTILE;
  h.system.release = HOSTILE;
  h.logTail.push(HOSTILE);
  h.findings[0]!.title = HOSTILE;
  h.callChain[0]!.function = HOSTILE;
  h.memory!.rows[0]!.size = HOSTILE;
  mkdirSync(join(work, 'fleet', 'hostile'), { recursive: true });
  writeFileSync(join(work, 'fleet', 'hostile', 'report.json'), JSON.stringify(h));
  // A first look (the dump's own log, no crash) of the real oops dump, as `kdbg analyze --no-fetch` writes it.
  const { analyzeDumpOnly } = await import('../../src/pipeline/analyze.js');
  const look = await analyzeDumpOnly({ dump: requireFixture('vmcores', 'oops', 'vmcore.kdump-zlib') });
  firstLook = look.report;
  mkdirSync(join(work, 'fleet', 'firstlook'), { recursive: true });
  writeFileSync(join(work, 'fleet', 'firstlook', 'report.json'), JSON.stringify(look.report));
  mkdirSync(join(work, 'cache', 'releases'), { recursive: true });
  open = await startServe({ cacheDir: join(work, 'cache'), host: '127.0.0.1', port: 0, web: createWebHandler({ reportDirs: [join(work, 'fleet')], token: null }) });
  locked = await startServe({ cacheDir: join(work, 'cache'), host: '127.0.0.1', port: 0, web: createWebHandler({ reportDirs: [join(work, 'fleet')], token: TOKEN }) });
}, 120_000);

afterAll(async () => {
  await open?.close();
  await locked?.close();
});

const get = async (s: RunningServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> => {
  const r = await fetch(`${s.url}${path}`, { headers, redirect: 'manual' });
  return { status: r.status, body: await r.text(), headers: r.headers };
};

describe('report pages (no browser)', () => {
  it('escapes every free-text field of a report on every page', async () => {
    const table = await get(open, '/');
    expect(table.status).toBe(200);
    const id = [...table.body.matchAll(/<tr data-id="([0-9a-f]{16})">(.*?)<\/tr>/g)].find((m) => m[2]!.includes('&lt;script&gt;alert(1)'))?.[1];
    expect(id).toBeDefined();
    for (const page of ['/', '/signatures', `/dump/${id!}`]) {
      const { body } = await get(open, page);
      expect(body, page).not.toContain('<script>alert');
      expect(body, page).not.toContain('<kdbg-x>');
    }
    const dump = (await get(open, `/dump/${id!}`)).body;
    expect(dump).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;kdbg-x&gt;');
    // The only script on any page is the dumps table's sort script.
    expect(dump).not.toMatch(/<script/);
    expect((table.body.match(/<script>/g) ?? []).length).toBe(1);
  });

  it('filters by kernel, host and signature and sorts on the server', async () => {
    const sig = real['oops']!.summary.signature.id;
    const rowsOf = (html: string): string[] => [...html.matchAll(/<tr data-id="([0-9a-f]{16})"/g)].map((m) => m[1]!);
    expect(rowsOf((await get(open, '/')).body)).toHaveLength(11);
    expect(rowsOf((await get(open, `/?signature=${sig}`)).body)).toHaveLength(5);
    expect(rowsOf((await get(open, '/?host=host-b')).body)).toHaveLength(3);
    expect(rowsOf((await get(open, `/?host=host-b&signature=${sig}`)).body)).toHaveLength(1);
    // The recorded sessions' kernel (9 rows); the first look names the fixture dump's own.
    expect(rowsOf((await get(open, `/?kernel=${encodeURIComponent(real['oops']!.system.release!)}`)).body)).toHaveLength(9);
    expect(rowsOf((await get(open, `/?kernel=${encodeURIComponent(firstLook.dump.release!)}`)).body).length).toBeGreaterThanOrEqual(1);
    const byHost = (await get(open, '/?sort=host&dir=asc')).body;
    const hosts = [...byHost.matchAll(/<td class="h" data-v="([^"]*)"/g)].map((m) => m[1]!);
    expect(hosts).toEqual([...hosts].sort((a, b) => a.localeCompare(b)));
  });

  it("shows a first look's headline, signature and log trace on its page", async () => {
    const f = firstLook.firstLook!;
    const table = (await get(open, '/')).body;
    const id = [...table.matchAll(/<tr data-id="([0-9a-f]{16})">(.*?)<\/tr>/g)].find((m) => m[2]!.includes('first-look'))?.[1];
    expect(id).toBeDefined();
    const page = (await get(open, `/dump/${id!}`)).body;
    expect(page).toContain(`<h1 id="headline">${f.headline.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</h1>`);
    expect(page).toContain(`data-id="${f.signature!.id}"`);
    // The log's trace, the exception RIP marked: the signature's frames are among its entries.
    for (const fr of f.signature!.frames) expect(page).toContain(`data-function="${fr.function}`);
    expect(page).toMatch(/<li class="fault" data-function="kdbg_oops_read_value"/);
  });

  it('charts each signature per day on one axis; the counts add up to the group', async () => {
    const body = (await get(open, '/signatures')).body;
    const rows = [...body.matchAll(/<tr data-signature="([^"]+)"><td class="n">(\d+)<\/td>[^]*?data-counts="([\d,]+)"/g)].map((m) => ({ id: m[1]!, n: Number(m[2]), counts: m[3]!.split(',').map(Number) }));
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.counts.reduce((a, b) => a + b, 0)).toBe(r.n);
    const sysrq = rows.find((r) => r.id === real['sysrq']!.summary.signature.id)!;
    // Days 3, 5 and 7 of November: one dump each, two buckets apart, on the fleet's daily axis.
    const at = sysrq.counts.flatMap((n, i) => (n ? [i] : []));
    expect(at.map((i) => sysrq.counts[i])).toEqual([1, 1, 1]);
    expect([at[1]! - at[0]!, at[2]! - at[1]!]).toEqual([2, 2]);
    const axis = timeAxis(['2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z'])!;
    expect(axis.unit).toBe('week');
    expect(bucketCounts(axis, ['2026-01-01T10:00:00Z', '2026-01-05T00:00:00Z', '2026-12-31T23:00:00Z', null])).toEqual([2, ...Array(axis.buckets - 2).fill(0), 1]);
  });

  it('wants the token when one is set: 401 without, the bearer header or the one-time login cookie', async () => {
    for (const p of ['/', '/signatures', '/dump/0123456789abcdef']) {
      const r = await get(locked, p);
      expect(r.status, p).toBe(401);
      expect(r.body).not.toContain('kdbg_oops');
    }
    expect((await get(locked, '/', { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await get(locked, '/', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(locked, '/login?code=nope')).status).toBe(401);
    expect((await get(locked, '/metrics')).status).toBe(200);
    expect((await get(locked, '/buildid/00112233445566778899/debuginfo')).status).toBe(404);
  });

  it('draws a bar per kmem -i row against its total, from the parsed numbers', () => {
    const m = real['sysrq']!.memory!;
    const svg = memoryBars(m);
    const bars = [...svg.matchAll(/data-label="([^"]+)" data-pages="(\d+)" data-size="([^"]+)"/g)].map((x) => ({ label: x[1]!, pages: Number(x[2]), size: x[3]! }));
    expect(bars.length).toBeGreaterThanOrEqual(7);
    for (const b of bars) expect(b).toEqual({ label: b.label, pages: m.byLabel[b.label]!.pages, size: m.byLabel[b.label]!.size });
    expect(memoryBars(null)).toMatch(/No <code>kmem -i<\/code>/);
  });

  it('shortens build paths to the kernel tree and keeps kernel-style tab stops', () => {
    expect(shortSourcePath('debian/build/build_amd64_none_amd64/kernel/panic.c')).toBe('kernel/panic.c');
    expect(shortSourcePath('/build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S')).toBe('arch/x86/entry/entry_64.S');
    expect(shortSourcePath('/usr/src/debug/kernel-5.14.0-1.el9/linux-5.14.0-1.el9.x86_64/mm/slub.c')).toBe('mm/slub.c');
    expect(shortSourcePath('/root/src/kdbg_oops.c')).toBe('/root/src/kdbg_oops.c');
    expect(expandTabs('\treturn x;')).toBe('        return x;');
    expect(expandTabs('ab\tc')).toBe('ab      c');
  });
});
