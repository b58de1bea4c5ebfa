// Indexes read once (issue 19, item 4), against real servers on 127.0.0.1 that log every request:
// a second resolve of another release from the same Debian suite / RPM repository downloads no
// index (Release and repomd.xml are asked conditionally and answered 304); within one process (a
// batch) nothing is asked again; a repository that changed is noticed and its new index read.
// `forgetIndexMemo()` stands for a new process (the on-disk cache is kept).
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { resolveDebPackages } from '../../src/resolve/deb.js';
import { forgetIndexMemo } from '../../src/resolve/index-cache.js';
import { loadMirrorConfig, resolvePackages } from '../../src/resolve/index.js';
import { parseReleaseSha256 } from '../../src/resolve/deb-release.js';
import { requireFixture } from '../helpers/fixtures.js';
import { signRelease, trustKeys } from '../helpers/deb-keys.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';
import type { ProgressEvent } from '../../src/core/types.js';

const debRoot = requireFixture('deb');
const servers: MirrorServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});
async function serve(root: string): Promise<MirrorServer> {
  const s = await startMirrorServer(root);
  servers.push(s);
  return s;
}
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const isIndex = (p: string): boolean => /\/(Packages(\.xz|\.gz)?|[^/]*primary\.xml(\.\w+)?)$/.test(p);
const isNamer = (p: string): boolean => /\/(Release|InRelease|repomd\.xml)$/.test(p);

async function debResolve(release: string, mirror: string, cacheRoot: string, events: ProgressEvent[] = []) {
  const rel = parseRelease(release);
  return resolveDebPackages(rel, wantedPackages(rel, { source: false }), {
    mirrors: [mirror],
    repos: [],
    aptRoot: null,
    http: undiciFetcher,
    cacheRoot,
    onProgress: (e) => events.push(e),
    trust: trustKeys(join(debRoot, 'debian', 'archive-key.asc')),
  });
}

describe('Debian: Packages indexes by the Release SHA256', () => {
  let server: MirrorServer;
  beforeAll(async () => {
    server = await serve(debRoot);
  });

  it('a second fetch of another release from the same suites downloads no index: Release answered 304', async () => {
    forgetIndexMemo();
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-idx-'));
    const b0 = server.requests.length;
    const t0 = Date.now();
    const [first] = await debResolve('6.1.0-99-amd64', `${server.url}/debian`, cache);
    const firstMs = Date.now() - t0;
    const firstReqs = server.requests.slice(b0);
    expect(first!.evr).toBe('6.1.999-2');
    const firstIndexes = firstReqs.filter((r) => isIndex(r.path) && r.status === 200);
    expect(firstIndexes.length).toBeGreaterThanOrEqual(2);
    // Where a (verified) InRelease was read, only the index names it lists are asked for: no 404 on them.
    const withRelease = firstReqs.filter((r) => r.path.endsWith('/InRelease') && r.status === 200).map((r) => r.path.replace(/InRelease$/, ''));
    expect(withRelease.length).toBeGreaterThanOrEqual(2);
    expect(firstReqs.filter((r) => isIndex(r.path) && r.status === 404 && withRelease.some((d) => r.path.startsWith(d)))).toEqual([]);
    // Beside each stored index, the rows of its debug packages only (resolve/deb-scan.ts), as the index has them.
    const stored = readdirSync(join(cache, 'meta', 'index')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(stored.length).toBe(firstIndexes.length);
    for (const n of stored) {
      const raw = readFileSync(join(cache, 'meta', 'index', n));
      const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : execFileSync('xz', ['-dcf'], { input: raw })).toString('utf8');
      const debug = text.split(/\n\n+/).map((st) => /^Package: (.*)$/m.exec(st)?.[1]).filter((p): p is string => p !== undefined && /-dbg(sym)?$/.test(p));
      const rows = readFileSync(join(cache, 'meta', 'index', `${n}.dbg-rows`), 'utf8');
      expect(rows === '' ? [] : rows.split('\n').map((l) => l.split('\t')[0])).toEqual(debug);
    }
    expect(readdirSync(join(cache, 'meta', 'index')).filter((n) => n.endsWith('.rows'))).toEqual([]);

    forgetIndexMemo(); // a new process, same cache
    const b1 = server.requests.length;
    const t1 = Date.now();
    const events: ProgressEvent[] = [];
    const [second] = await debResolve('6.1.0-98-amd64', `${server.url}/debian`, cache, events);
    const secondMs = Date.now() - t1;
    const secondReqs = server.requests.slice(b1);
    expect(second!.name).toBe('linux-image-6.1.0-98-amd64-dbg');
    // No index body crossed the wire; suites that exist were asked only for their Release (304).
    // A suite the mirror lacks (no Release: 404) is looked for as before (its index names, 404).
    expect(secondReqs.filter((r) => r.status === 200)).toEqual([]);
    expect(secondReqs.filter((r) => isIndex(r.path) && withRelease.some((d) => r.path.startsWith(d)))).toEqual([]);
    const namers = secondReqs.filter((r) => isNamer(r.path) && r.status !== 404);
    expect(namers.map((r) => r.path.replace(/InRelease$/, '')).sort()).toEqual([...withRelease].sort());
    expect(namers.every((r) => r.status === 304)).toBe(true);
    expect(events.filter((e) => e.kind === 'index' && e.from === 'cache').length).toBe(firstIndexes.length);
    console.log(`deb: first ${firstReqs.length} requests (${firstIndexes.length} index downloads) ${firstMs} ms; second ${secondReqs.length} requests (0 index downloads, ${namers.length}×304, ${secondReqs.filter((r) => r.status === 404).length}×404 for the suite the mirror lacks) ${secondMs} ms`);

    // The same process again (a batch): not even a conditional request.
    const b2 = server.requests.length;
    await debResolve('6.1.0-99-amd64', `${server.url}/debian`, cache);
    expect(server.requests.slice(b2)).toEqual([]);
  });

  it('a changed suite (new Release) is noticed and its new index read', async () => {
    forgetIndexMemo();
    const root = mkdtempSync(join(tmpdir(), 'kdbg-debmirror-'));
    cpSync(join(debRoot, 'debian'), join(root, 'debian'), { recursive: true });
    const s = await serve(root);
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-idx-'));
    expect((await debResolve('6.1.0-99-amd64', `${s.url}/debian`, cache))[0]!.evr).toBe('6.1.999-2');

    // The suite publishes a new upload (the -1 file under a higher version) in a plain Packages, and a new Release.
    const dir = join(root, 'debian/dists/bookworm/main/binary-amd64');
    const old = execFileSync('xz', ['-dc', join(dir, 'Packages.xz')]).toString('utf8');
    const stanza = old.split('\n\n').find((st) => /^Package: linux-image-6\.1\.0-99-amd64-dbg$/m.test(st) && /^Version: 6\.1\.999-1$/m.test(st))!;
    const text = `${old.trimEnd()}\n\n${stanza.replace('Version: 6.1.999-1', 'Version: 6.1.999-3')}\n`;
    writeFileSync(join(dir, 'Packages'), text);
    const relFile = join(root, 'debian/dists/bookworm/Release');
    const head = readFileSync(relFile, 'utf8').split('SHA256:')[0]!;
    writeFileSync(relFile, `${head}SHA256:\n ${sha(text)} ${Buffer.byteLength(text)} main/binary-amd64/Packages\n`);
    expect(parseReleaseSha256(readFileSync(relFile, 'utf8')).get('main/binary-amd64/Packages')?.sha256).toBe(sha(text));
    signRelease(join(root, 'debian/dists/bookworm')); // the archive signs its new Release (InRelease + Release.gpg)

    forgetIndexMemo();
    const b = s.requests.length;
    const [r] = await debResolve('6.1.0-99-amd64', `${s.url}/debian`, cache);
    const reqs = s.requests.slice(b).map((q) => `${q.path} ${q.status}`);
    expect(r!.evr).toBe('6.1.999-3');
    expect(reqs).toContain('/debian/dists/bookworm/InRelease 200');
    expect(reqs).toContain('/debian/dists/bookworm/main/binary-amd64/Packages 200');
    expect(reqs.filter((q) => q.startsWith('/debian/dists/bookworm/main/binary-amd64/Packages.xz'))).toEqual([]);
    // The other suites did not change: 304 and their stored index.
    expect(reqs).toContain('/debian/dists/bookworm-security/InRelease 304');
    expect(reqs.filter((q) => q.startsWith('/debian/dists/bookworm-security/main'))).toEqual([]);
  });
});

describe('RPM: primary by the sha256 repomd.xml gives', () => {
  const manifest = readRpmManifest();
  const el8 = manifest.packages.filter((p) => p.file.startsWith('mirror/8/x86_64/') && p.role === 'vmlinux' && !p.uname.includes('+debug'));
  const cfg = (repo: string) => loadMirrorConfig({ repos: [repo], etcRoot: mkdtempSync(join(tmpdir(), 'kdbg-etc-')), env: { HOME: tmpdir(), KDBG_NO_PRESETS: '1' } });
  async function rpmResolve(uname: string, repo: string, cacheRoot: string) {
    const rel = parseRelease(uname);
    return resolvePackages(rel, wantedPackages(rel, { source: false }), { config: await cfg(repo), http: undiciFetcher, cacheRoot });
  }

  it('a second fetch of another release from the same repository reads repomd.xml (304) and no primary', async () => {
    expect(el8.length).toBeGreaterThanOrEqual(2);
    forgetIndexMemo();
    const server = await serve(rpmFixtureRoot);
    const repo = `${server.url}/mirror/8/x86_64/`;
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-idx-'));
    const b0 = server.requests.length;
    const [a] = await rpmResolve(el8[0]!.uname, repo, cache);
    expect(a).toMatchObject({ sha256: el8[0]!.sha256, size: el8[0]!.size });
    const firstReqs = server.requests.slice(b0);
    expect(firstReqs.filter((r) => isIndex(r.path) && r.status === 200).length).toBe(1);

    forgetIndexMemo();
    const b1 = server.requests.length;
    const [b] = await rpmResolve(el8[1]!.uname, repo, cache);
    expect(b).toMatchObject({ sha256: el8[1]!.sha256, size: el8[1]!.size });
    const reqs = server.requests.slice(b1).map((q) => `${q.path} ${q.status}`);
    expect(reqs).toEqual(['/mirror/8/x86_64/repodata/repomd.xml 304']);
    console.log(`rpm: first ${firstReqs.length} requests, second ${reqs.length} (${reqs.join(', ')})`);

    const b2 = server.requests.length;
    await rpmResolve(el8[0]!.uname, repo, cache);
    expect(server.requests.slice(b2)).toEqual([]);
  });

  it('a new repomd revision is noticed and the new primary read', async () => {
    forgetIndexMemo();
    const root = mkdtempSync(join(tmpdir(), 'kdbg-rpmmirror-'));
    cpSync(join(rpmFixtureRoot, 'mirror/8/x86_64/repodata'), join(root, 'repodata'), { recursive: true });
    cpSync(join(rpmFixtureRoot, 'mirror/8/x86_64/Packages'), join(root, 'Packages'), { recursive: true });
    const s = await serve(root);
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-idx-'));
    await rpmResolve(el8[0]!.uname, `${s.url}/`, cache);

    // createrepo_c again: a new revision naming a new primary (here the same packages, uncompressed).
    const rd = join(root, 'repodata');
    const oldName = readdirSync(rd).find((f) => f.endsWith('-primary.xml.xz'))!;
    const xml = execFileSync('xz', ['-dc', join(rd, oldName)]);
    const newSha = sha(xml);
    writeFileSync(join(rd, `${newSha}-primary.xml`), xml);
    const repomd = readFileSync(join(rd, 'repomd.xml'), 'utf8');
    const oldSha = oldName.slice(0, 64);
    writeFileSync(join(rd, 'repomd.xml'), repomd.replace(/<revision>\d+<\/revision>/, '<revision>1999999999</revision>').replaceAll(`${oldSha}-primary.xml.xz`, `${newSha}-primary.xml`).replace(oldSha, newSha));

    forgetIndexMemo();
    const b = s.requests.length;
    const [r] = await rpmResolve(el8[1]!.uname, `${s.url}/`, cache);
    expect(r).toMatchObject({ sha256: el8[1]!.sha256 });
    expect(s.requests.slice(b).map((q) => `${q.path} ${q.status}`)).toEqual(['/repodata/repomd.xml 200', `/repodata/${newSha}-primary.xml 200`]);
  });
});
