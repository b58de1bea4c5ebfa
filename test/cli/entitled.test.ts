// RHEL's entitled repositories end to end: the built CLI on a host whose only source is a real
// redhat.repo (in a temporary root given by KDBG_ROOT), against real TLS servers on 127.0.0.1 that
// demand a client certificate, as Red Hat's CDN and a Satellite do. The PKI is made by openssl,
// the packages by rpmbuild and the repodata by createrepo_c (scripts/fixtures/74-entitled-cdn.sh);
// expected digests and build-ids come from that script's manifest.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, runKdbg, tmpDir } from './fetch-cli.js';

interface Pkg {
  file: string;
  name: string;
  uname: string;
  vmlinux: string | null;
  buildId: string | null;
  vmlinuxSha256: string | null;
  sha256: string;
  size: number;
}
interface Manifest {
  packages: Pkg[];
  repos: Record<'baseos8' | 'appstream8' | 'eus86' | 'rhel7' | 'satellite8', string>;
  pki: Record<string, string>;
  satelliteOrg: string;
  satelliteEnv: string;
  /** The packages are signed (rpmsign) by this key: the stand-in of /etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release. */
  gpgkey: string;
}
const root = join(requireFixture('entitled', 'manifest.json'), '..');
const m = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
const pem = (k: string): string => readFileSync(join(root, m.pki[k]!), 'utf8');
const vm8 = m.packages.find((p) => p.file.startsWith(m.repos.baseos8) && p.name === 'kernel-debuginfo')!;
const common8 = m.packages.find((p) => p.file.startsWith(m.repos.baseos8) && p.name === 'kernel-debuginfo-common-x86_64')!;
const vm86 = m.packages.find((p) => p.file.startsWith(m.repos.eus86))!;
const vm7 = m.packages.find((p) => p.file.startsWith(m.repos.rhel7))!;
const serial = m.pki['entitlementSerial']!;
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
/** Paths on the servers: the CDN serves cdn/, the Satellite sat/. */
const served = (f: string): string => f.replace(/^(cdn|sat)\//, '');
/** stderr without the progress lines (`looking in …`): what the user is told went wrong. */
const errorLines = (stderr: string): string[] => stderr.trim().split('\n').filter((l) => l.startsWith('kdbg: ') && !l.startsWith('kdbg: looking in '));

let cdn: MirrorServer;
let sat: MirrorServer;
let satAuth: MirrorServer;
let proxy: ConnectProxy;

beforeAll(async () => {
  // Only the entitlement certificate (CN = its serial) may read; the unentitled one gets 403.
  const entitled = (cn: string): boolean => cn === serial;
  cdn = await startMirrorServer(join(root, 'cdn'), { tls: { cert: pem('cdnServer'), key: pem('cdnServerKey'), clientCa: pem('clientCa'), entitled } });
  sat = await startMirrorServer(join(root, 'sat'), { tls: { cert: pem('satelliteServer'), key: pem('satelliteServerKey'), clientCa: pem('clientCa'), entitled } });
  satAuth = await startMirrorServer(join(root, 'sat'), { tls: { cert: pem('satelliteServer'), key: pem('satelliteServerKey') }, basicAuth: 'admin:s3cret' });
  proxy = await startConnectProxy('squid:pr0xy');
});
afterAll(async () => {
  await Promise.all([cdn.close(), sat.close(), satAuth.close(), proxy.close()]);
  cleanupTmp();
});

interface HostOpts {
  cert?: 'entitlement' | 'expired' | 'unentitled';
  ca?: 'cdnCa' | 'satelliteCa';
  extra?: string;
  keyMode?: number;
}

/** A host root: /etc/yum.repos.d/redhat.repo (given text), /etc/pki/entitlement/<serial>{,-key}.pem, /etc/rhsm/ca/*.pem. */
function hostRoot(repo: (o: { cert: string; key: string; ca: string }) => string, o: HostOpts = {}): string {
  const r = tmpDir('kdbg-rhel-root-');
  const which = o.cert ?? 'entitlement';
  mkdirSync(join(r, 'etc', 'yum.repos.d'), { recursive: true });
  mkdirSync(join(r, 'etc', 'pki', 'entitlement'), { recursive: true });
  mkdirSync(join(r, 'etc', 'rhsm', 'ca'), { recursive: true });
  const cert = `/etc/pki/entitlement/${serial}.pem`;
  const key = `/etc/pki/entitlement/${serial}-key.pem`;
  copyFileSync(join(root, m.pki[which]!), join(r, cert));
  copyFileSync(join(root, m.pki[`${which}Key`]!), join(r, key));
  chmodSync(join(r, key), o.keyMode ?? 0o640);
  const caName = o.ca === 'satelliteCa' ? 'katello-server-ca.pem' : 'redhat-uep.pem';
  copyFileSync(join(root, m.pki[o.ca ?? 'cdnCa']!), join(r, 'etc', 'rhsm', 'ca', caName));
  writeFileSync(join(r, 'etc', 'yum.repos.d', 'redhat.repo'), repo({ cert, key, ca: `/etc/rhsm/ca/${caName}` }));
  // gpgcheck = 1: each package's header signature is verified against the repo's gpgkey (issue 16).
  mkdirSync(join(r, 'etc', 'pki', 'rpm-gpg'), { recursive: true });
  copyFileSync(join(root, m.gpgkey), join(r, 'etc', 'pki', 'rpm-gpg', 'RPM-GPG-KEY-redhat-release'));
  return r;
}

/** redhat.repo as subscription-manager writes it: every debug repo disabled, AppStream listed first. */
function cdnRepo(base: string, extra = ''): (o: { cert: string; key: string; ca: string }) => string {
  return ({ cert, key, ca }) => `#
# Certificate-Based Repositories
# Managed by (rhsm) subscription-manager
#
[rhel-8-for-x86_64-appstream-debug-rpms]
name = Red Hat Enterprise Linux 8 for x86_64 - AppStream (Debug RPMs)
baseurl = ${base}/content/dist/rhel8/$releasever/x86_64/appstream/debug
enabled = 0
gpgcheck = 1
gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release
sslverify = 1
sslcacert = ${ca}
sslclientkey = ${key}
sslclientcert = ${cert}
sslverifystatus = 1
metadata_expire = 86400
enabled_metadata = 0
${extra}
[rhel-8-for-x86_64-baseos-debug-rpms]
name = Red Hat Enterprise Linux 8 for x86_64 - BaseOS (Debug RPMs)
baseurl = ${base}/content/dist/rhel8/$releasever/x86_64/baseos/debug
enabled = 0
gpgcheck = 1
gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release
sslverify = 1
sslcacert = ${ca}
sslclientkey = ${key}
sslclientcert = ${cert}
sslverifystatus = 1
metadata_expire = 86400
enabled_metadata = 0
${extra}
[rhel-8-for-x86_64-baseos-eus-debug-rpms]
name = Red Hat Enterprise Linux 8 for x86_64 - BaseOS - Extended Update Support (Debug RPMs)
baseurl = ${base}/content/eus/rhel8/$releasever/x86_64/baseos/debug
enabled = 0
sslverify = 1
sslcacert = ${ca}
sslclientkey = ${key}
sslclientcert = ${cert}
${extra}
[rhel-7-server-debug-rpms]
name = Red Hat Enterprise Linux 7 Server (Debug RPMs)
baseurl = ${base}/content/dist/rhel/server/7/$releasever/$basearch/debug
enabled = 0
sslverify = 1
sslcacert = ${ca}
sslclientkey = ${key}
sslclientcert = ${cert}
${extra}
[rhel-8-for-x86_64-baseos-rpms]
name = Red Hat Enterprise Linux 8 for x86_64 - BaseOS (RPMs)
baseurl = ${base}/content/dist/rhel8/$releasever/x86_64/baseos/os
enabled = 1
sslcacert = ${ca}
sslclientkey = ${key}
sslclientcert = ${cert}
`;
}

/** No config file, no flags: only the host root, loopback only (no presets, no debuginfod). */
const hostEnv = (r: string): NodeJS.ProcessEnv => isolatedEnv({ KDBG_ROOT: r, KDBG_NO_PRESETS: '1', KDBG_NO_DEBUGINFOD: '1' });

describe('entitled RHEL repositories (redhat.repo under KDBG_ROOT, mTLS on 127.0.0.1)', () => {
  it('kdbg fetch 4.18.0-513.5.1.el8_9.x86_64 succeeds from a disabled baseos-debug-rpms stanza, BaseOS read before AppStream', async () => {
    const r = hostRoot(cdnRepo(cdn.url));
    const cache = tmpDir('kdbg-rhel-cache-');
    cdn.requests.length = 0;
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', cache, '--json'], hostEnv(r));
    expect(res.stderr).not.toContain('internal error');
    expect(res.code).toBe(0);
    const j = JSON.parse(res.stdout) as { vmlinux: string; source: string | null; packages: { name: string; url: string; sha256: string; sha256Verified: boolean }[] };
    expect(sha256File(j.vmlinux)).toBe(vm8.vmlinuxSha256);
    expect(j.source).not.toBeNull();
    // gpgcheck = 1 in the stanza: both packages' header signatures were verified by the gpgkey.
    expect(res.stderr.match(/: good header signature \(DSAHEADER\) by [0-9A-F]{40}/g)).toHaveLength(2);
    expect(j.packages.map((p) => [p.name, p.url, p.sha256, p.sha256Verified])).toEqual([
      [vm8.name, `${cdn.url}/${served(vm8.file)}`, vm8.sha256, true],
      [common8.name, `${cdn.url}/${served(common8.file)}`, common8.sha256, true],
    ]);
    // $releasever became 8; the kernel's repository was the first and only one read.
    const paths = cdn.requests.map((q) => q.path);
    expect(paths[0]).toBe(`/${served(m.repos.baseos8)}/repodata/repomd.xml`);
    expect(paths.some((p) => p.includes('/appstream/'))).toBe(false);
    expect(cdn.requests.every((q) => q.status === 200 || q.status === 206)).toBe(true);
  });

  it('EUS streams get $releasever 8.6 for an el8_6 kernel, RHEL 7 repositories 7Server', async () => {
    const r = hostRoot(cdnRepo(cdn.url));
    for (const p of [vm86, vm7]) {
      const cache = tmpDir('kdbg-rhel-cache-');
      const res = await runKdbg(['fetch', p.uname, '--cache-dir', cache, '--json', '--vmlinux-only'], hostEnv(r));
      expect(res.code, res.stderr).toBe(0);
      const j = JSON.parse(res.stdout) as { vmlinux: string; packages: { url: string }[] };
      expect(j.packages[0]!.url).toBe(`${cdn.url}/${served(p.file)}`);
      expect(sha256File(j.vmlinux)).toBe(p.vmlinuxSha256);
    }
  });

  it('a Satellite (Pulp 3 /pulp/content/<org>/<env>/…) with its own katello CA', async () => {
    const base = `${sat.url}/pulp/content/${m.satelliteOrg}/${m.satelliteEnv}`;
    const r = hostRoot(cdnRepo(base), { ca: 'satelliteCa' });
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-'), '--json'], hostEnv(r));
    expect(res.code, res.stderr).toBe(0);
    const j = JSON.parse(res.stdout) as { vmlinux: string; packages: { url: string }[] };
    expect(j.packages[0]!.url).toBe(`${sat.url}/${served(m.repos.satellite8)}/${vm8.file.split('/').slice(-3).join('/')}`);
    expect(sha256File(j.vmlinux)).toBe(vm8.vmlinuxSha256);
  });

  it('per-repo proxy with proxy_username/proxy_password: every connection goes through the CONNECT proxy', async () => {
    const r = hostRoot(cdnRepo(cdn.url, `proxy = ${proxy.url}\nproxy_username = squid\nproxy_password = pr0xy\n`));
    proxy.connects.length = 0;
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-'), '--json'], hostEnv(r));
    expect(res.code, res.stderr).toBe(0);
    expect(sha256File((JSON.parse(res.stdout) as { vmlinux: string }).vmlinux)).toBe(vm8.vmlinuxSha256);
    expect(proxy.connects.length).toBeGreaterThan(0);
    expect(proxy.connects.every((c) => c.status === 200 && c.target === `127.0.0.1:${cdn.port}`)).toBe(true);
  });

  it('sslverify = 0 without sslcacert: the private CA is not checked, the client certificate still sent', async () => {
    const repo = cdnRepo(cdn.url);
    const r = hostRoot((o) => repo(o).replace(/sslcacert = \S+\n/g, '').replace(/sslverify = 1/g, 'sslverify = 0'));
    expect(readFileSync(join(r, 'etc', 'yum.repos.d', 'redhat.repo'), 'utf8')).not.toContain('sslcacert');
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-'), '--vmlinux-only', '--json'], hostEnv(r));
    expect(res.code, res.stderr).toBe(0);
    expect(sha256File((JSON.parse(res.stdout) as { vmlinux: string }).vmlinux)).toBe(vm8.vmlinuxSha256);
  });

  it('username/password become HTTP basic credentials', async () => {
    const base = `${satAuth.url}/pulp/content/${m.satelliteOrg}/${m.satelliteEnv}`;
    const ok = hostRoot(cdnRepo(base, 'username = admin\npassword = s3cret\n'), { ca: 'satelliteCa' });
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-'), '--vmlinux-only', '--json'], hostEnv(ok));
    expect(res.code, res.stderr).toBe(0);
    expect(satAuth.requests.some((q) => q.status === 401)).toBe(false);
  });

  it('an expired entitlement certificate: one line with its notAfter, exit 77, nothing cached', async () => {
    const r = hostRoot(cdnRepo(cdn.url), { cert: 'expired' });
    const cache = tmpDir('kdbg-rhel-cache-');
    cdn.requests.length = 0;
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', cache], hostEnv(r));
    // Refused before connecting: the server never saw a request.
    expect(cdn.requests).toEqual([]);
    expect(res.code).toBe(77);
    const lines = errorLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${r}/etc/pki/entitlement/${serial}.pem`);
    expect(lines[0]).toMatch(/expired \(notAfter Jan {1,2}1 00:00:00 2021 GMT\)/);
    expect(res.stdout).toBe('');
    expect(existsSync(join(cache, 'releases', vm8.uname))).toBe(false);
  });

  it('a certificate the server does not entitle: the 403 named as a rejected certificate, exit 77', async () => {
    const r = hostRoot(cdnRepo(cdn.url), { cert: 'unentitled' });
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-')], hostEnv(r));
    expect(res.code).toBe(77);
    const lines = errorLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/HTTP 403: the server rejected the client certificate .*subscription-manager refresh/);
  });

  it('a CA that does not match the server (the Satellite CA against the CDN): one line, exit 77', async () => {
    const r = hostRoot(cdnRepo(cdn.url), { ca: 'satelliteCa' });
    const res = await runKdbg(['fetch', vm8.uname, '--cache-dir', tmpDir('kdbg-rhel-cache-')], hostEnv(r));
    expect(res.code).toBe(77);
    const lines = errorLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the server's certificate does not match the CA .*katello-server-ca\.pem .*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
  });

  it('a root-only key read by an ordinary user: says so and what to do, exit 77', async () => {
    const r = hostRoot(cdnRepo(cdn.url), { keyMode: 0o600 });
    const cache = tmpDir('kdbg-rhel-cache-');
    const env = hostEnv(r);
    // As root the key is readable whatever its mode: run kdbg as nobody, as a user would.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(r, 0o755);
      chownSync(cache, 65534, 65534);
      chownSync(env['XDG_CONFIG_HOME']!, 65534, 65534);
    } else chmodSync(join(r, 'etc', 'pki', 'entitlement', `${serial}-key.pem`), 0o000);
    const { runKdbgAs } = await import('./fetch-cli-as.js');
    const res = await runKdbgAs(['fetch', vm8.uname, '--cache-dir', cache], { ...env, HOME: cache }, asRoot ? 65534 : undefined);
    expect(res.code, res.stderr).toBe(77);
    const lines = errorLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${r}/etc/pki/entitlement/${serial}-key.pem: permission denied`);
    expect(lines[0]).toContain('readable by root only: run kdbg as root');
  });
});
