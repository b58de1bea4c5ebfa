#!/usr/bin/env node
// `node scripts/bench/log.mjs`: kdbg log beside makedumpfile --dump-dmesg on every real dump of
// $KDBG_FIXTURES/vmcores (scripts/fixtures/30-vmcores.sh), in one run. Not a test: it prints the
// median wall time and user+sys CPU and the peak RSS (GNU time) of RUNS runs each, and `node -e 0`
// as the floor that any kdbg command pays. makedumpfile refuses QEMU's raw ELF and flattened
// files; those rows say so. `npm run bench` has the same measurement as its (l) rows
// (scripts/bench/log-lib.mjs), on one dump per format.
//
// Env: KDBG_FIXTURES (fixture root), BENCH_LOG_RUNS (default 15).
import { homedir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_GOAL, logTargets, timeLog } from './log-lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.KDBG_FIXTURES ?? join(homedir(), '.cache', 'kdbg-fixtures');
const runs = Number(process.env.BENCH_LOG_RUNS ?? 15);

const fmt = (m) => (m.status === 0 ? `${m.wall.toFixed(4)} s ${m.rss.toFixed(0)} MB` : `fails (exit ${m.status})`);
console.log(`kdbg log vs makedumpfile --dump-dmesg, median of ${runs} (the three commands taking turns); load average ${loadavg()[0].toFixed(2)}; goal ${LOG_GOAL}`);
console.log('| dump | size MB | kdbg log | node -e 0 | kdbg − node | cpu: kdbg − node | makedumpfile | (kdbg − node) / makedumpfile | cpu: (kdbg − node) / makedumpfile | load |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const d of logTargets(fixtures, { all: true })) {
  const { kd, floor, md } = timeLog(repo, d, runs);
  const both = md && md.status === 0 && kd.status === 0;
  const ratio = both ? `${((kd.wall - floor.wall) / md.wall).toFixed(1)}×` : '—';
  const cpuRatio = both && md.cpu > 0 ? `${((kd.cpu - floor.cpu) / md.cpu).toFixed(1)}×` : '—';
  console.log(`| ${d.file} | ${(d.size / 1e6).toFixed(1)} | ${fmt(kd)} | ${floor.wall.toFixed(4)} s | ${(kd.wall - floor.wall).toFixed(4)} s | ${(kd.cpu - floor.cpu).toFixed(3)} s | ${md ? fmt(md) : 'refuses it'} | ${ratio} | ${cpuRatio} | ${loadavg()[0].toFixed(2)} |`);
}
console.log(`load average at the end ${loadavg()[0].toFixed(2)}`);
