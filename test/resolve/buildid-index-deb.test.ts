// The build-id index file with Debian entries (pipeline/buildid-debs.ts): each entry names the file
// its id was read from, the package URL and the suite; an RPM index (no `kind`) reads as before.
import { describe, expect, it } from 'vitest';
import { BuildIdIndex, BuildIdIndexBuilder } from '../../src/resolve/buildid-index.js';

const VM = 'aa'.repeat(20);
const KO = 'bb'.repeat(20);

describe('build-id index: Debian entries', () => {
  it('round-trips member, URL and suite per entry, kind deb', () => {
    const b = new BuildIdIndexBuilder();
    const base = { name: 'linux-image-6.1.0-9-amd64-dbg', arch: 'amd64', epoch: '0', ver: '6.1.27', rel: '1', uname: '6.1.0-9-amd64' };
    b.add({ ...base, buildIds: [VM], member: 'usr/lib/debug/boot/vmlinux-6.1.0-9-amd64', url: 'http://127.0.0.1/pool/k.deb', suite: 'bookworm' });
    b.add({ ...base, name: 'x-modules-6.1.0-9-amd64-dbg', buildIds: [KO], member: 'usr/lib/debug/lib/modules/6.1.0-9-amd64/updates/x.ko', url: 'http://127.0.0.1/pool/m.deb', suite: null });
    const idx = BuildIdIndex.decode(b.encode('deb:debian', 'r1', null, 'deb'), 'mem');
    expect(idx.lookup(VM)).toMatchObject({ kind: 'deb', repo: 'deb:debian', uname: '6.1.0-9-amd64', member: 'usr/lib/debug/boot/vmlinux-6.1.0-9-amd64', url: 'http://127.0.0.1/pool/k.deb', suite: 'bookworm' });
    expect(idx.lookup(KO)).toMatchObject({ kind: 'deb', member: 'usr/lib/debug/lib/modules/6.1.0-9-amd64/updates/x.ko', url: 'http://127.0.0.1/pool/m.deb', suite: null });
    expect(idx.lookup('cc'.repeat(20))).toBeNull();
  });

  it('an RPM index names the .build-id link, kind rpm, no URL or suite', () => {
    const b = new BuildIdIndexBuilder();
    b.add({ name: 'kernel-debuginfo', arch: 'x86_64', epoch: '0', ver: '5.14.0', rel: '1.el9', uname: '5.14.0-1.el9.x86_64', buildIds: [VM] });
    const idx = BuildIdIndex.decode(b.encode('http://127.0.0.1/r/', 'r1', null), 'mem');
    expect(idx.header.kind).toBeUndefined();
    expect(idx.lookup(VM)).toMatchObject({ kind: 'rpm', url: null, suite: null, member: `/usr/lib/debug/.build-id/aa/${'aa'.repeat(19)}.debug` });
  });
});
