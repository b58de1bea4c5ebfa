// A cache entry held in use (by a crash session: pipeline/analyze.ts takes the hold) survives
// `kdbg cache prune` run from another process; the hold of a process that died is stale and the
// next prune removes the entry; a hold taken between prune's check and its rename puts the entry
// back whole. The cache is populated by the real `kdbg fetch` from the fixture mirror.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/index.js';
import { entryUsers, holdEntryInUse } from '../../src/cache/in-use.js';
import { removeEntryDir, scanReleases } from '../../src/cache/inventory.js';
import { loopbackOnlyConfig, repoRoot, runKdbg } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const manifest = readRpmManifest();
const el7 = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;

let server: MirrorServer;
let base: string;
beforeAll(async () => {
  server = await startMirrorServer(join(rpmManifestPath, '..', manifest.mirrorBase));
  base = mkdtempSync(join(tmpdir(), 'kdbg-inuse-base-'));
  const r = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', base, '--config', loopbackOnlyConfig(), '--quiet']);
  if (r.code !== 0) throw new Error(r.stderr);
}, 60_000);
afterAll(() => server.close());

const copy = (): string => {
  const c = join(mkdtempSync(join(tmpdir(), 'kdbg-inuse-')), 'cache');
  cpSync(base, c, { recursive: true, verbatimSymlinks: true });
  return c;
};
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Another process holding the entry in use, as a crash session does; resolves once it holds. */
const holder = async (root: string, uname: string): Promise<ChildProcess> => {
  const code = `const { holdEntryInUse } = await import(${JSON.stringify(join(repoRoot, 'dist', 'cache', 'in-use.js'))});
await holdEntryInUse({ locksDir: ${JSON.stringify(join(root, 'locks'))} }, ${JSON.stringify(uname)}, 'crash session (test)');
process.stdout.write('held\\n');
setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    p.stdout!.once('data', () => ok());
    p.once('exit', (c) => fail(new Error(`holder exited ${c}`)));
  });
  return p;
};

describe('entries in use and kdbg cache prune', () => {
  it('prune skips an entry another process holds, and removes it once that process is killed', async () => {
    const root = copy();
    const vmlinux = join(root, 'releases', el7.uname, 'vmlinux');
    const before = sha(vmlinux);
    const p = await holder(root, el7.uname);
    try {
      const r = await runKdbg(['cache', 'prune', '--max-size', '0', '--cache-dir', root, '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { removed: Array<{ kind: string; name: string }>; skipped: Array<{ release: string; reason: string }> };
      expect(j.skipped).toEqual([{ release: el7.uname, reason: 'in-use' }]);
      expect(j.removed.filter((x) => x.kind === 'entry')).toEqual([]);
      expect(sha(vmlinux)).toBe(before);
    } finally {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('close', r));
    }
    // A SIGKILLed holder leaves its mark behind; its pid is dead, so the mark is stale.
    expect(readdirSync(join(root, 'locks', `use-${el7.uname}`))).toHaveLength(1);
    const r = await runKdbg(['cache', 'prune', '--max-size', '0', '--cache-dir', root, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { removed: Array<{ kind: string; name: string }>; skipped: unknown[] };
    expect(j.skipped).toEqual([]);
    expect(j.removed.filter((x) => x.kind === 'entry').map((x) => x.name)).toEqual([el7.uname]);
    expect(existsSync(vmlinux)).toBe(false);
  }, 60_000);

  it('puts the entry back whole when a hold appears between the check and the rename', async () => {
    const root = copy();
    const cache = await openCache(root);
    const vmlinux = join(root, 'releases', el7.uname, 'vmlinux');
    const before = sha(vmlinux);
    const [entry] = (await scanReleases(cache)).filter((r) => r.uname === el7.uname);
    let hold: { release(): Promise<void> } | null = null;
    const removed = await removeEntryDir(cache, entry!, async () => {
      // The reader marks the entry in use right after prune's first look.
      hold = await holdEntryInUse(cache, el7.uname, 'late reader');
      return (await entryUsers(cache, el7.uname)).length === 0;
    });
    expect(removed).toBe(false);
    expect(sha(vmlinux)).toBe(before);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    await hold!.release();
    // Released holds leave nothing in locks/.
    expect(readdirSync(join(root, 'locks'))).toEqual([]);
    expect(await entryUsers(cache, el7.uname)).toEqual([]);
  });
});
