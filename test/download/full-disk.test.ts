// A full disk under the cache while a package streams into an extractor (faults-found.md B): the
// write of the partial file fails with ENOSPC, and the download must end its consumer too. Before
// the fix the extractor was left waiting for bytes; its xz decoder thread then kept the process
// alive after `kdbg: cache: … ENOSPC` was printed, and `kdbg fetch` never exited.
// Real parts: a 2 MiB tmpfs (needs root to mount: skipped with the reason otherwise), a real HTTP
// server on 127.0.0.1, an xz stream made by the xz tool, and the worker-thread decoder.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/index.js';
import { CacheError } from '../../src/core/errors.js';
import type { ResolvedPackage } from '../../src/core/types.js';
import { downloadPackage } from '../../src/download/index.js';
import { decodeXzOnWorker } from '../../src/extract/xz-thread.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const work = mkdtempSync(join(tmpdir(), 'kdbg-full-disk-'));
const disk = join(work, 'disk');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('full-disk: skipped: mounting a tmpfs needs root (CI runs as root)');

let server: MirrorServer;
let body: Buffer;
let mounted = false;

beforeAll(async () => {
  if (!isRoot) return;
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  mounted = true;
  // 4 MiB of random bytes: xz cannot shrink them, so the package is larger than the disk.
  const raw = join(work, 'www', 'payload');
  mkdirSync(join(work, 'www'));
  writeFileSync(raw, randomBytes(4 << 20));
  execFileSync('xz', ['-0', '-k', raw]);
  body = readFileSync(`${raw}.xz`);
  server = await startMirrorServer(join(work, 'www'));
});

afterAll(async () => {
  await server?.close();
  if (mounted) execFileSync('umount', [disk]);
  rmSync(work, { recursive: true, force: true });
});

function pkg(): ResolvedPackage {
  return {
    role: 'vmlinux',
    name: 'kernel-debuginfo',
    fileName: 'payload.xz',
    evr: '1',
    arch: 'x86_64',
    kind: 'rpm',
    required: true,
    urls: [`${server.url}/payload.xz`],
    sha256: createHash('sha256').update(body).digest('hex'),
    size: body.length,
  };
}

describe.skipIf(!isRoot)('a full disk during a download into an extractor', () => {
  it('ends with CacheError (exit 74), and the extractor and its decoder thread have ended too', async () => {
    const cache = await openCache(join(disk, 'cache'));
    let consumerEnded: unknown = 'still running';
    const consume = async (chunks: AsyncIterable<Uint8Array>): Promise<number> => {
      let n = 0;
      try {
        for await (const c of decodeXzOnWorker(chunks)) n += c.length;
        consumerEnded = 'finished';
      } catch (e) {
        consumerEnded = e;
        throw e;
      }
      return n;
    };
    const t = Date.now();
    const err = await downloadPackage(pkg(), { cache, consume }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).exitCode).toBe(74);
    expect((err as Error).message).toMatch(/ENOSPC/);
    // The consumer saw the same error before downloadPackage returned: nothing is left waiting.
    expect(consumerEnded).toBe(err);
    expect(Date.now() - t).toBeLessThan(30_000);
  }, 60_000);
});
