#!/usr/bin/env node
// `npm run build` (after tsc): bundle the fast path of `kdbg log` and `kdbg identify`
// (dist/cli/fast.js and what it imports) into one CommonJS file, dist/fast/kdbg-fast.cjs, that
// bin/kdbg.js compiles with vm.Script and a V8 code cache (cachedData). Node 20 has no compile
// cache for ES modules (module.enableCompileCache is 22.1+), and loading the ~50 modules of these
// commands one by one was 30-50 ms of a `kdbg log` (docs/analyze.md, "Measured").
//
// What a plain CommonJS bundle would get wrong, and how this one avoids it:
// - import() of a package kept outside (node-liblzma is ESM-only, so require() cannot load it on
//   Node 20) or of a builtin: a script compiled by vm.Script has no loader for import() without an
//   experimental flag. Every such import() becomes __kdbgImport(), which bin/kdbg.js passes in as
//   its own (s) => import(s). The build fails if any other import( is left.
// - import.meta.url (cache/index.js finds the checkout from it, lzma-alone.js its require): it
//   becomes __kdbgMeta.url, the bundle's own file URL (a getter in bin/kdbg.js: node:url is loaded
//   only when it is read). dist/fast/ is as deep as dist/cache/, so "two directories up" is the
//   package root from both.
// The file is written wrapped in the function bin/kdbg.js calls, `(function (exports, require,
// module, __filename, __dirname, __kdbgImport, __kdbgMeta) {...})`, so that it is compiled as read:
// a wrapper added at run time is a 232 KiB string V8 flattens, a copy on the young heap.
// The first line carries the sha256 of the rest: bin/kdbg.js names its code cache after it (V8
// checks a cache against the source's length, not its content).
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'fast', 'kdbg-fast.cjs');
const MARK = '__kdbg_dynamic_import__:';

/**
 * node:fs/promises, statically imported, is answered by dist/cli/fast-fs.js: the same functions
 * through the synchronous calls of node:fs (no thread-pool trip per read; that file says why).
 */
const syncFsPromises = {
  name: 'kdbg-sync-fs-promises',
  setup(b) {
    b.onResolve({ filter: /^(node:)?fs\/promises$/ }, (args) => {
      if (args.kind !== 'import-statement' && args.kind !== 'require-call') return undefined;
      return { path: join(root, 'dist', 'cli', 'fast-fs.js') };
    });
  },
};

/**
 * Builtins that `kdbg log` on most dumps never calls, and that cost a few ms to load (node:zlib
 * and node:stream load about twenty internal modules): their require() becomes __kdbgLazy(), an
 * object that loads the module on its first property read. esbuild reads an import's names at each
 * use (`(0, import_node_zlib.inflateSync)(...)`), so the load moves to the first use.
 */
const LAZY_BUILTINS = ['node:zlib', 'node:stream'];
const LAZY_HELPER = `function __kdbgLazy(name) {
  let m;
  const get = () => (m ??= require(name));
  return new Proxy({}, {
    get: (_t, k) => get()[k],
    has: (_t, k) => k in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_t, k) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), k);
      return d && { ...d, configurable: true };
    },
  });
}
`;

/**
 * Packages bundled although reached by import(): esbuild then runs their module code on the first
 * import(), not at load (fzstd builds its tables when loaded; identify/kdump-page.ts).
 */
const BUNDLED_DYNAMIC = ['fzstd'];

/** import() of anything not bundled: a builtin or a package left outside. */
const dynamicExternals = {
  name: 'kdbg-dynamic-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind !== 'dynamic-import' || BUNDLED_DYNAMIC.includes(args.path)) return undefined;
      return { path: MARK + args.path, external: true };
    });
  },
};

const r = await build({
  entryPoints: [join(root, 'dist', 'cli', 'fast.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  // Reached only for whole-file-compressed dumps (identify reads their head): loaded from
  // node_modules as usual when they are.
  external: ['node-liblzma', 'unbzip2-stream'],
  define: { 'import.meta.url': '__kdbgMeta.url' },
  plugins: [syncFsPromises, dynamicExternals],
  logLevel: 'warning',
  legalComments: 'inline',
  charset: 'ascii',
});
let text = r.outputFiles[0].text;
let n = 0;
text = text.replace(new RegExp(`\\bimport\\((["'])${MARK}`, 'g'), (_m, q) => {
  n++;
  return `__kdbgImport(${q}`;
});
let lazy = 0;
for (const name of LAZY_BUILTINS) {
  text = text.replaceAll(`require("${name}")`, () => {
    lazy++;
    return `__kdbgLazy("${name}")`;
  });
}
if (lazy > 0) text = LAZY_HELPER + text;
if (/require\("(node:)?fs\/promises"\)/.test(text)) {
  console.error('build-fast: node:fs/promises is still required in the bundle (kdbg-sync-fs-promises did not resolve it)');
  process.exit(1);
}
const left = [...text.matchAll(/\bimport\s*\(|import\.meta/g)].map((m) => text.slice(Math.max(0, m.index - 40), m.index + 40));
if (left.length > 0 || text.includes(MARK)) {
  console.error(`build-fast: ${left.length} import()/import.meta left in the bundle that a vm.Script cannot run:\n${left.join('\n')}`);
  process.exit(1);
}
// esbuild writes strings and regular expressions in ASCII (charset 'ascii'), but keeps some comments
// as they are: a few non-ASCII characters there make V8 hold the whole source as a two-byte string
// decoded from UTF-8. With them replaced, bin/kdbg.js reads the file as latin1, a plain copy.
const lines = text.split('\n');
for (let i = 0; i < lines.length; i++) {
  const at = lines[i].search(/[^\x00-\x7f]/);
  if (at === -1) continue;
  const before = lines[i].slice(0, at);
  if (!/\/\/|\/\*/.test(before) && !/^\s*\*/.test(before)) {
    console.error(`build-fast: a non-ASCII character outside a comment, line ${i + 1}: ${lines[i].slice(0, 120)}`);
    process.exit(1);
  }
  lines[i] = lines[i].replace(/[^\x00-\x7f]/g, '?');
}
text = `(function (exports, require, module, __filename, __dirname, __kdbgImport, __kdbgMeta) {${lines.join('\n')}\n})`;
const hash = createHash('sha256').update(text).digest('hex');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `// kdbg-fast ${hash}\n${text}`);
renameSync(`${out}.tmp`, out);
console.log(`build-fast: ${out.slice(root.length + 1)} ${(text.length / 1024).toFixed(0)} KiB, ${n} dynamic import${n === 1 ? '' : 's'} through bin/kdbg.js, ${lazy} lazy builtin require${lazy === 1 ? '' : 's'}`);
