// A release's Debian suites are read at the same time (resolve/deb-locations.ts), with the outcome
// of the loop that read them one after another: candidates and attempts in location order, the
// same requests, and the first failure in location order thrown. The ordering rules are checked
// on plain async work; the concurrency itself on a copy of the signed fixture archive
// (scripts/fixtures/20-deb-mirror.sh) served on 127.0.0.1, with real gpgv checks.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/core/errors.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { undiciFetcher } from '../../src/download/http.js';
import { covered } from '../../src/pipeline/timings.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { resolveDebPackages } from '../../src/resolve/deb.js';
import { inOrder, readLocations } from '../../src/resolve/deb-locations.js';
import { forgetIndexMemo } from '../../src/resolve/index-cache.js';
import { signRelease, trustKeys } from '../helpers/deb-keys.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('inOrder: concurrent work, the outcome of a loop', () => {
  it('results come in item order whatever order the work ends in, at most `lanes` at once', async () => {
    let running = 0;
    let most = 0;
    const out = await inOrder([40, 5, 25, 1, 10], 2, undefined, async (ms) => {
      running++;
      most = Math.max(most, running);
      await sleep(ms);
      running--;
      return ms * 2;
    });
    expect(out).toEqual([80, 10, 50, 2, 20]);
    expect(most).toBe(2);
  });

  it('the first failure in item order is thrown, even when a later item failed first; items before it finish', async () => {
    const finished: number[] = [];
    const p = inOrder([0, 1, 2, 3], 4, undefined, async (i) => {
      // item 2 fails at once, item 1 later: a loop would have thrown item 1's failure
      await sleep(i === 2 ? 1 : i === 1 ? 30 : 10);
      if (i === 1 || i === 2) throw new Error(`item ${i}`);
      finished.push(i);
      return i;
    });
    await expect(p).rejects.toThrow('item 1');
    expect(finished).toContain(0);
  });

  it('after a failure, later items in flight see their signal abort and items not started never start', async () => {
    const started: number[] = [];
    const aborted: number[] = [];
    const p = inOrder([0, 1, 2, 3, 4], 2, undefined, async (i, signal) => {
      started.push(i);
      if (i === 0) {
        await sleep(5);
        throw new Error('item 0');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          aborted.push(i);
          resolve();
        });
      });
      return i;
    });
    await expect(p).rejects.toThrow('item 0');
    expect(started).toEqual([0, 1]);
    expect(aborted).toEqual([1]);
  });

  it('an aborted caller stops it', async () => {
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(inOrder([1, 2], 2, c.signal, async (i) => i)).rejects.toThrow('stop');
  });
});

describe('readLocations: which locations are read', () => {
  const locs = [
    { name: 'mirror-a', fromHost: false },
    { name: 'mirror-b', fromHost: false },
    { name: 'host-a', fromHost: true },
  ];
  const found: Record<string, string[]> = { 'mirror-a': [], 'mirror-b': ['1.0'], 'host-a': ['2.0'] };

  it('the host archives are read only when the configured ones found nothing; candidates and attempts in location order', async () => {
    const read: string[] = [];
    const scan = async (l: (typeof locs)[number], attempts: string[]): Promise<string[]> => {
      read.push(l.name);
      await sleep(l.name === 'mirror-a' ? 20 : 1);
      attempts.push(l.name);
      return found[l.name]!;
    };
    expect(await readLocations(locs, scan, { pinHit: null })).toEqual({ all: ['1.0'], attempts: ['mirror-a', 'mirror-b'] });
    expect(read).not.toContain('host-a');
    found['mirror-b'] = [];
    read.length = 0;
    expect(await readLocations(locs, scan, { pinHit: null })).toEqual({ all: ['2.0'], attempts: ['mirror-a', 'mirror-b', 'host-a'] });
    found['mirror-b'] = ['1.0'];
  });

  it('with a pinned version, one location at a time until one has it (no index read ahead)', async () => {
    const read: string[] = [];
    const r = await readLocations(
      locs,
      async (l) => {
        read.push(l.name);
        return found[l.name]!;
      },
      { pinHit: (all) => all.includes('1.0') },
    );
    expect(r.all).toEqual(['1.0']);
    expect(read).toEqual(['mirror-a', 'mirror-b']);
  });
});

describe('timings: spans that overlap count once', () => {
  it('covered() is the sum for spans one after another, the union for overlapping ones', () => {
    expect(covered([])).toBe(0);
    expect(covered([[0, 20], [30, 50], [60, 80]])).toBe(60);
    expect(covered([[0, 20], [5, 25], [10, 30]])).toBe(30);
    expect(covered([[10, 30], [0, 5], [12, 14]])).toBe(25);
  });
});

describe('a release read from a signed archive: suites at the same time', () => {
  const deb = requireFixture('deb');
  const key = join(deb, 'debian', 'archive-key.asc');
  const servers: MirrorServer[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function mirror(alter: (root: string) => void = () => undefined): Promise<{ url: string; server: MirrorServer }> {
    const d = mkdtempSync(join(tmpdir(), 'kdbg-locs-'));
    dirs.push(d);
    cpSync(join(deb, 'debian'), join(d, 'debian'), { recursive: true });
    alter(join(d, 'debian'));
    const server = await startMirrorServer(d);
    servers.push(server);
    return { url: `${server.url}/debian`, server };
  }
  const resolve = (url: string, onProgress?: (e: ProgressEvent) => void) => {
    forgetIndexMemo();
    const rel = parseRelease('6.1.0-99-amd64');
    const opts = { mirrors: [url], repos: [], aptRoot: null, http: undiciFetcher, trust: trustKeys(key), suites: ['bookworm', 'bookworm-security'] };
    return resolveDebPackages(rel, wantedPackages(rel, { source: false }), onProgress ? { ...opts, onProgress } : opts);
  };
  const delayFirstInRelease = (server: MirrorServer, ms: number): void =>
    server.setFault((path) => (path === '/debian/dists/bookworm/InRelease' ? { delayMs: ms } : undefined));

  it('the second suite is asked for while the first one is still answering; the same requests as one after another, the same answer', async () => {
    const calm = await mirror();
    const [before] = await resolve(calm.url);
    const m = await mirror();
    delayFirstInRelease(m.server, 400);
    const events: ProgressEvent[] = [];
    const [r] = await resolve(m.url, (e) => events.push(e));
    expect(r).toEqual({ ...before, urls: before!.urls.map((u) => u.replace(calm.url, m.url)) });
    const at = (p: string): number => m.server.requests.find((q) => q.path === p)!.at;
    const first = at('/debian/dists/bookworm/InRelease');
    expect(at('/debian/dists/bookworm-security/InRelease') - first).toBeLessThan(400);
    expect(at('/debian/dists/bookworm-security/main/binary-amd64/Packages.xz') - first).toBeLessThan(400);
    const paths = (s: MirrorServer): string[] => s.requests.map((q) => `${q.path} ${q.status}`).sort();
    expect(paths(m.server)).toEqual(paths(calm.server));
    console.log(`[locations] ${m.server.requests.length} requests, as one after another; bookworm-security InRelease asked ${at('/debian/dists/bookworm-security/InRelease') - first} ms after bookworm's (answered after 400 ms)`);
    expect(events.filter((e) => e.kind === 'signature')).toHaveLength(2);
  });

  it('the first suite refused while a later one is fine: its refusal is the answer, as one after another', async () => {
    const m = await mirror((root) => {
      const dir = join(root, 'dists', 'bookworm');
      rmSync(join(dir, 'InRelease'));
      rmSync(join(dir, 'Release.gpg'));
      signRelease(dir, 'other');
    });
    delayFirstInRelease(m.server, 300);
    const e = await resolve(m.url).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SignatureError);
    expect((e as SignatureError).details['reason']).toBe('unknown-key');
    expect((e as SignatureError).message).toMatch(/\/dists\/bookworm\/InRelease: /);
  });
});
