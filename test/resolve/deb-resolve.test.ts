// Debian/Ubuntu resolution against the loopback Debian-style archive and ddebs-style archive
// built by scripts/fixtures/20-deb-mirror.sh (real Packages.xz/.gz with the debs' real sizes and
// sha256s), through the real undici fetcher.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkError, NotFoundError } from '../../src/core/errors.js';
import type { KernelRelease } from '../../src/core/types.js';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { codenamesForRelease, packageVersionFromBanner, resolveDebPackages, type DebResolveOptions } from '../../src/resolve/deb.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { requireFixture } from '../helpers/fixtures.js';
import { trustKeys } from '../helpers/deb-keys.js';

const root = requireFixture('deb');
let server: MirrorServer;
beforeAll(async () => {
  server = await startMirrorServer(root);
});
afterAll(async () => {
  await server.close();
});

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function opts(extra: Partial<DebResolveOptions> = {}): DebResolveOptions {
  // Verification on: the fixture archives are signed (sign.sh), and their key is the trusted one.
  return { mirrors: [], repos: [], aptRoot: null, http: undiciFetcher, trust: trustKeys(join(root, 'debian', 'archive-key.asc')), ...extra };
}

async function resolve(release: string, o: Partial<DebResolveOptions>, relOpts: { packageVersion?: string; distro?: string } = {}) {
  const rel = parseRelease(release, relOpts);
  return resolveDebPackages(rel, wantedPackages(rel, { source: false }), opts(o));
}

const P = 'linux-image-6.1.0-99-amd64-dbg';
const pool = 'pool/main/l/linux';

describe('Debian archive layout', () => {
  it('picks the newest version across suites, with Filename, Size and SHA256 from the index', async () => {
    const before = server.requests.length;
    const [r, ...more] = await resolve('6.1.0-99-amd64', { mirrors: [`${server.url}/debian`] });
    expect(more).toEqual([]);
    const file = join(root, 'debian', pool, `${P}_6.1.999-2_amd64.deb`);
    expect(r).toMatchObject({ role: 'vmlinux', name: P, evr: '6.1.999-2', fileName: `${P}_6.1.999-2_amd64.deb`, kind: 'deb', arch: 'amd64' });
    expect(r!.urls).toEqual([`${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`]);
    expect(r!.sha256).toBe(sha(file));
    expect(r!.size).toBe(readFileSync(file).length);
    const paths = server.requests.slice(before).map((q) => `${q.path} ${q.status}`);
    expect(paths).toContain('/debian/dists/bookworm/main/binary-amd64/Packages.xz 200');
    expect(paths).toContain('/debian/dists/bookworm-security/main/binary-amd64/Packages.xz 200');
  });

  it('--pkg-version pins the older upload', async () => {
    const [r] = await resolve('6.1.0-99-amd64', { mirrors: [`${server.url}/debian`] }, { packageVersion: '6.1.999-1' });
    expect(r!.evr).toBe('6.1.999-1');
    expect(r!.sha256).toBe(sha(join(root, 'debian', pool, `${P}_6.1.999-1_amd64.deb`)));
  });

  it('the version in a dump banner pins it too', async () => {
    const rel = parseRelease('6.1.0-99-amd64');
    const pv = packageVersionFromBanner(rel, 'Linux version 6.1.0-99-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 (2023-10-01)');
    expect(pv).toBe('6.1.999-1');
    const pinned: KernelRelease = { ...rel, packageVersion: pv };
    const [r] = await resolveDebPackages(pinned, wantedPackages(pinned, { source: false }), opts({ mirrors: [`${server.url}/debian`] }));
    expect(r!.evr).toBe('6.1.999-1');
  });

  it('falls back to Packages.gz when the suite has no Packages.xz', async () => {
    const before = server.requests.length;
    const [r] = await resolve('6.1.0-98-amd64', { mirrors: [`${server.url}/debian`] });
    expect(r!.evr).toBe('6.1.998-1');
    expect(r!.sha256).toBe(sha(join(root, 'debian', pool, 'linux-image-6.1.0-98-amd64-dbg_6.1.998-1_amd64.deb')));
    const paths = server.requests.slice(before).map((q) => `${q.path} ${q.status}`);
    // The signed Release lists only Packages.gz there: Packages.xz is not even asked for.
    expect(paths).not.toContain('/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz 404');
    expect(paths).toContain('/debian/dists/bookworm-updates/main/binary-amd64/Packages.gz 200');
  });

  it('not found: NotFoundError lists every index URL tried', async () => {
    const e = await resolve('6.1.0-97-amd64', { mirrors: [`${server.url}/debian`] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    const tried = (e as NotFoundError).details['tried'] as string[];
    expect(tried).toContain(`${server.url}/debian/dists/bookworm/main/binary-amd64/Packages.xz`);
    expect(tried).toContain(`${server.url}/debian/dists/bookworm-updates/main/binary-amd64/Packages.gz`);
    expect(tried).toContain(`${server.url}/debian/dists/bookworm-backports/main/binary-amd64/Packages`);
    expect((e as Error).message).toMatch(/linux-image-6\.1\.0-97-amd64-dbg: not found in \d+ indexes tried/);
  });

  it('a pinned version that no index has is not found, naming the versions seen', async () => {
    const e = await resolve('6.1.0-99-amd64', { mirrors: [`${server.url}/debian`] }, { packageVersion: '6.1.999-7' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toContain('versions seen: 6.1.999-1, 6.1.999-2');
  });

  it('a mirror that is down is skipped for the next one (failover)', async () => {
    const [r] = await resolve('6.1.0-99-amd64', { mirrors: ['http://127.0.0.1:9/debian', `${server.url}/debian`] });
    expect(r!.urls).toEqual([`${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`]);
  });

  it('the same file on two archives gives two URLs', async () => {
    const [r] = await resolve('6.1.0-99-amd64', { mirrors: [`${server.url}/debian`, `${server.url}/debian/`] });
    expect(r!.urls).toEqual([`${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`]);
    const other = await startMirrorServer(root);
    try {
      const [r2] = await resolve('6.1.0-99-amd64', { mirrors: [`${server.url}/debian`, `${other.url}/debian`] });
      expect(r2!.urls).toEqual([`${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`, `${other.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`]);
    } finally {
      await other.close();
    }
  });
});

describe('faulty archives', () => {
  it('a 503 and a garbled index on the first archive: recorded, and the next archive answers', async () => {
    const other = await startMirrorServer(root);
    try {
      other.setFault((path) => {
        if (path.endsWith('/bookworm/main/binary-amd64/Packages.xz')) return { status: 503 };
        return undefined;
      });
      // A second faulty copy whose security index is cut mid-stream (xz ends early).
      const cut = await startMirrorServer(root);
      cut.setFault((path) => (path.endsWith('/bookworm-security/main/binary-amd64/Packages.xz') ? { dropAfterBytes: 40 } : undefined));
      try {
        const [r] = await resolve('6.1.0-99-amd64', { mirrors: [`${other.url}/debian`, `${cut.url}/debian`, `${server.url}/debian`] });
        expect(r!.evr).toBe('6.1.999-2');
        // The newest file is offered by the two archives whose security index was readable.
        expect(r!.urls).toEqual([`${other.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`, `${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`]);
      } finally {
        await cut.close();
      }
    } finally {
      await other.close();
    }
  });

  it('every index failing in passing (HTTP 500 on each try): a NetworkError (exit 75), not "not found", whose attempts say why', async () => {
    const bad = await startMirrorServer(root);
    try {
      bad.setFault((path) => (path.includes('/dists/') ? { status: 500 } : undefined));
      const e = await resolve('6.1.0-99-amd64', { mirrors: [`${bad.url}/debian`] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetworkError);
      expect((e as NetworkError).exitCode).toBe(75);
      const attempts = (e as NetworkError).details['attempts'] as { url: string; result: string }[];
      expect(attempts.length).toBeGreaterThan(3);
      expect(attempts.every((a) => a.result === 'HTTP 500 (4 tries)')).toBe(true);
      // Each index URL was asked 4 times before it counted as failed.
      const asked = bad.requests.filter((q) => q.path.includes('/dists/'));
      expect(asked.length).toBe(4 * attempts.length);
    } finally {
      await bad.close();
    }
  });
});

describe("the host's apt sources", () => {
  it('deb822 and one-line sources are read; suites as listed (incl. -security and -updates)', async () => {
    const apt = mkdtempSync(join(tmpdir(), 'kdbg-apt-'));
    mkdirSync(join(apt, 'sources.list.d'));
    // Each source names its key as apt sources do: deb822 an inline key block, one-line a keyring file.
    const key = join(root, 'debian', 'archive-key.asc');
    const inline = readFileSync(key, 'utf8').trimEnd().split('\n').map((l) => ` ${l === '' ? '.' : l}`).join('\n');
    writeFileSync(join(apt, 'sources.list.d', 'debian.sources'), `Types: deb\nURIs: ${server.url}/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By:\n${inline}\n`);
    writeFileSync(join(apt, 'sources.list.d', 'security.list'), `deb [arch=amd64 signed-by=${key}] ${server.url}/debian bookworm-security main\n`);
    writeFileSync(join(apt, 'sources.list.d', 'off.list.disabled'), `deb http://127.0.0.1:9/nowhere bookworm main\n`);
    const before = server.requests.length;
    // No trusted keyrings at all: only the sources' own keys can verify the suites.
    const [r] = await resolve('6.1.0-99-amd64', { aptRoot: apt, trust: trustKeys() });
    expect(r!.evr).toBe('6.1.999-2');
    expect(r!.urls[0]).toBe(`${server.url}/debian/${pool}/${P}_6.1.999-2_amd64.deb`);
    const [r98] = await resolve('6.1.0-98-amd64', { aptRoot: apt, trust: trustKeys() });
    expect(r98!.evr).toBe('6.1.998-1');
    expect(server.requests.slice(before).every((q) => q.path.startsWith('/debian/dists/'))).toBe(true);
  });

  it('a flat --repo (Packages.gz beside the debs)', async () => {
    const [r] = await resolve('6.1.0-99-amd64', { repos: [`${server.url}/flat`] });
    expect(r!.urls).toEqual([`${server.url}/flat/${P}_6.1.999-1_amd64.deb`]);
    expect(r!.sha256).toBe(sha(join(root, 'flat', `${P}_6.1.999-1_amd64.deb`)));
  });

  it('nothing configured and no host sources: a NotFoundError that says so', async () => {
    const e = await resolve('6.1.0-99-amd64', { aptRoot: join(tmpdir(), 'kdbg-no-apt-here') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toMatch(/no Debian\/Ubuntu archive to search/);
  });
});

describe('Ubuntu ddebs layout', () => {
  const ddebs = (): string => `${server.url}/ubuntu-ddebs`;
  const upool = 'pool/main/l/linux';

  it('linux-image-unsigned-…-dbgsym is taken, the tiny signed dbgsym is not', async () => {
    const [r, ...more] = await resolve('5.15.0-991-generic', { mirrors: [ddebs()] });
    expect(more).toEqual([]);
    const f = `linux-image-unsigned-5.15.0-991-generic-dbgsym_5.15.0-991.1001_amd64.ddeb`;
    expect(r).toMatchObject({ name: 'linux-image-unsigned-5.15.0-991-generic-dbgsym', evr: '5.15.0-991.1001', fileName: f });
    expect(r!.urls).toEqual([`${ddebs()}/${upool}/${f}`]);
    expect(r!.sha256).toBe(sha(join(root, 'ubuntu-ddebs', upool, f)));
  });

  it('only a tiny signed dbgsym: not found, and the message says it was skipped', async () => {
    const e = await resolve('5.15.0-992-generic', { mirrors: [ddebs()] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toMatch(/skipped .*linux-image-5\.15\.0-992-generic-dbgsym_5\.15\.0-992\.1002_amd64\.ddeb \(\d+ bytes: a signed stub without vmlinux\)/);
  });

  it('a real signed dbgsym (> 10 MB, unsigned kernels like old aws) is accepted', async () => {
    const [r] = await resolve('4.4.0-9061-aws', { mirrors: [ddebs()], suites: ['jammy'] }, { distro: 'ubuntu' });
    expect(r!.name).toBe('linux-image-4.4.0-9061-aws-dbgsym');
    expect(r!.size).toBeGreaterThan(10_000_000);
    expect(r!.urls[0]).toBe(`${ddebs()}/pool/main/l/linux-aws/linux-image-4.4.0-9061-aws-dbgsym_4.4.0-9061.70_amd64.ddeb`);
  });

  it('-proposed is searched too', async () => {
    const [r] = await resolve('5.15.0-993-generic', { mirrors: [ddebs()] });
    expect(r!.evr).toBe('5.15.0-993.1003');
  });

  it('codename from the kernel series or the HWE package version; #NNN-Ubuntu banner → package version', () => {
    expect(codenamesForRelease(parseRelease('5.15.0-91-generic'))).toEqual(['jammy']);
    expect(codenamesForRelease(parseRelease('5.15.0-52-generic', { packageVersion: '5.15.0-52.58~20.04.1' }))).toEqual(['focal']);
    expect(codenamesForRelease(parseRelease('6.1.0-56-amd64'))).toEqual(['bookworm']);
    expect(codenamesForRelease(parseRelease('6.1.0-0.deb11.17-686'))).toEqual(['bullseye']);
    const u = parseRelease('5.15.0-91-generic');
    expect(packageVersionFromBanner(u, 'Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023')).toBe('5.15.0-91.101');
    expect(packageVersionFromBanner(parseRelease('5.15.0-52-generic'), '#58~20.04.1-Ubuntu SMP Thu Oct 13 13:09:46 UTC 2022')).toBe('5.15.0-52.58~20.04.1');
  });
});
