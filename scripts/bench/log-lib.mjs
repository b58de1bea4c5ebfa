// What scripts/bench/log.mjs and the (l) rows of scripts/bench/run.mjs share: which real dumps
// `kdbg log` is timed on, whether makedumpfile --dump-dmesg can read each, and one timed process
// (wall time here, user+sys and peak RSS from GNU time), median of several runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The goal of issue 24, as the bench prints it. */
export const LOG_GOAL = '(kdbg - node -e 0) <= 3x makedumpfile, <= 0.3 s, RSS <= 100 MB';

/**
 * The dumps with a reference log: every real x86_64 dump of scripts/fixtures/30-vmcores.sh that
 * has VMCOREINFO (`all`), or one per format and producer (the identify rows' choice), plus the
 * snappy and zstd files of 31-kdump-recompressed.sh when they are there.
 * `makedumpfile`: whether Debian's makedumpfile reads the file (it refuses QEMU's raw ELF and
 * flattened files, has no snappy or zstd, and reads a split set only from the part holding the log).
 */
export function logTargets(fixtures, { all = false } = {}) {
  const dir = join(fixtures, 'vmcores');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const one = ['sysrq/vmcore.elf', 'sysrq/vmcore.qemu.elf', 'sysrq/vmcore.kdump-zlib', 'sysrq/vmcore.kdump-lzo', 'sysrq/vmcore.kdump-snappy', 'sysrq/vmcore.kdump-zlib.flat', 'sysrq/vmcore.elf.flat', 'sysrq/vmcore.qemu-kdump-zlib.flat', 'sysrq/vmcore.split-1', 'oops/vmcore.kdump-zlib'];
  const out = [];
  for (const d of manifest.dumps) {
    if (d.format === 'dmesg' || !manifest.kinds[d.kind]?.dmesg) continue;
    if (!all && !one.includes(d.file)) continue;
    const reads = d.producer.startsWith('makedumpfile') && ['kdump-compressed', 'elf64', 'split'].includes(d.format);
    out.push({ file: d.file, path: join(dir, d.file), size: d.size, format: d.format, producer: d.producer, makedumpfile: reads });
  }
  const re = join(fixtures, 'kdump-recompressed');
  if (existsSync(join(re, 'manifest.json'))) {
    const m = JSON.parse(readFileSync(join(re, 'manifest.json'), 'utf8'));
    for (const [name, f] of Object.entries(m.files)) out.push({ file: `kdump-recompressed/${name}`, path: join(re, name), size: f.size, format: 'kdump-compressed', producer: `pages ${f.compression} (31-kdump-recompressed.sh)`, makedumpfile: false });
  }
  return out;
}

/**
 * Run argv `runs` times (stdout discarded): the median wall seconds, the median user+sys seconds,
 * the peak RSS in MB of all runs, and the exit status of the first failing run (else 0).
 * `after` runs after each run (makedumpfile will not overwrite its output file).
 */
export function timeRuns(argv, runs, after = () => {}) {
  const walls = [];
  const cpus = [];
  let rss = 0;
  let status = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    walls.push(Number(process.hrtime.bigint() - t) / 1e9);
    after();
    const [user, sys, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    cpus.push(user + sys);
    rss = Math.max(rss, kb / 1024);
    if (status === 0) status = r.status ?? 1;
  }
  const mid = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { wall: mid(walls), cpu: mid(cpus), rss, status };
}

/** makedumpfile --dump-dmesg on `path`, timed like timeRuns (a fresh output file each run). */
export function timeMakedumpfile(path, runs) {
  const out = join(tmpdir(), `kdbg-bench-dmesg-${process.pid}.txt`);
  rmSync(out, { force: true });
  return timeRuns(['makedumpfile', '--dump-dmesg', path, out], runs, () => rmSync(out, { force: true }));
}

/** "kdbg − node = 0.031 s = 2.4x makedumpfile: met" (or the reason there is no ratio). */
export function logVerdict(kd, floor, md) {
  const over = kd.wall - floor.wall;
  const limits = kd.status === 0 && kd.wall <= 0.3 && kd.rss <= 100;
  if (kd.status !== 0) return `kdbg log failed (exit ${kd.status})`;
  if (!md || md.status !== 0) return `kdbg - node -e 0 = ${over.toFixed(3)} s; makedumpfile cannot read this file; <= 0.3 s and <= 100 MB: ${limits ? 'met' : 'NOT met'}`;
  const x = over / md.wall;
  return `kdbg - node -e 0 = ${over.toFixed(3)} s = ${x.toFixed(1)}x makedumpfile's ${md.wall.toFixed(3)} s; goal ${x <= 3 && limits ? 'met' : 'NOT met'}`;
}
