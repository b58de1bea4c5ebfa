// kdbg's debuginfod client against the real elfutils `debuginfod` indexing the project's shared
// package fixtures: the kernel-debuginfo-shaped RPM mirror (scripts/fixtures/10-rpm-mirror.sh:
// el7/el8/el9/UEK/Fedora) and the Debian -dbg / Ubuntu dbgsym archives
// (scripts/fixtures/20-deb-mirror.sh). Every vmlinux that carries a build-id is fetched by it.
// Oracles: the RPM manifest's vmlinux sha256 (from rpm2cpio), and for debs the member as
// `dpkg-deb --fsys-tarfile | tar -xO` gives it, its build-id as binutils' readelf prints it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchDebuginfo } from '../../src/download/debuginfod.js';
import { requireFixture } from '../helpers/fixtures.js';
import { metricValue, startDebuginfod, type DebuginfodProcess } from '../helpers/debuginfod.js';

const rpmRoot = requireFixture('rpm');
const debRoot = requireFixture('deb');
const dirs = [join(rpmRoot, 'mirror'), join(debRoot, 'debian'), join(debRoot, 'ubuntu-ddebs')];

function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = dirs.flatMap(walk);
const count = (ext: string): number => files.filter((f) => f.endsWith(ext)).length;

interface Expected {
  file: string;
  buildId: string;
  sha256: string;
}

const rpmManifest = JSON.parse(readFileSync(join(rpmRoot, 'manifest.json'), 'utf8')) as {
  packages: { file: string; buildId: string | null; vmlinuxSha256: string | null }[];
};
const rpmExpected: Expected[] = [];
for (const p of rpmManifest.packages) {
  if (!p.file.startsWith('mirror/') || !p.buildId || !p.vmlinuxSha256) continue;
  if (!rpmExpected.some((e) => e.buildId === p.buildId)) rpmExpected.push({ file: p.file, buildId: p.buildId, sha256: p.vmlinuxSha256 });
}

/** Every vmlinux member of the debs, with its build-id and sha256 from dpkg-deb + tar + readelf. */
function debExpected(): Expected[] {
  const out: Expected[] = [];
  const work = mkdtempSync(join(tmpdir(), 'kdbg-deb-oracle-'));
  for (const f of files.filter((x) => /\.d?deb$/.test(x))) {
    const members = execFileSync('dpkg-deb', ['--fsys-tarfile', f], { maxBuffer: 1 << 30 });
    const list = execFileSync('tar', ['-t'], { input: members, encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n');
    for (const m of list.filter((x) => /\/vmlinux[^/]*$/.test(x))) {
      const bytes = execFileSync('tar', ['-xO', m], { input: members, maxBuffer: 1 << 30 });
      const tmp = join(work, 'member');
      execFileSync('sh', ['-c', 'cat > "$1"', 'sh', tmp], { input: bytes });
      let id: string | undefined;
      try {
        id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', tmp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1];
      } catch {
        continue; // not an ELF file (a symlink member, a deliberately damaged fixture)
      }
      if (id && !out.some((e) => e.buildId === id) && !rpmExpected.some((e) => e.buildId === id)) {
        out.push({ file: `${relative(debRoot, f)}:${m}`, buildId: id, sha256: createHash('sha256').update(bytes).digest('hex') });
      }
    }
  }
  return out;
}

describe('fetchDebuginfo from elfutils debuginfod over the shared RPM and deb fixtures', () => {
  let server: DebuginfodProcess;
  let debs: Expected[] = [];
  const work = mkdtempSync(join(tmpdir(), 'kdbg-dbgd-fx-'));

  beforeAll(async () => {
    debs = debExpected();
    const want = { rpm: count('.rpm'), deb: count('.deb'), ddeb: count('.ddeb') };
    const t0 = Date.now();
    server = await startDebuginfod(['-R', '-U'], dirs, (t) =>
      metricValue(t, 'thread_work_pending{role="scan"}') === 0 &&
      metricValue(t, 'scanned_files_total{source=".rpm archive"}') === want.rpm &&
      metricValue(t, 'scanned_files_total{source=".deb archive"}') === want.deb &&
      metricValue(t, 'scanned_files_total{source=".ddeb archive"}') === want.ddeb,
    60_000);
    console.log(`debuginfod indexed ${want.rpm} rpm, ${want.deb} deb, ${want.ddeb} ddeb in ${Date.now() - t0} ms`);
  });

  afterAll(() => server?.stop());

  it('finds vmlinux build-ids in both package families', () => {
    expect(rpmExpected.length).toBeGreaterThanOrEqual(5);
    expect(debs.length).toBeGreaterThanOrEqual(1);
  });

  it('fetches every RPM fixture vmlinux by build-id, sha256 as rpm2cpio gives it', async () => {
    for (const e of rpmExpected) {
      const dest = join(work, `rpm-${e.buildId}`);
      const r = await fetchDebuginfo(e.buildId, { urls: [server.url], destFile: dest });
      expect(r, e.file).not.toBeNull();
      expect(r!.sha256, e.file).toBe(e.sha256);
      expect(r!.serverFile, e.file).toBe('vmlinux');
    }
  });

  it('fetches every deb/ddeb fixture vmlinux by build-id, sha256 as dpkg-deb gives it', async () => {
    for (const e of debs) {
      const dest = join(work, `deb-${e.buildId}`);
      const r = await fetchDebuginfo(e.buildId, { urls: [server.url], destFile: dest });
      expect(r, e.file).not.toBeNull();
      expect(r!.sha256, e.file).toBe(e.sha256);
    }
  });
});
