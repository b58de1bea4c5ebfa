// `kdbg identify` without yargs (parseFastIdentifyArgs/tryFastIdentify in
// src/cli/commands/identify.ts): its grammar agrees with yargs wherever it answers, and the built
// CLI prints exactly what the ordinary path (KDBG_NO_FAST_PATH=1) prints, with the same exit code,
// on real QEMU/makedumpfile dumps of every format (scripts/fixtures/30-vmcores.sh), on a dump
// without a release, on a missing file and on a file that is not a dump — loading no yargs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifyCommand, parseFastIdentifyArgs } from '../../src/cli/commands/identify.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';
import { cleanupTmp, isolatedEnv, moduleLogHooks, repoRoot, runKdbg, tmpDir } from './fetch-cli.js';

/** What yargs makes of `kdbg identify …args` with the real command's builder (handler not run). */
async function yargsIdentifyArgs(args: string[]): Promise<{ dump: string; json: boolean } | Error> {
  let got: { dump: string; json: boolean } | undefined;
  try {
    await yargs(['identify', ...args])
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .command({ ...identifyCommand, handler: (a: { dump: string; json: boolean }) => void (got = { dump: a.dump, json: a.json }) })
      .parseAsync();
  } catch (e) {
    return e as Error;
  }
  return got ?? new Error('handler not reached');
}

describe('parseFastIdentifyArgs', () => {
  it('reads every answered form exactly as yargs does', async () => {
    for (const args of [['/var/crash/vmcore'], ['--json', 'vmcore'], ['vmcore', '--json'], ['a b c'], ['vmcore.1'], ['12345']]) {
      const fast = parseFastIdentifyArgs(args);
      expect(fast, args.join(' ')).not.toBeNull();
      expect(await yargsIdentifyArgs(args), args.join(' ')).toEqual(fast);
    }
    // '-' is standard input on both paths: yargs hands it over as '', which the command reads as '-'.
    expect(parseFastIdentifyArgs(['-'])).toEqual({ dump: '-', json: false });
    expect(await yargsIdentifyArgs(['-'])).toEqual({ dump: '', json: false });
  });

  it('declines everything else', async () => {
    for (const args of [[], ['a', 'b'], ['--json'], ['--json', 'true', 'x'], ['--json', 'false', 'x'], ['--json', '--json', 'x'], ['--json=true', 'x'], ['--no-json', 'x'], ['--help'], ['-h'], ['x', '--jsn'], [''], ['--', 'x'], ['x', '--version']]) {
      expect(parseFastIdentifyArgs(args), JSON.stringify(args)).toBeNull();
    }
    // The forms with a flag value really are read differently by yargs: no dump is left.
    expect(await yargsIdentifyArgs(['--json', 'true'])).toBeInstanceOf(Error);
  });
});

describe('kdbg identify fast path (built CLI, real dumps)', () => {
  const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as { dumps: { file: string; format: string }[] };
  let hooks: string;

  beforeAll(() => {
    hooks = moduleLogHooks(); // every module URL the child resolves goes to KDBG_TEST_MODULE_LOG
  });
  afterAll(() => cleanupTmp());

  async function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
    const log = join(tmpDir('kdbg-modlog-out-'), 'modules.txt');
    writeFileSync(log, '');
    const r = await runKdbg(args, isolatedEnv({ NODE_OPTIONS: `--import=${hooks}`, KDBG_TEST_MODULE_LOG: log, ...extra }));
    const modules = [...new Set(readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')).map((u) => relative(repoRoot, new URL(u).pathname)))];
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, modules };
  }

  it('prints what the yargs path prints, for one dump of every format, without loading yargs', async () => {
    const formats = new Map<string, string>();
    for (const d of manifest.dumps) if (!formats.has(d.format)) formats.set(d.format, d.file);
    // Both producers of flattened files, and a dump whose release only the banner scan finds.
    for (const f of ['sysrq/vmcore.kdump-zlib.flat', 'sysrq/vmcore.elf.flat', 'sysrq-novmcoreinfo/vmcore.qemu-kdump-zlib.flat']) formats.set(f, f);
    expect([...formats.keys()]).toEqual(expect.arrayContaining(['elf64', 'kdump-compressed', 'flattened', 'split', 'dmesg']));
    for (const file of formats.values()) {
      for (const json of [[], ['--json']]) {
        const args = ['identify', ...json, fixturePath('vmcores', file)];
        const fast = await run(args);
        const slow = await run(args, { KDBG_NO_FAST_PATH: '1' });
        expect(fast.code, file).toBe(0);
        expect({ ...fast, modules: [] }, `${file} ${json.join('')}`).toEqual({ ...slow, modules: [] });
        expect(slow.modules.some((m) => m.includes('node_modules/yargs/'))).toBe(true);
        expect(fast.modules.filter((m) => m.includes('node_modules/yargs') || m.includes('dist/cli/commands/index.js'))).toEqual([]);
      }
    }
  });

  it('keeps the exit codes and one-line messages of the yargs path for bad input', async () => {
    const dir = tmpDir('kdbg-identify-fast-');
    const notDump = join(dir, 'not-a-dump.bin');
    writeFileSync(notDump, Buffer.alloc(8192, 0x41));
    const empty = join(dir, 'empty-dmesg.txt');
    writeFileSync(empty, 'no banner here\n');
    for (const p of [join(dir, 'missing'), notDump, dir, empty]) {
      const fast = await run(['identify', p]);
      const slow = await run(['identify', p], { KDBG_NO_FAST_PATH: '1' });
      expect(fast.code, p).not.toBe(0);
      expect({ ...fast, modules: [] }, p).toEqual({ ...slow, modules: [] });
    }
  });
});
