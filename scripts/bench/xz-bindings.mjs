#!/usr/bin/env node
// Which xz binding kdbg keeps: lzma-native or node-liblzma, measured in one run on the same
// input, the way kdbg drives them (a Node Transform fed 1 MiB chunks, output drained and hashed
// so both must produce the same bytes). Not a test and not part of `npm run bench`; the figures
// and the decision are in bench/results.md ("xz binding"). kdbg keeps node-liblzma only; to rerun
// the comparison, add the other one for the run: `npm i --no-save --ignore-scripts lzma-native`.
// With XZ_BENCH_OTHERS=1 it also times the zstd (fzstd) and bzip2 (unbzip2-stream) decoders of
// core/decompress.ts against the `zstd` and `bzip2` tools on the first 100 MB of the input.
//
// Input: a few hundred MB of real binaries (the .so files under /usr/lib, concatenated) packed
// with the system `xz` at level 2 (as el7 RPM payloads: w2.xzdio), single-threaded, so each
// binding decodes one stream with one block. Built once into a temp dir, never committed.
//
// Env: XZ_BENCH_MB (input size before compression, default 300), XZ_BENCH_ROUNDS (default 3),
//      XZ_BENCH_DIR (where the input is built and kept, default $TMPDIR/kdbg-xz-bench).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';

const mb = Number(process.env.XZ_BENCH_MB ?? 300);
const rounds = Number(process.env.XZ_BENCH_ROUNDS ?? 3);
const dir = process.env.XZ_BENCH_DIR ?? join(tmpdir(), 'kdbg-xz-bench');
const raw = join(dir, `input-${mb}.bin`);
const packed = `${raw}.xz`;

function* walk(d) {
  let names;
  try {
    names = readdirSync(d, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of names.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(d, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && /\.so(\.|$)/.test(e.name)) yield p;
  }
}

if (!existsSync(packed)) {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(raw, 'w');
  let left = mb * 2 ** 20;
  for (const f of walk('/usr/lib')) {
    if (left <= 0) break;
    const bytes = readFileSync(f).subarray(0, left);
    writeSync(fd, bytes);
    left -= bytes.length;
  }
  closeSync(fd);
  const t = performance.now();
  const r = spawnSync('xz', ['-2', '-T1', '-k', '-f', raw], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('xz failed');
  console.log(`built ${packed} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const inSize = statSync(packed).size;
const outSize = statSync(raw).size;

const require = createRequire(import.meta.url);
const liblzma = await import('node-liblzma');
let lzmaNative = null;
try {
  lzmaNative = require('lzma-native');
} catch {
  console.log('lzma-native is not installed: timing node-liblzma alone');
}

const decoders = {
  'node-liblzma': () => liblzma.createUnxz({ chunkSize: 1 << 20 }, { readableHighWaterMark: 1 << 20 }),
  ...(lzmaNative ? { 'lzma-native': () => lzmaNative.createStream('streamDecoder', { synchronous: false }) } : {}),
};

async function once(name) {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk, _enc, cb) {
      bytes += chunk.length;
      hash.update(chunk);
      cb();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pipeline(createReadStream(packed, { highWaterMark: 1 << 20 }), decoders[name](), sink);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (bytes !== outSize) throw new Error(`${name}: ${bytes} bytes out, want ${outSize}`);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, sha: hash.digest('hex') };
}

console.log(`input: ${(outSize / 2 ** 20).toFixed(0)} MiB of /usr/lib .so files, xz -2 -T1 → ${(inSize / 2 ** 20).toFixed(1)} MiB`);
console.log(`node ${process.version}; node-liblzma ${liblzma.versionString()} (bundled prebuild), lzma-native ${lzmaNative?.versionString() ?? 'absent'} (bundled prebuild); ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const results = Object.fromEntries(Object.keys(decoders).map((k) => [k, []]));
let sha = null;
for (let r = 0; r < rounds; r++) {
  // Alternate the order each round so neither binding always runs on a warmer page cache.
  const order = r % 2 === 0 ? Object.keys(decoders) : Object.keys(decoders).reverse();
  for (const name of order) {
    const f = await once(name);
    if (sha !== null && f.sha !== sha) throw new Error(`${name}: output differs`);
    sha = f.sha;
    results[name].push(f);
    console.log(`round ${r + 1} ${name.padEnd(13)} ${f.wall.toFixed(2)} s wall, ${f.cpu.toFixed(2)} s CPU (this process), ${(outSize / 2 ** 20 / f.wall).toFixed(0)} MiB/s out`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('\n| binding | liblzma | median wall | best wall | MiB/s out (median) |\n|---|---|---|---|---|');
for (const [name, fs] of Object.entries(results)) {
  const m = median(fs.map((f) => f.wall));
  const ver = name === 'node-liblzma' ? liblzma.versionString() : lzmaNative.versionString();
  console.log(`| ${name} | ${ver} | ${m.toFixed(2)} s | ${Math.min(...fs.map((f) => f.wall)).toFixed(2)} s | ${(outSize / 2 ** 20 / m).toFixed(0)} |`);
}
console.log(`load at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

if (process.env.XZ_BENCH_OTHERS === '1') {
  const { decodeStream } = await import('../../dist/core/decompress.js');
  const slice = join(dir, 'input-100.bin');
  if (!existsSync(`${slice}.bz2`)) {
    spawnSync('bash', ['-c', `head -c 100000000 ${raw} > ${slice} && zstd -q -19 -T2 -f ${slice} -o ${slice}.zst && bzip2 -k -f ${slice}`], { stdio: 'inherit' });
  }
  const time = (cmd) => {
    const t = performance.now();
    spawnSync('bash', ['-c', cmd], { stdio: 'ignore' });
    return (performance.now() - t) / 1000;
  };
  for (const [kind, ext, tool] of [['zstd', 'zst', 'zstd -dc'], ['bzip2', 'bz2', 'bzip2 -dc']]) {
    for (let r = 0; r < 2; r++) {
      const t = performance.now();
      let n = 0;
      for await (const c of decodeStream(kind, createReadStream(`${slice}.${ext}`, { highWaterMark: 1 << 20 }), { mapError: (e) => e })) n += c.length;
      const ours = (performance.now() - t) / 1000;
      const theirs = time(`${tool} ${slice}.${ext} > /dev/null`);
      console.log(`${kind}: kdbg ${ours.toFixed(2)} s (${(n / 2 ** 20 / ours).toFixed(0)} MiB/s), \`${tool}\` ${theirs.toFixed(2)} s; ${(statSync(`${slice}.${ext}`).size / 2 ** 20).toFixed(1)} MiB in`);
    }
  }
}
