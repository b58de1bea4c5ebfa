#!/usr/bin/env node
// `npm run bench`: kdbg against the shell pipelines people use today, on real-size packages, all
// in one run, printed as ratios kdbg/baseline. Not a test: it prints figures and appends them to
// bench/results.md. Fixtures: scripts/bench/fixtures.sh (built once, cached).
//
// Every command runs under GNU time (`/usr/bin/time -f`), which gives user+sys CPU and the peak
// RSS of the largest process of the command's tree; wall time is measured here. "bytes down" is
// the server-side body byte counter of scripts/bench/serve.mjs (40 MB/s per connection).
//
// Env: KDBG_FIXTURES (fixture root), BENCH_RATE (bytes/s per connection, default 40e6),
//      BENCH_ONLY (comma list of scenario ids: a,an,b,b2,b4,c,d,e,i,l,fl,m,m7,r,s,R,f1,f2,f3,f4; R, the real archive, runs only when named or with BENCH_REAL_ARCHIVE=1), BENCH_NO_RECORD=1 (don't write results.md), BENCH_R_RUNS (kdbg runs of the R row, median taken; default 3),
//      BENCH_SLOW_RATE (per-connection limit of scenario b4, default 10e6).
// Rows f1-f4 are issue 20's four goals (kdbg serve as the fleet's debuginfod, kdbg sync): f1 a
// cold miss through debuginfod-find and f2 50 concurrent clients (scripts/bench/serve-miss.mjs),
// f3 the build-id index (scripts/bench/buildid-index.mjs), f4 kdbg sync of 20 kernels from a
// multi-block repository (scripts/bench/fleet-fixtures.sh, built when f2 or f4 is asked for).
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
const bench = join(fixtures, 'bench');
const www = join(bench, 'www');
const rate = Number(process.env.BENCH_RATE ?? 40e6);
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const kdbg = `node ${join(repo, 'bin', 'kdbg.js')}`;
const rel7 = '3.10.0-327.el7.x86_64';
const rpmVmlinux = `usr/lib/debug/lib/modules/${rel7}/vmlinux`;
const el7Dir = join(www, 'centos', '7', 'x86_64');
const rpmFile = join(el7Dir, `kernel-debuginfo-${rel7}.rpm`);
const commonFile = join(el7Dir, `kernel-debuginfo-common-x86_64-${rel7}.rpm`);

function sh(cmd, opts = {}) {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', ...opts });
  return r;
}

// 1. Fixtures (cached).
{
  const r = spawnSync('bash', [join(repo, 'scripts', 'bench', 'fixtures.sh')], { stdio: 'inherit', env: { ...process.env, KDBG_FIXTURES: fixtures } });
  if (r.status !== 0) {
    console.error('bench: building fixtures failed');
    process.exit(1);
  }
}
// The Debian kernel the bench fixtures were made from (scripts/bench/fixtures.sh, run above, asks the archive).
const debianEnv = Object.fromEntries(
  readFileSync(join(bench, 'debian.env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const debRelease = debianEnv.REL;
const debVmlinux = `usr/lib/debug/boot/vmlinux-${debRelease}`;
const debFile = debianEnv.DEB;
const localDeb = join(www, 'debian', 'pool', 'main', 'l', 'linux', debFile);
if (!existsSync('/usr/bin/time')) {
  console.error('bench: GNU time is missing (apt-get install -y time)');
  process.exit(1);
}
const wantSha = {
  rpm: readFileSync(join(bench, 'vmlinux.sha256'), 'utf8').trim(),
  deb: readFileSync(join(bench, 'vmlinux.sha256'), 'utf8').trim(),
};

// 2. The server.
// With the entitled fixture (74-entitled-cdn.sh) the server also speaks TLS with client certificates (row r).
const pki = join(fixtures, 'entitled', 'pki');
const tlsArgs = existsSync(join(pki, 'cdn-server.pem')) ? ['--tls', pki] : [];
const server = spawn(process.execPath, [join(repo, 'scripts', 'bench', 'serve.mjs'), www, '--rate', String(rate), ...tlsArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
const [base, tlsBase = null] = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (d) => {
    text += String(d);
    const lines = text.split('\n').filter(Boolean);
    if (text.endsWith('\n') && lines.length === (tlsArgs.length ? 2 : 1)) resolve(lines);
  });
  server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
});
// The server whose counters measure() reads (row s switches to its own server for a while).
let statsBase = base;
// Plain http with a fresh connection each time: a kept-alive socket may be closed by the server
// while a long scenario runs.
function control(path, at = statsBase) {
  return new Promise((resolve, reject) => {
    http
      .get(`${at}${path}`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}
async function serverStats() {
  return JSON.parse(await control('/__stats'));
}
async function serverReset() {
  await control('/__reset');
}

const work = mkdtempSync(join(tmpdir(), 'kdbg-bench-'));
// The bench's Debian archive is signed by the fixture key (fixtures.sh): kdbg trusts it through this config.
const debConfig = join(work, 'deb-config.json');
writeFileSync(debConfig, JSON.stringify({ keyrings: [join(www, 'debian', 'archive-key.asc')] }));
function sha256File(p) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(p)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** Run one command under GNU time; returns figures or a skip/failure reason. */
async function measure(cmd, { cwd = work, output = null, outputFromStdout = false, want = null } = {}) {
  mkdirSync(cwd, { recursive: true });
  const timeFile = join(work, 'time.out');
  await serverReset();
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, 'bash', '-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  const st = await serverStats();
  const [, user, sys, maxKb] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  const fig = { cmd, wall, cpu: (user + sys) / wall, rssMb: maxKb / 1024, bytes: st.bytes, requests: st.requests, status: r.status, ok: null, note: '' };
  if (r.status !== 0) {
    const line = (r.stderr || r.stdout || '').trim().split('\n').pop() ?? '';
    fig.note = /not built yet|not yet|Unknown argument|Unknown command|not supported/i.test(line) ? `skipped: ${line}` : `FAILED (exit ${r.status}): ${line}`;
    return fig;
  }
  const phases = timingsPhases(r.stderr ?? '');
  if (phases) fig.phases = phases;
  let out = output;
  if (outputFromStdout) out = r.stdout.trim().split('\n').pop();
  if (out && want) {
    fig.ok = existsSync(out) ? (await sha256File(out)) === want : false;
    if (!fig.ok) fig.note = `WRONG OUTPUT (${out})`;
  }
  return fig;
}

/**
 * Issue 19's "with the phase timings": the `kdbg: timings` table a `kdbg fetch --timings` printed
 * on stderr, as one line (the stages, and inside them the sub-phases it measured; `not measured`
 * ones left out).
 */
function timingsPhases(stderrText) {
  const lines = stderrText.split('\n').filter((l) => /^kdbg: {3}\S/.test(l) || /^kdbg: {5}\S/.test(l));
  if (!stderrText.includes('kdbg: timings ') || lines.length === 0) return null;
  const parts = [];
  for (const l of lines) {
    const m = /^kdbg: ( +)(.+?) +(\d+\.\d{3}) s/.exec(l);
    if (!m) continue;
    const [, indent, name, secs] = m;
    if (name === 'total' || name === 'input' || name === 'plan' || name.startsWith('lookup')) continue;
    const text = `${name} ${secs} s`;
    if (indent.length > 3 && parts.length > 0) parts[parts.length - 1].subs.push(text);
    else parts.push({ text, subs: [] });
  }
  return parts.map((p) => (p.subs.length ? `${p.text} (${p.subs.join(', ')})` : p.text)).join(', ');
}

const rows = [];
function row(id, scenario, goal, kd, baselines) {
  rows.push({ id, scenario, goal, kd, baselines });
  printRow(rows.at(-1));
}
const fmtBytes = (b) => (b === 0 ? '0' : `${(b / 1e6).toFixed(1)} MB`);
function fmtFig(name, f) {
  // Rows whose figures come from a script that prints its own (f1-f3): its text as given.
  if (f.text) return `  ${name.padEnd(34)} ${f.text}`;
  if (f.note.startsWith('skipped') || f.note.startsWith('FAILED')) return `  ${name.padEnd(34)} ${f.note}`;
  return `  ${name.padEnd(34)} ${f.wall.toFixed(2).padStart(7)} s  down ${fmtBytes(f.bytes).padStart(9)}  rss ${f.rssMb.toFixed(0).padStart(5)} MB  cpu ${(f.cpu * 100).toFixed(0).padStart(4)} %${f.ok === null ? '' : f.ok ? '  sha256 ok' : '  ' + f.note}`;
}
function ratioText(kd, b) {
  if (b.ratio !== undefined) return b.ratio;
  if (kd.note.startsWith('skipped') || kd.note.startsWith('FAILED') || b.note) return 'n/a';
  return (kd.wall / b.wall).toFixed(2);
}
function printRow(r) {
  console.log(`\n(${r.id}) ${r.scenario}   goal: ${r.goal}`);
  for (const [name, b] of r.baselines) console.log(fmtFig(`baseline: ${name}`, b));
  console.log(fmtFig('kdbg', r.kd));
  if (r.kd.phases) console.log(`  kdbg phases: ${r.kd.phases}`);
  for (const [name, b] of r.baselines) console.log(`  ratio kdbg/${name}: ${ratioText(r.kd, b)}`);
}
const want = (id) => !only || only.has(id);

// Floors (issue 19 item 2): beside each ratio against the by-hand pipeline, kdbg against the least
// work its row needs on this machine in this run: the xz blocks that hold the vmlinux, cut out of
// the local package (scripts/bench/floor.mjs), decoded by xz (`xz -T2 -dc` over several blocks;
// `--ignore-check` where the checks are SHA-256, which kdbg moves off the decoder) into a file,
// plus the time to move their compressed bytes over one connection at the mirror's rate. A whole
// single-block payload streams (download and decode overlap): its floor is the larger of the two;
// a partial fetch's blocks are counted as download plus decode, as issue 19 reckons them. The
// decode is measured once per package and reused by the rows that share it.
const floorPrep = new Map();
async function floorFig(pkg, member, { rateBps = null, overlap = false } = {}) {
  const key = `${pkg}\0${member}`;
  let prep = floorPrep.get(key);
  if (!prep) {
    const out = join(work, `floor-${floorPrep.size}.xz`);
    const r = sh(`node ${join(repo, 'scripts', 'bench', 'floor.mjs')} ${pkg} ${member} ${out}`, { maxBuffer: 16 << 20 });
    if (r.status !== 0) return { cmd: 'floor.mjs', wall: 0, cpu: 0, rssMb: 0, bytes: 0, requests: 0, status: r.status, ok: null, note: `FAILED (floor.mjs exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}` };
    const info = JSON.parse(r.stdout.trim().split('\n').pop());
    const dec = join(work, 'floor.out');
    const cmd = `xz ${info.mode === 'blocks' ? '-T2 ' : ''}-dc${info.checkId === 10 ? ' --ignore-check' : ''} ${out} > ${dec}`;
    sh(`cat ${out} > /dev/null`);
    const d = await measure(cmd);
    rmSync(dec, { force: true });
    prep = { info, d, cmd: cmd.replace(out, 'BLOCKS.xz').replace(dec, 'OUT') };
    floorPrep.set(key, prep);
  }
  const { info, d, cmd } = prep;
  if (d.note) return d;
  const transfer = rateBps ? info.compressedBytes / rateBps : 0;
  const wall = overlap ? Math.max(d.wall, transfer) : d.wall + transfer;
  const how = `${cmd.split(' BLOCKS')[0]} ${info.mode === 'blocks' ? `blocks ${info.firstBlock}-${info.lastBlock} of ${info.blocksTotal}` : 'one block'} ${d.wall.toFixed(2)} s${rateBps ? ` ${overlap ? 'overlapped with' : '+'} ${fmtBytes(info.compressedBytes)} at ${+(rateBps / 1e6).toFixed(1)} MB/s ${transfer.toFixed(2)} s` : ''}`;
  return { ...d, wall, cpu: (d.cpu * d.wall) / wall, bytes: rateBps ? info.compressedBytes : 0, floorHow: how };
}
const floorName = (f) => `floor (${f.floorHow ?? 'not measured'})`;
const startLoad = loadavg().map((x) => x.toFixed(1)).join(' ');
const fresh = (name) => {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
};
const clean = (...names) => names.forEach((n) => rmSync(join(work, n), { recursive: true, force: true }));

// Warm the page cache for the local scenarios, so neither side pays the first disk read.
if (!only || [...only].some((id) => !['i', 'l', 'fl'].includes(id) && !/^f\d$/.test(id))) sh(`cat ${rpmFile} ${commonFile} ${localDeb} > /dev/null`);

// (a) local RPM
if (want('a')) {
  const b = await measure(`rpm2cpio ${rpmFile} | cpio -idm --quiet ./${rpmVmlinux}`, { cwd: fresh('a-base'), output: join(work, 'a-base', rpmVmlinux), want: wantSha.rpm });
  clean('a-base');
  const k = await measure(`${kdbg} unpack ${rpmFile} -C ${fresh('a-kdbg')} ${rpmVmlinux}`, { output: join(work, 'a-kdbg', rpmVmlinux), want: wantSha.rpm });
  clean('a-kdbg');
  const f = await floorFig(rpmFile, rpmVmlinux);
  row('a', `local RPM (${fmtBytes(sizeOf(rpmFile))}, xz single block): extract vmlinux`, 'ratio <= 1.0', k, [['rpm2cpio|cpio', b], [floorName(f), f]]);
}

// (b) remote RPM through a 40 MB/s-per-connection mirror
function remoteRpm(id, dirUrl, label) {
  return (async () => {
    const dl = fresh(`${id}-base`);
    const b = await measure(
      `curl -sf --parallel -O ${dirUrl}/kernel-debuginfo-${rel7}.rpm -O ${dirUrl}/kernel-debuginfo-common-x86_64-${rel7}.rpm` +
        ` && rpm2cpio kernel-debuginfo-${rel7}.rpm | cpio -idm --quiet ./${rpmVmlinux}` +
        ` && rpm2cpio kernel-debuginfo-common-x86_64-${rel7}.rpm | cpio -idm --quiet`,
      { cwd: dl, output: join(dl, rpmVmlinux), want: wantSha.rpm },
    );
    clean(`${id}-base`);
    const cache = fresh(`${id}-cache`);
    const k = await measure(`${kdbg} fetch 3.10.0-327.el7 --repo ${dirUrl} --cache-dir ${cache} --quiet --timings`, { outputFromStdout: true, want: wantSha.rpm });
    const pkgFile = id === 'b2' ? join(www, 'el9mb', `kernel-debuginfo-${rel7}.rpm`) : rpmFile;
    const f = await floorFig(pkgFile, rpmVmlinux, { rateBps: rate, overlap: id !== 'b2' });
    row(id, label, id === 'b' ? 'ratio <= 0.6, rss <= 250 MB; <= 1.15x floor' : 'informational (partial fetch by Range, the default)', k, [['curl+rpm2cpio|cpio', b], [floorName(f), f]]);
    if (id === 'b2') {
      // By default fetch takes the partial path for a multi-block payload: only the xz blocks that
      // hold the vmlinux are fetched by Range (docs/speed.md). --keep-packages downloads it whole.
      const pc = fresh('b2-whole');
      const p = await measure(`${kdbg} fetch 3.10.0-327.el7 --repo ${dirUrl} --cache-dir ${pc} --keep-packages --quiet --timings`, { outputFromStdout: true, want: wantSha.rpm });
      clean('b2-whole');
      rows.push({ id: 'b2*', scenario: 'multi-block RPM: kdbg fetch --keep-packages (whole download, sha256-checked, kept)', goal: 'informational', kd: p, baselines: [['curl+rpm2cpio|cpio', b]] });
      console.log(fmtFig('kdbg fetch --keep-packages', p));
      console.log(`  ratio whole/curl+rpm2cpio|cpio: ${ratioText(p, b)}`);
    }
    return { cache, k };
  })();
}
let warm = null;
if (want('b') || want('e')) {
  warm = await remoteRpm('b', `${base}/centos/7/x86_64`, `remote el7 RPMs via ${rate / 1e6} MB/s/conn mirror: kdbg fetch --repo`);
}
if (want('e') && warm) {
  const k = await measure(`${kdbg} fetch 3.10.0-327.el7 --repo ${base}/centos/7/x86_64 --cache-dir ${warm.cache} --quiet`, { outputFromStdout: true, want: wantSha.rpm });
  const f = await measure('node -e 0');
  row('e', 'warm cache kdbg fetch (absolute)', '<= 0.15 s, 0 bytes', k, [['floor: node -e 0', f]]);
}
clean('b-cache');
// (b4) a mirror that gives each connection 10 MB/s (a distant public mirror): one connection is
// now the limit, not the decoder; --connections 4 spreads the package over four.
if (want('b4')) {
  const slow = Number(process.env.BENCH_SLOW_RATE ?? 10e6);
  await control(`/__rate?bps=${slow}`);
  const dirUrl = `${base}/centos/7/x86_64`;
  const dl = fresh('b4-base');
  const b = await measure(
    `curl -sf --parallel -O ${dirUrl}/kernel-debuginfo-${rel7}.rpm -O ${dirUrl}/kernel-debuginfo-common-x86_64-${rel7}.rpm` +
      ` && rpm2cpio kernel-debuginfo-${rel7}.rpm | cpio -idm --quiet ./${rpmVmlinux}` +
      ` && rpm2cpio kernel-debuginfo-common-x86_64-${rel7}.rpm | cpio -idm --quiet`,
    { cwd: dl, output: join(dl, rpmVmlinux), want: wantSha.rpm },
  );
  clean('b4-base');
  const one = await measure(`${kdbg} fetch 3.10.0-327.el7 --repo ${dirUrl} --cache-dir ${fresh('b4-one')} --quiet --timings`, { outputFromStdout: true, want: wantSha.rpm });
  clean('b4-one');
  const four = await measure(`${kdbg} fetch 3.10.0-327.el7 --repo ${dirUrl} --cache-dir ${fresh('b4-four')} --connections 4 --quiet --timings`, { outputFromStdout: true, want: wantSha.rpm });
  clean('b4-four');
  await control(`/__rate?bps=${rate}`);
  const f = await floorFig(rpmFile, rpmVmlinux, { rateBps: slow, overlap: true });
  row('b4', `remote el7 RPMs via a ${slow / 1e6} MB/s/conn mirror: kdbg fetch (one connection)`, 'informational', one, [['curl+rpm2cpio|cpio', b], [floorName(f), f]]);
  rows.push({ id: 'b4*', scenario: `the same: kdbg fetch --connections 4`, goal: 'informational', kd: four, baselines: [['curl+rpm2cpio|cpio', b]] });
  console.log(fmtFig('kdbg fetch --connections 4', four));
  console.log(`  ratio --connections 4/curl+rpm2cpio|cpio: ${ratioText(four, b)}`);
}
// (r) RHEL's entitled CDN: the same el7 packages through a redhat.repo (KDBG_ROOT) whose repo
// needs a client certificate over TLS, against the same repo file over plain http. Two runs of
// each, alternated, best of each: the machine is shared.
if (want('r') && tlsBase) {
  const hostRoot = (name, url, ssl) => {
    const r = fresh(name);
    mkdirSync(join(r, 'etc', 'yum.repos.d'), { recursive: true });
    mkdirSync(join(r, 'etc', 'pki', 'entitlement'), { recursive: true });
    mkdirSync(join(r, 'etc', 'rhsm', 'ca'), { recursive: true });
    writeFileSync(join(r, 'etc', 'pki', 'entitlement', '1.pem'), readFileSync(join(pki, '4387011594118306133.pem')));
    writeFileSync(join(r, 'etc', 'pki', 'entitlement', '1-key.pem'), readFileSync(join(pki, '4387011594118306133-key.pem')), { mode: 0o600 });
    writeFileSync(join(r, 'etc', 'rhsm', 'ca', 'redhat-uep.pem'), readFileSync(join(pki, 'redhat-uep.pem')));
    const keys = ssl ? 'sslverify = 1\nsslcacert = /etc/rhsm/ca/redhat-uep.pem\nsslclientkey = /etc/pki/entitlement/1-key.pem\nsslclientcert = /etc/pki/entitlement/1.pem\n' : '';
    writeFileSync(join(r, 'etc', 'yum.repos.d', 'redhat.repo'), `[rhel-7-server-debug-rpms]\nbaseurl = ${url}/centos/7/x86_64\nenabled = 0\n${keys}`);
    return r;
  };
  const plainRoot = hostRoot('r-plain-root', base, false);
  const entRoot = hostRoot('r-ent-root', tlsBase, true);
  const run = (root, name) => measure(`KDBG_ROOT=${root} KDBG_NO_PRESETS=1 KDBG_NO_DEBUGINFOD=1 KDBG_CONFIG= ${kdbg} fetch 3.10.0-327.el7 --cache-dir ${fresh(name)} --quiet --timings`, { outputFromStdout: true, want: wantSha.rpm });
  const best = (a, b) => (a.note || b.note ? (a.note ? a : b) : a.wall <= b.wall ? a : b);
  const p1 = await run(plainRoot, 'r-c1');
  const e1 = await run(entRoot, 'r-c2');
  const e2 = await run(entRoot, 'r-c3');
  const p2 = await run(plainRoot, 'r-c4');
  clean('r-c1', 'r-c2', 'r-c3', 'r-c4', 'r-plain-root', 'r-ent-root');
  row('r', 'remote el7 RPMs from a host redhat.repo: entitled (TLS + client certificate) vs the same repo over plain http (best of 2 each)', 'ratio <= 1.05', best(e1, e2), [['kdbg, plain http repo', best(p1, p2)]]);
}
// (s) SUSE: an SLE 15 SP5 kernel from Leap-style trees (scripts/fixtures/75-suse-mirror.sh) through
// zypper repo files: the .debug, only the image member of kernel-default (by Range: block-indexed
// xz) and the debugsource, against curl + rpm2cpio|cpio + gunzip of the same three packages.
// The fixture's packages are small (≈4 MB): informational, dominated by start-up.
const suseRoot = join(fixtures, 'suse');
if (want('s') && existsSync(join(suseRoot, 'manifest.json'))) {
  const sm = JSON.parse(readFileSync(join(suseRoot, 'manifest.json'), 'utf8'));
  const pk = (role) => sm.packages.find((p) => p.set === 'sle15sp5' && p.role === role);
  const [dbg, img, src] = [pk('vmlinux'), pk('image'), pk('source')];
  const ss = spawn(process.execPath, [join(repo, 'scripts', 'bench', 'serve.mjs'), suseRoot, '--rate', String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sBase = await new Promise((resolve) => ss.stdout.once('data', (d) => resolve(String(d).trim().split('\n')[0])));
  statsBase = sBase;
  const dl = fresh('s-base');
  const files = [dbg, img, src].map((p) => p.file.split('/').pop());
  const b = await measure(
    `curl -sf --parallel ${[dbg, img, src].map((p) => `-O ${sBase}/${p.file}`).join(' ')}` +
      ` && rpm2cpio ${files[0]} | cpio -idm --quiet ./${dbg.member}` +
      ` && rpm2cpio ${files[1]} | cpio -idm --quiet ./${img.member} && gunzip -f ${img.member}` +
      ` && rpm2cpio ${files[2]} | cpio -idm --quiet`,
    { cwd: dl, output: join(dl, dbg.member), want: dbg.debugSha256 },
  );
  clean('s-base');
  const r = fresh('s-root');
  mkdirSync(join(r, 'etc', 'zypp', 'repos.d'), { recursive: true });
  writeFileSync(join(r, 'etc', 'zypp', 'repos.d', 'repo-sle-update.repo'), `[repo-sle-update]\nenabled=1\nbaseurl=${sBase}/${sm.repos.leapMain}/\ntype=rpm-md\n`);
  writeFileSync(join(r, 'etc', 'zypp', 'repos.d', 'repo-sle-debug-update.repo'), `[repo-sle-debug-update]\nenabled=0\nbaseurl=${sBase}/${sm.repos.leapDebug}/\ntype=rpm-md\n`);
  const k = await measure(`KDBG_ROOT=${r} KDBG_NO_PRESETS=1 KDBG_NO_DEBUGINFOD=1 KDBG_CONFIG= ${kdbg} fetch ${dbg.uname} --cache-dir ${fresh('s-cache')} --quiet --timings`, { outputFromStdout: true, want: dbg.debugSha256 });
  clean('s-root', 's-cache');
  statsBase = base;
  ss.kill('SIGTERM');
  row('s', `SUSE ${dbg.uname} via zypper repos: .debug + image member of kernel-default (${fmtBytes(img.size)}) + debugsource`, 'informational', k, [['curl+rpm2cpio|cpio+gunzip', b]]);
}
if (want('b2') && existsSync(join(www, 'el9mb'))) {
  const r = await remoteRpm('b2', `${base}/el9mb`, 'remote RPM, multi-block xz payload (w3T2, as RHEL 8+): kdbg fetch --repo');
  rmSync(r.cache, { recursive: true, force: true });
}

// (c) local .deb
if (want('c')) {
  const b1 = await measure(`ar p ${localDeb} data.tar.xz | xz -T2 -dc | tar -x --occurrence ./${debVmlinux}`, { cwd: fresh('c-base'), output: join(work, 'c-base', debVmlinux), want: wantSha.deb });
  clean('c-base');
  const b2 = await measure(`dpkg-deb -x ${localDeb} .`, { cwd: fresh('c-dpkg'), output: join(work, 'c-dpkg', debVmlinux), want: wantSha.deb });
  clean('c-dpkg');
  const k = await measure(`${kdbg} unpack ${localDeb} -C ${fresh('c-kdbg')} ${debVmlinux}`, { output: join(work, 'c-kdbg', debVmlinux), want: wantSha.deb });
  clean('c-kdbg');
  const f = await floorFig(localDeb, debVmlinux);
  row('c', `local .deb (${fmtBytes(sizeOf(localDeb))}): extract vmlinux`, 'ratio <= 1.0 vs xz|tar', k, [
    ['xz -T2|tar --occurrence', b1],
    ['dpkg-deb -x', b2],
    [floorName(f), f],
  ]);
  // The partial/parallel path on the local file (what `kdbg unpack` gets once it calls
  // tryPartialExtract with FileRandomAccess for literal member paths).
  const out = fresh('c-partial');
  const p = await measure(`node ${join(repo, 'scripts', 'bench', 'partial.mjs')} ${localDeb} ${out} ${debVmlinux}`, { output: join(out, debVmlinux), want: wantSha.deb });
  clean('c-partial');
  rows.push({ id: 'c*', scenario: 'local .deb through the partial/parallel path alone (FileRandomAccess)', goal: 'ratio <= 1.0', kd: p, baselines: [['xz -T2|tar --occurrence', b1], [floorName(f), f]] });
  console.log(fmtFig('kdbg partial path alone', p));
  console.log(`  ratio partial/xz -T2|tar: ${ratioText(p, b1)}`);
  console.log(`  ratio partial/floor: ${ratioText(p, f)}`);
}

// (d) Debian archive-style mirror
if (want('d')) {
  const url = `${base}/debian/pool/main/l/linux/${debFile}`;
  const b = await measure(`curl -sf -O ${url} && ar p ${debFile} data.tar.xz | xz -T2 -dc | tar -x --occurrence ./${debVmlinux}`, {
    cwd: fresh('d-base'),
    output: join(work, 'd-base', debVmlinux),
    want: wantSha.deb,
  });
  clean('d-base');
  const cache = fresh('d-cache');
  const k = await measure(`${kdbg} fetch ${debRelease} --mirror ${base}/debian --config ${debConfig} --cache-dir ${cache} --quiet --timings`, { outputFromStdout: true, want: wantSha.deb });
  clean('d-cache');
  // --keep-packages: the whole package, sha256-checked against the archive index, kept.
  const pc = fresh('d-whole');
  const p = await measure(`${kdbg} fetch ${debRelease} --mirror ${base}/debian --config ${debConfig} --cache-dir ${pc} --keep-packages --quiet --timings`, { outputFromStdout: true, want: wantSha.deb });
  clean('d-whole');
  const f = await floorFig(localDeb, debVmlinux, { rateBps: rate });
  row('d', `Debian dbg .deb from an archive-style mirror (${rate / 1e6} MB/s/conn): kdbg fetch (default: partial fetch by Range)`, 'ratio <= 0.35, bytes <= 15 % of the package; <= 1.2x floor', k, [['curl+xz -T2|tar', b], [floorName(f), f]]);
  console.log(`  bytes ${((k.bytes / sizeOf(localDeb)) * 100).toFixed(1)} % of the package`);
  rows.push({ id: 'd*', scenario: 'the same: kdbg fetch --keep-packages (whole download, sha256-checked, kept)', goal: 'informational', kd: p, baselines: [['curl+xz -T2|tar', b]] });
  console.log(fmtFig('kdbg fetch --keep-packages', p));
  console.log(`  ratio whole/curl+xz|tar: ${ratioText(p, b)}`);
}

// (R) The host's own Debian archive (issue 19 item 3): the main job as a new user runs it, on
// whatever kernel the archive carries today (`kdbg releases debian --latest`), against the same
// job by hand (apt-get download, then ar | xz -T2 -dc | tar --occurrence) and its floor (the
// vmlinux's xz blocks cut out of the downloaded package and decoded by xz -T2, plus their bytes at
// the rate apt-get download got from the archive in this run). Skipped with one line when the
// archive cannot be reached. Not in the default set: it downloads the whole package (about 1 GB)
// for the baseline; BENCH_ONLY=R or BENCH_REAL_ARCHIVE=1 runs it.
if ((only && only.has('R')) || (!only && process.env.BENCH_REAL_ARCHIVE === '1')) {
  const q = sh(`${kdbg} releases debian --latest --json`, { maxBuffer: 16 << 20 });
  let latest = null;
  try {
    latest = q.status === 0 ? JSON.parse(q.stdout.trim().split('\n').pop()) : null;
  } catch {
    latest = null;
  }
  if (!latest) {
    console.log(`\n(R) the host's Debian archive: skipped, it cannot be reached (kdbg releases debian --latest: exit ${q.status}: ${(q.stderr || '').trim().split('\n').pop() ?? ''})`);
  } else {
    const member = `usr/lib/debug/boot/vmlinux-${latest.release}`;
    const pkgFile = `${latest.package}_${latest.packageVersion.replace(/^\d+:/, '')}_amd64.deb`;
    const dir = fresh('R-base');
    const dl = await measure(`apt-get download -q ${latest.package}=${latest.packageVersion}`, { cwd: dir });
    const debPath = join(dir, readdirSync(dir).find((n) => n.endsWith('.deb')) ?? pkgFile);
    const ex = await measure(`ar p ${debPath} data.tar.xz | xz -T2 -dc | tar -x --occurrence ./${member}`, { cwd: dir });
    const want = existsSync(join(dir, member)) ? await sha256File(join(dir, member)) : null;
    const b = { ...ex, wall: dl.wall + ex.wall, cpu: (dl.cpu * dl.wall + ex.cpu * ex.wall) / (dl.wall + ex.wall), rssMb: Math.max(dl.rssMb, ex.rssMb), bytes: latest.size, note: dl.note || ex.note };
    const rateBps = dl.note ? null : latest.size / dl.wall;
    const f = existsSync(debPath) ? await floorFig(debPath, member, { rateBps }) : { ...dl, note: 'skipped: no package downloaded' };
    clean('R-base');
    // The archive's pace varies from run to run (a block range now and then takes 20 times the
    // others), so kdbg runs BENCH_R_RUNS times (default 3), each from an empty cache, and the
    // median run is the figure; the index floor is measured as often and its median taken too.
    const runsR = Math.max(1, Number(process.env.BENCH_R_RUNS ?? 3) || 3);
    const kRuns = [];
    for (let i = 0; i < runsR; i++) {
      const cache = fresh('R-cache');
      const k = await measure(`${kdbg} fetch ${latest.release} --vmlinux-only --cache-dir ${cache} --json > ${join(work, 'R.json')} 2> ${join(work, 'R.err')}`, { want });
      const kErr = existsSync(join(work, 'R.err')) ? readFileSync(join(work, 'R.err'), 'utf8') : '';
      if (k.note.startsWith('FAILED')) k.note += ` ${kErr.trim().split('\n').pop() ?? ''}`;
      try {
        const j = JSON.parse(readFileSync(join(work, 'R.json'), 'utf8'));
        const item = Array.isArray(j) ? j[0] : j;
        k.bytes = (item.packages ?? []).reduce((a, x) => a + (x.partial?.bytesFetched ?? x.size ?? 0), 0);
        if (want) k.ok = existsSync(item.vmlinux) ? (await sha256File(item.vmlinux)) === want : false;
        if (k.ok === false) k.note = 'WRONG OUTPUT';
        // Issue 16's goal (≤ 50 ms of verification per fetch) in the phase timings of this very run.
        const t = item.timings;
        const opt = (name, v) => (v === null || v === undefined ? '' : `, ${name} ${v} ms`);
        if (t) k.phases = `index read ${t.indexReadMs} ms, resolve ${t.resolveMs} ms (of which signatures, gpgv: ${t.signatureMs} ms), download ${t.downloadMs} ms (decode busy ${t.decodeBusyMs ?? 'not measured'}${opt('idle', t.decodeIdleMs)}${opt('write', t.writeMs)}), verify ${t.verifyMs} ms, publish ${t.publishMs} ms`;
      } catch {
        // the figure stays as measured; a failed fetch already carries its note
      }
      clean('R-cache');
      kRuns.push({ k, kErr });
      if (k.note) break; // a failed or wrong run is the figure
    }
    const byWall = [...kRuns].sort((x, y) => (x.k.note ? -1 : y.k.note ? 1 : x.k.wall - y.k.wall));
    const { k, kErr } = kRuns.at(-1).k.note ? kRuns.at(-1) : byWall[Math.floor((byWall.length - 1) / 2)];
    if (kRuns.length > 1 && !k.note) k.phases = `median of ${kRuns.length} runs (${kRuns.map((r) => `${r.k.wall.toFixed(2)} s`).join(', ')}); its phases: ${k.phases ?? 'none'}`;
    // The floor's third part (issue 19: "plus reading the indexes"): the index files this kdbg run
    // read (its stderr names them), read by the standard tools, as apt-get update does: each
    // InRelease fetched by curl and checked by gpgv against the keyring its apt source names, each
    // Packages.xz fetched by curl and decoded by `xz -dc > /dev/null`, all files at once.
    const ixRuns = [];
    for (let i = 0; i < runsR; i++) ixRuns.push(await indexFloor(kErr));
    const ixOk = ixRuns.filter((x) => !x.note).sort((x, y) => x.wall - y.wall);
    const ix = ixOk.length > 0 ? { ...ixOk[Math.floor((ixOk.length - 1) / 2)], how: `${ixOk[0].how}${ixOk.length > 1 ? ` (median of ${ixOk.length})` : ''}` } : ixRuns[0];
    const fi = ix.note ? { ...f, note: f.note || `skipped: index read not measured (${ix.note})` } : { ...f, wall: f.wall + ix.wall, cpu: (f.cpu * f.wall + ix.cpu * ix.wall) / (f.wall + ix.wall), floorHow: `${ix.how} ${ix.wall.toFixed(2)} s + ${f.floorHow}` };
    row('R', `the host's Debian archive (${latest.release}, ${fmtBytes(latest.size)} -dbg package, ${rateBps ? `${(rateBps / 1e6).toFixed(0)} MB/s measured` : 'rate unknown'}): kdbg fetch --vmlinux-only, empty cache`, 'ratio <= 1.25x floor (median run)', k, [['apt-get download+xz -T2|tar', b], [floorName(fi), fi], ['floor without the index read', f]]);
  }
}

/**
 * The index read of the R row by the standard tools: the InRelease and Packages files named in
 * kdbg's stderr (`<url>: good signature by …`, `reading <url>`), fetched by curl, checked by gpgv
 * (the keyring of the host apt source whose URI holds the file, else apt's trusted.gpg.d) and
 * decoded by xz, every file at once. Returns the measured figure and how it was made.
 */
async function indexFloor(stderrText) {
  const inReleases = [...new Set([...stderrText.matchAll(/kdbg: (\S+\/InRelease): good signature by/g)].map((m) => m[1]))];
  const indexes = [...new Set([...stderrText.matchAll(/kdbg: reading (\S+\/Packages(?:\.xz)?)$/gm)].map((m) => m[1]))];
  if (inReleases.length === 0 || indexes.length === 0) return { note: `kdbg named ${inReleases.length} InRelease and ${indexes.length} Packages files` };
  const { readAptSources } = await import(join(repo, 'dist', 'resolve', 'apt-sources.js'));
  const sources = await readAptSources('/etc/apt').catch(() => []);
  const trustedParts = existsSync('/etc/apt/trusted.gpg.d') ? readdirSync('/etc/apt/trusted.gpg.d').filter((n) => /\.gpg$/.test(n)).map((n) => join('/etc/apt/trusted.gpg.d', n)) : [];
  const keyringsOf = (url) => {
    const s = sources.find((x) => x.uris.some((u) => url.startsWith(u.endsWith('/') ? u : `${u}/`)) && x.signedBy && x.signedBy.startsWith('/'));
    return s ? s.signedBy.split(/[\s,]+/).filter(Boolean) : trustedParts;
  };
  const dir = fresh('R-index');
  const jobs = [
    ...inReleases.map((u, i) => `(curl -sSf -o ${dir}/InRelease.${i} '${u}' && gpgv --homedir ${dir} ${keyringsOf(u).map((k) => `--keyring ${k}`).join(' ')} ${dir}/InRelease.${i} 2>/dev/null)`),
    ...indexes.map((u) => `(set -o pipefail; curl -sSf '${u}' | ${u.endsWith('.xz') ? 'xz -dc' : 'cat'} > /dev/null)`),
  ];
  // Each job in the background; the command fails when any of them did.
  const cmd = `pids=''; ${jobs.map((j) => `${j} & pids="$pids $!";`).join(' ')} for p in $pids; do wait $p || exit 1; done`;
  const fig = await measure(cmd, { cwd: dir });
  clean('R-index');
  if (fig.note) return { note: fig.note };
  return { ...fig, how: `index read: curl+gpgv ${inReleases.length} InRelease, curl|xz -dc ${indexes.length} Packages, at once` };
}

// (i) kdbg identify, one whole process per dump format of the real QEMU/makedumpfile dumps
// (scripts/fixtures/30-vmcores.sh), against `crash --osrelease` (what one types by hand) and
// `node -e 0` (the floor of any kdbg command: Node's own start-up). Median of BENCH_IDENTIFY_RUNS
// runs (default 5). BENCH_ONLY=i runs these rows alone.
const vmcores = join(fixtures, 'vmcores');
if (want('i') && existsSync(join(vmcores, 'manifest.json'))) {
  const vm = JSON.parse(readFileSync(join(vmcores, 'manifest.json'), 'utf8'));
  const runs = Number(process.env.BENCH_IDENTIFY_RUNS ?? 5);
  const median = async (cmd) => {
    const figs = [];
    for (let i = 0; i < runs; i++) figs.push(await measure(cmd));
    return figs.find((f) => f.note) ?? figs.sort((a, b) => a.wall - b.wall)[Math.floor(runs / 2)];
  };
  const floor = await median('node -e 0');
  // One dump per format and producer; the last two have no VMCOREINFO (banner scan).
  const files = ['sysrq/vmcore.elf', 'sysrq/vmcore.qemu.elf', 'sysrq/vmcore.kdump-zlib', 'sysrq/vmcore.kdump-lzo', 'sysrq/vmcore.kdump-snappy', 'sysrq/vmcore.kdump-zlib.flat', 'sysrq/vmcore.elf.flat', 'sysrq/vmcore.qemu-kdump-zlib.flat', 'sysrq/vmcore.split-1', 'sysrq/vmcore-dmesg.txt', 'sysrq-novmcoreinfo/vmcore.qemu.elf', 'sysrq-novmcoreinfo/vmcore.qemu-kdump-zlib.flat'];
  for (const file of files) {
    const d = vm.dumps.find((x) => x.file === file);
    if (!d) continue;
    const path = join(vmcores, file);
    sh(`cat ${path} > /dev/null`);
    const k = await median(`${kdbg} identify ${path} > /dev/null`);
    const baselines = [];
    // crash reads no vmcore-dmesg text; without VMCOREINFO it says "unknown" and exits 1.
    if (d.format !== 'dmesg' && d.crashOsrelease !== 'unknown') baselines.push(['crash --osrelease', await median(`crash --osrelease ${path} > /dev/null`)]);
    baselines.push(['floor: node -e 0', floor]);
    row('i', `kdbg identify ${file} (${d.format}, ${d.producer}, ${fmtBytes(d.size)}), median of ${runs}`, '<= 0.3 s per process', k, baselines);
  }
}

// (l) kdbg log, one whole process per dump format (scripts/bench/log-lib.mjs, shared with
// scripts/bench/log.mjs), against makedumpfile --dump-dmesg on the same file where it reads it, and
// `node -e 0`: issue 24's goal is on kdbg's time minus node's own start. Median of
// BENCH_LOG_RUNS runs (default 15). (f) the first look: kdbg analyze --no-fetch on an empty cache,
// the whole process (first look, then the report from the dump alone). BENCH_ONLY=l,f runs these.
if ((want('l') || want('fl')) && existsSync(join(vmcores, 'manifest.json'))) {
  const { LOG_GOAL, logTargets, logVerdict, timeLog, timeRuns } = await import('./log-lib.mjs');
  const runs = Number(process.env.BENCH_LOG_RUNS ?? 15);
  const fig = (m) => ({ cmd: '', wall: m.wall, cpu: m.wall > 0 ? m.cpu / m.wall : 0, rssMb: m.rss, bytes: 0, requests: 0, status: m.status, ok: null, note: m.status === 0 ? '' : `FAILED (exit ${m.status})` });
  if (want('l')) {
    for (const d of logTargets(fixtures)) {
      sh(`cat ${d.path} > /dev/null`);
      const { kd, floor, md } = timeLog(repo, d, runs);
      const baselines = md ? [['makedumpfile --dump-dmesg', fig(md)]] : [];
      baselines.push(['floor: node -e 0', fig(floor)]);
      row('l', `kdbg log ${d.file} (${d.format}, ${d.producer}, ${fmtBytes(d.size)}), median of ${runs}, taking turns${md ? '' : '; makedumpfile cannot read it'}`, LOG_GOAL, fig(kd), baselines);
      console.log(`  ${logVerdict(kd, floor, md)}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    }
  }
  if (want('fl')) {
    const d = logTargets(fixtures).find((x) => x.file === 'oops/vmcore.kdump-zlib');
    if (d) {
      // When the first look's headline reaches stderr, from the spawn: the goal's "within 1 s of
      // start". The whole process (the report from the dump alone written too) is the row's figure.
      const firstLookAt = (cache, out) =>
        new Promise((resolve) => {
          const t0 = performance.now();
          let at = null;
          let err = '';
          const c = spawn('node', [join(repo, 'bin', 'kdbg.js'), 'analyze', d.path, '--no-fetch', '--cache-dir', cache, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
          c.stderr.on('data', (b) => {
            err += String(b);
            if (at === null && err.includes('kdbg: first look: ')) at = (performance.now() - t0) / 1000;
          });
          c.on('close', (code) => resolve({ at, code, wall: (performance.now() - t0) / 1000 }));
        });
      const looks = [];
      const figs = [];
      let timings = null;
      for (let i = 0; i < runs; i++) {
        looks.push(await firstLookAt(fresh('f-cache'), fresh('f-out')));
        const out = fresh('f-out');
        figs.push(await measure(`${kdbg} analyze ${d.path} --no-fetch --cache-dir ${fresh('f-cache')} -o ${out} -q`));
        try {
          timings = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).timings;
        } catch {
          timings = null;
        }
      }
      clean('f-out', 'f-cache');
      const floor = timeRuns(['node', '-e', '0'], runs);
      const k = figs.find((f) => f.note) ?? figs.sort((a, b) => a.wall - b.wall)[Math.floor(runs / 2)];
      const ats = looks.map((l) => l.at).filter((x) => x !== null).sort((a, b) => a - b);
      const at = ats.length === runs ? ats[Math.floor(runs / 2)] : null;
      k.phases = `first look on stderr ${at === null ? 'MISSING' : `${at.toFixed(3)} s`} after start (median; goal <= 1 s: ${at !== null && at <= 1 ? 'met' : 'NOT met'})${timings ? `; report.json timings: identify ${timings.identifyMs} ms, log and oops ${timings.logMs} ms` : ''}`;
      row('fl', `kdbg analyze ${d.file} --no-fetch -o DIR, empty cache: first look, then its report from the dump alone, whole process, median of ${runs}`, 'first look within 1 s of start (cold cache)', k, [['floor: node -e 0', fig(floor)]]);
    }
  }
}

// (m) The module step of kdbg analyze on the Debian row: the debug files of the modules a QEMU dump
// of this kernel had loaded, and only those, the vmlinux being cached already (kdbg fetch --module,
// what analyze runs after crash's `mod`). Baseline: the whole package through curl, xz and tar.
if (want('m')) {
  const mods = ['qemu_fw_cfg', 'pvpanic', 'pvpanic_mmio'];
  const md5 = new Map(sh(`dpkg-deb -I ${localDeb} md5sums`, { maxBuffer: 64 << 20 }).stdout.split('\n').map((l) => /^([0-9a-f]{32})\s+(.+)$/.exec(l)).filter(Boolean).map((x) => [x[2], x[1]]));
  const paths = [...md5.keys()].filter((p) => mods.includes((/([^/]+)\.ko$/.exec(p)?.[1] ?? '').replace(/-/g, '_')));
  const url = `${base}/debian/pool/main/l/linux/${debFile}`;
  const b = await measure(`curl -sf -O ${url} && ar p ${debFile} data.tar.xz | xz -T2 -dc | tar -x ${paths.map((p) => `./${p}`).join(' ')}`, { cwd: fresh('m-base') });
  clean('m-base');
  const cache = fresh('m-cache');
  sh(`${kdbg} fetch ${debRelease} --mirror ${base}/debian --config ${debConfig} --cache-dir ${cache} --quiet`);
  const k = await measure(`${kdbg} fetch ${debRelease} --mirror ${base}/debian --config ${debConfig} --cache-dir ${cache} --quiet ${mods.map((m) => `--module ${m}`).join(' ')}`);
  const got = mods.filter((m) => {
    const p = paths.find((x) => (/([^/]+)\.ko$/.exec(x)?.[1] ?? '').replace(/-/g, '_') === m);
    const f = join(cache, 'modules', debRelease, `${m}.ko`);
    return p && existsSync(f) && sh(`md5sum < ${f}`).stdout.split(' ')[0] === md5.get(p);
  });
  if (got.length !== mods.length) {
    k.ok = false;
    k.note = `WRONG OUTPUT (${got.length} of ${mods.length} modules match the package's md5sums)`;
  }
  clean('m-cache');
  row('m', `the module step (${mods.length} modules of a dump) on the Debian row, vmlinux cached: kdbg fetch --module…`, 'informational', k, [['curl+xz -T2|tar (whole package)', b]]);
  console.log(`  bytes ${((k.bytes / sizeOf(localDeb)) * 100).toFixed(1)} % of the package; ${got.length} of ${mods.length} module files match the package's md5sums`);
}

// (m7) The module step of kdbg analyze on the el7 row: the RPM's payload is one xz block, so the
// modules the dump's log names (Modules linked in:) are written in the pass that writes the vmlinux
// (pipeline/fetch/same-pass.ts). kdbg: kdbg fetch --vmlinux-only --module… on an empty cache, beside
// the same fetch without modules (the step's cost is the difference); baseline: curl, then
// rpm2cpio | cpio for the vmlinux and the same module files. Also measured: the same modules named
// only after the vmlinux is cached, i.e. a second decode of the kept package (no network).
if (want('m7')) {
  const mods = ['e1000e', 'virtio_net', 'nf_conntrack'];
  const dirUrl = `${base}/centos/7/x86_64`;
  const listed = sh(`rpm -qlp ${rpmFile}`, { maxBuffer: 64 << 20 }).stdout.split('\n');
  const paths = listed.filter((p) => mods.includes((/([^/]+)\.ko\.debug$/.exec(p)?.[1] ?? '').replace(/-/g, '_'))).map((p) => p.replace(/^\//, ''));
  const b = await measure(`curl -sf -O ${dirUrl}/kernel-debuginfo-${rel7}.rpm && rpm2cpio kernel-debuginfo-${rel7}.rpm | cpio -idm --quiet ./${rpmVmlinux} ${paths.map((p) => `./${p}`).join(' ')}`, { cwd: fresh('m7-base'), output: join(work, 'm7-base', rpmVmlinux), want: wantSha.rpm });
  const byHand = new Map(paths.map((p) => [(/([^/]+)\.ko\.debug$/.exec(p)?.[1] ?? '').replace(/-/g, '_'), sh(`sha256sum < ${join(work, 'm7-base', p)}`).stdout.split(' ')[0]]));
  clean('m7-base');
  const fetch7 = `${kdbg} fetch 3.10.0-327.el7 --repo ${dirUrl} --vmlinux-only --quiet --timings`;
  // Alternated, best of 2 each: the difference between them is the step's cost, smaller than the
  // noise of one run on a shared machine.
  const withMods = () => measure(`${fetch7} --cache-dir ${fresh('m7-k')} ${mods.map((m) => `--module ${m}`).join(' ')}`, { outputFromStdout: true, want: wantSha.rpm });
  const without = () => measure(`${fetch7} --cache-dir ${fresh('m7-k0')}`, { outputFromStdout: true, want: wantSha.rpm });
  const bestOf = (x, y) => (x.note || y.note ? (x.note ? x : y) : x.wall <= y.wall ? x : y);
  const k0a = await without();
  const ka = await withMods();
  const k0b = await without();
  const kb = await withMods();
  const k0 = bestOf(k0a, k0b);
  const k = bestOf(ka, kb);
  const same = (cache) => mods.filter((m) => {
    const f = join(work, cache, 'modules', rel7, `${m}.ko`);
    return existsSync(f) && sh(`sha256sum < ${f}`).stdout.split(' ')[0] === byHand.get(m);
  });
  const got = same('m7-k');
  if (got.length !== mods.length && k.ok !== false) {
    k.ok = false;
    k.note = `WRONG OUTPUT (${got.length} of ${mods.length} modules match rpm2cpio|cpio)`;
  }
  // The late way: the vmlinux cached (and its package kept) first, the modules named afterwards.
  const late = await measure(`${fetch7} --cache-dir ${join(work, 'm7-k0')} ${mods.map((m) => `--module ${m}`).join(' ')}`);
  const gotLate = same('m7-k0');
  clean('m7-k0', 'm7-k');
  row('m7', `the module step (${mods.length} modules of a dump) on the el7 row (${fmtBytes(sizeOf(rpmFile))}, one xz block): kdbg fetch --vmlinux-only --module… (in the vmlinux's pass)`, 'informational', k, [['curl+rpm2cpio|cpio (vmlinux + the modules)', b]]);
  console.log(fmtFig('kdbg, the same without --module', k0));
  console.log(`  runs, alternated (best of 2 each shown): with --module ${ka.wall.toFixed(2)} s, ${kb.wall.toFixed(2)} s; without ${k0a.wall.toFixed(2)} s, ${k0b.wall.toFixed(2)} s`);
  console.log(`  module step in the pass: ${(k.wall - k0.wall).toFixed(2)} s wall, ${fmtBytes(k.bytes - k0.bytes)} more down; ${got.length} of ${mods.length} module files equal rpm2cpio|cpio's`);
  console.log(fmtFig('kdbg, named after the vmlinux (2nd decode)', late));
  console.log(`  second decode of the kept package: ${gotLate.length} of ${mods.length} module files equal rpm2cpio|cpio's`);
  rows.push({ id: 'm7*', scenario: 'the same modules named only after the vmlinux is cached: a second decode of the kept package (no network)', goal: 'informational', kd: late, baselines: [] });
}

// (an) kdbg analyze on a real QEMU dump (scripts/fixtures/30-vmcores.sh, the oops dump: a module
// out of tree, a fault to disassemble) whose vmlinux is in the cache already (kdbg fetch from the
// bench's Debian mirror first, not measured), so the row measures analyze, not the download.
// kdbg's own time is everything but the crash process: the wall time less crash's lifetime, less
// the part of it crash spent waiting for kdbg (report.json timings crashProcessMs, crashIdleMs;
// issue 19's goal: <= 5 % of the total). Baseline: the same crash commands (read back from the
// transcript) typed into `crash -s vmlinux vmcore` by hand. Two kdbg runs: the first fetches the
// dump's module debug files (by Range, while crash loads), the second finds them cached (an*).
const anDump = process.env.BENCH_AN_DUMP ?? 'oops/vmcore.kdump-zlib';
if (want('an') && existsSync(join(vmcores, 'manifest.json')) && existsSync(join(vmcores, anDump))) {
  const dump = join(vmcores, anDump);
  const cache = fresh('an-cache');
  const pre = sh(`${kdbg} fetch ${debRelease} --mirror ${base}/debian --config ${debConfig} --cache-dir ${cache} --quiet`, { maxBuffer: 16 << 20 });
  sh(`cat ${dump} > /dev/null`);
  const run = async (name) => {
    const out = fresh(name);
    const k = await measure(`${kdbg} analyze ${dump} --mirror ${base}/debian --config ${debConfig} --cache-dir ${cache} -o ${out} --quiet`);
    if (pre.status !== 0 && !k.note) k.note = `FAILED (kdbg fetch exit ${pre.status}): ${(pre.stderr || '').trim().split('\n').pop()}`;
    let report = null;
    try {
      report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    } catch {
      if (!k.note) k.note = 'FAILED (no report.json)';
    }
    const t = report?.timings ?? {};
    if (report && typeof t.crashProcessMs === 'number') {
      const crashS = (t.crashProcessMs - (t.crashIdleMs ?? 0)) / 1000;
      k.own = k.wall - crashS;
      k.phases = `identify ${t.identifyMs} ms, fetch ${t.fetchMs ?? 0} ms, verify ${t.verifyMs} ms, modules ${t.modulesMs ?? 0} ms (module step, overlapped with crash loading where the log named them), crash process ${t.crashProcessMs} ms (of which waiting for kdbg ${t.crashIdleMs} ms), report ${t.reportMs} ms`;
    }
    const transcript = existsSync(join(out, 'crash-transcript.txt')) ? readFileSync(join(out, 'crash-transcript.txt'), 'utf8') : '';
    return { k, report, transcript };
  };
  const first = await run('an-out1');
  const second = await run('an-out2');
  // The commands kdbg sent, in order, as one types them.
  const cmds = second.transcript.split('\n').filter((l) => l.startsWith('crash> ') && l !== 'crash> # (startup)').map((l) => l.slice(7));
  const cmdFile = join(work, 'an-commands.txt');
  writeFileSync(cmdFile, `${cmds.join('\n')}\nquit\n`);
  const vml = second.report?.vmlinux?.path ?? join(cache, 'releases', debRelease, 'vmlinux');
  const b = cmds.length > 0 ? await measure(`crash -s ${vml} ${dump} < ${cmdFile} > /dev/null`) : { ...first.k, note: 'skipped: no transcript to replay' };
  clean('an-cache', 'an-out1', 'an-out2');
  const share = (k) => (k.own === undefined ? 'not measured' : `${k.own.toFixed(2)} s of ${k.wall.toFixed(2)} s = ${((k.own / k.wall) * 100).toFixed(1)} %`);
  row('an', `kdbg analyze ${anDump} (${fmtBytes(sizeOf(dump))}), vmlinux cached, module files fetched (${cmds.length} crash commands); kdbg's own time ${share(first.k)}`, "kdbg's own time (all but the crash process) <= 5 % of the total", first.k, [['crash -s by hand, same commands', b]]);
  console.log(`  kdbg's own time (wall - crash's lifetime + crash's waits for kdbg): ${share(first.k)} (goal <= 5 %)`);
  rows.push({ id: 'an*', scenario: `the same again, module files cached; kdbg's own time ${share(second.k)}`, goal: "kdbg's own time <= 5 % of the total", kd: second.k, baselines: [['crash -s by hand, same commands', b]] });
  console.log(fmtFig('kdbg analyze again (modules cached)', second.k));
  if (second.k.phases) console.log(`  kdbg phases: ${second.k.phases}`);
  console.log(`  kdbg's own time: ${share(second.k)}; ratio kdbg/by hand: ${ratioText(second.k, b)}`);
}

function sizeOf(p) {
  return Number(sh(`stat -c %s ${p}`).stdout.trim());
}

await import('./fleet.mjs').then((m) => m.fleetRows({ want, only, repo, fixtures, rate, work, kdbg, measure, row, fresh, clean, sh, sha256File, fmtBytes, setStatsBase: (b) => (statsBase = b ?? base) }));

server.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
console.log(`\nbench: load average at start ${startLoad}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

// 3. Record the run.
const cpu = cpus()[0]?.model ?? 'unknown cpu';
// Which liblzma kdbg decoded with: node-liblzma's bundled one (5.8 here) decodes ~35 % faster
// than Debian 12's system 5.4, which a local `node-gyp rebuild` of the package links instead.
const liblzma = (await import('node-liblzma')).versionString();
const machine = `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${sh('uname -r').stdout.trim()}, node ${process.version}, kdbg's liblzma ${liblzma}, baselines' ${sh('xz --version').stdout.split('\n')[0]}; load average at start ${startLoad}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
const commit = sh('git rev-parse --short HEAD', { cwd: repo }).stdout.trim();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const cell = (f) => (f.text ? f.text : f.note.startsWith('skipped') || f.note.startsWith('FAILED') ? f.note : `${f.wall.toFixed(2)} s, ${fmtBytes(f.bytes)}, ${f.rssMb.toFixed(0)} MB, ${(f.cpu * 100).toFixed(0)} %${f.ok === false ? ', WRONG OUTPUT' : ''}`);
let md = `\n## ${date} — commit ${commit}\n\nMachine: ${machine}. Mirror rate limit: ${rate / 1e6} MB/s per connection.\n\n`;
md += '| id | scenario | goal | kdbg (wall, bytes down, peak RSS, CPU) | baseline (same figures) | ratio |\n|---|---|---|---|---|---|\n';
const esc = (t) => String(t).replace(/\|/g, '\\|');
for (const r of rows) {
  if (r.baselines.length === 0) md += `| ${r.id} | ${r.scenario} | ${r.goal} | ${cell(r.kd)} | — | — |\n`;
  for (const [name, b] of r.baselines) md += `| ${r.id} | ${esc(r.scenario)} | ${esc(r.goal)} | ${esc(cell(r.kd))} | ${esc(name)}: ${esc(cell(b))} | ${ratioText(r.kd, b)} |\n`;
}
// The phase timings of every row that has them, below the table (issue 19: "with the phase timings").
const phased = rows.filter((r) => r.kd.phases);
if (phased.length > 0) md += `\nkdbg's phases, row by row:\n\n${phased.map((r) => `- ${r.id}: ${r.kd.phases}`).join('\n')}\n`;
if (process.env.BENCH_NO_RECORD !== '1') {
  const file = join(repo, 'bench', 'results.md');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '# Benchmark results\n\nEach section is one `npm run bench` run (scripts/bench/run.mjs). CPU = (user+sys)/wall; peak RSS = largest process of the command (GNU time %M).\n');
  }
  appendFileSync(file, md);
  console.log(`\nbench: recorded in ${file}`);
}
