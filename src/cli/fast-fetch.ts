// The warm-cache fast path of `kdbg fetch <release>`: answer from the cache before yargs loads.
//
// Importing yargs costs ~60 ms here and, after a command handler has started, yargs renders the
// whole help text once (to cache it for a later failure) — string-width, Intl.Segmenter and the
// emoji regex: another ~40 ms. A warm fetch is otherwise ~30 ms of work on top of Node's start-up,
// so yargs was two thirds of it (docs/speed.md, "Warm fetch").
//
// The rule: answer only when certain, otherwise decline (null/false) and let main() run the
// ordinary yargs path, which then does everything itself. The argument grammar below is a strict
// subset of what yargs accepts for `fetch` (options of src/cli/commands/fetch.ts); anything
// outside it — `=` on a flag, `--help`, `--no-json`, repeated scalar flags, a dump path, `-`,
// several inputs, --from-file, unknown or camel-case flags — declines. test/cli/warm-fetch.test.ts
// checks the subset against yargs itself. Any error (a bad release string, an unreadable cache)
// also declines, so error messages and exit codes come from the one ordinary path.
//
// Kept beside yargs, not folded into it (issue 13 asked for one or the other, measured): folding
// means loading yargs, which is the cost this path avoids. 20 + 20 + 20 runs alternated,
// 2026-12-07 03:30 UTC, load 7 on 2 cores, `node bin/kdbg.js fetch 3.10.0-327.el7 --cache-dir C
// --quiet` on a warm cache (wall min / median, CPU median):
//   this path              0.100 / 0.195 s, 0.09 s
//   yargs path (KDBG_NO_FAST_PATH=1)  0.240 / 0.445 s, 0.22 s
//   floor (`node -e` printing the line)  0.090 / 0.140 s, 0.06 s
// i.e. 0.13 s of CPU saved per warm fetch, ~0.03 s above bare Node. It does not load src/pipeline/
// (whose fetch module graph is larger than a hit needs): the hit test is the pipeline's own
// (core/fetch-result.ts entrySatisfies + cachedResult, on cache.readEntry), called directly.

import type { FetchResult } from '../core/fetch-result.js';

/** The part of `kdbg fetch`'s arguments a cache hit depends on (plus --json for the output). */
export interface WarmFetchArgs {
  input: string;
  cacheDir?: string;
  arch?: string;
  distro?: string;
  pkgVersion?: string;
  vmlinuxOnly: boolean;
  modules: boolean;
  json: boolean;
}

type Kind = 'string' | 'array' | 'boolean' | 'jobs';

// Every option of the fetch command (commands/fetch.ts) except --from-file, with its yargs type.
// Options that cannot change a cache hit (--mirror, --repo, --config, --offline, --quiet,
// --keep-packages, --jobs) are parsed only so that they are consumed the way yargs consumes them.
const OPTIONS: Record<string, Kind> = {
  'cache-dir': 'string',
  arch: 'string',
  distro: 'string',
  'pkg-version': 'string',
  config: 'string',
  mirror: 'array',
  repo: 'array',
  offline: 'boolean',
  'vmlinux-only': 'boolean',
  modules: 'boolean',
  'keep-packages': 'boolean',
  json: 'boolean',
  quiet: 'boolean',
  jobs: 'jobs',
};
const SHORT: Record<string, string> = { '-q': 'quiet', '-j': 'jobs' };

/**
 * `args` after the `fetch` verb → the fields a warm fetch needs, or null when the command line is
 * not one this parser is sure to read exactly as yargs does (the caller then uses yargs).
 */
export function parseWarmFetchArgs(args: readonly string[]): WarmFetchArgs | null {
  const positionals: string[] = [];
  const strings = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    if (!tok.startsWith('-')) {
      positionals.push(tok);
      continue;
    }
    let name: string | undefined;
    if (tok.startsWith('--')) name = tok.slice(2);
    else name = SHORT[tok];
    if (name === 'no-keep-packages') name = 'keep-packages';
    const kind = name === undefined ? undefined : OPTIONS[name];
    // Unknown, `--`, `-`, `--x=y`, negations other than --no-keep-packages, `-qj`: yargs decides.
    if (name === undefined || kind === undefined) return null;
    if (flags.has(name)) return null; // repeated: yargs makes an array of it (or errs)
    flags.add(name);
    const next = args[i + 1];
    switch (kind) {
      case 'boolean':
        // yargs takes a following `true`/`false` as the flag's value.
        if (next === 'true' || next === 'false') return null;
        break;
      case 'string':
        if (next === undefined || next === '' || next.startsWith('-')) return null;
        strings.set(name, next);
        i++;
        break;
      case 'jobs':
        if (next === undefined || !/^[0-9]+$/.test(next)) return null;
        i++;
        break;
      case 'array':
        // yargs' arrays are greedy: every following token up to the next flag is a value.
        if (next === undefined || next === '' || next.startsWith('-')) return null;
        while (i + 1 < args.length && !args[i + 1]!.startsWith('-')) {
          if (args[i + 1] === '') return null;
          i++;
        }
        break;
    }
  }
  // One release string; several inputs are a batch, `-` is a dump on stdin.
  if (positionals.length !== 1) return null;
  const input = positionals[0]!;
  if (input === '' || input === '-') return null;
  const out: WarmFetchArgs = { input, vmlinuxOnly: flags.has('vmlinux-only'), modules: flags.has('modules'), json: flags.has('json') };
  const cacheDir = strings.get('cache-dir');
  const arch = strings.get('arch');
  const distro = strings.get('distro');
  const pkgVersion = strings.get('pkg-version');
  if (cacheDir !== undefined) out.cacheDir = cacheDir;
  if (arch !== undefined) out.arch = arch;
  if (distro !== undefined) out.distro = distro;
  if (pkgVersion !== undefined) out.pkgVersion = pkgVersion;
  return out;
}

/**
 * `kdbg fetch …` answered from the cache: prints what the fetch command would print and returns
 * true; false when the command line or the cache needs the ordinary path (nothing printed then).
 * `KDBG_NO_FAST_PATH=1` turns it off (to compare both paths).
 */
export async function tryWarmFetch(args: readonly string[], env: Record<string, string | undefined> = process.env): Promise<boolean> {
  if (env['KDBG_NO_FAST_PATH'] === '1') return false;
  const a = parseWarmFetchArgs(args);
  if (!a) return false;
  let result: FetchResult | null;
  let toJson: (r: FetchResult) => Record<string, unknown>;
  try {
    // The cache and release stages directly, not src/pipeline/: its fetch module graph is what
    // a warm answer must not load (test/cli/warm-fetch.test.ts pins the modules loaded).
    // A dump (an existing file, or any path) is the ordinary path's, as fetch's input stage decides.
    if (a.input.includes('/')) return false;
    const { stat } = await import('node:fs/promises');
    if (await stat(a.input).then((st) => st.isFile(), () => false)) return false;
    const { parseRelease } = await import('../release/index.js');
    const { openCache } = await import('../cache/index.js');
    const core = await import('../core/fetch-result.js');
    const rel = parseRelease(a.input, {
      ...(a.arch !== undefined ? { arch: a.arch } : {}),
      ...(a.distro !== undefined ? { distro: a.distro } : {}),
      ...(a.pkgVersion !== undefined ? { packageVersion: a.pkgVersion } : {}),
    });
    const cache = await openCache(a.cacheDir, env);
    const hit = await cache.readEntry(rel.uname);
    result = hit && core.entrySatisfies(hit, { source: !a.vmlinuxOnly, modules: a.modules }) ? core.cachedResult(cache.root, rel, hit, null) : null;
    toJson = core.fetchResultJson;
  } catch {
    return false; // the ordinary path meets the same error and reports it
  }
  if (!result) return false;
  // Written outside the try: output is never repeated by the ordinary path.
  const { writeJson, writeOut } = await import('./output.js');
  if (a.json) writeJson(toJson(result));
  else writeOut(result.vmlinux);
  return true;
}
