#!/usr/bin/env node
// Measured script for issue 20's cold-miss goal (not a test; prints figures): the el7 vmlinux
// through `debuginfod-find` → `kdbg serve --fetch` → a rate-limited loopback mirror, against
// `kdbg fetch` of the same release from the same mirror. Each side runs RUNS times on a cold
// cache (the server's build-id index is built before the clock starts: it is built once per
// repository revision, not per miss); medians are compared.
//
//   node scripts/bench/serve-miss.mjs [RUNS=3]      (npm run build first; fixture 10 built)
//
// Env: KDBG_FIXTURES, BENCH_RATE (bytes/s per connection, default 40e6).
// The package is fixture 10's el7 kernel-debuginfo (a real .build-id link in filelists.xml);
// the bench's 368 MB el7 package has no build-id links, so this is the small-package case,
// where the fixed costs of the extra hop weigh most.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
const runs = Number(process.argv[2] ?? 3);
const rate = Number(process.env.BENCH_RATE ?? 40e6);
const manifest = JSON.parse(readFileSync(join(fixtures, 'rpm', 'manifest.json'), 'utf8'));
const pkg = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux');
const work = mkdtempSync(join(tmpdir(), 'kdbg-bench-miss-'));
const config = join(work, 'config.json');
writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null }));
const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'xdg') };
for (const k of Object.keys(env)) if (k.startsWith('KDBG_') || k === 'DEBUGINFOD_URLS') delete env[k];

function startLine(cmd, args, opts) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ p, line });
      void line;
    });
    p.stderr.resume();
    p.once('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
  });
}

function timed(cmd, args, e) {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env: e, encoding: 'utf8', maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr}`)) : resolve({ ms: performance.now() - t0, stdout }))),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
const mirror = await startLine(process.execPath, [join(repo, 'scripts', 'bench', 'serve.mjs'), join(fixtures, 'rpm', 'mirror'), '--rate', String(rate)]);
const mirrorUrl = mirror.line.trim();
const fetchMs = [];
const missMs = [];
try {
  for (let i = 0; i < runs; i++) {
    const cache = join(work, `fetch-${i}`);
    const r = await timed(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'fetch', pkg.uname, '--vmlinux-only', '--mirror', mirrorUrl, '--config', config, '--cache-dir', cache, '--json'], env);
    if (JSON.parse(r.stdout).release === undefined && !r.stdout.includes(pkg.uname)) throw new Error('fetch answered no release');
    fetchMs.push(r.ms);

    const scache = join(work, `serve-${i}`);
    const srv = await startLine(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'serve', '--fetch', '--listen', '127.0.0.1:0', '--json', '--mirror', mirrorUrl, '--config', config, '--cache-dir', scache], { env });
    const url = JSON.parse(srv.line).url;
    for (let t = 0; t < 600; t++) {
      const m = await fetch(`${url}/metrics`).then((x) => x.text());
      if (/^kdbg_serve_index_ids [1-9]/m.test(m)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const denv = { ...env, DEBUGINFOD_URLS: url, DEBUGINFOD_CACHE_PATH: join(work, `client-${i}`) };
    const d = await timed('debuginfod-find', ['debuginfo', pkg.buildId], denv);
    missMs.push(d.ms);
    const got = readFileSync(d.stdout.trim());
    const { createHash } = await import('node:crypto');
    if (createHash('sha256').update(got).digest('hex') !== pkg.vmlinuxSha256) throw new Error('debuginfod-find got other bytes');
    srv.p.kill('SIGTERM');
  }
} finally {
  mirror.p.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
const f = median(fetchMs);
const s = median(missMs);
console.log(`cold miss, el7 vmlinux (fixture 10, ${(pkg.size / 1e6).toFixed(1)} MB package, mirror ${rate / 1e6} MB/s per connection), ${runs} runs each, load average ${load0}:`);
console.log(`  kdbg fetch --vmlinux-only:                   ${fetchMs.map((x) => (x / 1000).toFixed(2)).join(' ')} s, median ${(f / 1000).toFixed(2)} s`);
console.log(`  debuginfod-find → kdbg serve --fetch → mirror: ${missMs.map((x) => (x / 1000).toFixed(2)).join(' ')} s, median ${(s / 1000).toFixed(2)} s`);
console.log(`  ratio ${(s / f).toFixed(2)} (goal ≤ 1.1)`);
