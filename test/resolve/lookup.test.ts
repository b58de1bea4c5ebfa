// The resolver against real createrepo_c repositories served over HTTP on 127.0.0.1: repodata
// with gz, xz and zstd primaries, flat directories (HEAD), sha1-only indexes, ../ hrefs, mirror
// lists and metalinks, failover past 503/404/slow mirrors, and "not found" with every URL tried.
// Expected sha256/size come from the package files themselves.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkError, NotFoundError, UnavailableError } from '../../src/core/errors.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { debOptions, loadMirrorConfig, resolvePackages, type MirrorConfig } from '../../src/resolve/index.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { AL2023_GUID, fileFacts, resolveFixture, sha1Of } from './repos-fixture.js';

let root: string;
let server: MirrorServer;
let lists: MirrorServer;
let listDir: string;
let home: string;

beforeAll(async () => {
  root = resolveFixture();
  server = await startMirrorServer(root);
  listDir = mkdtempSync(join(tmpdir(), 'kdbg-lists-'));
  lists = await startMirrorServer(listDir);
  home = mkdtempSync(join(tmpdir(), 'kdbg-home-'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await lists?.close();
});

/** Config as the CLI builds it, with the host and the public presets out of the picture. */
async function config(o: { mirrors?: string[]; repos?: string[]; file?: object }): Promise<MirrorConfig> {
  const etc = mkdtempSync(join(tmpdir(), 'kdbg-etc-'));
  const opts: Parameters<typeof loadMirrorConfig>[0] = { etcRoot: etc, env: { HOME: home, KDBG_NO_PRESETS: '1' } };
  if (o.mirrors) opts.mirrors = o.mirrors;
  if (o.repos) opts.repos = o.repos;
  if (o.file) {
    const f = join(etc, 'cfg.json');
    writeFileSync(f, JSON.stringify(o.file));
    opts.configFile = f;
  }
  return loadMirrorConfig(opts);
}

async function resolve(release: string, cfg: MirrorConfig, o: { source?: boolean; distro?: string } = {}) {
  const rel = parseRelease(release, o.distro ? { distro: o.distro } : {});
  const events: ProgressEvent[] = [];
  const pkgs = await resolvePackages(rel, wantedPackages(rel, { source: o.source ?? true }), { config: cfg, http: undiciFetcher, onProgress: (e) => events.push(e) });
  return { pkgs, events };
}

const facts = (p: string) => fileFacts(join(root, p));
const mark = () => server.requests.length;
const since = (n: number) => server.requests.slice(n).map((r) => `${r.method} ${r.path} ${r.status}`);

describe('repodata lookup through --mirror layouts', () => {
  it('el7: URL/7/x86_64/, gz primary, exact href, sha256 and size from the index; no HEAD probes', async () => {
    const n = mark();
    const { pkgs } = await resolve('3.10.0-327.el7', await config({ mirrors: [`${server.url}/centos/`] }));
    expect(pkgs.map((p) => [p.role, p.fileName, p.urls[0]])).toEqual([
      ['vmlinux', 'kernel-debuginfo-3.10.0-327.el7.x86_64.rpm', `${server.url}/centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`],
      ['source', 'kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm', `${server.url}/centos/7/x86_64/kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm`],
    ]);
    const f = facts('centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm');
    expect(pkgs[0]).toMatchObject({ sha256: f.sha256, size: f.size, kind: 'rpm', required: true });
    expect(pkgs[1]!.sha256).toBe(facts('centos/7/x86_64/kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm').sha256);
    const reqs = since(n);
    expect(reqs[0]).toBe('GET /centos/7/x86_64/repodata/repomd.xml 200');
    expect(reqs[1]).toMatch(/^GET \/centos\/7\/x86_64\/repodata\/[0-9a-f]+-primary\.xml\.gz 200$/);
    expect(reqs).toHaveLength(2);
  });

  it('el7 .debug variant picks kernel-debug-debuginfo, not kernel-debuginfo', async () => {
    const { pkgs } = await resolve('3.10.0-327.el7.x86_64.debug', await config({ mirrors: [`${server.url}/centos/`] }), { source: false });
    expect(pkgs.map((p) => p.fileName)).toEqual(['kernel-debug-debuginfo-3.10.0-327.el7.x86_64.rpm']);
    expect(pkgs[0]!.sha256).toBe(facts('centos/7/x86_64/kernel-debug-debuginfo-3.10.0-327.el7.x86_64.rpm').sha256);
  });

  it('el8_5: URL/8/x86_64/ with an xz primary and Packages/ hrefs', async () => {
    const { pkgs } = await resolve('4.18.0-348.7.1.el8_5.x86_64', await config({ mirrors: [`${server.url}/centos/`] }));
    expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm`);
    expect(pkgs[0]!.sha256).toBe(facts('centos/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm').sha256);
    expect(pkgs[1]!.fileName).toBe('kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm');
  });

  it('el9: falls through URL/9/x86_64/ (404s) to the CentOS Stream tree with a zstd primary', async () => {
    const n = mark();
    const { pkgs } = await resolve('5.14.0-687.el9.x86_64', await config({ mirrors: [`${server.url}/centos/`] }));
    expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-5.14.0-687.el9.x86_64.rpm`);
    expect(pkgs[0]!.sha256).toBe(facts('centos/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-5.14.0-687.el9.x86_64.rpm').sha256);
    const reqs = since(n);
    expect(reqs).toContain('GET /centos/9/x86_64/repodata/repomd.xml 404');
    expect(reqs).toContain('HEAD /centos/9/x86_64/Packages/kernel-debuginfo-5.14.0-687.el9.x86_64.rpm 404');
    expect(reqs.some((r) => /primary\.xml\.zst 200$/.test(r))).toBe(true);
  });

  it('Oracle UEK: URL/ol8/debuginfo/, common package without arch in its name', async () => {
    const { pkgs } = await resolve('5.4.17-2136.300.7.el8uek.x86_64', await config({ mirrors: [`${server.url}/oracle/`] }));
    expect(pkgs.map((p) => p.urls[0])).toEqual([
      `${server.url}/oracle/ol8/debuginfo/kernel-uek-debuginfo-5.4.17-2136.300.7.el8uek.x86_64.rpm`,
      `${server.url}/oracle/ol8/debuginfo/kernel-uek-debuginfo-common-5.4.17-2136.300.7.el8uek.x86_64.rpm`,
    ]);
  });

  it('Fedora: URL/updates/39/… (404) then URL/releases/39/Everything/x86_64/debug/tree/', async () => {
    const { pkgs } = await resolve('6.5.6-300.fc39.x86_64', await config({ mirrors: [`${server.url}/fedora/`] }));
    expect(pkgs[0]!.urls[0]).toBe(`${server.url}/fedora/releases/39/Everything/x86_64/debug/tree/Packages/k/kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm`);
  });
});

describe('other source kinds', () => {
  it('--repo of a plain directory: HEAD probe, size from Content-Length, no sha256', async () => {
    const n = mark();
    const { pkgs } = await resolve('3.10.0-327.el7', await config({ repos: [`${server.url}/plain/7/x86_64`] }));
    const f = facts('plain/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm');
    expect(pkgs[0]).toMatchObject({ urls: [`${server.url}/plain/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`], sha256: null, size: f.size });
    expect(since(n)).toEqual([
      'GET /plain/7/x86_64/repodata/repomd.xml 404',
      'HEAD /plain/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm 200',
      'HEAD /plain/7/x86_64/kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm 200',
    ]);
  });

  it('a Koji-style URL template from the config file', async () => {
    const cfg = await config({ file: { mirrors: { fedora: [{ type: 'template', url: `${server.url}/koji/packages/$srcname/$version/$release/$arch/$file` }] } } });
    const { pkgs } = await resolve('6.5.6-300.fc39.x86_64', cfg);
    expect(pkgs[0]).toMatchObject({ urls: [`${server.url}/koji/packages/kernel/6.5.6/300.fc39/x86_64/kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm`], sha256: null });
    expect(pkgs[0]!.size).toBe(facts('koji/packages/kernel/6.5.6/300.fc39/x86_64/kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm').size);
  });

  it('a sha1-only index: sha256 stays null and a warning says so', async () => {
    const { pkgs, events } = await resolve('3.10.0-327.el7', await config({ repos: [`${server.url}/sha1repo/`] }), { source: false });
    expect(pkgs[0]).toMatchObject({ sha256: null, size: facts('sha1repo/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm').size });
    expect(events.some((e) => e.kind === 'warning' && e.code === 'KDBG_W_NO_SHA256' && /sha1 checksum, not sha256/.test(e.message))).toBe(true);
    // the index really is sha1 (and is right about the file)
    expect(sha1Of(join(root, 'sha1repo/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm'))).toMatch(/^[0-9a-f]{40}$/);
  });

  it('Amazon Linux 2023 style: mirror.list → GUID base → ../../../../blobstore/ hrefs resolved RFC 3986 style', async () => {
    mkdirSync(join(listDir, 'al2023/x86_64'), { recursive: true });
    writeFileSync(join(listDir, 'al2023/x86_64/mirror.list'), `# kdbg test\n${server.url}/al2023/core/guids/${AL2023_GUID}/$basearch\n`);
    const cfg = await config({ file: { mirrors: { amzn2023: [{ type: 'mirrorlist', url: `${lists.url}/al2023/$basearch/mirror.list` }] } } });
    const { pkgs } = await resolve('6.1.176-220.360.amzn2023.x86_64', cfg);
    expect(pkgs[0]!.urls[0]).toMatch(new RegExp(`^${server.url}/al2023/blobstore/[0-9a-f]{16}/kernel-debuginfo-6\\.1\\.176-220\\.360\\.amzn2023\\.x86_64\\.rpm$`));
    const path = new URL(pkgs[0]!.urls[0]!).pathname.slice(1);
    expect(pkgs[0]!.sha256).toBe(facts(path).sha256);
    expect(pkgs[1]!.fileName).toBe('kernel-debuginfo-common-x86_64-6.1.176-220.360.amzn2023.x86_64.rpm');
  });

  it('a metalink: bases by preference, the sibling mirror becomes a failover URL', async () => {
    writeFileSync(
      join(listDir, 'metalink.xml'),
      `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
 <files><file name="repomd.xml"><resources maxconnections="1">
  <url protocol="rsync" type="rsync" preference="100">rsync://example.invalid/centos/7/x86_64/repodata/repomd.xml</url>
  <url protocol="http" type="http" preference="90">${server.url}/centos-copy/7/x86_64/repodata/repomd.xml</url>
  <url protocol="http" type="http" preference="99">${server.url}/centos/7/x86_64/repodata/repomd.xml</url>
 </resources></file></files>
</metalink>`,
    );
    const cfg = await config({ file: { mirrors: { el7: [{ type: 'metalink', url: `${lists.url}/metalink.xml` }] } } });
    const { pkgs } = await resolve('3.10.0-327.el7', cfg, { source: false });
    expect(pkgs[0]!.urls).toEqual([
      `${server.url}/centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`,
      `${server.url}/centos-copy/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`,
    ]);
  });

  it('host yum repos with $releasever/$basearch resolve end to end', async () => {
    const etc = mkdtempSync(join(tmpdir(), 'kdbg-etc-'));
    mkdirSync(join(etc, 'yum.repos.d'));
    writeFileSync(join(etc, 'yum.repos.d', 'local.repo'), `[local-debuginfo]\nname=Local debuginfo\nbaseurl=${server.url}/centos/$releasever/$basearch/\nenabled=0\n`);
    const cfg = await loadMirrorConfig({ etcRoot: etc, env: { HOME: home, KDBG_NO_PRESETS: '1' } });
    const { pkgs } = await resolve('4.18.0-348.7.1.el8_5.x86_64', cfg, { source: false });
    expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm`);
  });
});

describe('failover and not found', () => {
  it('moves past a 503 mirror and a 404 mirror to a good one, with warnings for the 503', async () => {
    server.setFault((path) => (path.startsWith('/down/') ? { status: 503, retryAfter: '1' } : undefined));
    try {
      const cfg = await config({ repos: [`${server.url}/down/7/x86_64/`, `${server.url}/nowhere/7/x86_64/`, `${server.url}/centos/7/x86_64/`] });
      const { pkgs, events } = await resolve('3.10.0-327.el7', cfg, { source: false });
      expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`);
      expect(events.some((e) => e.kind === 'warning' && e.message.includes('/down/7/x86_64/repodata/repomd.xml: HTTP 503'))).toBe(true);
    } finally {
      server.setFault(null);
    }
  });

  it('moves past a mirror that does not answer within the timeout', async () => {
    server.setFault((path) => (path.startsWith('/slow/') ? { delayMs: 3000 } : undefined));
    try {
      const cfg = await config({ repos: [`${server.url}/slow/7/x86_64/`, `${server.url}/centos/7/x86_64/`], file: { timeoutSeconds: 0.4 } });
      const t0 = Date.now();
      const { pkgs, events } = await resolve('3.10.0-327.el7', cfg, { source: false });
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`);
      expect(events.some((e) => e.kind === 'warning' && /slow\/7\/x86_64\/repodata\/repomd\.xml: timeout/.test(e.message))).toBe(true);
    } finally {
      server.setFault(null);
    }
  });

  it('a missing optional source package is a warning, not an error', async () => {
    const { pkgs, events } = await resolve('3.10.0-1160.el7', await config({ mirrors: [`${server.url}/centos/`] }));
    expect(pkgs.map((p) => p.name)).toEqual(['kernel-debuginfo']);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'warning', code: 'KDBG_W_OPTIONAL_NOT_FOUND' }));
  });

  it('not found anywhere: NotFoundError (69) listing every URL tried', async () => {
    const cfg = await config({ repos: [`${server.url}/plain/7/x86_64/`], mirrors: [`${server.url}/centos/`] });
    let err: unknown;
    try {
      await resolve('3.10.0-999.el7', cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    const nf = err as NotFoundError;
    expect(nf.exitCode).toBe(69);
    const tried = nf.details['tried'] as string[];
    expect(tried).toEqual([
      `${server.url}/plain/7/x86_64/repodata/repomd.xml`,
      `${server.url}/plain/7/x86_64/kernel-debuginfo-3.10.0-999.el7.x86_64.rpm`,
      `${server.url}/plain/7/x86_64/kernel-debuginfo-common-x86_64-3.10.0-999.el7.x86_64.rpm`,
      `${server.url}/centos/7/x86_64/repodata/repomd.xml`,
      expect.stringMatching(/\/centos\/7\/x86_64\/repodata\/[0-9a-f]+-primary\.xml\.gz$/),
    ]);
    expect(nf.message).toMatch(/^kernel-debuginfo-3\.10\.0-999\.el7\.x86_64\.rpm: not found on any mirror; 5 URLs tried: http:\/\/127\.0\.0\.1:\d+\/plain\/7\/x86_64\/repodata\/repomd\.xml \(HTTP 404\), /);
    expect(nf.message).not.toContain('\n');
  });

  it('a user abort stops the lookup instead of failing over', async () => {
    server.setFault((path) => (path.startsWith('/slow/') ? { delayMs: 3000 } : undefined));
    try {
      const cfg = await config({ repos: [`${server.url}/slow/7/x86_64/`, `${server.url}/centos/7/x86_64/`] });
      const rel = parseRelease('3.10.0-327.el7');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const n = mark();
      await expect(resolvePackages(rel, wantedPackages(rel, { source: false }), { config: cfg, http: undiciFetcher, signal: ac.signal })).rejects.toThrow(/abort/i);
      expect(since(n).some((r) => r.includes('/centos/'))).toBe(false);
    } finally {
      server.setFault(null);
    }
  });

  it('a mirror list that fails is recorded and skipped', async () => {
    const cfg = await config({ file: { mirrors: { el7: [{ type: 'mirrorlist', url: `${lists.url}/no/such/mirror.list` }, { type: 'repo', url: `${server.url}/centos/7/x86_64/` }] } } });
    const { pkgs } = await resolve('3.10.0-327.el7', cfg, { source: false });
    expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`);
  });

  it('a corrupt primary is a bad index: the next base is used', async () => {
    server.setFault((path) => (/^\/centos\/7\/x86_64\/repodata\/.*primary\.xml\.gz$/.test(path) ? { dropAfterBytes: 40 } : undefined));
    try {
      const cfg = await config({ repos: [`${server.url}/centos/7/x86_64/`, `${server.url}/centos-copy/7/x86_64/`] });
      const { pkgs, events } = await resolve('3.10.0-327.el7', cfg, { source: false });
      expect(pkgs[0]!.urls[0]).toBe(`${server.url}/centos-copy/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`);
      expect(pkgs[0]!.sha256).toBe(facts('centos-copy/7/x86_64/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm').sha256);
      expect(events.some((e) => e.kind === 'warning' && e.code === 'KDBG_W_MIRROR' && /primary\.xml\.gz/.test(e.message))).toBe(true);
    } finally {
      server.setFault(null);
    }
  });

  it('when no mirror answers at all (refused, 503) it is a NetworkError (75), not "not found"', async () => {
    server.setFault((path) => (path.startsWith('/down/') ? { status: 503 } : undefined));
    try {
      const cfg = await config({ repos: ['http://127.0.0.1:9/refused/', `${server.url}/down/7/x86_64/`] });
      const err = await resolve('3.10.0-327.el7', cfg).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).exitCode).toBe(75);
      expect((err as NetworkError).message).toMatch(/^kernel-debuginfo-3\.10\.0-327\.el7\.x86_64\.rpm: no mirror could be reached; 2 URLs tried: http:\/\/127\.0\.0\.1:9\/refused\/repodata\/repomd\.xml \(network: [^)]*ECONNREFUSED/);
      expect((err as NetworkError).details['tried']).toEqual(['http://127.0.0.1:9/refused/repodata/repomd.xml', `${server.url}/down/7/x86_64/repodata/repomd.xml`]);
    } finally {
      server.setFault(null);
    }
  });

  it('no source configured at all: NotFoundError that says so', async () => {
    await expect(resolve('5.14.0-284.11.1.el9_2.x86_64', await config({}), { distro: 'rhel' })).rejects.toThrow(/no mirror is configured for 5\.14\.0-284\.11\.1\.el9_2\.x86_64 \(rhel, rhel\)/);
  });
});

describe('Debian and Ubuntu go to the apt resolver', () => {
  it('builds DebResolveOptions from the config (mirrors, repos, aptRoot)', async () => {
    const cfg = await config({ mirrors: ['http://127.0.0.1:9/debian/'], repos: ['http://127.0.0.1:9/flat/'], file: { aptRoot: '/srv/apt', mirrors: { ubuntu: ['http://127.0.0.1:9/ubuntu/'] } } });
    const deb = debOptions(parseRelease('6.1.0-56-amd64'), { config: cfg, http: undiciFetcher });
    expect(deb).toMatchObject({ mirrors: ['http://127.0.0.1:9/debian/'], repos: ['http://127.0.0.1:9/flat/'], aptRoot: '/srv/apt' });
    const ub = debOptions(parseRelease('5.15.0-91-generic'), { config: cfg, http: undiciFetcher });
    expect(ub.mirrors).toEqual(['http://127.0.0.1:9/debian/', 'http://127.0.0.1:9/ubuntu/']);
    const dflt = await loadMirrorConfig({ etcRoot: '/nonexistent-etc', env: { HOME: home } });
    expect(dflt.aptRoot).toBe('/nonexistent-etc/apt');
  });
  it('resolvePackages dispatches to resolveDebPackages', async () => {
    const rel = parseRelease('6.1.0-56-amd64');
    const cfg = await config({ repos: [`${server.url}/nothing/`] });
    // Whatever the apt resolver answers, it must not be the RPM lookup (which would 404 on repodata).
    const n = mark();
    try {
      await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: { ...cfg, aptRoot: null }, http: undiciFetcher });
    } catch (e) {
      expect(e).toBeInstanceOf(UnavailableError);
    }
    expect(since(n).some((r) => r.includes('repodata/repomd.xml'))).toBe(false);
  });
});
