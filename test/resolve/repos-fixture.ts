// Small but real yum repositories for the resolver tests: tiny packages built by rpmbuild, indexed
// by createrepo_c (gz, xz; zstd by recompressing createrepo_c's primary with the zstd tool, since
// createrepo_c 0.17 here cannot write zstd), laid out like the public mirrors, plus a flat
// directory without repodata, a sha1-only index and an Amazon-Linux-style index whose hrefs climb
// out with ../../../../blobstore/. Cached under $KDBG_FIXTURES/resolve/<recipe hash>/; built in a
// temp dir and renamed into place so parallel test files never see half a fixture.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fixturePath } from '../helpers/fixtures.js';

const recipe = createHash('sha256').update(readFileSync(new URL(import.meta.url))).digest('hex').slice(0, 12);

interface Nvr {
  version: string;
  release: string;
  arch?: string;
  packages: string[];
}

function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** One rpmbuild run: every name in `packages` becomes a subpackage holding one small file. */
function buildRpms(work: string, nvr: Nvr): string[] {
  const arch = nvr.arch ?? 'x86_64';
  const top = join(work, `top-${nvr.version}-${nvr.release}-${arch}`);
  const subs = nvr.packages
    .map(
      (p, i) => `%package -n ${p}
Summary: ${p}
%description -n ${p}
kdbg resolver fixture
%files -n ${p}
/usr/lib/debug/kdbg-fixture/${p}-${i}
`,
    )
    .join('\n');
  const spec = `Name: kdbg-fixture
Version: ${nvr.version}
Release: ${nvr.release}
Summary: kdbg resolver fixture
License: MIT
%global debug_package %{nil}
%define _build_id_links none
%define __os_install_post %{nil}
%description
kdbg resolver fixture
${subs}
%install
mkdir -p %{buildroot}/usr/lib/debug/kdbg-fixture
${nvr.packages.map((p, i) => `echo '${p} ${nvr.version}-${nvr.release}' > %{buildroot}/usr/lib/debug/kdbg-fixture/${p}-${i}`).join('\n')}
`;
  mkdirSync(top, { recursive: true });
  const specFile = join(top, 'f.spec');
  writeFileSync(specFile, spec);
  run('rpmbuild', ['-bb', '--quiet', '--target', arch, '--define', `_topdir ${top}`, '--define', '_source_date_epoch_from_changelog 0', specFile]);
  const dir = join(top, 'RPMS', arch);
  return readdirSync(dir).map((f) => join(dir, f));
}

function place(files: string[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, f.split('/').pop()!));
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Rewrite the primary of a createrepo_c (gz) repo: new content and/or zstd, repomd updated. */
function rewritePrimary(repo: string, edit: (xml: string) => string, codec: 'gz' | 'zst'): void {
  const rd = join(repo, 'repodata');
  const repomdPath = join(rd, 'repomd.xml');
  let repomd = readFileSync(repomdPath, 'utf8');
  const m = /<data type="primary">([\s\S]*?)<\/data>/.exec(repomd)!;
  const oldHref = /<location href="([^"]+)"/.exec(m[1]!)![1]!;
  const xml = edit(gunzipSync(readFileSync(join(repo, oldHref))).toString('utf8'));
  const open = Buffer.from(xml);
  let packed: Buffer;
  if (codec === 'gz') packed = gzipSync(open);
  else {
    const tmp = join(rd, 'primary.tmp.xml');
    writeFileSync(tmp, open);
    run('zstd', ['-q', '-f', '-19', tmp, '-o', `${tmp}.zst`]);
    packed = readFileSync(`${tmp}.zst`);
    rmSync(tmp);
    rmSync(`${tmp}.zst`);
  }
  const sum = sha256(packed);
  const href = `repodata/${sum}-primary.xml.${codec}`;
  writeFileSync(join(repo, href), packed);
  rmSync(join(repo, oldHref));
  const block = m[1]!
    .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sum}</checksum>`)
    .replace(/<open-checksum type="sha256">[0-9a-f]+<\/open-checksum>/, `<open-checksum type="sha256">${sha256(open)}</open-checksum>`)
    .replace(/<location href="[^"]+"/, `<location href="${href}"`)
    .replace(/<size>\d+<\/size>/, `<size>${packed.length}</size>`)
    .replace(/<open-size>\d+<\/open-size>/, `<open-size>${open.length}</open-size>`);
  repomd = repomd.replace(m[1]!, block);
  writeFileSync(repomdPath, repomd);
}

export const AL2023_GUID = '0f8d3a3e-7c1b-4d5e-9a77-kdbgfixture';

/** Build (once) and return the fixture root. */
export function resolveFixture(): string {
  const root = fixturePath('resolve', recipe);
  if (existsSync(join(root, '.complete'))) return root;
  const tmp = `${root}.tmp.${process.pid}.${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const work = join(tmp, '.work');
  try {
    const el7 = buildRpms(work, { version: '3.10.0', release: '327.el7', packages: ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-debug-debuginfo'] });
    const el7old = buildRpms(work, { version: '3.10.0', release: '1160.el7', packages: ['kernel-debuginfo'] });
    const el8 = buildRpms(work, { version: '4.18.0', release: '348.7.1.el8_5', packages: ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64'] });
    const el9 = buildRpms(work, { version: '5.14.0', release: '687.el9', packages: ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64'] });
    const uek = buildRpms(work, { version: '5.4.17', release: '2136.300.7.el8uek', packages: ['kernel-uek-debuginfo', 'kernel-uek-debuginfo-common'] });
    const fc = buildRpms(work, { version: '6.5.6', release: '300.fc39', packages: ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64'] });
    const al = buildRpms(work, { version: '6.1.176', release: '220.360.amzn2023', packages: ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64'] });

    // CentOS 7 debuginfo: flat, gz primary. A second copy as a "mirror" for sibling failover.
    for (const m of ['centos', 'centos-copy']) {
      place([...el7, ...el7old], join(tmp, m, '7/x86_64'));
      run('createrepo_c', ['--quiet', join(tmp, m, '7/x86_64')]);
    }
    // CentOS 8 debuginfo: Packages/, xz metadata.
    place(el8, join(tmp, 'centos/8/x86_64/Packages'));
    run('createrepo_c', ['--quiet', '--general-compress-type=xz', join(tmp, 'centos/8/x86_64')]);
    // CentOS Stream 9 debug tree: Packages/, zstd primary.
    const s9 = join(tmp, 'centos/9-stream/BaseOS/x86_64/debug/tree');
    place(el9, join(s9, 'Packages'));
    run('createrepo_c', ['--quiet', s9]);
    rewritePrimary(s9, (x) => x, 'zst');
    // Oracle: flat ol8/debuginfo/.
    place(uek, join(tmp, 'oracle/ol8/debuginfo'));
    run('createrepo_c', ['--quiet', join(tmp, 'oracle/ol8/debuginfo')]);
    // Fedora releases tree with Packages/k/, and a koji-style flat build dir.
    const f39 = join(tmp, 'fedora/releases/39/Everything/x86_64/debug/tree');
    place(fc, join(f39, 'Packages/k'));
    run('createrepo_c', ['--quiet', f39]);
    place(fc, join(tmp, 'koji/packages/kernel/6.5.6/300.fc39/x86_64'));
    // A plain directory without repodata (HEAD probing).
    place(el7, join(tmp, 'plain/7/x86_64'));
    // A sha1-only index.
    place(el7, join(tmp, 'sha1repo'));
    run('createrepo_c', ['--quiet', '-s', 'sha1', join(tmp, 'sha1repo')]);
    // Amazon Linux 2023 style: packages in a blobstore, hrefs relative with ../ from the GUID base.
    const guid = join(tmp, 'al2023/core/guids', AL2023_GUID, 'x86_64');
    place(al, guid);
    run('createrepo_c', ['--quiet', guid]);
    rewritePrimary(
      guid,
      (x) =>
        x.replace(/<location href="([^"]+\.rpm)"\/>/g, (_m, f: string) => {
          const blob = sha256(readFileSync(join(guid, f))).slice(0, 16);
          mkdirSync(join(tmp, 'al2023/blobstore', blob), { recursive: true });
          linkSync(join(guid, f), join(tmp, 'al2023/blobstore', blob, f));
          return `<location href="../../../../blobstore/${blob}/${f}"/>`;
        }),
      'gz',
    );
    for (const f of readdirSync(guid)) if (f.endsWith('.rpm')) rmSync(join(guid, f));

    rmSync(work, { recursive: true, force: true });
    writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
    mkdirSync(fixturePath('resolve'), { recursive: true });
    if (existsSync(root) && !existsSync(join(root, '.complete'))) rmSync(root, { recursive: true, force: true });
    try {
      renameSync(tmp, root);
    } catch {
      // another test file built it first: use theirs
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return root;
}

/** sha256 and size of a fixture file, computed from the file (the expected values of the tests). */
export function fileFacts(path: string): { sha256: string; size: number } {
  const b = readFileSync(path);
  return { sha256: sha256(b), size: b.length };
}

/** sha1 of a file, for the sha1-only index. */
export function sha1Of(path: string): string {
  return createHash('sha1').update(readFileSync(path)).digest('hex');
}
