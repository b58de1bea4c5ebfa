// `kdbg fetch <dump>`: the release (and build-id) come from the dump through the identify stage,
// on real QEMU + makedumpfile dumps (scripts/fixtures/30-vmcores.sh). No network: --offline.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';

interface Dump {
  file: string;
  format: string;
  expected: { release: string; buildId: string | null };
}
const manifestPath = requireFixture('vmcores', 'manifest.json');
const dumps = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { dumps: Dump[] }).dumps;
const kdump = dumps.find((d) => d.format === 'kdump-compressed' && d.expected.buildId !== null)!;
const dumpPath = join(manifestPath, '..', kdump.file);

afterAll(() => cleanupTmp());

describe('kdbg fetch <dump>', () => {
  it('reads the release from the dump: an empty cache with --offline names that release (69)', async () => {
    const cache = tmpDir('kdbg-dump-cache-');
    const r = await runKdbg(['fetch', dumpPath, '--offline', '--cache-dir', cache]);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`kdbg: ${kdump.expected.release}: not in the cache`);
  });

  it("answers from the cache entry whose build-id is the dump's", async () => {
    const root = tmpDir('kdbg-dump-cache-');
    const cache = await openCache(root);
    // Seed an entry the way a fetch publishes one (the vmlinux content is not read by fetch).
    const staging = join(await cache.makeStagingDir('seed'), 'entry');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'vmlinux'), 'placeholder');
    await cache.publishEntry(
      staging,
      {
        release: kdump.expected.release,
        family: 'debian',
        vmlinux: join(staging, 'vmlinux'),
        vmlinuxSha256: '00'.repeat(32),
        source: null,
        modules: null,
        buildId: kdump.expected.buildId,
        banner: null,
        packages: [],
        createdAt: new Date().toISOString(),
      },
      { source: true, modules: false },
    );
    const r = await runKdbg(['fetch', dumpPath, '--offline', '--json', '--cache-dir', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ release: kdump.expected.release, family: 'debian', vmlinux: join(root, 'releases', kdump.expected.release, 'vmlinux'), cached: true });
  });

  it('gets the vmlinux from a debuginfod server (DEBUGINFOD_URLS) by the dump\'s build-id', async () => {
    // An ELF linked by the real toolchain with the dump's build-id, served at the debuginfod path.
    const srv = tmpDir('kdbg-dbgd-');
    const id = kdump.expected.buildId!;
    mkdirSync(join(srv, 'buildid', id), { recursive: true });
    writeFileSync(join(srv, 'main.c'), 'int main(void) { return 0; }\n');
    const elf = join(srv, 'buildid', id, 'debuginfo');
    execFileSync('gcc', ['-o', elf, join(srv, 'main.c'), `-Wl,--build-id=0x${id}`]);
    const server = await startMirrorServer(srv);
    try {
      const root = tmpDir('kdbg-dump-cache-');
      const env = isolatedEnv({ DEBUGINFOD_URLS: server.url });
      const r = await runKdbg(['fetch', dumpPath, '--json', '--cache-dir', root, '--config', loopbackOnlyConfig()], env);
      expect(r.stderr).not.toContain('internal error');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { release: string; vmlinux: string; cached: boolean; packages: Array<{ url: string; sha256: string }> };
      const want = createHash('sha256').update(readFileSync(elf)).digest('hex');
      expect(j.release).toBe(kdump.expected.release);
      expect(j.cached).toBe(false);
      expect(createHash('sha256').update(readFileSync(j.vmlinux)).digest('hex')).toBe(want);
      expect(j.packages[0]).toMatchObject({ url: `${server.url}/buildid/${id}/debuginfo`, sha256: want });
      expect(readFileSync(join(root, 'buildid', id), 'utf8').trim()).toBe(kdump.expected.release);
      // And now it is cached: no request the second time.
      server.requests.length = 0;
      const again = await runKdbg(['fetch', dumpPath, '--cache-dir', root, '--config', loopbackOnlyConfig()], env);
      expect(again.code).toBe(0);
      expect(again.stdout.trim()).toBe(j.vmlinux);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
