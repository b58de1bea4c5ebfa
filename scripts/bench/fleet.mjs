// Rows f1-f4 of `npm run bench` (scripts/bench/run.mjs): issue 20's four goals for `kdbg serve
// --fetch` and `kdbg sync`, each beside the same work done by kdbg fetch or by hand. f1-f3 run the
// scripts that measure them alone (serve-miss.mjs, buildid-index.mjs) and read their --json line;
// f4 runs here, on the bench-fleet repository (fleet-fixtures.sh), through run.mjs's measure(),
// whose byte counter is the bench server's.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/** A figure for run.mjs's table from a script's own numbers (printed as `text`). */
const textFig = (text, wall, bytes = 0) => ({ cmd: '', wall, cpu: 0, rssMb: 0, bytes, requests: 0, status: 0, ok: null, note: '', text });
const failFig = (why) => ({ cmd: '', wall: 0, cpu: 0, rssMb: 0, bytes: 0, requests: 0, status: 1, ok: null, note: `FAILED: ${why}` });

/** Run a bench script with --json; its last line parsed (and every JSON line), or the failure. */
function script(repo, name, args, env) {
  const r = spawnSync(process.execPath, [join(repo, 'scripts', 'bench', name), ...args, '--json'], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout.split('\n').filter((l) => l && !l.startsWith('{')).map((l) => `  | ${l}\n`).join(''));
  const json = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  if (r.status !== 0 || json.length === 0) return { error: `${name} exit ${r.status}: ${(r.stderr || '').trim().split('\n').pop() ?? ''}` };
  return { json };
}

export async function fleetRows(b) {
  const { want, repo, fixtures, rate, work, kdbg, measure, row, fresh, clean, sh, sha256File, fmtBytes } = b;
  if (!['f1', 'f2', 'f3', 'f4'].some(want)) return;
  const env = { ...process.env, KDBG_FIXTURES: fixtures, BENCH_RATE: String(rate) };
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  let fleet = null;
  if (want('f2') || want('f4')) {
    const r = spawnSync('bash', [join(repo, 'scripts', 'bench', 'fleet-fixtures.sh')], { stdio: 'inherit', env });
    fleet = r.status === 0 ? JSON.parse(readFileSync(join(fixtures, 'bench-fleet', 'manifest.json'), 'utf8')) : null;
    if (!fleet) console.log('\n(f2, f4) skipped: building the bench-fleet fixture failed');
  }
  const haveFind = sh('command -v debuginfod-find').status === 0;

  // (f1) A cold miss through debuginfod-find → kdbg serve --fetch → the mirror, against kdbg fetch
  // of the same release; the el7 case of the issue (fixture 10), then a multi-block package.
  if (want('f1')) {
    const fx = spawnSync('bash', [join(repo, 'scripts', 'fixtures', '10-rpm-mirror.sh')], { stdio: ['ignore', 'ignore', 'inherit'], env });
    const cases = [['f1', [], 'ratio <= 1.1']];
    if (existsSync(join(fixtures, 'bench-fleet', 'manifest.json'))) cases.push(['f1*', ['--fleet'], 'informational']);
    for (const [id, extra, goal] of cases) {
      const r = fx.status !== 0 ? { error: 'fixture 10 failed to build' } : !haveFind ? { error: 'debuginfod-find is missing (apt-get install -y debuginfod)' } : script(repo, 'serve-miss.mjs', ['3', ...extra], env);
      if (r.error) {
        row(id, 'cold miss through debuginfod-find → kdbg serve --fetch', goal, failFig(r.error), []);
        continue;
      }
      const j = r.json.at(-1);
      const kd = textFig(`${j.serve.ms.map(s).join(', ')}; median ${s(j.serve.medianMs)}, mirror sent ${fmtBytes(j.serve.bytes)}${j.serve.digestsOk ? ', sha256 ok' : ', WRONG BYTES'}`, j.serve.medianMs / 1000, j.serve.bytes);
      if (!j.serve.digestsOk) kd.ok = false;
      const fe = textFig(`${j.fetch.ms.map(s).join(', ')}; median ${s(j.fetch.medianMs)}, mirror sent ${fmtBytes(j.fetch.bytes)}`, j.fetch.medianMs / 1000, j.fetch.bytes);
      row(id, `cold miss, ${j.case}: debuginfod-find → kdbg serve --fetch → ${rate / 1e6} MB/s/conn mirror, median of ${j.runs}, load ${j.load}`, goal, kd, [['kdbg fetch --vmlinux-only, same release', fe]]);
    }
  }

  // (f2) 50 concurrent clients ask a cold server for one uncached id (the first bench-fleet kernel).
  if (want('f2') && fleet) {
    const r = script(repo, 'serve-miss.mjs', ['--fleet', '--clients', '50'], env);
    if (r.error) row('f2', '50 concurrent clients, one uncached id', '1 download; identical files', failFig(r.error), []);
    else {
      const j = r.json.at(-1);
      const kd = textFig(`${s(j.serve.medianMs)} for all 50, mirror sent ${fmtBytes(j.serve.bytes)} in ${j.serve.requests} requests; fetches ${j.serve.fetches}, joined ${j.serve.joined}; ${j.serve.digestsOk ? '50 answers byte-identical (sha256 of the package\'s vmlinux)' : 'ANSWERS DIFFER'}`, j.serve.medianMs / 1000, j.serve.bytes);
      if (!j.serve.digestsOk || j.serve.fetches !== 1) kd.ok = false;
      const fe = textFig(`${s(j.fetch.medianMs)}, mirror sent ${fmtBytes(j.fetch.bytes)} in ${j.fetch.requests} requests`, j.fetch.medianMs / 1000, j.fetch.bytes);
      fe.ratio = `bytes ${(j.serve.bytes / j.fetch.bytes).toFixed(2)}, time ${j.ratio.toFixed(2)}`;
      row('f2', `50 concurrent clients, one uncached id (${j.case}) → kdbg serve --fetch, load ${j.load}`, '1 download; every client gets the byte-identical file', kd, [['one kdbg fetch --vmlinux-only', fe]]);
    }
  }

  // (f3) The build-id index from a 100 MB filelists.xml, and look-ups at 1 M ids.
  if (want('f3')) {
    const r = script(repo, 'buildid-index.mjs', ['100'], env);
    if (r.error) row('f3', 'build-id index', 'build <= 30 s, <= 200 MB RSS; look-up <= 5 ms at 1 M ids', failFig(r.error), []);
    else {
      const [a, m] = r.json;
      const build = textFig(`${s(a.buildMs)}, peak RSS ${a.maxRssMB} MB, ${a.ids} ids, index ${fmtBytes(a.indexBytes)}`, a.buildMs / 1000);
      const scan = textFig(`gzip -dc | grep -c /.build-id/: ${s(a.scanMs)} (builds nothing)`, a.scanMs / 1000);
      row('f3', `build-id index: build from a ${a.mb.toFixed(0)} MB filelists.xml (${a.gzMB.toFixed(1)} MB gz)`, 'build <= 30 s at <= 200 MB RSS', build, [['by hand, a scan for the ids', scan]]);
      const look = textFig(`mean ${(m.lookupMeanMs * 1000).toFixed(1)} µs, p99 ${m.lookupP99Ms.toFixed(3)} ms, worst ${m.lookupWorstMs.toFixed(3)} ms at ${m.ids} ids (${m.found}/1000 known ids found); that index built in ${s(m.buildMs)} at ${m.maxRssMB} MB`, m.lookupWorstMs / 1000);
      const grep = textFig(`gzip -dc | grep -m1 -F ID (id half-way): ${s(m.grepOneMs)}`, m.grepOneMs / 1000);
      grep.ratio = `${(m.lookupWorstMs / m.grepOneMs).toPrecision(2)} (worst look-up)`;
      row('f3*', `build-id index: look-up at ${(m.ids / 1e6).toFixed(2)} M ids (${m.mb.toFixed(0)} MB filelists)`, 'look-up <= 5 ms', look, [['by hand, grep the filelists for one id', grep]]);
    }
  }

  // (f4) kdbg sync of the 20 kernels of a multi-block repository, against the same 20 vmlinuxes
  // by hand (curl + rpm2cpio | cpio, package after package) and by kdbg fetch of each release.
  if (want('f4') && fleet) {
    const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
    const ks = fleet.kernels;
    const total = ks.reduce((n, k) => n + k.size, 0);
    const ss = spawn(process.execPath, [join(repo, 'scripts', 'bench', 'serve.mjs'), join(fixtures, 'bench-fleet'), '--rate', String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const fBase = await new Promise((resolve) => ss.stdout.once('data', (d) => resolve(String(d).trim().split('\n')[0])));
    b.setStatsBase(fBase);
    try {
      const url = `${fBase}/repo`;
      const cfg = join(work, 'fleet-config.json');
      writeFileSync(cfg, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null }));
      const k0 = `KDBG_NO_PRESETS=1 KDBG_NO_DEBUGINFOD=1 KDBG_CONFIG= ${kdbg}`;
      /** How many of the 20 vmlinuxes under dir (path per kernel) have the manifest's sha256. */
      const good = async (pathOf) => {
        let n = 0;
        for (const k of ks) if (existsSync(pathOf(k)) && (await sha256File(pathOf(k))) === k.vmlinux.sha256) n++;
        return n;
      };
      const check = async (fig, pathOf) => {
        const n = await good(pathOf);
        if (!fig.note) {
          fig.ok = n === ks.length;
          if (!fig.ok) fig.note = `WRONG OUTPUT (${n} of ${ks.length} vmlinuxes match)`;
        }
      };
      const dl = fresh('f4-base');
      const file = (k) => k.package.split('/').pop();
      const hand = await measure(ks.map((k) => `curl -sf -O ${fBase}/${k.package} && rpm2cpio ${file(k)} | cpio -idm --quiet ./${k.vmlinux.member} && rm ${file(k)}`).join(' && '), { cwd: dl });
      await check(hand, (k) => join(dl, k.vmlinux.member));
      clean('f4-base');
      const fc = fresh('f4-fetch');
      const each = await measure(ks.map((k) => `${k0} fetch ${k.uname} --vmlinux-only --repo ${url} --config ${cfg} --cache-dir ${fc} --quiet`).join(' && ') + ' > /dev/null');
      await check(each, (k) => join(fc, 'releases', k.uname, 'vmlinux'));
      clean('f4-fetch');
      const sc = fresh('f4-sync');
      const out = join(work, 'f4-sync.json');
      const k = await measure(`${k0} sync --repo ${url} --config ${cfg} --cache-dir ${sc} --json > ${out}`);
      await check(k, (x) => join(sc, 'releases', x.uname, 'vmlinux'));
      const lines = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      const sum = lines.at(-1)?.summary;
      clean('f4-sync');
      const share = (x) => `${((x.bytes / total) * 100).toFixed(1)} %`;
      const vm = ks.reduce((n, x) => n + x.vmlinux.size, 0);
      row('f4', `kdbg sync of ${ks.length} kernels (bench-fleet, ${fleet.payload}, ${fmtBytes(total)} of packages) via ${rate / 1e6} MB/s/conn mirror, load ${load0} at the row's start`, 'bytes <= 20 % of the packages\' total', k, [['curl+rpm2cpio|cpio, each package', hand], ['kdbg fetch --vmlinux-only, each release', each]]);
      console.log(`  bytes down / packages' total: kdbg sync ${share(k)}, kdbg fetch each release ${share(each)}, by hand ${share(hand)} (goal: sync <= 20 %)`);
      console.log(`  sync summary: ${sum ? `${sum.kernels} kernels, ${sum.fetched} fetched, ${sum.failed} failed, ${fmtBytes(sum.bytes)} counted by kdbg` : 'none'}; the ${ks.length} vmlinuxes are ${fmtBytes(vm)} uncompressed`);
    } finally {
      b.setStatsBase(null);
      ss.kill('SIGTERM');
    }
  }
}
