#!/usr/bin/env node
// Measured script for issue 20's serve goals (not a test; prints figures), used by run.mjs rows f1
// and f2 and runnable alone:
//
// - cold miss (default): a vmlinux through `debuginfod-find` → `kdbg serve --fetch` → a
//   rate-limited loopback mirror, against `kdbg fetch --vmlinux-only` of the same release from
//   the same mirror. Each side runs RUNS times on a cold cache (the server's build-id index is
//   built before the clock starts: it is built once per repository revision, not per miss);
//   medians are compared.
// - --clients N: N concurrent clients (plain HTTP GETs, one connection each) ask a cold server for
//   the same uncached id, once; the figures are the server's fetch count, the mirror's bytes and
//   requests, and the digests of the N answers, against one `kdbg fetch --vmlinux-only`.
//
//   node scripts/bench/serve-miss.mjs [RUNS=3] [--fleet] [--clients N] [--json]
//        (npm run build first; fixture 10 built, or with --fleet scripts/bench/fleet-fixtures.sh)
//
// Env: KDBG_FIXTURES, BENCH_RATE (bytes/s per connection, default 40e6).
// Packages: by default fixture 10's el7 kernel-debuginfo (4.5 MB, one xz block, a real .build-id
// link in filelists.xml; the bench's 368 MB el7 package has no build-id links, so this is the
// small-package case, where the fixed costs of the extra hop weigh most). --fleet: the first
// kernel of the bench-fleet repository (a multi-block package shaped like a real one, its vmlinux
// fetched by Range).
// --json: one last line {case, rate, runs, clients, load, fetch:{ms[], medianMs, bytes, requests},
// serve:{ms[], medianMs, bytes, requests, fetches, joined, statuses, digestsOk}, ratio}.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
const args = process.argv.slice(2);
const flag = (n) => args.includes(n);
const opt = (n, d) => (args.indexOf(n) >= 0 ? args[args.indexOf(n) + 1] : d);
const runs = Number(args.find((a, i) => /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')) ?? 3);
const clients = Number(opt('--clients', 1));
const fleet = flag('--fleet');
const json = flag('--json');
const rate = Number(process.env.BENCH_RATE ?? 40e6);

// The package: {uname, buildId, sha256, size, root (mirror root), where (fetch/serve flags)}.
let pkg;
if (fleet) {
  const root = join(fixtures, 'bench-fleet');
  const k = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')).kernels[0];
  pkg = { label: `bench-fleet ${k.uname} (${(k.size / 1e6).toFixed(1)} MB package, multi-block xz)`, uname: k.uname, buildId: k.vmlinux.buildId, sha256: k.vmlinux.sha256, size: k.size, root, where: (u) => ['--repo', `${u}/repo`] };
} else {
  const manifest = JSON.parse(readFileSync(join(fixtures, 'rpm', 'manifest.json'), 'utf8'));
  const p = manifest.packages.find((x) => x.set === 'el7' && x.role === 'vmlinux');
  pkg = { label: `el7 vmlinux (fixture 10, ${(p.size / 1e6).toFixed(1)} MB package)`, uname: p.uname, buildId: p.buildId, sha256: p.vmlinuxSha256, size: p.size, root: join(fixtures, 'rpm', 'mirror'), where: (u) => ['--mirror', u] };
}
const work = mkdtempSync(join(tmpdir(), 'kdbg-bench-miss-'));
const config = join(work, 'config.json');
writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null }));
const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'xdg') };
for (const k of Object.keys(env)) if (k.startsWith('KDBG_') || k === 'DEBUGINFOD_URLS') delete env[k];

function startLine(cmd, a, opts) {
  const p = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ p, line: out.split('\n')[0] });
    });
    p.stderr.resume();
    p.once('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
  });
}

function timed(cmd, a, e) {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(cmd, a, { env: e, encoding: 'utf8', maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr}`)) : resolve({ ms: performance.now() - t0, stdout }))),
  );
}

/** GET url, body hashed as it streams (N clients × a large vmlinux never sit in memory). */
function getHashed(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, agent: false }, (res) => {
      const h = createHash('sha256');
      res.on('data', (c) => h.update(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: h.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const metric = (text, name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
const mirror = await startLine(process.execPath, [join(repo, 'scripts', 'bench', 'serve.mjs'), pkg.root, '--rate', String(rate)]);
const mirrorUrl = mirror.line.trim();
const mirrorStats = async () => JSON.parse(await fetch(`${mirrorUrl}/__stats`).then((x) => x.text()));
const mirrorReset = () => fetch(`${mirrorUrl}/__reset`).then((x) => x.arrayBuffer());
const res = { case: pkg.label, rate, runs, clients, load: load0, fetch: { ms: [], bytes: 0, requests: 0 }, serve: { ms: [], bytes: 0, requests: 0, fetches: 0, joined: 0, statuses: [], digestsOk: true } };
try {
  for (let i = 0; i < (clients > 1 ? 1 : runs); i++) {
    const cache = join(work, `fetch-${i}`);
    await mirrorReset();
    const r = await timed(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'fetch', pkg.uname, '--vmlinux-only', ...pkg.where(mirrorUrl), '--config', config, '--cache-dir', cache, '--json'], env);
    if (!r.stdout.includes(pkg.uname)) throw new Error('fetch answered no release');
    res.fetch.ms.push(r.ms);
    Object.assign(res.fetch, { bytes: (await mirrorStats()).bytes, requests: (await mirrorStats()).requests });

    const scache = join(work, `serve-${i}`);
    // --miss-rate 0: every bench client comes from 127.0.0.1, where a fleet's come from as many
    // addresses; the per-address limit is not what is measured here.
    const srv = await startLine(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'serve', '--fetch', '--listen', '127.0.0.1:0', '--json', '--miss-rate', '0', ...pkg.where(mirrorUrl), '--config', config, '--cache-dir', scache], { env });
    const url = JSON.parse(srv.line).url;
    for (let t = 0; t < 600; t++) {
      const m = await fetch(`${url}/metrics`).then((x) => x.text());
      if (/^kdbg_serve_index_ids [1-9]/m.test(m)) break;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    await mirrorReset();
    if (clients > 1) {
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: clients }, () => getHashed(`${url}/buildid/${pkg.buildId}/debuginfo`)));
      res.serve.ms.push(performance.now() - t0);
      res.serve.statuses = [...new Set(answers.map((a) => a.status))];
      res.serve.digestsOk = answers.every((a) => a.status === 200 && a.sha256 === pkg.sha256);
    } else {
      const denv = { ...env, DEBUGINFOD_URLS: url, DEBUGINFOD_CACHE_PATH: join(work, `client-${i}`) };
      const d = await timed('debuginfod-find', ['debuginfo', pkg.buildId], denv);
      res.serve.ms.push(d.ms);
      const got = readFileSync(d.stdout.trim());
      if (createHash('sha256').update(got).digest('hex') !== pkg.sha256) res.serve.digestsOk = false;
    }
    const st = await mirrorStats();
    Object.assign(res.serve, { bytes: st.bytes, requests: st.requests });
    const m = await fetch(`${url}/metrics`).then((x) => x.text());
    res.serve.fetches = metric(m, 'kdbg_serve_fetches_total');
    res.serve.joined = metric(m, 'kdbg_serve_fetch_joined_total');
    srv.p.kill('SIGTERM');
  }
} finally {
  mirror.p.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
res.fetch.medianMs = median(res.fetch.ms);
res.serve.medianMs = median(res.serve.ms);
res.ratio = res.serve.medianMs / res.fetch.medianMs;
const s = (xs) => xs.map((x) => (x / 1000).toFixed(2)).join(' ');
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
if (clients > 1) {
  console.log(`${clients} concurrent clients, one uncached id, ${pkg.label}, mirror ${rate / 1e6} MB/s per connection, load average ${load0}:`);
  console.log(`  kdbg fetch --vmlinux-only (one process):       ${s(res.fetch.ms)} s, mirror sent ${mb(res.fetch.bytes)} in ${res.fetch.requests} requests`);
  console.log(`  ${clients} GETs → kdbg serve --fetch → mirror:        ${s(res.serve.ms)} s, mirror sent ${mb(res.serve.bytes)} in ${res.serve.requests} requests; fetches ${res.serve.fetches}, joined ${res.serve.joined}; answers ${res.serve.statuses.join(',')}, ${res.serve.digestsOk ? `all ${clients} byte-identical to the package's vmlinux` : 'NOT all identical to the package\'s vmlinux'}`);
  console.log(`  bytes ratio serve(${clients} clients)/fetch(1): ${(res.serve.bytes / res.fetch.bytes).toFixed(2)}; time ratio ${res.ratio.toFixed(2)} (goal: 1 download, identical files)`);
} else {
  console.log(`cold miss, ${pkg.label}, mirror ${rate / 1e6} MB/s per connection, ${runs} runs each, load average ${load0}:`);
  console.log(`  kdbg fetch --vmlinux-only:                   ${s(res.fetch.ms)} s, median ${(res.fetch.medianMs / 1000).toFixed(2)} s`);
  console.log(`  debuginfod-find → kdbg serve --fetch → mirror: ${s(res.serve.ms)} s, median ${(res.serve.medianMs / 1000).toFixed(2)} s${res.serve.digestsOk ? '' : ' (WRONG BYTES)'}`);
  console.log(`  ratio ${res.ratio.toFixed(2)} (goal ≤ 1.1)`);
}
if (json) console.log(JSON.stringify(res));
if (!res.serve.digestsOk) process.exitCode = 1;
