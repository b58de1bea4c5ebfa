// issue 14, the archive routes as library calls (resolvePackages with the archives configured)
// against the local imitations of test/helpers/archive-services.ts, and their small pure parts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, NetworkError, NotFoundError } from '../../src/core/errors.js';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { loadMirrorConfig, resolvePackages, type MirrorConfig } from '../../src/resolve/index.js';
import { ARCHIVE_PRESETS } from '../../src/resolve/archive-presets.js';
import { writeFileSync } from 'node:fs';
import { parseRetryAfter as retryAfterMs } from '../../src/core/retry.js';
import { snapshotSuites } from '../../src/resolve/snapshot.js';
import { fileDigest, startLaunchpadService, startSnapshotService } from '../helpers/archive-services.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
let snap: MirrorServer;
let lp: MirrorServer;

function config(): MirrorConfig {
  // The archived InRelease files are signed by the fixture key (archive-services.ts): it is the trusted keyring.
  return { sources: [], presets: false, aptRoot: null, files: [], timeoutMs: 5000, mirrorsPerList: 3, archives: { debianSnapshot: `${snap.url}/`, launchpad: `${lp.url}/devel/` }, keyrings: [fixturePath('keys', 'archive.asc')] };
}

beforeAll(async () => {
  const d = tmp('kdbg-archives-lib-');
  const deb98 = requireFixture('deb', 'debian', 'pool/main/l/linux', 'linux-image-6.1.0-98-amd64-dbg_6.1.998-1_amd64.deb');
  const deb99 = requireFixture('deb', 'debian', 'pool/main/l/linux', 'linux-image-6.1.0-99-amd64-dbg_6.1.999-1_amd64.deb');
  snap = await startSnapshotService(join(d, 'snap'), [
    { deb: deb98, archive: 'debian', firstSeen: '20230101T000000Z', suite: 'bookworm', indexSize: 12345 },
    // Indexed only in a suite kdbg does not read: the file cannot be verified.
    { deb: deb99, archive: 'debian', firstSeen: '20230202T000000Z', suite: 'bookworm-fasttrack' },
  ]);
  const signedOnly = requireFixture('deb', 'ubuntu-ddebs', 'pool/main/l/linux', 'linux-image-5.15.0-992-generic-dbgsym_5.15.0-992.1002_amd64.ddeb');
  const unsigned = requireFixture('deb', 'ubuntu-ddebs', 'pool/main/l/linux', 'linux-image-unsigned-5.15.0-991-generic-dbgsym_5.15.0-991.1001_amd64.ddeb');
  lp = await startLaunchpadService(join(d, 'lp'), [
    { ddeb: signedOnly, series: 'jammy', pocket: 'Release', status: 'Published', id: 7 },
    { ddeb: unsigned, series: 'jammy', pocket: 'Proposed', status: 'Superseded', id: 8 },
  ]);
});

afterAll(async () => {
  await snap?.close();
  await lp?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('snapshot', () => {
  it('suites to read per archive: security first for debian-security, proposed-updates first for debian', () => {
    expect(snapshotSuites('debian-security', ['bookworm'])).toEqual(['bookworm-security', 'bookworm/updates']);
    expect(snapshotSuites('debian-security', ['buster'])).toEqual(['buster/updates', 'buster-security']);
    expect(snapshotSuites('debian', ['bookworm'])).toEqual(['bookworm-proposed-updates', 'bookworm', 'bookworm-security', 'bookworm-backports']);
    expect(snapshotSuites('debian', ['sid'])).toEqual(['sid', 'experimental']);
    expect(snapshotSuites('debian-backports', ['squeeze'])).toEqual(['squeeze-backports']);
  });

  it('refuses a file whose archived index and the service disagree on its size (nothing downloaded)', async () => {
    const rel = parseRelease('6.1.0-98-amd64');
    snap.requests.length = 0;
    const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher, cacheRoot: tmp('kdbg-archives-meta-') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IntegrityError);
    expect((e as Error).message).toMatch(/says \d+ bytes, its index .*Packages\.xz says 12345/);
    expect(snap.requests.some((q) => q.path.includes('/pool/'))).toBe(false);
  });

  it('a file no archived index lists is not taken unverified: exit 69 saying so, each suite read once', async () => {
    const rel = parseRelease('6.1.0-99-amd64');
    snap.requests.length = 0;
    const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toMatch(/has linux-image-6\.1\.0-99-amd64-dbg_6\.1\.999-1_amd64\.deb, but no index of debian at 20230202T000000Z lists it/);
    expect(snap.requests.filter((q) => q.path.includes('/pool/'))).toEqual([]);
  });

  it('a pinned version missing from a cached version list asks the service once more, a cold miss once', async () => {
    const meta = tmp('kdbg-archives-meta-');
    const list = `/mr/binary/linux-image-6.1.0-98-amd64-dbg/`;
    const run = (pv: string): Promise<unknown> => {
      const rel = parseRelease('6.1.0-98-amd64', { packageVersion: pv });
      return resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher, cacheRoot: meta }).catch((x: unknown) => x);
    };
    snap.requests.length = 0;
    expect(await run('6.1.998-9')).toBeInstanceOf(NotFoundError);
    expect(snap.requests.filter((q) => q.path === list).length).toBe(1);
    snap.requests.length = 0;
    expect(await run('6.1.998-8')).toBeInstanceOf(NotFoundError);
    expect(snap.requests.filter((q) => q.path === list).length).toBe(1);
    snap.requests.length = 0;
    // The version it has: the list from the cache, nothing asked of it.
    expect(await run('6.1.998-1')).toBeInstanceOf(IntegrityError);
    expect(snap.requests.filter((q) => q.path === list).length).toBe(0);
  });

  it('a package the service never had: exit 69 naming the service URL', async () => {
    const rel = parseRelease('6.1.0-96-amd64');
    const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as NotFoundError).exitCode).toBe(69);
    expect((e as Error).message).toContain(`${snap.url}/mr/binary/linux-image-6.1.0-96-amd64-dbg/`);
  });
});

describe('Launchpad', () => {
  it('skips a signed dbgsym stub (≤ 10 MB): not found, both names asked', async () => {
    const rel = parseRelease('5.15.0-992-generic');
    lp.requests.length = 0;
    const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    const names = lp.requests.filter((q) => q.search.includes('getPublishedBinaries')).map((q) => new URLSearchParams(q.search).get('binary_name'));
    expect(names).toEqual(['linux-image-unsigned-5.15.0-992-generic-dbgsym', 'linux-image-5.15.0-992-generic-dbgsym']);
  });
});

describe('Launchpad, pinned and refused', () => {
  it('a pinned version is asked for by version; the file comes with the sha256 Launchpad gives', async () => {
    const rel = parseRelease('5.15.0-991-generic', { packageVersion: '5.15.0-991.1001' });
    lp.requests.length = 0;
    const [p] = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher });
    expect(p).toMatchObject({ name: 'linux-image-unsigned-5.15.0-991-generic-dbgsym', evr: '5.15.0-991.1001', origin: 'launchpad', sha256: await fileDigest(requireFixture('deb', 'ubuntu-ddebs', 'pool/main/l/linux', p!.fileName), 'sha256') });
    expect(new URLSearchParams(lp.requests[0]!.search).get('version')).toBe('5.15.0-991.1001');
  });

  it('429 three times: NetworkError (exit 75) naming the service, no fourth request', async () => {
    const rel = parseRelease('5.15.0-991-generic', { packageVersion: '5.15.0-991.1001' });
    lp.requests.length = 0;
    lp.setFault((path) => (path.startsWith('/devel/') ? { status: 429, retryAfter: '0' } : undefined));
    const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: config(), http: undiciFetcher }).catch((x: unknown) => x);
    lp.setFault(null);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).exitCode).toBe(75);
    expect((e as Error).message).toMatch(/the launchpad service refused with HTTP 429 3 times/);
    expect(lp.requests.length).toBe(3);
  });
});

describe('configuration', () => {
  const load = async (doc: object, env: Record<string, string> = {}, archives?: boolean): Promise<MirrorConfig['archives']> => {
    const f = join(tmp('kdbg-archives-cfg-'), 'config.json');
    writeFileSync(f, JSON.stringify({ hostRepos: false, ...doc }));
    return (await loadMirrorConfig({ configFile: f, etcRoot: tmp('kdbg-archives-etc-'), env, ...(archives !== undefined ? { archives } : {}) })).archives;
  };
  it('defaults are the preset data, only while presets are on', async () => {
    expect(await load({})).toEqual(ARCHIVE_PRESETS);
    expect(await load({ presets: false })).toEqual({ debianSnapshot: null, launchpad: null });
  });
  it('environment over config keys; a site copy counts with presets off; --no-archives and "archives": false win', async () => {
    expect(await load({ presets: false, debianSnapshotUrl: 'http://snap.site/x', launchpadUrl: 'http://lp.site/devel/' })).toEqual({ debianSnapshot: 'http://snap.site/x/', launchpad: 'http://lp.site/devel/' });
    expect(await load({ presets: false, debianSnapshotUrl: 'http://snap.site/' }, { KDBG_DEBIAN_SNAPSHOT_URL: 'http://127.0.0.1:9/' })).toEqual({ debianSnapshot: 'http://127.0.0.1:9/', launchpad: null });
    expect(await load({ archives: false }, { KDBG_LAUNCHPAD_URL: 'http://127.0.0.1:9/devel/' })).toEqual({ debianSnapshot: null, launchpad: null });
    expect(await load({}, {}, false)).toEqual({ debianSnapshot: null, launchpad: null });
  });
  it('bad values name the file and the key (exit 78)', async () => {
    await expect(load({ archives: 'no' })).rejects.toThrow(/config\.json: archives: expected true or false, found a string$/);
    await expect(load({ launchpadUrl: 'ftp://lp/' })).rejects.toThrow(/config\.json: launchpadUrl: not a URL/);
    await expect(load({ launchpadUrl: 'ftp://lp/' })).rejects.toMatchObject({ exitCode: 78 });
  });
});

describe('Retry-After', () => {
  it('delta-seconds and HTTP-date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });
});

describe('Launchpad, paged answers', () => {
  // One -dbgsym published three times, one publication per page: two deleted copies first.
  const pages = async (nextLinkBase?: string): Promise<MirrorServer> => {
    const unsigned = requireFixture('deb', 'ubuntu-ddebs', 'pool/main/l/linux', 'linux-image-unsigned-5.15.0-991-generic-dbgsym_5.15.0-991.1001_amd64.ddeb');
    return startLaunchpadService(tmp('kdbg-lp-pages-'), [
      { ddeb: unsigned, series: 'focal', pocket: 'Updates', status: 'Deleted', id: 20 },
      { ddeb: unsigned, series: 'jammy', pocket: 'Security', status: 'Deleted', id: 21 },
      { ddeb: unsigned, series: 'jammy', pocket: 'Updates', status: 'Published', id: 22 },
    ], { pageSize: 1, ...(nextLinkBase ? { nextLinkBase } : {}) });
  };
  const cfg = (s: MirrorServer): MirrorConfig => ({ ...config(), archives: { debianSnapshot: `${snap.url}/`, launchpad: `${s.url}/devel/` } });

  it('follows next_collection_link: the publication on the third page is found, each page asked once', async () => {
    const s = await pages();
    try {
      const rel = parseRelease('5.15.0-991-generic');
      const [p] = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: cfg(s), http: undiciFetcher, cacheRoot: tmp('kdbg-lp-pages-meta-') });
      expect(p).toMatchObject({ origin: 'launchpad', evr: '5.15.0-991.1001', urls: [expect.stringContaining('/librarian/22/')] });
      const asked = s.requests.filter((q) => q.search.includes('getPublishedBinaries')).map((q) => new URLSearchParams(q.search).get('ws.start'));
      expect(asked).toEqual([null, '1', '2']);
    } finally {
      await s.close();
    }
  });

  it('does not follow a next_collection_link that leaves the service: the other server is never asked', async () => {
    const other = await startMirrorServer(tmp('kdbg-lp-other-'));
    const s = await pages(`${other.url}/devel/`);
    try {
      const rel = parseRelease('5.15.0-991-generic');
      const e = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: cfg(s), http: undiciFetcher, cacheRoot: tmp('kdbg-lp-pages-meta-') }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NotFoundError);
      expect(other.requests).toEqual([]);
    } finally {
      await s.close();
      await other.close();
    }
  });
});
