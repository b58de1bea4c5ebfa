#!/usr/bin/env node
// Measured script for issue 20's index goal (not a test; prints figures): build the build-id index
// from a large generated filelists.xml.gz (the goal: 100 MB of filelists in ≤ 30 s at ≤ 200 MB
// RSS) and time look-ups at 1 M ids (goal ≤ 5 ms). Uses dist/ (npm run build first).
//
//   node scripts/bench/buildid-index.mjs [MB=100] [--json]   generates, builds, looks up, prints
//   node scripts/bench/buildid-index.mjs --build FILE  (internal) one build in a fresh process
//
// The filelists is shaped like a RHEL debuginfo repository's: kernel-debuginfo packages, each with
// its vmlinux, several thousand .ko.debug files with directories, and one .build-id link for each.
// Peak RSS is the build process's own (process.resourceUsage().maxRSS), so the generator's
// memory does not count. The same work by hand, timed on the same file: finding the ids is
// `gzip -dc | grep -c /.build-id/` (a scan that builds nothing), looking one id up is
// `gzip -dc | grep -m1 -F ID` (an id half-way through the file). --json adds one line per case:
// {label, mb, gzMB, ids, buildMs, maxRssMB, indexBytes, lookupMeanMs, lookupP99Ms, lookupWorstMs, found,
// scanMs, grepOneMs}.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => join(repo, 'dist', p);

async function build(file) {
  const { filelistsBuildIds } = await import(dist('resolve/filelists.js'));
  const { decompressIndex } = await import(dist('resolve/decompress.js'));
  const { BuildIdIndexBuilder, BuildIdIndex } = await import(dist('resolve/buildid-index.js'));
  const t0 = performance.now();
  const b = new BuildIdIndexBuilder();
  for await (const p of filelistsBuildIds(decompressIndex(createReadStream(file, { highWaterMark: 256 * 1024 }), file), file)) b.add(p);
  const bytes = b.encode('bench', 'r1', null);
  const buildMs = performance.now() - t0;
  const idx = BuildIdIndex.decode(bytes, 'bench');
  // Look-ups: ids known to be there (every 997th record's key read back through a lookup of a
  // generated id is not possible without the ids, so the generator's seed is reused) and misses.
  const seed = process.env.BENCH_SEED;
  const known = [];
  for (let i = 0; i < 1000; i++) known.push(idOf(seed, (i * 7919) % b.count));
  const t1 = performance.now();
  let found = 0;
  for (const id of known) if (idx.lookup(id)) found++;
  for (let i = 0; i < 1000; i++) idx.lookup(randomBytes(20).toString('hex'));
  const lookupMs = (performance.now() - t1) / 2000;
  // Each of the 1000 known ids timed alone: the worst of them on a shared machine is often one
  // preemption, so the 99th percentile is printed beside it.
  const each = [];
  for (const id of known) {
    const s = performance.now();
    idx.lookup(id);
    each.push(performance.now() - s);
  }
  each.sort((x, y) => x - y);
  const worst = each.at(-1);
  const p99 = each[Math.floor(each.length * 0.99)];
  console.log(JSON.stringify({ ids: idx.count, packages: b.packages.length, buildMs: Math.round(buildMs), indexBytes: bytes.length, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), lookupMeanMs: lookupMs, lookupWorstMs: worst, lookupP99Ms: p99, found }));
}

/** The n-th generated build-id (sha1 of seed:n), so the build process can look known ids up. */
function idOf(seed, n) {
  return createHash('sha1').update(`${seed}:${n}`).digest('hex');
}

async function generate(file, targetBytes, seed) {
  const gz = createGzip({ level: 6 });
  const out = createWriteStream(file);
  gz.pipe(out);
  let raw = 0;
  const w = (s) => {
    raw += s.length;
    return gz.write(s) ? null : new Promise((r) => gz.once('drain', r));
  };
  await w('<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="0">\n');
  const dirs = ['drivers/net/ethernet/intel/e1000e', 'drivers/scsi/megaraid', 'fs/xfs', 'net/netfilter', 'drivers/gpu/drm/i915', 'sound/pci/hda', 'crypto', 'arch/x86/kvm'];
  let n = 0;
  for (let p = 0; raw < targetBytes; p++) {
    const uname = `5.14.0-${p + 1}.el9.x86_64`;
    let s = `<package pkgid="${createHash('sha256').update(uname).digest('hex')}" name="kernel-debuginfo" arch="x86_64">\n  <version epoch="0" ver="5.14.0" rel="${p + 1}.el9"/>\n`;
    s += `  <file>/usr/lib/debug/.build-id/${idOf(seed, n).slice(0, 2)}/${idOf(seed, n).slice(2)}.debug</file>\n  <file>/usr/lib/debug/lib/modules/${uname}/vmlinux</file>\n`;
    n++;
    const p1 = w(s);
    if (p1) await p1;
    for (const d of dirs) {
      const p2 = w(`  <file type="dir">/usr/lib/debug/lib/modules/${uname}/kernel/${d}</file>\n`);
      if (p2) await p2;
    }
    for (let m = 0; m < 4000 && raw < targetBytes; m++) {
      const id = idOf(seed, n++);
      const p3 = w(`  <file>/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug</file>\n  <file>/usr/lib/debug/lib/modules/${uname}/kernel/${dirs[m % dirs.length]}/mod${m}.ko.debug</file>\n`);
      if (p3) await p3;
    }
    const p4 = w('</package>\n');
    if (p4) await p4;
  }
  await w('</filelists>\n');
  await new Promise((r) => {
    out.on('close', r);
    gz.end();
  });
  return { raw, ids: n, gz: statSync(file).size };
}

if (process.argv[2] === '--build') {
  await build(process.argv[3]);
} else {
  const json = process.argv.includes('--json');
  const mb = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 100);
  const byHand = (cmd) => {
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd}: ${r.stderr}`);
    return { ms: performance.now() - t0, out: r.stdout.trim() };
  };
  const dir = mkdtempSync(join(tmpdir(), 'kdbg-bench-index-'));
  try {
    const seed = randomBytes(8).toString('hex');
    for (const [label, target] of [[`${mb} MB filelists`, mb * 1e6], ['1 M ids', 0]]) {
      const file = join(dir, 'filelists.xml.gz');
      // The 1 M-id case: as many bytes as it takes (each module is a link and a file line).
      const g = await generate(file, target || 1_000_000 * 200, seed);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--build', file], { encoding: 'utf8', env: { ...process.env, BENCH_SEED: seed } });
      if (r.status !== 0) throw new Error(r.stderr);
      const res = JSON.parse(r.stdout.trim());
      const scan = byHand(`gzip -dc ${file} | grep -c /.build-id/`);
      const one = byHand(`gzip -dc ${file} | grep -m1 -F ${idOf(seed, Math.floor(g.ids / 2))}`);
      console.log(`${label}: filelists ${(g.raw / 1e6).toFixed(1)} MB (${(g.gz / 1e6).toFixed(1)} MB gz), ${res.ids} ids indexed of ${g.ids} generated in ${res.packages} packages: build ${(res.buildMs / 1000).toFixed(2)} s, peak RSS ${res.maxRssMB} MB, index ${(res.indexBytes / 1e6).toFixed(1)} MB; look-up mean ${(res.lookupMeanMs * 1000).toFixed(1)} µs, p99 ${res.lookupP99Ms.toFixed(3)} ms, worst ${res.lookupWorstMs.toFixed(3)} ms (${res.found}/1000 known ids found); by hand: gzip -dc | grep -c /.build-id/ ${(scan.ms / 1000).toFixed(2)} s (${scan.out} lines), gzip -dc | grep -m1 -F one id ${(one.ms / 1000).toFixed(2)} s`);
      if (json) console.log(JSON.stringify({ label, mb: g.raw / 1e6, gzMB: g.gz / 1e6, ...res, scanMs: scan.ms, grepOneMs: one.ms }));
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
