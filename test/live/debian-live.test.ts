// Live check against the host's real Debian archive (the mirrors in /etc/apt, never a host name
// written here). Skipped, with the reason printed, when the host has no http(s) apt sources.
//
// 1. kdbg resolves linux-image-<release>-dbg (the kernel the fixtures were built from, read from
//    the manifest of scripts/fixtures/40-debian-vmlinux.sh) through the archive's own Packages indexes, and
//    the package already on disk (fixture cache, downloaded by scripts/fixtures/40-debian-vmlinux.sh)
//    has exactly the SHA256 and Size the archive index promises — resolution against the real
//    archive is proven without downloading 858 MB again.
// 2. kdbg's streaming extraction (early stop) of that package gives a vmlinux whose sha256 equals
//    `dpkg-deb --fsys-tarfile | tar -xO` (reference cached in the fixture dir by script 40).
// 3. `kdbg fetch <release>` end to end against the real archive, with its cache in the
//    fixture cache so the download happens once per machine.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.js';
import { undiciFetcher } from '../../src/download/http.js';
import { extractPackage } from '../../src/extract/index.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { archivesFromSources, readAptSources } from '../../src/resolve/apt-sources.js';
import { resolveDebPackages } from '../../src/resolve/deb.js';
import { debVersionCompare } from '../../src/resolve/deb-index.js';
import { flavourOf } from '../../src/resolve/deb-releases.js';
import { debianVmlinux, fixturePath } from '../helpers/fixtures.js';

const kernel = debianVmlinux();
const REL = kernel.release;
const VER = kernel.packageVersion;
const PKG = kernel.package;
const MEMBER = kernel.member;
const deb = fixturePath('debian-pkgs', kernel.deb);

const sources = await readAptSources('/etc/apt').catch(() => []);
const archives = archivesFromSources(sources, 'amd64');
const skipReason =
  archives.length === 0
    ? 'the host has no http(s) apt sources under /etc/apt'
    : !existsSync(deb)
      ? `${deb} is missing (scripts/fixtures/40-debian-vmlinux.sh downloads it)`
      : null;
if (skipReason) console.warn(`debian-live: skipped: ${skipReason}`);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(skipReason !== null)(`live: Debian ${REL} from the host's archive`, () => {
  it('the archive index carries the package; its SHA256 and Size are those of the .deb on disk', async () => {
    const rel = parseRelease(REL);
    let r;
    try {
      [r] = await resolveDebPackages(rel, wantedPackages(rel, { source: false }), { mirrors: [], repos: [], aptRoot: '/etc/apt', http: undiciFetcher });
    } catch (e) {
      if (e instanceof NotFoundError) {
        console.warn(`debian-live: the host's archive no longer carries ${PKG}: ${e.message}`);
        return;
      }
      throw e;
    }
    expect(r).toBeDefined();
    expect(r!.name).toBe(PKG);
    expect(r!.fileName).toBe(`${PKG}_${r!.evr}_amd64.deb`);
    expect(r!.urls[0]).toMatch(new RegExp(`/pool/.*/l/linux/${PKG}_`));
    if (r!.evr !== VER) {
      console.warn(`debian-live: the archive now carries ${PKG} ${r!.evr}, not ${VER}; digest check skipped`);
      return;
    }
    expect(r!.sha256).toBe(kernel.debSha256);
    expect(r!.size).toBe(kernel.debSize);
    expect(r!.size).toBe(statSync(deb).size);
  }, 120_000);

  it("kdbg's streaming extraction (early stop) gives dpkg-deb's vmlinux", async () => {
    const ref = kernel.vmlinuxSha256;
    const dest = mkdtempSync(join(tmpdir(), 'kdbg-live-'));
    dirs.push(dest);
    const t0 = Date.now();
    const res = await extractPackage(createReadStream(deb, { highWaterMark: 1 << 20 }), { destDir: dest, select: (m) => m.path === MEMBER, stopAfter: 1, label: deb });
    console.info(`debian-live: streaming extraction of ${MEMBER} took ${Date.now() - t0} ms`);
    expect(res.stoppedEarly).toBe(true);
    expect(res.written.map((w) => w.member.path)).toEqual([MEMBER]);
    expect(res.written[0]!.sha256).toBe(ref);
    expect(statSync(join(dest, MEMBER)).size).toBe(statSync(kernel.path).size);
  }, 600_000);

  it('kdbg releases debian lists what apt lists: the fixture kernel, newest upload first', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js');
    const j = JSON.parse(execFileSync(process.execPath, [bin, 'releases', 'debian', '--json', '--arch', 'amd64'], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'kdbg-xdg-')) } })) as {
      releases: { release: string; packageVersion: string; package: string }[];
    };
    expect(j.releases.length).toBeGreaterThan(0);
    for (let i = 1; i < j.releases.length; i++) expect(debVersionCompare(j.releases[i - 1]!.packageVersion, j.releases[i]!.packageVersion)).toBeGreaterThanOrEqual(0);
    // apt's own view of the fixture kernel's package (the archive may have dropped it since the cache was built).
    const madison = execFileSync('apt-cache', ['madison', PKG], { encoding: 'utf8' });
    if (madison.split('\n').some((l) => l.split('|')[1]?.trim() === VER)) {
      expect(j.releases.find((r) => r.release === REL)).toMatchObject({ package: PKG });
    } else console.warn(`debian-live: apt no longer lists ${PKG} ${VER}; presence check skipped`);
    const latest = execFileSync(process.execPath, [bin, 'releases', 'debian', '--latest', '--arch', 'amd64'], { encoding: 'utf8' }).trim();
    expect(latest).toBe(j.releases.find((r) => flavourOf(r.release) === 'amd64')!.release);
  }, 120_000);

  it(`kdbg fetch ${REL} against the real archive (cache kept in the fixture dir)`, async () => {
    const { fetchRelease } = await import('../../src/cli/fetch-pipeline.js');
    const ref = kernel.vmlinuxSha256;
    const r = await fetchRelease(REL, { cacheDir: fixturePath('debian-live', 'cache'), vmlinuxOnly: true, env: {} });
    expect(r).toBeDefined();
    const json = JSON.parse(JSON.stringify((await import('../../src/cli/fetch-pipeline.js')).fetchResultJson(r))) as { vmlinux: string; family: string; packages: { name: string; sha256: string }[] };
    expect(json.family).toBe('debian');
    expect(json.packages[0]!.name).toBe(PKG);
    const got = execFileSync('sha256sum', [json.vmlinux], { encoding: 'utf8' }).split(' ')[0];
    expect(got).toBe(ref);
  }, 1_800_000);
});
