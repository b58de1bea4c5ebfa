// Member selectors and the path-safety helpers every extractor uses (RPM and deb alike).
import { describe, expect, it } from 'vitest';
import { UnsafePathError } from '../../src/core/errors.js';
import { anyOf, globSelector, globToRegExp, modulesSelector, sourceSelector, vmlinuxSelector } from '../../src/extract/select.js';
import type { ArchiveMember } from '../../src/extract/types.js';
import { safeRelativePath, symlinkTargetInside } from '../../src/extract/write-members.js';

const file = (path: string): ArchiveMember => ({ path, size: 1, mode: 0o100644, type: 'file', linkTarget: null });
const link = (path: string, to: string): ArchiveMember => ({ path, size: to.length, mode: 0o120777, type: 'symlink', linkTarget: to });

describe('vmlinuxSelector (design/mirrors.md §6 step 7)', () => {
  const yes = [
    'usr/lib/debug/lib/modules/3.10.0-327.el7.x86_64/vmlinux', // RHEL/CentOS/Fedora/Oracle
    'usr/lib/debug/lib/modules/4.18.0-348.7.1.el8_5.x86_64+debug/vmlinux',
    'usr/lib/debug/boot/vmlinux-6.1.0-56-amd64', // Debian/Ubuntu
    'usr/lib/debug/boot/vmlinux-5.14.21-150400.24.81-default.debug', // SUSE
    'usr/lib/debug/usr/lib/modules/6.5.6-300.fc39.x86_64/vmlinux',
  ];
  const no = [
    'usr/lib/debug/lib/modules/5.14.0-284.11.1.el9_2.s390x/vmlinux.decompressor',
    'usr/lib/debug/lib/modules/6.1.0-56-amd64/vmlinux-gdb.py',
    'usr/lib/debug/.build-id/eb/e30a0114e709441d9e3f0b70ea1e36a5b1e984.debug',
    'usr/lib/debug/lib/modules/3.10.0-327.el7.x86_64/kernel/fs/xfs/xfs.ko.debug',
    'boot/vmlinuz-6.1.0-56-amd64',
  ];
  it('matches the image in every family layout and nothing else', () => {
    for (const p of yes) expect(vmlinuxSelector()(file(p)), p).toBe(true);
    for (const p of no) expect(vmlinuxSelector()(file(p)), p).toBe(false);
  });
  it('skips symlinks (Debian ships two pointing at the image)', () => {
    expect(vmlinuxSelector()(link('usr/lib/debug/lib/modules/6.1.0-56-amd64/vmlinux', '../../../boot/vmlinux-6.1.0-56-amd64'))).toBe(false);
  });
  it('with a uname, matches only that release', () => {
    expect(vmlinuxSelector('3.10.0-327.el7.x86_64')(file(yes[0]!))).toBe(true);
    expect(vmlinuxSelector('3.10.0-327.el7.x86_64.debug')(file(yes[0]!))).toBe(false);
    expect(vmlinuxSelector('4.18.0-348.7.1.el8_5.x86_64+debug')(file(yes[1]!))).toBe(true);
    expect(vmlinuxSelector('6.1.0-56-amd64')(file(yes[2]!))).toBe(true);
    expect(vmlinuxSelector('5.14.21-150400.24.81-default')(file(yes[3]!))).toBe(true);
  });
});

describe('sourceSelector / modulesSelector / anyOf', () => {
  it('sources: everything under usr/src/debug/', () => {
    expect(sourceSelector()(file('usr/src/debug/kernel-3.10.0-327.el7/linux-3.10.0-327.el7.x86_64/mm/vmscan.c'))).toBe(true);
    expect(sourceSelector()({ ...file('usr/src/debug/kernel-3.10.0-327.el7'), type: 'dir' })).toBe(true);
    expect(sourceSelector()(file('usr/src/kernels/3.10.0-327.el7.x86_64/Makefile'))).toBe(false);
  });
  it('modules: *.ko.debug, and Debian’s *.ko under usr/lib/debug', () => {
    expect(modulesSelector()(file('usr/lib/debug/lib/modules/3.10.0-327.el7.x86_64/kernel/fs/xfs/xfs.ko.debug'))).toBe(true);
    expect(modulesSelector()(file('usr/lib/debug/lib/modules/6.1.0-56-amd64/kernel/fs/xfs/xfs.ko'))).toBe(true);
    expect(modulesSelector()(file('lib/modules/6.1.0-56-amd64/kernel/fs/xfs/xfs.ko'))).toBe(false);
  });
  it('anyOf', () => {
    const s = anyOf(vmlinuxSelector(), modulesSelector());
    expect(s(file('usr/lib/debug/boot/vmlinux-6.1.0-56-amd64'))).toBe(true);
    expect(s(file('usr/lib/debug/x.ko.debug'))).toBe(true);
    expect(s(file('usr/share/doc/README'))).toBe(false);
  });
});

describe('globSelector (cpio -i pattern semantics)', () => {
  it('* crosses /, ? is one char, classes, escapes, leading ./ ignored', () => {
    expect(globToRegExp('*/vmlinux').test('usr/lib/debug/lib/modules/x/vmlinux')).toBe(true);
    expect(globToRegExp('./usr/src/debug/**').test('usr/src/debug/a/b.c')).toBe(true);
    expect(globToRegExp('/usr/*.h').test('usr/include/a.h')).toBe(true);
    expect(globToRegExp('mod00?.ko.debug').test('mod001.ko.debug')).toBe(true);
    expect(globToRegExp('mod[0-2].ko').test('mod3.ko')).toBe(false);
    expect(globToRegExp('mod[!0-2].ko').test('mod3.ko')).toBe(true);
    expect(globToRegExp('a\\*b').test('a*b')).toBe(true);
    expect(globToRegExp('a\\*b').test('axb')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('x(1)+').test('x(1)+')).toBe(true);
  });
  it('no patterns: everything; several: any of them', () => {
    expect(globSelector([])(file('anything'))).toBe(true);
    const s = globSelector(['*.c', '*.h']);
    expect(s(file('a/b.h'))).toBe(true);
    expect(s(file('a/b.o'))).toBe(false);
  });
});

describe('path safety', () => {
  it('normalises harmless forms', () => {
    expect(safeRelativePath('./usr/lib/./debug//x', 'p')).toBe('usr/lib/debug/x');
  });
  it('refuses absolute, .., NUL and empty names', () => {
    for (const p of ['/etc/passwd', 'usr/../../x', '..', 'a/..', 'a\0b', './', '']) {
      expect(() => safeRelativePath(p, 'pkg.rpm'), JSON.stringify(p)).toThrow(UnsafePathError);
    }
  });
  it('symlink targets must resolve inside the target directory', () => {
    expect(symlinkTargetInside('usr/lib/debug/.build-id/eb/x.debug', '../../lib/modules/u/vmlinux')).toBe('usr/lib/debug/lib/modules/u/vmlinux');
    expect(symlinkTargetInside('a/b', '../../x')).toBeNull();
    expect(symlinkTargetInside('a/b', '/etc/passwd')).toBeNull();
    expect(symlinkTargetInside('a/b', 'c/../../..')).toBeNull();
    expect(symlinkTargetInside('a/b', '')).toBeNull();
  });
});
