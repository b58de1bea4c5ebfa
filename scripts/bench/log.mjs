#!/usr/bin/env node
// `node scripts/bench/log.mjs`: kdbg log beside makedumpfile --dump-dmesg on every real dump of
// $KDBG_FIXTURES/vmcores (scripts/fixtures/30-vmcores.sh), in one run. Not a test: it prints the
// median wall time and peak RSS (GNU time) of RUNS runs each, and `node -e 0` as the floor that
// any kdbg command pays. makedumpfile refuses QEMU's raw ELF and flattened files; those rows say so.
//
// Env: KDBG_FIXTURES (fixture root), BENCH_LOG_RUNS (default 5).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
const runs = Number(process.env.BENCH_LOG_RUNS ?? 5);
const manifest = JSON.parse(readFileSync(join(fixtures, 'vmcores', 'manifest.json'), 'utf8'));

/** Median wall seconds and max RSS MB of `runs` runs of argv (stdout discarded). */
function measure(argv) {
  const walls = [];
  let rss = 0;
  let status = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    walls.push(Number(process.hrtime.bigint() - t) / 1e9);
    rss = Math.max(rss, Number(r.stderr.trim().split('\n').at(-1)) / 1024);
    status = r.status ?? 1;
  }
  walls.sort((a, b) => a - b);
  return { wall: walls[Math.floor(walls.length / 2)], rss, status };
}

const fmt = (m) => (m.status === 0 ? `${m.wall.toFixed(3)} s ${m.rss.toFixed(0)} MB` : `fails (exit ${m.status})`);
const floor = measure(['node', '-e', '0']);
console.log(`kdbg log vs makedumpfile --dump-dmesg, median of ${runs}; load average ${loadavg()[0].toFixed(2)}; node -e 0: ${fmt(floor)}`);
console.log('| dump | size MB | kdbg log | kdbg − node | makedumpfile |');
console.log('|---|---|---|---|---|');
const out = join(tmpdir(), `kdbg-bench-log-${process.pid}.txt`);
for (const d of manifest.dumps) {
  if (d.format === 'dmesg' || !manifest.kinds[d.kind]?.dmesg) continue;
  const file = join(fixtures, 'vmcores', d.file);
  const k = measure(['node', join(repo, 'bin', 'kdbg.js'), 'log', file]);
  const readable = d.producer.startsWith('makedumpfile') && (d.format === 'kdump-compressed' || d.format === 'elf64' || d.format === 'split');
  let md = 'refuses it';
  if (readable) {
    const m = measure(['bash', '-c', `makedumpfile --dump-dmesg "$0" "$1" >/dev/null 2>&1; s=$?; rm -f "$1"; exit $s`, file, out]);
    md = fmt(m);
  }
  console.log(`| ${d.file} | ${(d.size / 1e6).toFixed(1)} | ${fmt(k)} | ${(k.wall - floor.wall).toFixed(3)} s | ${md} |`);
}
rmSync(out, { force: true });
