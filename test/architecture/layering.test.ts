// The layering rules of ARCHITECTURE.md and docs/architecture.md, checked on the source text:
// formats/ is pure, only download/ talks HTTP, only analyze/ spawns processes, imports flow one way
// through the layers (core ← formats ← cache, release ← stages ← pipeline ← serve ← cli), no
// module imports itself through others, and below the CLI nothing writes to stdout/stderr or
// reads argv or the environment except core/env.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const srcRoot = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\s)import\s+['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  return specs;
}

const files = sourceFiles(srcRoot).map((f) => ({ file: f, stage: relative(srcRoot, f).split('/')[0]!, imports: importsOf(f) }));

/**
 * The layers, lowest first. A module may import its own layer and the layers below it, never one
 * above. The stages of one layer exchange plain data from core/. `index.ts` is the library entry
 * (package.json "exports"): it re-exports the pipeline, beside the CLI.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['formats'],
  ['cache', 'release'],
  ['identify', 'resolve', 'download', 'extract', 'verify', 'analyze', 'klog'],
  ['pipeline'],
  ['serve'],
  ['cli', 'index.ts'],
];
const layerOf = (top: string): number => LAYERS.findIndex((l) => l.includes(top));

/** Relative imports of a file, as src-relative paths of the .ts files they name. */
function localImports(f: (typeof files)[number]): string[] {
  return f.imports.filter((s) => s.startsWith('.')).map((s) => relative(srcRoot, resolve(dirname(f.file), s.replace(/\.js$/, '.ts'))));
}

/** Source text without comments (a comment may name process.env; only code counts). */
function codeOf(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Strongly connected components of more than one module (or a module importing itself): the circles. */
function importCircles(): string[][] {
  const graph = new Map(files.map((f) => [relative(srcRoot, f.file), localImports(f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) circles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles.map((c) => c).sort();
}

describe('layering', () => {
  it('keeps formats/ pure: no fs, network, processes or process globals', () => {
    const bad = files
      .filter((f) => f.stage === 'formats')
      .flatMap((f) => f.imports.filter((s) => /^(node:)?(fs|fs\/promises|child_process|net|http|https)$|^undici/.test(s)).map((s) => `${relative(srcRoot, f.file)} imports ${s}`));
    expect(bad).toEqual([]);
  });

  it('lets only download/ import undici', () => {
    const bad = files.filter((f) => f.stage !== 'download' && f.imports.some((s) => s.startsWith('undici'))).map((f) => relative(srcRoot, f.file));
    expect(bad).toEqual([]);
  });

  it('lets only analyze/ spawn processes', () => {
    const bad = files
      .filter((f) => f.stage !== 'analyze' && f.imports.some((s) => /^(node:)?child_process$/.test(s)))
      .map((f) => relative(srcRoot, f.file));
    expect(bad).toEqual([]);
  });

  it('keeps stages and core from importing the CLI', () => {
    const bad = files
      .filter((f) => f.stage !== 'cli' && f.imports.some((s) => /\/cli\//.test(s)))
      .map((f) => relative(srcRoot, f.file));
    expect(bad).toEqual([]);
  });

  it('lets klog/ (the log reader) build only on core/, formats/ and identify/', () => {
    const bad = files
      .filter((f) => f.stage === 'klog')
      .flatMap((f) => f.imports.filter((s) => s.startsWith('../') && !/^\.\.\/(core|formats|identify)\//.test(s)).map((s) => `${relative(srcRoot, f.file)} imports ${s}`));
    expect(bad).toEqual([]);
  });

  it('keeps core/ free of stage imports', () => {
    const bad = files
      .filter((f) => f.stage === 'core' && f.imports.some((s) => s.startsWith('../') && !s.startsWith('../core')))
      .map((f) => relative(srcRoot, f.file));
    expect(bad).toEqual([]);
  });

  it('puts every top-level module in a layer', () => {
    expect([...new Set(files.map((f) => f.stage))].filter((s) => layerOf(s) < 0)).toEqual([]);
  });

  it('lets imports flow one way: no module imports a layer above its own', () => {
    const bad = files.flatMap((f) =>
      localImports(f)
        .filter((to) => layerOf(to.split('/')[0]!) > layerOf(f.stage))
        .map((to) => `${relative(srcRoot, f.file)} imports ${to}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps the pipeline below serve/ and cli/, and serve/ below cli/', () => {
    const bad = files
      .filter((f) => layerOf(f.stage) < layerOf('serve') && f.imports.some((s) => /\/(serve|cli)\//.test(s)))
      .concat(files.filter((f) => layerOf(f.stage) < layerOf('pipeline') && f.imports.some((s) => /\/pipeline\//.test(s))))
      .map((f) => relative(srcRoot, f.file));
    expect(bad).toEqual([]);
  });

  it('has no import circles anywhere in src/ (static, dynamic and type-only imports alike)', () => {
    expect(importCircles()).toEqual([]);
  });

  it('keeps every module at 400 lines or fewer (one concept per room)', () => {
    const long = files.map((f) => ({ file: relative(srcRoot, f.file), lines: readFileSync(f.file, 'utf8').split('\n').length })).filter((f) => f.lines > 401);
    expect(long).toEqual([]);
  });

  it('writes to stdout/stderr and reads argv and the environment only in cli/ (and core/env.ts reads the environment)', () => {
    const bad = files
      .filter((f) => f.stage !== 'cli')
      .flatMap((f) => {
        const rel = relative(srcRoot, f.file);
        const code = codeOf(f.file);
        const hits = [...code.matchAll(/\bprocess\.(stdout|stderr|argv|env)\b|\bconsole\.[a-z]+\b/g)].map((m) => m[0]);
        return hits.filter((h) => !(rel === 'core/env.ts' && h === 'process.env')).map((h) => `${rel} uses ${h}`);
      });
    expect(bad).toEqual([]);
  });
});
