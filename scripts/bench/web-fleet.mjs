#!/usr/bin/env node
// The dumps table of `kdbg serve --reports` for a fleet of N synthetic reports (default 200) made
// from real ones: copies of the report.json files under --from (what `kdbg analyze -o` wrote for
// the real QEMU dumps), each with another host, crash time and dump path. Prints the time to read
// the listing (walk + read + parse of every report.json, which the server does at start and then in
// the background), the server time per table page (onTiming of the handler: listing lookup +
// filter + sort + render; median and max of 20) and Chromium's first paint and first contentful
// paint (median of 5 fresh navigations). Not a test: it prints figures. Needs `npm run build` and
// /usr/bin/chromium.
//
//   node scripts/bench/web-fleet.mjs --from DIR [--count 200]
//   (without --from it runs `kdbg analyze` with the fixtures' real crash on the three dumps first)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const count = Number(arg('--count', '200'));
const work = mkdtempSync(join(tmpdir(), 'kdbg-web-fleet-'));

function findReports(dir, out = []) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) findReports(p, out);
    else if (n === 'report.json') out.push(p);
  }
  return out;
}

let from = arg('--from', null);
if (!from) {
  const fx = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
  const m = JSON.parse(readFileSync(join(fx, 'debian-vmlinux', 'manifest.json'), 'utf8'));
  from = join(work, 'real');
  for (const k of ['sysrq', 'oops', 'nmi']) {
    const extra = k === 'oops' ? ['--modules-dir', join(fx, 'vmcores', 'oops'), '--source-dir', join(fx, 'vmcores', 'oops')] : [];
    execFileSync(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'analyze', join(fx, 'vmcores', k, 'vmcore.kdump-zlib'), '--vmlinux', join(fx, 'debian-vmlinux', m.member), '--crash', join(fx, 'crash-trixie', 'crash'), '-o', join(from, k)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
const real = findReports(from).map((f) => JSON.parse(readFileSync(f, 'utf8'))).filter((r) => r.schema === 'kdbg.analyze/v1');
if (real.length === 0) throw new Error(`${from}: no kdbg.analyze/v1 report.json`);

// The fleet: hosts web-01…web-12 and db-01…db-04, crash times over 30 days, one folder per dump.
const fleet = join(work, 'fleet');
const hosts = [...Array.from({ length: 12 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`), 'db-01', 'db-02', 'db-03', 'db-04'];
const t0 = Date.parse('2026-11-01T00:00:00Z');
let bytes = 0;
for (let i = 0; i < count; i++) {
  const r = structuredClone(real[i % real.length]);
  const host = hosts[(i * 7) % hosts.length];
  const at = new Date(t0 + Math.floor(((i * 7919) % 1000) / 1000 * 30 * 86400e3));
  r.system.nodename = host;
  r.system.date = at.toUTCString().replace('GMT', 'UTC');
  r.dump.path = `/var/crash/${host}/${at.toISOString().slice(0, 16).replace(/[-:T]/g, '')}/vmcore`;
  const dir = join(fleet, host, `${at.toISOString().slice(0, 19).replace(/:/g, '')}-${i}.kdbg`);
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(r);
  bytes += text.length;
  writeFileSync(join(dir, 'report.json'), text);
}

const { startServe } = await import(join(repo, 'dist', 'serve', 'server.js'));
const { createWebHandler } = await import(join(repo, 'dist', 'serve', 'web', 'handler.js'));
const cache = join(work, 'cache');
mkdirSync(join(cache, 'releases'), { recursive: true });
const timings = [];
const web = createWebHandler({ reportDirs: [fleet], token: null, onTiming: (p, ms) => p === '/' && timings.push(ms) });
const server = await startServe({ cacheDir: cache, host: '127.0.0.1', port: 0, web });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The walk + read + parse of every report.json, as the server does it at start and then in the
// background (pipeline/reports.js listReports, the same rows as `kdbg reports`).
const { listReports } = await import(join(repo, 'dist', 'pipeline', 'reports.js'));
const reads = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await listReports({ dirs: [fleet] });
  reads.push(performance.now() - t);
}
const first = await fetch(`${server.url}/`);
const html = await first.text();
const rows = (html.match(/<tr data-id=/g) ?? []).length;
timings.length = 0;
for (let i = 0; i < 20; i++) await (await fetch(`${server.url}/`)).text();
const cold = median(reads);
const warm = median(timings);
const worst = Math.max(...timings);

const { default: puppeteer } = await import('puppeteer-core');
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
const paints = [];
for (let i = 0; i < 5; i++) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`, { waitUntil: 'load' });
  // Paint entries arrive with the next frame after load: wait for them (buffered observer).
  paints.push(await page.evaluate(() => new Promise((resolve) => {
    const done = () => {
      const p = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
      const n = performance.getEntriesByType('navigation')[0];
      resolve({ fp: p['first-paint'] ?? null, fcp: p['first-contentful-paint'] ?? null, responseEnd: n.responseEnd, load: n.loadEventEnd });
    };
    new PerformanceObserver((l, o) => { if (l.getEntries().some((e) => e.name === 'first-contentful-paint')) { o.disconnect(); done(); } }).observe({ type: 'paint', buffered: true });
    setTimeout(done, 3000);
  })));
  await page.close();
}
// For a person to look at: the table and the signatures view of the fleet (git-ignored).
const shots = join(repo, 'test-artifacts', 'screenshots');
mkdirSync(shots, { recursive: true });
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 1000 });
await page.goto(`${server.url}/`);
await page.screenshot({ path: join(shots, `fleet-${count}-dumps.png`) });
await page.goto(`${server.url}/signatures`);
await page.screenshot({ path: join(shots, `fleet-${count}-signatures.png`), fullPage: true });
await browser.close();
await server.close();

const out = {
  reports: count,
  fromReal: real.length,
  reportJsonBytes: bytes,
  tableRows: rows,
  htmlBytes: Buffer.byteLength(html),
  listingReadMsMedianOf5: Number(cold.toFixed(1)),
  listingReadMs: reads.map((x) => Number(x.toFixed(1))),
  serverMsPerTablePageMedianOf20: Number(warm.toFixed(1)),
  serverMsPerTablePageMaxOf20: Number(worst.toFixed(1)),
  chromiumFirstPaintMsMedian: Number(median(paints.map((p) => p.fp)).toFixed(1)),
  chromiumFirstContentfulPaintMsMedian: Number(median(paints.map((p) => p.fcp)).toFixed(1)),
  chromiumLoadMsMedian: Number(median(paints.map((p) => p.load)).toFixed(1)),
  paints,
};
console.log(JSON.stringify(out, null, 1));
