// verify: the vmlinux's linux_banner (symbol table → .rodata) and build-id note against the dump.
// Real parts: Debian's -dbg vmlinux (extracted by kdbg, fixture 40), D's QEMU dumps (fixture 30),
// and a small ELF that gcc compiles here with another kernel's banner (the "wrong vmlinux").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MismatchError } from '../../src/core/errors.js';
import { identifyDump } from '../../src/identify/index.js';
import { buildIdUnreliable, compareIdentities, readVmlinuxIdentity, upstreamVersion, verifyVmlinux } from '../../src/verify/index.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';


function readelfBuildId(path: string): string {
  const out = execFileSync('readelf', ['-n', path], { encoding: 'utf8' });
  return /Build ID: ([0-9a-f]+)/.exec(out)![1]!;
}

function stringsBanners(path: string): string[] {
  // Every "Linux version " string in the file, as binutils' strings sees them (the vmlinux also
  // holds a "#"-without-build-number copy in init data; the symbol picks the real one).
  const out = execFileSync('sh', ['-c', `strings -n 20 '${path}' | grep '^Linux version '`], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

describe('verify against the real Debian vmlinux', () => {
  let vmlinux: string;
  let dump: string;
  beforeAll(() => {
    vmlinux = debianVmlinux().path;
    dump = requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib');
  });

  it('reads linux_banner and the build-id as binutils sees them', async () => {
    const t = Date.now();
    const id = await readVmlinuxIdentity(vmlinux);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(id.buildId).toBe(readelfBuildId(vmlinux));
    expect(id.buildId).toBe(debianVmlinux().buildId);
    expect(id.release).toBe(debianVmlinux().release);
    expect(stringsBanners(vmlinux)).toContain(id.banner);
    expect(id.banner).toMatch(/#\d+ /);
    expect(id.release).toBe(id.banner!.split(' ')[2]);
  });

  it('accepts the dump it belongs to (release and build-id match)', async () => {
    const d = await identifyDump(dump);
    const { result } = await verifyVmlinux({ ...d, path: dump }, vmlinux);
    expect(result.ok).toBe(true);
    expect(result.checks.find((c) => c.kind === 'build-id')?.status).toBe('match');
    expect(result.checks.find((c) => c.kind === 'release')?.status).toBe('match');
  });

  it('refuses another kernel\'s vmlinux with both values shown; --force runs anyway', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-verify-'));
    const src = join(dir, 'banner.c');
    writeFileSync(src, 'const char linux_banner[] = "Linux version 5.10.0-99-amd64 (someone@elsewhere) (gcc) #1 SMP Debian 5.10.200-1 (2024-01-01)\\n";\nint main(void) { return linux_banner[0]; }\n');
    const other = join(dir, 'vmlinux-other');
    execFileSync('gcc', ['-O0', '-Wl,--build-id', '-o', other, src]);
    const d = await identifyDump(dump);
    const err = await verifyVmlinux({ ...d, path: dump }, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MismatchError);
    const m = err as MismatchError;
    expect(m.exitCode).toBe(67);
    expect(m.message).toContain(`dump "${d.release}"`);
    expect(m.message).toContain('vmlinux "5.10.0-99-amd64"');
    expect(m.message).toContain(readelfBuildId(other));
    const forced = await verifyVmlinux({ ...d, path: dump }, other, { force: true });
    expect(forced.result.forced).toBe(true);
    expect(forced.result.warnings.join(' ')).toMatch(/--force/);
  });
});

describe('build-id reliability rules (mirrors.md §0 item 5)', () => {
  it('knows the stable ranges with a wrong VMCOREINFO BUILD-ID', () => {
    expect(buildIdUnreliable('6.1.115-generic')).toMatch(/6\.1\.115/);
    expect(buildIdUnreliable('6.1.119')).toBeNull();
    expect(buildIdUnreliable('6.6.60')).not.toBeNull();
    expect(buildIdUnreliable('6.10.14')).not.toBeNull();
    expect(buildIdUnreliable('6.11.10')).toBeNull();
    expect(buildIdUnreliable('5.15.170-1')).not.toBeNull();
    // Debian's release string hides the stable version: the banner tells it.
    expect(buildIdUnreliable('6.1.0-27-amd64', 'Linux version 6.1.0-27-amd64 … Debian 6.1.115-1 (2024-11-01)')).not.toBeNull();
    expect(upstreamVersion('6.1.0-56-amd64', 'x Debian 6.1.192-2 (2026)')).toBe('6.1.192');
  });
  it('knows the UEK builds whose vmlinux build-id differs', () => {
    expect(buildIdUnreliable('4.1.12-124.48.6.el7uek.x86_64')).toMatch(/UEK4/);
    expect(buildIdUnreliable('4.14.35-2047.528.2.1.el7uek.x86_64')).toMatch(/UEK5/);
    expect(buildIdUnreliable('4.14.35-2047.540.4.el7uek.x86_64')).toBeNull();
    expect(buildIdUnreliable('5.4.17-2136.300.7.el8uek.x86_64')).toMatch(/UEK6/);
    expect(buildIdUnreliable('5.4.17-2136.332.2.el8uek.x86_64')).toBeNull();
  });
  it('skips (with a warning) instead of refusing when the BUILD-ID is known bad', () => {
    const vm = { path: 'v', banner: 'Linux version 4.1.12-124.48.6.el7uek.x86_64 (x)', release: '4.1.12-124.48.6.el7uek.x86_64', buildId: 'aa', notes: [] };
    const r = compareIdentities({ release: '4.1.12-124.48.6.el7uek.x86_64', buildId: 'bb', banner: null }, vm);
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.kind === 'build-id')?.status).toBe('skipped');
    expect(r.warnings[0]).toMatch(/UEK4/);
  });
});
