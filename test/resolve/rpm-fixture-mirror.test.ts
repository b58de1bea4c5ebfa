// The resolver against the shared RPM fixture mirror ($KDBG_FIXTURES/rpm, built by
// scripts/fixtures/10-rpm-mirror.sh): every package of its mirror/ tree must be found through
// `--mirror <server>/` (fedora: `<server>/fedora/`) with the sha256 and size its manifest
// records, and the plain/ copies through `--repo` with a HEAD probe. This is what `kdbg fetch`
// relies on in the end-to-end tests. The mirror is signed (rpmsign, repomd.xml.asc): the config
// asks for both checks (rpmVerification), so each repomd.xml is read only after its signature.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { loadMirrorConfig, resolvePackages } from '../../src/resolve/index.js';
import { requireFixture, rpmVerification } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { type RpmManifestPackage as ManifestPackage } from '../helpers/rpm-manifest.js';

let root: string;
let manifest: { packages: ManifestPackage[] };
let server: MirrorServer;

beforeAll(async () => {
  root = requireFixture('rpm', 'manifest.json').replace(/\/manifest\.json$/, '');
  manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as typeof manifest;
  server = await startMirrorServer(root);
});
afterAll(async () => {
  await server?.close();
});

async function cfg(o: { mirrors?: string[]; repos?: string[] }) {
  const configFile = join(mkdtempSync(join(tmpdir(), 'kdbg-cfg-')), 'config.json');
  writeFileSync(configFile, JSON.stringify({ hostRepos: false, ...rpmVerification() }));
  return loadMirrorConfig({ ...o, configFile, etcRoot: mkdtempSync(join(tmpdir(), 'kdbg-etc-')), env: { HOME: tmpdir(), KDBG_NO_PRESETS: '1' } });
}

describe('shared RPM fixture mirror', () => {
  it('every package under mirror/ is found via --mirror with the manifest sha256 and size', async () => {
    const pkgs = manifest.packages.filter((p) => p.file.startsWith('mirror/') && !p.file.startsWith('mirror/koji/'));
    expect(pkgs.length).toBeGreaterThanOrEqual(10);
    for (const p of pkgs) {
      const rel = parseRelease(p.uname);
      const base = p.file.startsWith('mirror/fedora/') ? `${server.url}/mirror/fedora/` : `${server.url}/mirror/`;
      const wanted = wantedPackages(rel, { source: p.role === 'source' }).filter((w) => w.role === p.role);
      expect(wanted.map((w) => w.name), p.file).toEqual([p.name]);
      const [got] = await resolvePackages(rel, wanted, { config: await cfg({ mirrors: [base] }), http: undiciFetcher });
      expect(got, p.file).toMatchObject({ urls: [`${server.url}/${p.file}`], sha256: p.sha256, size: p.size });
      expect(got!.gpgcheck?.keys.length, p.file).toBeGreaterThan(0);
    }
    // Every repository's repomd.xml was read with its signature.
    const asc = new Set(server.requests.filter((q) => q.path.endsWith('/repodata/repomd.xml.asc') && q.status === 200).map((q) => q.path));
    expect(asc.size).toBeGreaterThanOrEqual(5);
  });

  it('the plain/ copies (no repodata) are found via --repo with a HEAD probe', async () => {
    const p = manifest.packages.find((x) => x.set === 'el7' && x.role === 'vmlinux')!;
    const copy = p.copies!.find((c) => c.startsWith('plain/'))!;
    const dir = copy.slice(0, copy.lastIndexOf('/') + 1);
    const rel = parseRelease(p.uname);
    const [got] = await resolvePackages(rel, wantedPackages(rel, { source: false }), { config: await cfg({ repos: [`${server.url}/${dir}`] }), http: undiciFetcher });
    expect(got).toMatchObject({ urls: [`${server.url}/${copy}`], sha256: null, size: p.size });
  });
});
