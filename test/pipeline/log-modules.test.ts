// Why an el7 fetch can take a dump's modules in the vmlinux's pass (pipeline/fetch/same-pass.ts):
// the dump's own log, read with VMCOREINFO alone before any vmlinux, names the modules crash's
// `mod` later lists. Checked on the real QEMU dumps (scripts/fixtures/30-vmcores.sh) against the
// `mod` crash printed on them (test/fixtures/crash/8.0.6, recorded by scripts/record-crash-transcripts.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstLook } from '../../src/klog/index.js';
import { parseMod } from '../../src/analyze/parsers/mod.js';
import { outputOf, splitTranscript } from '../../src/analyze/transcript.js';
import { fixturesRoot } from '../helpers/fixtures.js';

const transcript = (kind: string): string => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'crash', '8.0.6', `${kind}.txt`), 'utf8');

const logModules = async (kind: string): Promise<string[] | null> => {
  const look = await firstLook(join(fixturesRoot, 'vmcores', kind, 'vmcore.kdump-zlib'));
  return look?.oops.modules ? look.oops.modules.map((m) => m.name).sort() : null;
};
const crashModules = (kind: string): string[] => {
  const sections = splitTranscript(transcript(kind));
  const mod = sections.filter((s) => /^mod(?: |$)/.test(s.command)).at(-1);
  expect(mod && outputOf(sections, mod.command)).toBeTruthy();
  return parseMod(mod!.output).map((r) => r.name).sort();
};

describe("the dump's log names its modules before the fetch", () => {
  it('oops: "Modules linked in:" lists exactly the modules crash `mod` lists', async () => {
    const fromCrash = crashModules('oops');
    expect(fromCrash.length).toBeGreaterThan(0);
    expect(await logModules('oops')).toEqual(fromCrash);
  });

  // A bare panic() (sysrq-c on this kernel, an NMI panic) prints a stack but no module list: those
  // dumps' modules are known only from `mod`, after the vmlinux, and an el7 package is decoded
  // again for them (docs/analyze.md). Whatever a log does list must be among `mod`'s.
  it.each(['oops', 'sysrq', 'nmi'])('%s: every module the log names is one crash `mod` lists', async (kind) => {
    const fromLog = await logModules(kind);
    const fromCrash = crashModules(kind);
    for (const n of fromLog ?? []) expect(fromCrash).toContain(n);
    console.log(`${kind}: the log names ${fromLog === null ? 'no modules (no "Modules linked in:")' : fromLog.join(' ')}; crash mod: ${fromCrash.join(' ')}`);
  });
});
