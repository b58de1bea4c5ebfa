// The bundled fast path of `kdbg log` (bin/kdbg.js + dist/fast/kdbg-fast.cjs, built by
// scripts/build-fast.mjs): on real dumps it prints what the ES-module path prints
// (KDBG_NO_FAST_PATH=1), with the same exit code and stderr, for every flag form and for bad
// input; it loads none of dist/'s ES modules; it writes its code cache once and survives a cache
// V8 rejects; and without the bundle the command still runs, from dist/.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFastLogArgs } from '../../src/cli/commands/log.js';
import { fixturePath } from '../helpers/fixtures.js';
import { cleanupTmp, isolatedEnv, moduleLogHooks, repoRoot, runKdbg, tmpDir } from './fetch-cli.js';

const fastDir = join(repoRoot, 'dist', 'fast');

describe('kdbg log through the bundled fast path (built CLI, real dumps)', () => {
  let hooks: string;

  beforeAll(() => {
    hooks = moduleLogHooks(); // every module URL the child resolves goes to KDBG_TEST_MODULE_LOG
  });
  afterAll(() => cleanupTmp());

  async function run(args: string[], extra: Record<string, string> = {}, bin?: string): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
    const log = join(tmpDir('kdbg-modlog-out-'), 'modules.txt');
    writeFileSync(log, '');
    const env = isolatedEnv({ NODE_OPTIONS: `--import=${hooks}`, KDBG_TEST_MODULE_LOG: log, ...extra });
    const r = bin ? await runWith(bin, args, env) : await runKdbg(args, env);
    const modules = [...new Set(readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')).map((u) => relative(repoRoot, new URL(u).pathname)))];
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, modules };
  }

  it('the bundle was built, and answers every flag form the fast parser reads as the ES-module path does', async () => {
    expect(existsSync(join(fastDir, 'kdbg-fast.cjs'))).toBe(true);
    const dumps = ['oops/vmcore.kdump-zlib', 'sysrq/vmcore.elf', 'sysrq/vmcore.qemu-kdump-zlib.flat', 'sysrq/vmcore.split-2'];
    const forms = [[], ['--json'], ['--tail', '3'], ['--tail=0'], ['--level', '0', '--json'], ['--caller'], ['--oops'], ['--oops', '--json']];
    for (const file of dumps) {
      for (const form of file === dumps[0] ? forms : [[]]) {
        const args = ['log', ...form, fixturePath('vmcores', ...file.split('/'))];
        expect(parseFastLogArgs(args.slice(1)), args.join(' ')).not.toBeNull();
        const fast = await run(args);
        const slow = await run(args, { KDBG_NO_FAST_PATH: '1' });
        expect(fast.code, `${file} ${form.join(' ')}`).toBe(0);
        expect({ ...fast, modules: [] }, `${file} ${form.join(' ')}`).toEqual({ ...slow, modules: [] });
        // The ES-module path loads dist/'s modules; the bundle loads none of them.
        expect(slow.modules.some((m) => m.startsWith('dist/klog/'))).toBe(true);
        expect(fast.modules.filter((m) => m.startsWith('dist/'))).toEqual([]);
      }
    }
  }, 300_000);

  it('keeps the exit codes and one-line messages for bad input', async () => {
    const dir = tmpDir('kdbg-log-fast-');
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not a dump at all\n'.repeat(10));
    const cases = [[join(dir, 'missing')], [junk], [fixturePath('vmcores', 'sysrq', 'vmcore-dmesg.txt')], [fixturePath('vmcores', 'sysrq-novmcoreinfo', 'vmcore.qemu.elf')], ['--tail', 'x', junk], ['--bogus', junk], ['--level', '9', junk]];
    for (const c of cases) {
      const fast = await run(['log', ...c]);
      const slow = await run(['log', ...c], { KDBG_NO_FAST_PATH: '1' });
      expect(fast.code, c.join(' ')).not.toBe(0);
      expect({ ...fast, modules: [] }, c.join(' ')).toEqual({ ...slow, modules: [] });
    }
  }, 300_000);

  it('writes its code cache once, and a cache V8 rejects only costs a recompile', async () => {
    const file = fixturePath('vmcores', 'oops', 'vmcore.kdump-zlib');
    const want = await runKdbg(['log', file], isolatedEnv());
    // One cache per kind of dump (bin/kdbg.js dumpKind): this zlib kdump's is `kdump-1`.
    const caches = (): string[] => readdirSync(fastDir).filter((n) => n.startsWith('kdbg-fast-') && n.includes('-log-kdump-1-v') && n.endsWith('.v8cache'));
    expect(caches()).toHaveLength(1);
    const cache = join(fastDir, caches()[0]!);
    const good = readFileSync(cache);
    writeFileSync(cache, Buffer.alloc(good.length, 0x5a));
    const r = await runKdbg(['log', file], isolatedEnv());
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: want.code, stdout: want.stdout, stderr: want.stderr });
    // Rejected, so written again: V8 accepts it on the next run (it is not the garbage any more).
    expect(readFileSync(cache).equals(Buffer.alloc(good.length, 0x5a))).toBe(false);
    expect(caches()).toHaveLength(1);
  }, 120_000);

  it('keeps one code cache per kind of dump, each holding the functions of its own kind', async () => {
    const kinds = { elf: ['sysrq', 'vmcore.elf'], 'kdump-1': ['sysrq', 'vmcore.kdump-zlib'], 'kdump-2': ['sysrq', 'vmcore.kdump-lzo'], 'kdump-1-split': ['sysrq', 'vmcore.split-1'], flat: ['sysrq', 'vmcore.qemu-kdump-zlib.flat'] };
    const names = new Set<string>();
    for (const [kind, file] of Object.entries(kinds)) {
      const r = await runKdbg(['log', fixturePath('vmcores', ...file)], isolatedEnv());
      expect(r.code, kind).toBe(0);
      const n = readdirSync(fastDir).filter((x) => x.includes(`-log-${kind}-v`) && x.endsWith('.v8cache'));
      expect(n, kind).toHaveLength(1);
      names.add(n[0]!);
    }
    expect(names.size).toBe(Object.keys(kinds).length);
    // The LZO kdump's cache holds the LZO decoder, which the ELF dump's never compiled. Compared
    // between caches this test writes itself with the same plain `kdbg log`: a cache holds what
    // the run that wrote it compiled, and another test file's `--json` or `--oops` run on the ELF
    // dump may have written the one found (a fresh clone's CI run did).
    const cacheOf = (kind: string): string => join(fastDir, [...names].find((x) => x.includes(`-log-${kind}-v`))!);
    const size = async (kind: string): Promise<number> => {
      rmSync(cacheOf(kind), { force: true });
      expect((await runKdbg(['log', fixturePath('vmcores', ...kinds[kind as keyof typeof kinds])], isolatedEnv())).code).toBe(0);
      return readFileSync(cacheOf(kind)).length;
    };
    expect(await size('kdump-2')).toBeGreaterThan(await size('elf'));
  }, 120_000);

  it('ends with process.exit only once every byte is out: a non-blocking pipe read late still gets the whole log', async () => {
    // A pipe of one page, made non-blocking on the writer's side and read only after a second:
    // writeSync meets EAGAIN, the rest is queued on process.stdout, and the launcher must then let
    // node exit on its own (an early process.exit() cut the output at the pipe's capacity).
    const { spawnSync } = await import('node:child_process');
    const py = [
      'import fcntl, hashlib, os, subprocess, sys, time',
      'r, w = os.pipe()',
      'fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ',
      'fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)',
      'p = subprocess.Popen(sys.argv[1:], stdout=w)',
      'os.close(w)',
      'time.sleep(1)',
      'out = b""',
      'while True:',
      '    b = os.read(r, 65536)',
      '    if not b: break',
      '    out += b',
      'print(p.wait(), len(out), hashlib.sha256(out).hexdigest())',
    ].join('\n');
    const file = fixturePath('vmcores', 'sysrq', 'vmcore.elf');
    const whole = await run(['log', '--json', file]);
    expect(whole.code).toBe(0);
    const bytes = Buffer.from(whole.stdout, 'utf8');
    expect(bytes.length).toBeGreaterThan(4096 * 4);
    const r = spawnSync('python3', ['-c', py, process.execPath, join(repoRoot, 'bin', 'kdbg.js'), 'log', '--json', file], { encoding: 'utf8', env: isolatedEnv() });
    expect(r.stderr).toBe('');
    const { createHash } = await import('node:crypto');
    expect(r.stdout.trim()).toBe(`0 ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`);
  }, 120_000);

  it('without the bundle (built by tsc alone) the command runs from dist/, the same bytes', async () => {
    // A copy of the launcher beside a dist/ that has every entry but fast/.
    const root = tmpDir('kdbg-nobundle-');
    cpSync(join(repoRoot, 'bin'), join(root, 'bin'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
    mkdirSync(join(root, 'dist'));
    for (const n of readdirSync(join(repoRoot, 'dist'))) if (n !== 'fast') symlinkSync(join(repoRoot, 'dist', n), join(root, 'dist', n));
    const file = fixturePath('vmcores', 'sysrq', 'vmcore.kdump-zlib');
    const without = await run(['log', file], {}, join(root, 'bin', 'kdbg.js'));
    const withBundle = await run(['log', file]);
    expect(without.code).toBe(0);
    expect(without.stdout).toBe(withBundle.stdout);
    expect(without.modules.some((m) => m.startsWith('dist/klog/'))).toBe(true);
  }, 120_000);
});

/** `node BIN args…` with `env`, as runKdbg runs the repository's bin/kdbg.js. */
async function runWith(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
