// `kdbg cache du | prune | verify | rm` end to end: caches populated by the real `kdbg fetch`
// against the rpmbuild-made fixture mirror on 127.0.0.1; sizes checked against lstat of every
// file, digests against the fixture manifest (sha256sum of the real packages and vmlinux files).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { loopbackOnlyConfig, repoRoot, runKdbg } from './fetch-cli.js';
import { readRpmManifest, rpmManifestPath, type RpmManifestPackage as ManifestPackage } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const mirrorRoot = join(manifestPath, '..', manifest.mirrorBase);
const pkgs = (set: string): ManifestPackage[] => manifest.packages.filter((p) => p.set === set);
const vm = (set: string): ManifestPackage => pkgs(set).find((p) => p.role === 'vmlinux')!;
const sets = ['el7', 'el8', 'el9', 'uek'] as const;
const uname = (set: string): string => vm(set).uname;
const pkgPath = (cache: string, sha: string): string => join(cache, 'packages', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha);

/** Sum of st.size of every regular file below p (each inode once), as `du --apparent-size -b` counts files. */
function fileBytes(p: string, seen = new Set<string>()): number {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (st.isDirectory()) return readdirSync(p).reduce((a, n) => a + fileBytes(join(p, n), seen), 0);
  if (!st.isFile()) return 0;
  const k = `${st.dev}:${st.ino}`;
  if (seen.has(k)) return 0;
  seen.add(k);
  return st.size;
}

let server: MirrorServer;
const config = loopbackOnlyConfig();
let base: string;

beforeAll(async () => {
  server = await startMirrorServer(mirrorRoot);
  base = mkdtempSync(join(tmpdir(), 'kdbg-policy-base-'));
  const r = await runKdbg(['fetch', ...sets.map(uname), '--mirror', server.url, '--cache-dir', base, '--config', config, '--quiet']);
  if (r.code !== 0) throw new Error(`populating the cache failed: ${r.stdout}${r.stderr}`);
});
afterAll(() => server.close());

/** A private copy of the populated cache (symlinks kept as they are). */
function copyCache(): string {
  const c = join(mkdtempSync(join(tmpdir(), 'kdbg-policy-')), 'cache');
  cpSync(base, c, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  return c;
}
const daysAgo = (d: number): Date => new Date(Date.now() - d * 86_400_000);
const setUsed = (cache: string, u: string, when: Date): void => utimesSync(join(cache, 'used', u), when, when);

describe('kdbg cache du', () => {
  it('total, per-entry, packages and partial numbers equal the sums of the file sizes', async () => {
    const cache = copyCache();
    mkdirSync(join(cache, 'partial'), { recursive: true });
    writeFileSync(join(cache, 'partial', 'abc.part'), Buffer.alloc(1234, 1));
    writeFileSync(join(cache, 'partial', 'abc.json'), '{}');
    const r = await runKdbg(['cache', 'du', '--json', '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const u = JSON.parse(r.stdout) as {
      totalBytes: number;
      releasesBytes: number;
      entries: Array<{ release: string; bytes: number; packagesBytes: number }>;
      packages: { bytes: number; count: number; orphanCount: number };
      partial: { bytes: number; count: number };
    };
    expect(u.totalBytes).toBe(fileBytes(cache));
    expect(u.releasesBytes).toBe(fileBytes(join(cache, 'releases')));
    expect(u.packages.bytes).toBe(fileBytes(join(cache, 'packages')));
    expect(u.partial).toEqual({ bytes: 1234 + 2, count: 1 });
    expect(u.packages.count).toBe(8);
    expect(u.packages.orphanCount).toBe(0);
    expect(u.entries.map((e) => e.release)).toEqual(sets.map(uname).sort());
    for (const set of sets) {
      const e = u.entries.find((x) => x.release === uname(set))!;
      expect(e.bytes).toBe(fileBytes(join(cache, 'releases', uname(set))));
      // The packages the entry was built from, sizes as the manifest (stat of the real rpm) says.
      expect(e.packagesBytes).toBe(pkgs(set).reduce((a, p) => a + p.size, 0));
    }
    const text = await runKdbg(['cache', 'du', '--cache-dir', cache]);
    expect(text.stdout.trim().split('\n').pop()).toBe(`${u.totalBytes}\t${text.stdout.trim().split('\n').pop()!.split('\t')[1]}\ttotal ${cache}`);
  });
});

describe('kdbg cache verify', () => {
  it('finds a flipped byte in a vmlinux and in a stored package, removes both, exits 65; a clean cache exits 0', async () => {
    const cache = copyCache();
    const clean = await runKdbg(['cache', 'verify', '--json', '--cache-dir', cache]);
    expect(clean.code).toBe(0);
    const ok = JSON.parse(clean.stdout) as { entries: number; packages: number; bad: unknown[]; bytesHashed: number };
    expect(ok).toMatchObject({ entries: 4, packages: 8, bad: [] });

    const victim = uname('el8');
    const vmlinux = join(cache, 'releases', victim, 'vmlinux');
    const buf = readFileSync(vmlinux);
    buf[buf.length >> 1] = buf[buf.length >> 1]! ^ 0xff;
    writeFileSync(vmlinux, buf);
    const srcPkg = pkgs('el9').find((p) => p.role === 'source')!;
    const stored = pkgPath(cache, srcPkg.sha256);
    chmodSync(stored, 0o644);
    const pb = readFileSync(stored);
    pb[100] = pb[100]! ^ 0x01;
    writeFileSync(stored, pb);

    const r = await runKdbg(['cache', 'verify', '--json', '--cache-dir', cache]);
    expect(r.code).toBe(65);
    const rep = JSON.parse(r.stdout) as { bad: Array<{ kind: string; name: string; problem: string; expected: string; actual: string; removed: boolean }> };
    expect(rep.bad).toHaveLength(2);
    expect(rep.bad[0]).toMatchObject({ kind: 'entry', name: victim, problem: 'digest-mismatch', expected: vm('el8').vmlinuxSha256, removed: true });
    expect(rep.bad[0]!.actual).not.toBe(vm('el8').vmlinuxSha256);
    expect(rep.bad[1]).toMatchObject({ kind: 'package', name: srcPkg.sha256, problem: 'digest-mismatch', removed: true });
    expect(r.stderr).toMatch(/^kdbg: cache: 2 bad item/m);
    expect(existsSync(join(cache, 'releases', victim))).toBe(false);
    expect(existsSync(stored)).toBe(false);
    expect(readdirSync(join(cache, 'buildid')).map((f) => readFileSync(join(cache, 'buildid', f), 'utf8').trim())).not.toContain(victim);
    // Everything else is intact, and a second run finds nothing.
    const again = await runKdbg(['cache', 'verify', '--cache-dir', cache]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/verified 3 entries and 7 packages \(\d+ bytes\): 0 bad/);
    // The removed entry is simply a miss: fetching it again restores the verified vmlinux.
    expect((await runKdbg(['fetch', victim, '--offline', '--cache-dir', cache])).code).toBe(69);
    const re = await runKdbg(['fetch', victim, '--mirror', server.url, '--cache-dir', cache, '--config', config, '--quiet']);
    expect(re.code).toBe(0);
    expect(execFileSync('sha256sum', [re.stdout.trim()]).toString().split(' ')[0]).toBe(vm('el8').vmlinuxSha256);
  });
});

describe('kdbg cache prune', () => {
  it('--max-age removes entries unused for longer (with their packages); --dry-run removes nothing', async () => {
    const cache = copyCache();
    setUsed(cache, uname('el7'), daysAgo(40));
    setUsed(cache, uname('el8'), daysAgo(35));
    setUsed(cache, uname('el9'), daysAgo(1));
    setUsed(cache, uname('uek'), daysAgo(10));
    const dry = await runKdbg(['cache', 'prune', '--max-age', '30d', '--dry-run', '--json', '--cache-dir', cache]);
    expect(dry.code).toBe(0);
    const d = JSON.parse(dry.stdout) as { dryRun: boolean; removed: Array<{ kind: string; name: string; reason: string }> };
    expect(d.dryRun).toBe(true);
    expect(d.removed.filter((x) => x.kind === 'entry').map((x) => x.name)).toEqual([uname('el7'), uname('el8')]);
    expect(readdirSync(join(cache, 'releases')).sort()).toEqual(sets.map(uname).sort());

    const r = await runKdbg(['cache', 'prune', '--max-age', '30d', '--json', '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { removed: Array<{ kind: string; name: string; reason: string; bytes: number }>; freedBytes: number; beforeBytes: number; afterBytes: number };
    expect(rep.removed.filter((x) => x.kind === 'entry').map((x) => [x.name, x.reason])).toEqual([
      [uname('el7'), 'max-age'],
      [uname('el8'), 'max-age'],
    ]);
    expect(rep.removed.filter((x) => x.kind === 'package').map((x) => x.name).sort()).toEqual([...pkgs('el7'), ...pkgs('el8')].map((p) => p.sha256).sort());
    expect(readdirSync(join(cache, 'releases')).sort()).toEqual([uname('el9'), uname('uek')].sort());
    for (const p of [...pkgs('el7'), ...pkgs('el8')]) expect(existsSync(pkgPath(cache, p.sha256))).toBe(false);
    for (const p of [...pkgs('el9'), ...pkgs('uek')]) expect(existsSync(pkgPath(cache, p.sha256))).toBe(true);
    expect(rep.afterBytes).toBe(fileBytes(cache));
    expect(rep.beforeBytes - rep.freedBytes).toBe(rep.afterBytes);
    // A cache hit refreshes the stamp: a just-used entry is not pruned by age.
    setUsed(cache, uname('uek'), daysAgo(100));
    expect((await runKdbg(['fetch', uname('uek'), '--offline', '--cache-dir', cache])).code).toBe(0);
    const after = await runKdbg(['cache', 'prune', '--max-age', '30d', '--json', '--cache-dir', cache]);
    expect((JSON.parse(after.stdout) as { removed: unknown[] }).removed).toEqual([]);
  });

  it('--max-size removes least recently used first until the cache fits', async () => {
    const cache = copyCache();
    const order = ['el8', 'uek', 'el7', 'el9']; // oldest first
    order.forEach((s, i) => setUsed(cache, uname(s), daysAgo(10 - i)));
    const total = fileBytes(cache);
    // Room for everything but the least recently used entry and its packages.
    const el8Cost = fileBytes(join(cache, 'releases', uname('el8'))) + pkgs('el8').reduce((a, p) => a + p.size, 0);
    const limit = total - el8Cost + 10;
    const r = await runKdbg(['cache', 'prune', '--max-size', String(limit), '--json', '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { removed: Array<{ kind: string; name: string; reason: string }>; afterBytes: number };
    expect(rep.removed.filter((x) => x.kind === 'entry').map((x) => [x.name, x.reason])).toEqual([[uname('el8'), 'max-size']]);
    expect(rep.afterBytes).toBeLessThanOrEqual(limit);
    expect(fileBytes(cache)).toBe(rep.afterBytes);

    // 1K keeps nothing: the rest goes in LRU order.
    const all = await runKdbg(['cache', 'prune', '--max-size', '1K', '--json', '--cache-dir', cache]);
    const rest = JSON.parse(all.stdout) as { removed: Array<{ kind: string; name: string }> };
    expect(rest.removed.filter((x) => x.kind === 'entry').map((x) => x.name)).toEqual(['uek', 'el7', 'el9'].map(uname));
    expect(readdirSync(join(cache, 'releases'))).toEqual([]);
    expect(readdirSync(join(cache, 'packages', 'by-name'))).toEqual([]);
  });

  it('skips an entry whose release lock is held by a live process', async () => {
    const cache = copyCache();
    for (const s of sets) setUsed(cache, uname(s), daysAgo(60));
    const held = uname('el9');
    // This test process is alive on this host: to kdbg that is a fetch in progress.
    writeFileSync(join(cache, 'locks', `release-${held}.lock`), JSON.stringify({ pid: process.pid, host: hostname(), time: new Date().toISOString(), purpose: `fetching ${held}` }));
    const r = await runKdbg(['cache', 'prune', '--max-age', '30d', '--json', '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { removed: Array<{ kind: string; name: string }>; skipped: Array<{ release: string; reason: string }> };
    expect(rep.skipped).toEqual([{ release: held, reason: 'in-use' }]);
    expect(readdirSync(join(cache, 'releases'))).toEqual([held]);
    for (const p of pkgs('el9')) expect(existsSync(pkgPath(cache, p.sha256))).toBe(true);
    // The holder's lock is untouched; once it is gone the entry can go.
    expect(existsSync(join(cache, 'locks', `release-${held}.lock`))).toBe(true);
    rmSync(join(cache, 'locks', `release-${held}.lock`));
    const r2 = await runKdbg(['cache', 'prune', '--max-age', '30d', '--json', '--cache-dir', cache]);
    expect((JSON.parse(r2.stdout) as { removed: Array<{ kind: string; name: string }> }).removed.filter((x) => x.kind === 'entry').map((x) => x.name)).toEqual([held]);
  });

  it('rejects unparseable limits with exit 64', async () => {
    const cache = copyCache();
    for (const a of [['--max-size', '50X'], ['--max-age', 'soon']]) {
      const r = await runKdbg(['cache', 'prune', ...a, '--cache-dir', cache]);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^kdbg: --max-(size|age)/m);
    }
  });
});

describe('kdbg cache rm', () => {
  it('removes the named releases and their packages; an uncached name → exit 69 after removing the rest', async () => {
    const cache = copyCache();
    const r = await runKdbg(['cache', 'rm', '3.10.0-327.el7', '3.10.0-999.el7', '--cache-dir', cache]);
    expect(r.code).toBe(69);
    expect(r.stdout).toMatch(new RegExp(`^removed\\t${uname('el7').replace(/\./g, '\\.')}\\t\\d+\\t2 package\\(s\\)\\n$`));
    expect(r.stderr).toContain('3.10.0-999.el7: not in the cache');
    expect(readdirSync(join(cache, 'releases')).sort()).toEqual(['el8', 'el9', 'uek'].map(uname).sort());
    for (const p of pkgs('el7')) expect(existsSync(pkgPath(cache, p.sha256))).toBe(false);
    expect(existsSync(join(cache, 'used', uname('el7')))).toBe(false);
  });
});

// A cache shared by two users of one group: needs root to switch uids (setpriv), skipped otherwise.
const canSwitchUsers = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

describe.skipIf(!canSwitchUsers)('a cache shared by a group', () => {
  it('user B prunes and removes what user A fetched; new directories are 2775', async () => {
    const GID = 23400;
    const shared = join(mkdtempSync(join(tmpdir(), 'kdbg-shared-')), 'cache');
    mkdirSync(shared);
    chownSync(shared, 0, GID);
    chmodSync(shared, 0o2775);
    chmodSync(join(shared, '..'), 0o755);
    const cfg = join(mkdtempSync(join(tmpdir(), 'kdbg-shared-cfg-')), 'config.json');
    // The other users cannot read the fixture tree (root's home, or a mktemp -d): the config's
    // key files go beside it, readable, so these fetches still verify the signed mirror.
    const cfgJson = JSON.parse(readFileSync(config, 'utf8')) as { gpgkey?: string[]; keyrings?: string[] };
    const readable = (files: string[] | undefined, tag: string): string[] | undefined =>
      files?.map((f, i) => {
        const copy = join(cfg, '..', `${tag}-${i}.asc`);
        writeFileSync(copy, readFileSync(f));
        return copy;
      });
    writeFileSync(cfg, JSON.stringify({ ...cfgJson, gpgkey: readable(cfgJson.gpgkey, 'gpgkey'), keyrings: readable(cfgJson.keyrings, 'keyring') }));
    chmodSync(join(cfg, '..'), 0o755);
    const as = (uid: number, args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(GID), '--clear-groups', process.execPath, join(repoRoot, 'bin', 'kdbg.js'), ...args], {
        cwd: tmpdir(),
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), XDG_CONFIG_HOME: join(tmpdir(), 'nonexistent-xdg') },
        encoding: 'utf8',
      });
    // spawnSync blocks this process, which serves the mirror: fetch in a child that has its own server.
    const fetchA = spawnSync(process.execPath, ['-e', serveAndFetch], {
      encoding: 'utf8',
      env: { ...process.env, KDBG_T_MIRROR: mirrorRoot, KDBG_T_ARGS: JSON.stringify(['--reuid', '23401', '--regid', String(GID), '--clear-groups', process.execPath, join(repoRoot, 'bin', 'kdbg.js'), 'fetch', uname('el7'), uname('el9'), '--cache-dir', shared, '--config', cfg, '--quiet']) },
    });
    expect(fetchA.status, fetchA.stderr).toBe(0);
    const entry = join(shared, 'releases', uname('el7'));
    const st = lstatSync(entry);
    expect(st.uid).toBe(23401);
    expect(st.gid).toBe(GID);
    expect(st.mode & 0o7777).toBe(0o2775);
    expect(lstatSync(join(entry, 'source')).mode & 0o2070).toBe(0o2070);
    expect(lstatSync(join(shared, 'releases')).mode & 0o7777).toBe(0o2775);

    const rm = as(23402, ['cache', 'rm', uname('el7'), '--cache-dir', shared]);
    expect(rm.status, String(rm.stderr)).toBe(0);
    expect(existsSync(entry)).toBe(false);
    utimesSync(join(shared, 'used', uname('el9')), daysAgo(90), daysAgo(90));
    const prune = as(23402, ['cache', 'prune', '--max-age', '30d', '--json', '--cache-dir', shared]);
    expect(prune.status, String(prune.stderr)).toBe(0);
    expect(readdirSync(join(shared, 'releases'))).toEqual([]);
    expect(as(23402, ['cache', 'verify', '--cache-dir', shared]).status).toBe(0);
  });
});

// Run by the shared-cache test in a child node: serve the fixture mirror on 127.0.0.1 and run
// setpriv … kdbg fetch against it (the test process cannot serve while blocked in spawnSync).
const serveAndFetch = `
const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path'); const { spawn } = require('node:child_process');
const root = process.env.KDBG_T_MIRROR;
const srv = http.createServer((req, res) => {
  const p = path.join(root, path.normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!p.startsWith(root) || !fs.existsSync(p) || !fs.statSync(p).isFile()) { res.statusCode = 404; return res.end(); }
  res.setHeader('content-length', fs.statSync(p).size); fs.createReadStream(p).pipe(res);
});
srv.listen(0, '127.0.0.1', () => {
  const url = 'http://127.0.0.1:' + srv.address().port;
  const args = JSON.parse(process.env.KDBG_T_ARGS).concat(['--mirror', url]);
  const c = spawn('setpriv', args, { stdio: 'inherit', cwd: require('node:os').tmpdir(), env: { PATH: process.env.PATH, HOME: require('node:os').tmpdir() } });
  c.on('close', (code) => { srv.close(); process.exit(code ?? 1); });
});
`;
