// Partial fetch of an RPM whose xz payload has many blocks (rpmbuild `w0T2.xzdio`: threaded xz, as
// RHEL 8+/Fedora build kernels with `w3T.xzdio`; level 0 so a few MB make several 1 MiB blocks).
// The vmlinux offset is predicted from the RPM header's file list and checked against the cpio
// header; expected bytes come from `rpm2cpio | cpio --to-stdout`.
import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRangeReader } from '../../src/download/range-reader.js';
import { tryPartialExtract } from '../../src/extract/partial.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const REL = '5.14.0-999.el9.x86_64';
const VMLINUX = `usr/lib/debug/lib/modules/${REL}/vmlinux`;
let dir: string;
let server: MirrorServer;
let want: string;
const rpmName = (p: string) => `kernel-debuginfo-${p}-5.14.0-999.el9.x86_64.rpm`;

function buildRpm(payload: string, tag: string): string {
  const top = join(dir, `rpmbuild-${tag}`);
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const spec = `%define _binary_payload ${payload}
%define __os_install_post %{nil}
%define debug_package %{nil}
%define _build_id_links none
Name: kernel-debuginfo-${tag}
Version: 5.14.0
Release: 999.el9
Summary: test
License: GPLv2
AutoReqProv: no
%description
test
%install
mkdir -p %{buildroot}
cp -a ${join(dir, 'root')}/. %{buildroot}/
%files
%defattr(-,root,root)
/usr
`;
  writeFileSync(join(top, 'SPECS', 'k.spec'), spec);
  execSync(`rpmbuild -bb --quiet --target x86_64 --define "_topdir ${top}" ${join(top, 'SPECS', 'k.spec')}`, { stdio: 'ignore' });
  const out = join(dir, 'www', rpmName(tag));
  execSync(`cp ${top}/RPMS/x86_64/*.rpm ${out}`);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdbg-partial-rpm-'));
  mkdirSync(join(dir, 'www'));
  const mod = join(dir, 'root', `usr/lib/debug/lib/modules/${REL}/kernel`);
  const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `DW_TAG_subprogram name=fn_${i} low_pc=ffffffff81${i.toString(16)}\n`).join(''));
  for (let i = 0; i < 120; i++) {
    mkdirSync(join(mod, `d${i % 7}`), { recursive: true });
    writeFileSync(join(mod, `d${i % 7}`, `m${i}.ko.debug`), Buffer.concat([randomBytes(20_000 + i * 100), text.subarray(0, 5000)]));
  }
  writeFileSync(join(dir, 'root', VMLINUX), Buffer.concat([Buffer.from('\x7fELF'), randomBytes(2_500_000), text, randomBytes(600_000)]));
  // After vmlinux in path order, so the payload goes on past it.
  mkdirSync(join(dir, 'root', `usr/lib/debug/usr/src`), { recursive: true });
  writeFileSync(join(dir, 'root', 'usr/lib/debug/usr/src/zz-after'), randomBytes(2_000_000));
  buildRpm('w0T2.xzdio', 'multi');
  buildRpm('w2.xzdio', 'single');
  want = createHash('sha256')
    .update(execSync(`rpm2cpio ${join(dir, 'www', rpmName('multi'))} | cpio -i --quiet --to-stdout ./${VMLINUX}`, { maxBuffer: 64 << 20 }))
    .digest('hex');
  server = await startMirrorServer(join(dir, 'www'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(tag: string) {
  const file = join(dir, 'www', rpmName(tag));
  const size = readFileSync(file).length;
  const ra = await openRangeReader(`${server.url}/${rpmName(tag)}`, size);
  const dest = mkdtempSync(join(dir, 'out-'));
  const r = await tryPartialExtract(ra!, 'rpm', { destDir: dest, label: rpmName(tag), select: (m) => m.path === VMLINUX, stopAfter: 1, concurrency: 2 });
  return { r, dest, size, ra: ra! };
}

describe('partial fetch of a multi-block xz RPM', () => {
  it('extracts vmlinux with the same sha256 as rpm2cpio | cpio, skipping the blocks before and after it', async () => {
    const { r, dest, size, ra } = await run('multi');
    expect(r).not.toBeNull();
    expect(r!.kind).toBe('rpm');
    expect(r!.partial.blocksTotal).toBeGreaterThan(4);
    expect(r!.partial.blocksDecoded).toBeLessThan(r!.partial.blocksTotal);
    expect(r!.written[0]!.sha256).toBe(want);
    expect(createHash('sha256').update(readFileSync(join(dest, VMLINUX))).digest('hex')).toBe(want);
    expect(ra.bytesReceived).toBeLessThan(size * 0.85);
  });

  it('returns null for a single-block payload (el7 w2.xzdio) so the caller streams', async () => {
    const { r } = await run('single');
    expect(r).toBeNull();
  });
});
