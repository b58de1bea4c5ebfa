// `kdbg identify` as a user runs it (node bin/kdbg.js, built by `npm run build`): the JSON
// contract on a real dump, standard input, and one-line errors with the documented exit codes.
import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildElfVmcore, buildKdump, el7Vmcoreinfo, prstatus, vmcoreinfoText } from '../builders/vmcore.js';
import { fixturePath, requireFixture, vmcoreKernel } from '../helpers/fixtures.js';

const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as {
  dumps: { file: string; format: string; expected: { release: string; buildId: string | null } }[];
};
const dir = mkdtempSync(join(tmpdir(), 'kdbg-cli-identify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const repoRoot = join(import.meta.dirname, '..', '..');

function isolatedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('KDBG_') && k !== 'KDBG_FIXTURES') delete env[k];
  return env;
}

function runKdbg(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, 0);
  closeSync(fd);
  return b.subarray(0, got);
}

/** One line naming the file, no stack trace. */
function expectOneLineError(stderr: string, file: string): void {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('hint:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toContain('internal error');
}

describe('kdbg identify (CLI)', () => {
  it('--json prints the documented object for a real kdump-compressed dump', async () => {
    const d = manifest.dumps.find((x) => x.file === 'sysrq/vmcore.kdump-zlib')!;
    const r = await runKdbg(['identify', '--json', fixturePath('vmcores', d.file)], isolatedEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['format', 'release', 'arch', 'buildId', 'crashTime', 'pageSize', 'kernelOffset', 'banner', 'source', 'vmcoreinfo']) expect(j).toHaveProperty(k);
    expect(j).toMatchObject({ format: 'kdump-compressed', release: d.expected.release, buildId: d.expected.buildId, source: 'vmcoreinfo', arch: 'x86_64', pageSize: 4096, packageVersion: vmcoreKernel().packageVersion });
    expect((j['vmcoreinfo'] as Record<string, string>)['OSRELEASE']).toBe(d.expected.release);
  });

  it('prints a human summary naming the kernel', async () => {
    const d = manifest.dumps.find((x) => x.file === 'sysrq/vmcore.qemu.elf')!;
    const r = await runKdbg(['identify', fixturePath('vmcores', d.file)], isolatedEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`release:\\s+${d.expected.release.replace(/\./g, '\\.')}`));
    expect(r.stdout).toContain(d.expected.buildId!);
  });

  it("reads a flattened dump from standard input ('-')", async () => {
    const d = manifest.dumps.find((x) => x.file === 'sysrq/vmcore.kdump-zlib.flat')!;
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), 'identify', '--json', '-'], { cwd: repoRoot, env: isolatedEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // kdbg stops reading once it has the headers: the writer then sees EPIPE, which is fine.
    child.stdin.on('error', () => {});
    createReadStream(fixturePath('vmcores', d.file)).pipe(child.stdin);
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ format: 'flattened', release: d.expected.release, path: '-' });
  });

  it('reads a dump through a pipe path, e.g. <(zcat vmcore.gz)', async () => {
    const d = manifest.dumps.find((x) => x.file === 'oops/vmcore.kdump-lzo')!;
    const child = spawn('bash', ['-c', `"${process.execPath}" bin/kdbg.js identify --json <(cat "$0")`, fixturePath('vmcores', d.file)], { cwd: repoRoot, env: isolatedEnv() });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ format: 'kdump-compressed', compression: 'lzo', release: d.expected.release, buildId: d.expected.buildId });
  });

  const kdumpHead = head(fixturePath('vmcores', 'sysrq', 'vmcore.kdump-zlib'), 300);
  const absurd = buildElfVmcore({ notes: [prstatus(), { name: 'VMCOREINFO', type: 0, desc: vmcoreinfoText(el7Vmcoreinfo()) }] });
  // n_descsz of the first note → 0x7fffffff.
  new DataView(absurd.buffer).setUint32(4096 + 4, 0x7fffffff, true);
  const bad: [string, () => string, number, RegExp][] = [
    ['not a dump', () => write('notadump.bin', Buffer.from('this is just some text file\x00\x01\x02 with binary')), 65, /not a crash dump/],
    ['truncated kdump header', () => write('truncated.kdump', kdumpHead), 65, /truncated/],
    ['absurd note size', () => write('absurd-note.elf', Buffer.from(absurd)), 65, /n_descsz is 2147483647 at offset 4100/],
    ['0-byte file', () => write('empty.vmcore', Buffer.alloc(0)), 65, /empty/],
    ['a directory', () => {
      const p = join(dir, 'a-directory');
      mkdirSync(p, { recursive: true });
      return p;
    }, 66, /is a directory/],
    ['missing file', () => join(dir, 'no-such-vmcore'), 66, /no such dump file/],
    ['kdump with absurd size_vmcoreinfo', () => {
      const k = buildKdump({ utsname: { release: '3.10.0-327.el7.x86_64' }, vmcoreinfo: vmcoreinfoText(el7Vmcoreinfo()) });
      new DataView(k.buffer).setBigUint64(4096 + 40, 1n << 40n, true);
      return write('absurd-vmcoreinfo.kdump', Buffer.from(k));
    }, 65, /size_vmcoreinfo is 1099511627776 at offset 4136/],
    ['a corrupt gzip-compressed dump', () => write('vmcore.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4])), 65, /gzip/],
  ];
  function write(name: string, b: Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  }
  for (const [what, make, code, re] of bad) {
    it(`bad input: ${what} → exit ${code}, one line`, async () => {
      const f = make();
      const r = await runKdbg(['identify', f], isolatedEnv());
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      expectOneLineError(r.stderr, f);
      expect(r.stderr).toMatch(re);
    });
  }
});
