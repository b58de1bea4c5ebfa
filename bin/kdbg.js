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
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { setFlagsFromString } = require('node:v8');
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
      return code;
    }
    // The bundle declined (or is missing): main() runs as any other command, TurboFan back on.
    if (turbofanOff) setFlagsFromString('--opt');
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
    const name = `kdbg-fast-${id.slice(0, 16)}-${command}-${process.version}-${process.arch}.v8cache`;
    const dirs = [join(__dirname, '..', 'dist', 'fast'), join(process.env.KDBG_CACHE_DIR || join(process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache'), 'kdbg'), 'code-cache')];
    let cachedData;
    for (const d of dirs) {
      try {
        cachedData = readFileSync(join(d, name));
        break;
      } catch {
        // not there: the next place, else compile without
      }
    }
    // No TurboFan for these short commands. Its background compile of the hot loop of a page
    // decoder or a record walk (an LZO kdump's 21 pages: 31 M instructions on a second thread) is
    // finished when there is little left for it to speed up, and on a loaded 2-core machine it
    // takes the core the command runs on. Without it `kdbg log` on the LZO kdump costs 584 M
    // instructions instead of 607 M, and on QEMU's flattened kdump 680 M instead of 768 M
    // (callgrind, all threads; `node -e 0` is about 515 M). Set before the compile: V8 keys its
    // code cache to the flags, so the cache is always made and read under this one setting.
    // Ignition and Sparkplug stay.
    setFlagsFromString('--no-opt');
    turbofanOff = true;
    // The wrapper's parameters are what a CommonJS module gets, plus the bundle's stand-ins for
    // import() and import.meta.url (scripts/build-fast.mjs says why).
    const script = new Script(`(function (exports, require, module, __filename, __dirname, __kdbgImport, __kdbgMetaUrl) {${src}\n})`, { filename: file, cachedData });
    const module = { exports: {} };
    script.runInThisContext()(module.exports, createRequire(file), module, file, dirs[0], (s) => import(s), pathToFileURL(file).href);
    if (typeof module.exports.runFast !== 'function') return null;
    return {
      run: (args) => module.exports.runFast(args),
      saveCache: () => {
        if (cachedData && !script.cachedDataRejected) return;
        const data = script.createCachedData();
        for (const d of dirs) {
          try {
            mkdirSync(d, { recursive: true });
            const tmp = join(d, `.${name}.${process.pid}`);
            writeFileSync(tmp, data);
            renameSync(tmp, join(d, name));
            // Caches of older bundles or other nodes for this command are not read again.
            for (const n of readdirSync(d)) if (n.startsWith('kdbg-fast-') && n.includes(`-${command}-`) && n !== name) rmSync(join(d, n), { force: true });
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
