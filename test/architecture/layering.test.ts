// The layering rules of ARCHITECTURE.md, checked on the source text: formats/ is pure, only
// download/ talks HTTP, only analyze/ spawns processes, stages do not reach into the CLI.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
  return specs;
}

const files = sourceFiles(srcRoot).map((f) => ({ file: f, stage: relative(srcRoot, f).split('/')[0]!, imports: importsOf(f) }));

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
});
