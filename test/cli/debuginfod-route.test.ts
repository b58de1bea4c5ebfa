// The debuginfod route into the cache: a verified vmlinux is published as a release entry with
// its provenance and build-id index; a server answering with another build-id publishes nothing
// (no entry, no index file, no staging directory left behind).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';
import { debuginfodUrls, fetchDebuginfodFirst, fetchViaDebuginfod } from '../../src/pipeline/fetch/debuginfod-first.js';
import { IntegrityError } from '../../src/core/errors.js';
import type { DumpIdentity } from '../../src/core/types.js';
import { parseRelease } from '../../src/release/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { buildElfVmcore } from './watch-fixtures.js';

const fx = requireFixture('debuginfod');
const ids = JSON.parse(readFileSync(join(fx, 'build-ids.json'), 'utf8')) as { rpm: string; deb: string; plain: string };
const RELEASE = '5.14.0-362.8.1.el9_3.x86_64';

function dumpWith(buildId: string): DumpIdentity {
  return { path: '/var/crash/x/vmcore', format: 'elf64', release: RELEASE, arch: 'x86_64', buildId, crashTime: null, pageSize: 4096, kernelOffset: null, banner: null, source: 'vmcoreinfo', vmcoreinfo: null };
}

describe('fetchViaDebuginfod', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdbg-route-'));
  let good: MirrorServer;
  let bad: MirrorServer;
  beforeAll(async () => {
    mkdirSync(join(root, 'good', 'buildid', ids.plain), { recursive: true });
    copyFileSync(join(fx, 'plain', 'hello-plain'), join(root, 'good', 'buildid', ids.plain, 'debuginfo'));
    mkdirSync(join(root, 'bad', 'buildid', ids.plain), { recursive: true });
    copyFileSync(join(fx, 'build', 'hello-rpm.debug'), join(root, 'bad', 'buildid', ids.plain, 'debuginfo'));
    good = await startMirrorServer(join(root, 'good'));
    bad = await startMirrorServer(join(root, 'bad'));
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
  });

  it('publishes nothing when the server answers with another build-id', async () => {
    const cache = await Cache.open(join(root, 'cache-bad'));
    const rel = parseRelease(RELEASE);
    const err = await fetchViaDebuginfod(cache, rel, dumpWith(ids.plain), { urls: [bad.url] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(await cache.readEntry(rel.uname)).toBeNull();
    expect(existsSync(join(cache.buildIdDir, ids.plain))).toBe(false);
    expect(readdirSync(cache.tmpDir)).toEqual([]);
  });

  it('returns null (package route) for an unknown build-id, without leftovers', async () => {
    const cache = await Cache.open(join(root, 'cache-miss'));
    expect(await fetchViaDebuginfod(cache, parseRelease(RELEASE), dumpWith(ids.deb), { urls: [good.url] })).toBeNull();
    expect(readdirSync(cache.tmpDir)).toEqual([]);
  });

  it('publishes a verified vmlinux with provenance and the build-id index', async () => {
    const cache = await Cache.open(join(root, 'cache-good'));
    const rel = parseRelease(RELEASE);
    const e = await fetchViaDebuginfod(cache, rel, dumpWith(ids.plain), { urls: [bad.url, good.url] });
    expect(e).not.toBeNull();
    expect(readFileSync(e!.entry.vmlinux).equals(readFileSync(join(fx, 'plain', 'hello-plain')))).toBe(true);
    expect(e!.entry.buildId).toBe(ids.plain);
    expect(e!.entry.packages).toHaveLength(1);
    expect(e!.entry.packages[0]!.url).toBe(`${good.url}/buildid/${ids.plain}/debuginfo`);
    expect((await cache.lookupBuildId(ids.plain))?.entry.release).toBe(rel.uname);
  });

  it('reads server URLs from flags first, then DEBUGINFOD_URLS; KDBG_NO_DEBUGINFOD=1 disables', async () => {
    expect(await debuginfodUrls({ DEBUGINFOD_URLS: 'http://b:8002 http://a:8002/' }, ['http://a:8002'])).toEqual(['http://a:8002', 'http://b:8002']);
    expect(await debuginfodUrls({ DEBUGINFOD_URLS: 'http://b:8002', KDBG_NO_DEBUGINFOD: '1' })).toEqual([]);
  });

  it('fetchDebuginfodFirst: a dump with a BUILD-ID gets its vmlinux from debuginfod, then from the cache', async () => {
    const dump = join(root, 'vmcore');
    writeFileSync(dump, buildElfVmcore({ release: RELEASE, buildId: ids.plain }));
    const opts = { cacheDir: join(root, 'cache-first'), vmlinuxOnly: true, env: { DEBUGINFOD_URLS: `${bad.url} ${good.url}` } };
    const warnings: string[] = [];
    const first = await fetchDebuginfodFirst(dump, { ...opts, onProgress: (e) => e.kind === 'warning' && warnings.push(e.code) });
    expect(first.via).toBe('debuginfod');
    expect(first.dump?.buildId).toBe(ids.plain);
    expect(readFileSync(first.vmlinux).equals(readFileSync(join(fx, 'plain', 'hello-plain')))).toBe(true);
    // The wrong server was tried first and reported, not trusted.
    expect(warnings).toContain('KDBG_E_INTEGRITY');
    const second = await fetchDebuginfodFirst(dump, opts);
    expect(second.via).toBe('cache');
    expect(second.vmlinux).toBe(first.vmlinux);
  });
});
