// kdbg doctor on hosts that are not ready: a cache that cannot be written (as root, which ignores
// mode bits: a regular file where the cache keeps its tmp/ directory, and, where this machine
// lets us mount, a read-only tmpfs), a cache that would outgrow the disk, a shared cache whose
// directories lost the group bits, and entitled yum repositories whose client certificates
// (real ones, made by openssl) expire or expired.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor, type DoctorReport } from '../../src/pipeline/doctor.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';

afterAll(() => cleanupTmp());

function canMount(): boolean {
  const d = tmpDir('kdbg-mnt-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', d], { stdio: 'ignore' });
    execFileSync('umount', [d]);
    return true;
  } catch {
    return false;
  }
}

describe('kdbg doctor: the cache', () => {
  it('a regular file where the cache writes tmp/: one problem line with the fix, exit 3', async () => {
    const cache = tmpDir('kdbg-doc-cache-');
    writeFileSync(join(cache, 'tmp'), 'not a directory\n');
    const r = await runKdbg(['doctor', '--cache-dir', cache, '--config', loopbackOnlyConfig()]);
    expect(r.code).toBe(3);
    const line = r.stdout.split('\n').find((l) => l.startsWith('PROBLEM  cache '))!;
    expect(line).toContain(`the cache cannot be written: ENOTDIR on ${cache}/tmp`);
    const fix = r.stdout.split('\n')[r.stdout.split('\n').indexOf(line) + 1]!;
    expect(fix).toMatch(new RegExp(`^\\s+fix: mv ${cache}/tmp ${cache}/tmp\\.not-a-dir && mkdir -p ${cache}/tmp$`));
    // The fix, run, fixes it.
    execFileSync('sh', ['-c', fix.replace(/^\s+fix: /, '')]);
    const again = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--config', loopbackOnlyConfig()]);
    expect((JSON.parse(again.stdout) as DoctorReport).checks.find((c) => c.id === 'cache')?.status).toBe('ok');
  });

  it.runIf(canMount())('a cache on a read-only filesystem (tmpfs mounted ro): EROFS, even for root', async () => {
    const cache = tmpDir('kdbg-doc-ro-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', cache]);
    try {
      const r = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--config', loopbackOnlyConfig()]);
      expect(r.code).toBe(3);
      const c = (JSON.parse(r.stdout) as DoctorReport).checks.find((x) => x.id === 'cache')!;
      expect(c).toMatchObject({ status: 'problem', subject: cache });
      expect(c.message).toMatch(/EROFS/);
      expect(c.fix).toMatch(/--cache-dir|remount,rw/);
    } finally {
      execFileSync('umount', [cache]);
    }
  });

  it('a --max-size the disk cannot hold is a problem; the fix prunes to what fits', async () => {
    const cache = tmpDir('kdbg-doc-disk-');
    const r = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--config', loopbackOnlyConfig(), '--max-size', '100000T']);
    const c = (JSON.parse(r.stdout) as DoctorReport).checks.find((x) => x.id === 'disk')!;
    expect(c.status).toBe('problem');
    expect(c.fix).toMatch(new RegExp(`^kdbg cache prune --cache-dir ${cache} --max-size \\d+G$`));
    const ok = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--config', loopbackOnlyConfig(), '--max-size', '1M']);
    expect((JSON.parse(ok.stdout) as DoctorReport).checks.find((x) => x.id === 'disk')?.status).toBe('ok');
  });

  it('a shared (group-writable) cache with a directory that lost g+ws', async () => {
    const cache = tmpDir('kdbg-doc-grp-');
    // An entry published by someone whose umask dropped the group bits.
    mkdirSync(join(cache, 'releases', '6.1.0-0-amd64'), { recursive: true });
    chmodSync(cache, 0o2775);
    chmodSync(join(cache, 'releases'), 0o2775);
    chmodSync(join(cache, 'releases', '6.1.0-0-amd64'), 0o755);
    const r = await doctor({ cacheDir: cache, configFile: loopbackOnlyConfig(), env: { PATH: process.env['PATH'] } });
    const g = r.checks.find((x) => x.id === 'cache-group')!;
    expect(g.status).toBe('problem');
    expect(g.message).toContain(join(cache, 'releases', '6.1.0-0-amd64'));
    execFileSync('sh', ['-c', g.fix!]);
    const again = await doctor({ cacheDir: cache, configFile: loopbackOnlyConfig(), env: { PATH: process.env['PATH'] } });
    expect(again.checks.find((x) => x.id === 'cache-group')?.status).toBe('ok');
  });
});

describe('kdbg doctor: entitled repositories', () => {
  it('reads sslclientcert of enabled yum repos: expiring soon is a warning, expired a problem, both with the fix', async () => {
    const etc = tmpDir('kdbg-doc-etc-');
    mkdirSync(join(etc, 'yum.repos.d'));
    writeFileSync(join(etc, 'os-release'), 'ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n');
    const key = join(etc, 'key.pem');
    const cert = join(etc, 'entitlement.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3', '-subj', '/CN=kdbg-entitlement'], { stdio: 'ignore' });
    writeFileSync(
      join(etc, 'yum.repos.d', 'redhat.repo'),
      `[rhel-9-debug-rpms]\nname=debug\nbaseurl=http://127.0.0.1:9/debug\nenabled=1\nsslclientcert=${cert}\nsslclientkey=${key}\n\n[disabled]\nbaseurl=http://127.0.0.1:9/x\nenabled=0\nsslclientcert=${join(etc, 'missing.pem')}\n`,
    );
    const base = { cacheDir: tmpDir('kdbg-doc-c-'), configFile: loopbackOnlyConfig(), etcRoot: etc, env: { PATH: process.env['PATH'] }, timeoutMs: 1000 };
    const soon = await doctor(base);
    expect(soon.host.id).toBe('rhel');
    const c = soon.checks.filter((x) => x.id === 'certificate');
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ status: 'warning', subject: cert });
    expect(c[0]!.message).toMatch(/\[rhel-9-debug-rpms\] in redhat\.repo: the client certificate expires in 2 days/);
    expect(c[0]!.fix).toMatch(/^subscription-manager refresh/);
    const later = await doctor({ ...base, now: new Date(Date.now() + 5 * 86_400_000) });
    expect(later.checks.find((x) => x.id === 'certificate')).toMatchObject({ status: 'problem' });
    expect(later.checks.find((x) => x.id === 'certificate')!.message).toMatch(/expired on/);
    // The fixes speak this distribution: dnf, not apt-get (whichever checks need a fix on this
    // host: drgn is missing on a bare CI machine and present on a developer's).
    const fixes = later.checks.filter((x) => x.fix && /install/.test(x.fix)).map((x) => x.fix!);
    for (const f of fixes) expect(f).not.toMatch(/apt-get|zypper/);
    expect(later.checks.find((x) => x.id === 'certificate')!.fix).toMatch(/^subscription-manager /);
    const drgn = later.checks.find((x) => x.id === 'drgn');
    if (drgn && drgn.status !== 'ok') expect(drgn.fix).toMatch(/^dnf /);
  });
});
