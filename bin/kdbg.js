#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm run build` (run by `prepare`).
//
// `kdbg log` and `kdbg identify` first try the bundled fast path, dist/fast/kdbg-fast.cjs
// (scripts/build-fast.mjs, src/cli/fast.ts): one file compiled here with a V8 code cache, instead
// of ~50 ES modules loaded one by one (30-50 ms of a ~100 ms `kdbg log` beyond node's own start;
// docs/analyze.md, "Measured"). The cache is written after the first run of each command, beside
// the bundle, or in the kdbg cache directory when dist/ is not writable. A missing or broken bundle
// or cache only costs time: the command then runs from dist/ as before. KDBG_NO_FAST_PATH=1 skips it.
//
// This file is CommonJS (bin/package.json): an ES module entry starts node's ESM loader, about
// 5 ms of every command, which the fast path never needs; the rest of the CLI is loaded with import().
'use strict';
const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const argv = process.argv.slice(2);
let finished = false;
/** loadFast turned TurboFan off (see there). */
let turbofanOff = false;
// Node exits with 0 when nothing is left to wait for, even if main() never returned: a promise
// that no event will ever settle (a stream whose end was missed) would look like success, with
// no output. That is a bug; say so and exit 70.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('kdbg: internal error: the work stopped, waiting for an event that will not come\nThis is a bug in kdbg. Please report it with the command line.\n');
  process.exitCode = 70;
});

const fast = (argv[0] === 'log' || argv[0] === 'identify') && process.env.KDBG_NO_FAST_PATH !== '1' ? loadFast(argv[0]) : null;
// No top-level await: a promise that never settles must end in the beforeExit line above (exit
// 70), not in node's "unsettled top-level await" (exit 13).
(fast ? fast.run(argv) : Promise.resolve(null))
  .then(async (code) => {
    if (code !== null) {
      fast.saveCache();
      // All output written (src/cli/fast.ts, fastExitReady): exit now, without node's teardown.
      if (fast.exitReady()) {
        finished = true;
        process.exit(code);
      }
      return code;
    }
    // The bundle declined (or is missing): main() runs as any other command, TurboFan back on.
    if (turbofanOff) require('node:v8').setFlagsFromString('--opt');
    const { main } = await import('../dist/cli/main.js');
    return main(argv);
  })
  .then((code) => {
    finished = true;
    process.exitCode = code;
  });

/**
 * The bundle compiled with its code cache, or null (then main() runs). `saveCache` writes the cache
 * when there was none or V8 rejected it (another node, other V8 flags): after the command ran, so it
 * holds the functions the command compiled, not only the top level.
 */
function loadFast(command) {
  try {
    const file = join(__dirname, '..', 'dist', 'fast', 'kdbg-fast.cjs');
    // ASCII only (scripts/build-fast.mjs): latin1 makes a one-byte string without decoding.
    const src = readFileSync(file, 'latin1');
    const id = /^\/\/ kdbg-fast ([0-9a-f]{64})\n/.exec(src)?.[1];
    if (!id) return null;
    const kind = dumpKind(argv.slice(1));
    const name = `kdbg-fast-${id.slice(0, 16)}-${command}-${kind}-${process.version}-${process.arch}.v8cache`;
    // The second place (the kdbg cache directory) only when dist/fast/ has no cache or is not
    // writable: node:os is not loaded otherwise.
    const dirs = [join(__dirname, '..', 'dist', 'fast')];
    const cacheDir = () => join(process.env.KDBG_CACHE_DIR || join(process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(require('node:os').homedir(), '.cache'), 'kdbg'), 'code-cache');
    let cachedData;
    for (let i = 0; i < 2; i++) {
      if (i === dirs.length) dirs.push(cacheDir());
      try {
        cachedData = readFileSync(join(dirs[i], name));
        break;
      } catch {
        // not there: the next place, else compile without
      }
    }
    // TurboFan off (`--no-opt`) only for the kinds whose pages are decoded by a loop in JavaScript
    // long enough for V8 to optimize it on a second thread when there is little left to speed up:
    // a kdump with LZO, snappy or zstd pages (status 0x2, 0x4, 0x20; the LZO decoder: about 4.5 ms
    // of CPU more with TurboFan, fzstd about 15 ms) and a flattened file (its record index: about
    // 17 ms more). For the others, V8's flags stay as node
    // set them: setting a flag loads node:v8, which loads node:stream and some twenty internal
    // modules (about 1.5 ms), and a flag changed at run time makes V8 reject the code cache of
    // every node builtin loaded afterwards (node:zlib then compiles from source: `require('zlib')`
    // costs 29 M instructions more under --no-opt than without it, 11 M). Set before the compile,
    // so that the kind's code cache is made and read under the same flags (V8 keys it to them).
    // docs/analyze.md, "Measured", has the figures.
    const status = /^kdump-(\d+)/.exec(kind);
    if (kind === 'flat' || (status && Number(status[1]) & 0x26)) {
      require('node:v8').setFlagsFromString('--no-opt');
      turbofanOff = true;
    }
    // The file is the bundle already wrapped as a function of what a CommonJS module gets, plus the
    // bundle's stand-ins for import() and import.meta (scripts/build-fast.mjs says why): compiled as
    // read, no 232 KiB concatenation for V8 to flatten.
    const script = new Script(src, { filename: file, cachedData });
    const module = { exports: {} };
    const meta = {
      get url() {
        return require('node:url').pathToFileURL(file).href;
      },
    };
    // This file's own require: it resolves packages from bin/ as the bundle's would from dist/fast/
    // (both under the package root), and node:module's createRequire costs about 0.3 ms to load.
    script.runInThisContext()(module.exports, require, module, file, dirs[0], (s) => import(s), meta);
    if (typeof module.exports.runFast !== 'function') return null;
    return {
      run: (args) => module.exports.runFast(args),
      exitReady: () => typeof module.exports.fastExitReady === 'function' && module.exports.fastExitReady(),
      saveCache: () => {
        if (cachedData && !script.cachedDataRejected) return;
        const data = script.createCachedData();
        if (dirs.length === 1) dirs.push(cacheDir());
        for (const d of dirs) {
          try {
            mkdirSync(d, { recursive: true });
            const tmp = join(d, `.${name}.${process.pid}`);
            writeFileSync(tmp, data);
            renameSync(tmp, join(d, name));
            // Caches of older bundles for this command are not read again.
            for (const n of readdirSync(d)) if (n.startsWith('kdbg-fast-') && n.includes(`-${command}-`) && !n.startsWith(`kdbg-fast-${id.slice(0, 16)}-`)) rmSync(join(d, n), { force: true });
            return;
          } catch {
            // not writable: the next place, else no cache
          }
        }
      },
    };
  } catch (e) {
    if (process.env.KDBG_DEBUG) process.stderr.write(`kdbg: fast path not loaded (${e?.message ?? e}); running from dist/\n`);
    return null;
  }
}

/**
 * The kind of dump the command reads, from the first bytes of its last argument, for the name of
 * the code cache: each kind has its own. The cache holds the functions the run that wrote it
 * compiled, and the others are compiled at every run: with one cache per command, made by whichever
 * dump ran first after a build, a zlib kdump read after an ELF-made cache compiled about 20 KB of
 * functions each time (the cache written after such a run is 195 KB, not 176 KB), a split part
 * 28 KB. Kinds: `elf`; `kdump-<status>` (disk_dump_header.status: the page compression) with
 * `-split` for a part of a split set (kdump_sub_header.split); `flat`; `other` (no file, a flag
 * last, anything else: the command still runs, with that cache).
 */
function dumpKind(args) {
  const file = args[args.length - 1];
  if (!file || file.startsWith('-')) return 'other';
  let fd;
  try {
    // A regular file only: opening a FIFO would wait for its writer, and reading a pipe
    // (`<(zcat vmcore.gz)`) would take bytes identify needs.
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return 'other';
    fd = openSync(file, 'r');
    // A DataView, not Buffer's read and toString methods: node compiles each of those on its first
    // call, and the command never calls them otherwise.
    const b = new Uint8Array(432);
    const dv = new DataView(b.buffer);
    const n = readSync(fd, b, 0, 432, 0);
    const is = (text) => {
      for (let i = 0; i < text.length; i++) if (i >= n || b[i] !== text.charCodeAt(i)) return false;
      return true;
    };
    if (is('\x7fELF')) return 'elf';
    if (is('makedumpfile')) return 'flat';
    if (n < 432 || !(is('KDUMP   ') || is('DISKDUMP'))) return 'other';
    // x86_64's disk_dump_header: status at 424, block_size at 428; kdump_sub_header.split at 12.
    const status = dv.getUint32(424, true) & 0x27;
    const blockSize = dv.getInt32(428, true);
    let split = false;
    if (blockSize > 0 && blockSize <= 1 << 20 && readSync(fd, b, 0, 16, blockSize) === 16) split = dv.getInt32(12, true) === 1;
    return `kdump-${status}${split ? '-split' : ''}`;
  } catch {
    return 'other';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
