// The report pages of `kdbg serve --reports` in a real browser (Debian's chromium, puppeteer-core):
// the reports are the ones the built `kdbg analyze` writes with the real crash (fixture 50) on the
// three real QEMU dumps (fixture 30) and the Debian vmlinux (fixture 40), as test/cli/analyze.test.ts
// makes them. Each page is checked against its report.json (headline, signature, frames, the
// kmem -i numbers behind every bar), must log no console error and make no request that leaves
// the server on 127.0.0.1, and leaves a screenshot in test-artifacts/screenshots/. A report whose
// log, headline and host hold <script> shows it as text and runs nothing. On a non-loopback
// address the pages want the token: 401 without it, a cookie from the one-time login URL.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';
import { SCREENSHOTS, guardedPage, launchChromium, type GuardedPage } from '../helpers/browser.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'kdbg.js');
const KINDS = ['sysrq', 'oops', 'nmi'] as const;
const HOSTILE = '<script>window.__kdbgPwned=1</script><img src=x onerror="window.__kdbgPwned=2">';

const work = mkdtempSync(join(tmpdir(), 'kdbg-web-'));
const reportsDir = join(work, 'reports');
const cacheDir = join(work, 'cache');
const real: Record<string, AnalysisReport> = {};
const procs: ChildProcess[] = [];
let browser: Browser;

/** `kdbg serve … --json` as a process; resolves with its announcement line. */
async function serve(args: string[]): Promise<{ url: string; port: number; reports: { url: string; login: string | null } }> {
  const p = spawn(process.execPath, [bin, 'serve', '--cache-dir', cacheDir, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let err = '';
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i));
    });
    p.once('exit', (c) => reject(new Error(`kdbg serve exited ${c}: ${err}`)));
  });
  return JSON.parse(line) as { url: string; port: number; reports: { url: string; login: string | null } };
}

async function analyze(kind: string): Promise<void> {
  const out = join(reportsDir, `${kind}.kdbg`);
  const extra = kind === 'oops' ? ['--modules-dir', requireFixture('vmcores', 'oops'), '--source-dir', requireFixture('vmcores', 'oops')] : [];
  await run(process.execPath, [bin, 'analyze', requireFixture('vmcores', kind, 'vmcore.kdump-zlib'), '--vmlinux', debianVmlinux().path, '--crash', requireFixture('crash-trixie', 'crash'), '-o', out, ...extra], { maxBuffer: 64 << 20 });
  real[kind] = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as AnalysisReport;
}

let local: { url: string };
let hostileId = '';

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'serve', 'web', 'handler.js'))) throw new Error('dist/ is not built (npm run build)');
  mkdirSync(join(cacheDir, 'releases'), { recursive: true });
  await Promise.all(KINDS.map((k) => analyze(k)));
  // The hostile copy: the oops report with markup in every free-text field a page shows.
  const h = structuredClone(real['oops']!);
  h.summary.headline = `${HOSTILE} headline`;
  h.system.nodename = `host${HOSTILE}`;
  h.logTail = [...h.logTail, `[    9.999999] ${HOSTILE}`];
  h.findings[0]!.evidence.push({ command: 'log', line: HOSTILE });
  h.summary.signature = { ...h.summary.signature, text: `${h.summary.signature.text} ${HOSTILE}` };
  h.system.date = 'Tue Dec  1 10:00:00 UTC 2026';
  mkdirSync(join(work, 'hostile', 'x.kdbg'), { recursive: true });
  writeFileSync(join(work, 'hostile', 'x.kdbg', 'report.json'), JSON.stringify(h));
  browser = await launchChromium();
  local = await serve(['--listen', '127.0.0.1:0', '--reports', reportsDir, '--reports', join(work, 'hostile')]);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  for (const p of procs) p.kill('SIGTERM');
});

async function open(g: GuardedPage, url: string, shot: string | null): Promise<void> {
  const r = await g.page.goto(url, { waitUntil: 'load' });
  expect(r?.status(), url).toBe(200);
  if (shot) await g.page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
}

function clean(g: GuardedPage): void {
  expect(g.errors).toEqual([]);
  expect(g.escaped).toEqual([]);
  expect(g.requests.every((u) => u.startsWith(local.url) || u.startsWith('data:'))).toBe(true);
}

describe('kdbg serve --reports in chromium', () => {
  it('lists the real dumps with their signatures; filters and sorts (sort in place with JavaScript, by the links without)', async () => {
    const g = await guardedPage(browser, local.url);
    await open(g, `${local.url}/`, 'dumps');
    const rows = await g.page.$$eval('table.dumps tbody tr', (trs) => trs.map((tr) => ({ id: tr.getAttribute('data-id'), cells: [...tr.cells].map((c) => c.textContent ?? '') })));
    expect(rows).toHaveLength(4);
    for (const k of KINDS) {
      const s = real[k]!.summary;
      const row = rows.find((r) => r.cells[5] === s.headline);
      expect(row, k).toBeDefined();
      expect(row!.cells[3]).toContain(s.signature.id);
      expect(row!.cells[2]).toBe(real[k]!.system.release);
    }
    // Filter by signature: a GET form, the same with and without JavaScript.
    const oopsSig = real['oops']!.summary.signature.id;
    await g.page.select('select[name=signature]', oopsSig);
    await Promise.all([g.page.waitForNavigation(), g.page.click('form.filter button')]);
    const filtered = await g.page.$$eval('table.dumps tbody tr td:nth-child(4) .sigid', (as) => as.map((a) => a.textContent));
    expect(filtered).toEqual([oopsSig, oopsSig]);
    // Sort by headline in place (the inline script): no navigation, rows reordered.
    await g.page.goto(`${local.url}/`);
    const before = g.page.url();
    await g.page.click('th a[data-col="5"]');
    const asc = await g.page.$$eval('table.dumps tbody tr td:nth-child(6)', (tds) => tds.map((t) => t.getAttribute('data-v') ?? ''));
    expect(g.page.url()).toBe(before);
    expect(asc).toEqual([...asc].sort((a, b) => a.localeCompare(b)));
    clean(g);

    const nojs = await guardedPage(browser, local.url, { javaScript: false });
    await open(nojs, `${local.url}/?kernel=${encodeURIComponent(real['sysrq']!.system.release!)}&sort=headline&dir=asc`, 'dumps-nojs-filtered');
    const hl = await nojs.page.$$eval('table.dumps tbody tr td:nth-child(6)', (tds) => tds.map((t) => t.getAttribute('data-v') ?? ''));
    expect(hl).toHaveLength(4);
    expect(hl).toEqual([...hl].sort((a, b) => a.localeCompare(b)));
    await nojs.page.goto(`${local.url}/?host=nosuchhost`);
    expect(await nojs.page.$$eval('table.dumps tbody tr', (t) => t.length)).toBe(0);
    clean(nojs);
  });

  it('shows each signature with its count and a count-over-time chart', async () => {
    const g = await guardedPage(browser, local.url);
    await open(g, `${local.url}/signatures`, 'signatures');
    const sigs = await g.page.$$eval('table.sigs tbody tr', (trs) =>
      trs.map((tr) => ({ id: tr.getAttribute('data-signature'), n: Number(tr.querySelector('td.n')?.textContent), counts: (tr.querySelector('svg.chart')?.getAttribute('data-counts') ?? '').split(',').map(Number) })),
    );
    expect(sigs).toHaveLength(3);
    expect(sigs.find((s) => s.id === real['oops']!.summary.signature.id)?.n).toBe(2);
    for (const s of sigs) expect(s.counts.reduce((a: number, b: number) => a + b, 0)).toBe(s.n);
    clean(g);
  });

  for (const kind of KINDS) {
    it(`draws the ${kind} dump's report: headline, signature, call chain, kmem -i bars`, async () => {
      const r = real[kind]!;
      const g = await guardedPage(browser, local.url);
      await g.page.goto(`${local.url}/`);
      const href = await g.page.$$eval('table.dumps tbody tr', (trs, h) => trs.find((tr) => tr.cells[5]?.textContent === h)?.querySelector('a')?.getAttribute('href') ?? null, r.summary.headline);
      expect(href).toMatch(/^\/dump\/[0-9a-f]{16}$/);
      await open(g, `${local.url}${href}`, `dump-${kind}`);
      expect(await g.page.$eval('#headline', (h) => h.textContent)).toBe(r.summary.headline);
      expect(await g.page.$eval('#signature', (d) => d.getAttribute('data-id'))).toBe(r.summary.signature.id);
      expect(await g.page.$eval('#signature', (d) => d.textContent)).toContain(r.summary.signature.text);
      const frames = await g.page.$$eval('ol.chain li', (lis) => lis.map((li) => ({ fn: li.getAttribute('data-function'), cls: li.className })));
      expect(frames.map((f) => f.fn)).toEqual(r.callChain.map((c) => c.function));
      expect(r.faultIndex).not.toBeNull();
      expect(frames[r.faultIndex!]!.cls).toBe('fault');
      if (r.callerIndex !== null) expect(frames[r.callerIndex]!.cls).toBe('caller');
      const fault = r.callChain[r.faultIndex!]!;
      if (fault.file !== null) expect(await g.page.$eval('ol.chain li.fault', (li) => li.textContent)).toContain(`:${fault.line}`);
      // Every bar is drawn from the kmem -i row of the same label, and says so.
      const bars = await g.page.$$eval('g.bar', (gs) => gs.map((x) => ({ label: x.getAttribute('data-label')!, pages: Number(x.getAttribute('data-pages')), size: x.getAttribute('data-size'), total: Number(x.getAttribute('data-total-pages')), text: x.textContent ?? '', width: Number(x.querySelectorAll('rect')[1]!.getAttribute('width')) })));
      const mem = r.memory!;
      expect(bars.map((b) => b.label)).toEqual(expect.arrayContaining(['FREE', 'USED', 'COMMITTED']));
      for (const b of bars) {
        const row = mem.byLabel[b.label]!;
        expect(b.pages, b.label).toBe(row.pages);
        expect(b.size, b.label).toBe(row.size);
        expect(b.text).toContain(row.size);
        if (row.percent !== null) expect(b.text).toContain(`${row.percent}%`);
      }
      const free = bars.find((b) => b.label === 'FREE')!;
      expect(free.total).toBe(mem.byLabel['TOTAL MEM']!.pages);
      expect(free.width / 380).toBeCloseTo(free.pages / free.total, 2);
      expect(await g.page.$$eval('.finding', (f) => f.length)).toBe(r.findings.length);
      if (r.source) expect(await g.page.$eval('pre.src .hl', (s) => Number(s.getAttribute('data-line')))).toBe(r.source.line);
      clean(g);
    });
  }

  it('gives the standalone report.html of kdbg analyze the same pictures', async () => {
    const r = real['oops']!;
    const g = await guardedPage(browser, 'file://');
    await g.page.goto(`file://${join(reportsDir, 'oops.kdbg', 'report.html')}`);
    await g.page.screenshot({ path: join(SCREENSHOTS, 'report-html-oops.png'), fullPage: true });
    expect(await g.page.$eval('#headline', (h) => h.textContent)).toBe(r.summary.headline);
    expect(await g.page.$$eval('ol.chain li', (l) => l.map((x) => x.getAttribute('data-function')))).toEqual(r.callChain.map((c) => c.function));
    const used = await g.page.$eval('g.bar[data-label="USED"]', (x) => Number(x.getAttribute('data-pages')));
    expect(used).toBe(r.memory!.byLabel['USED']!.pages);
    expect(await g.page.$$eval('script', (s) => s.length)).toBe(0);
    expect(g.errors).toEqual([]);
  });

  it('escapes everything: a report whose log, headline and host hold <script> shows them as text and runs nothing', async () => {
    const g = await guardedPage(browser, local.url);
    await open(g, `${local.url}/`, null);
    hostileId = (await g.page.$$eval('table.dumps tbody tr', (trs) => trs.find((tr) => tr.cells[5]?.textContent?.includes('__kdbgPwned'))?.getAttribute('data-id') ?? '')) ?? '';
    expect(hostileId).toMatch(/^[0-9a-f]{16}$/);
    await g.page.screenshot({ path: join(SCREENSHOTS, 'dumps-with-hostile.png'), fullPage: true });
    await open(g, `${local.url}/dump/${hostileId}`, 'dump-hostile');
    expect(await g.page.evaluate(() => (globalThis as unknown as { __kdbgPwned?: number }).__kdbgPwned)).toBeUndefined();
    expect(await g.page.$eval('#headline', (h) => h.textContent)).toBe(`${HOSTILE} headline`);
    expect(await g.page.$eval('#log', (p) => p.textContent)).toContain(HOSTILE);
    expect(await g.page.$$eval('img', (i) => i.length)).toBe(0);
    // The one script on any page is the sort script of the dumps table; none here.
    expect(await g.page.$$eval('script', (s) => s.length)).toBe(0);
    await open(g, `${local.url}/signatures`, null);
    expect(await g.page.evaluate(() => (globalThis as unknown as { __kdbgPwned?: number }).__kdbgPwned)).toBeUndefined();
    clean(g);
  });

  it('on a non-loopback address: 401 without the token, the one-time URL sets a cookie once, the bearer header works', async () => {
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, 'kdbg-test-token-0123456789abcdef\n');
    const anyAddr = await serve(['--listen', '0.0.0.0:0', '--allow-remote', '--reports', reportsDir]);
    const base = `http://127.0.0.1:${anyAddr.port}`;
    expect(anyAddr.reports.login).toMatch(/^http:\/\/[^/]+\/login\?code=[\w-]+$/);
    expect(anyAddr.reports.login).not.toContain('0.0.0.0');
    for (const p of ['/', '/signatures', `/dump/${hostileId}`]) expect((await fetch(`${base}${p}`)).status, p).toBe(401);
    expect((await fetch(`${base}/`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    expect((await fetch(`${base}/`, { headers: { cookie: 'kdbg_token=guess' } })).status).toBe(401);
    // The debuginfod API is not a page: unchanged.
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const login = anyAddr.reports.login!.replace(/^http:\/\/[^/]+/, base);
    const g = await guardedPage(browser, base);
    const r = await g.page.goto(login);
    expect(r?.status()).toBe(200);
    expect(g.page.url()).toBe(`${base}/`);
    expect(await g.page.$$eval('table.dumps tbody tr', (t) => t.length)).toBe(3);
    expect(g.errors).toEqual([]);
    expect(g.escaped).toEqual([]);
    expect((await fetch(login, { redirect: 'manual' })).status).toBe(401);

    const withFile = await serve(['--listen', '127.0.0.1:0', '--reports', reportsDir, '--token-file', tokenFile]);
    expect((await fetch(`${withFile.url}/`)).status).toBe(401);
    const ok = await fetch(`${withFile.url}/`, { headers: { authorization: 'Bearer kdbg-test-token-0123456789abcdef' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('refuses a --reports directory that does not exist (exit 66) and a short token file (exit 64)', async () => {
    const fail = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--cache-dir', cacheDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        p.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
        p.once('exit', (code) => resolve({ code, stderr }));
      });
    const missing = await fail(['--reports', join(work, 'nowhere')]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain(`${join(work, 'nowhere')}: no such file or directory (--reports)`);
    writeFileSync(join(work, 'short-token'), 'short\n');
    const short = await fail(['--reports', reportsDir, '--token-file', join(work, 'short-token')]);
    expect(short.code).toBe(64);
    expect(short.stderr).toMatch(/at least 16 characters/);
  });
});
