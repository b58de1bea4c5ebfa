// What a --mirror base means per family, and which built-in presets apply to which release
// (with and without a distribution hint).
import { describe, expect, it } from 'vitest';
import type { KernelRelease } from '../../src/core/types.js';
import { parseRelease } from '../../src/release/index.js';
import { candidatesFor, mirrorLayout, PRESETS, type Candidate, type MirrorConfig } from '../../src/resolve/index.js';

const M = 'http://mirror.test/base';

function cfg(over: Partial<MirrorConfig> = {}): MirrorConfig {
  return { sources: [], presets: false, aptRoot: null, files: [], timeoutMs: 1000, mirrorsPerList: 3, ...over };
}

function where(c: Candidate): string {
  if (c.kind === 'repo') return `${c.base} [${c.flat.join(',')}]`;
  if (c.kind === 'list') return `${c.listType} ${c.url}`;
  return `template ${c.template}`;
}

function viaMirror(release: string, distro?: string): string[] {
  const rel = parseRelease(release, distro ? { distro } : {});
  return candidatesFor(rel, cfg({ sources: [{ type: 'mirror', url: M, match: ['*'], origin: '--mirror' }] })).map(where);
}

function presets(rel: KernelRelease): string[] {
  return candidatesFor(rel, cfg({ presets: true })).map(where);
}

describe('--mirror layout per family', () => {
  it('el5–el7: URL/<major>/<basearch>/, packages directly inside', () => {
    expect(viaMirror('3.10.0-327.el7')).toEqual([`${M}/7/x86_64/ []`]);
    expect(viaMirror('2.6.32-754.el6.i686')).toEqual([`${M}/6/i386/ []`]);
    expect(viaMirror('2.6.18-274.el5xen')).toEqual([`${M}/5/x86_64/ []`]);
  });
  it('el8: URL/8/<arch>/ with Packages/, plus 8-stream for minor-less releases', () => {
    expect(viaMirror('4.18.0-348.7.1.el8_5.x86_64')).toEqual([`${M}/8/x86_64/ [Packages/]`]);
    expect(viaMirror('4.18.0-500.el8.x86_64')).toEqual([`${M}/8/x86_64/ [Packages/]`, `${M}/8-stream/x86_64/ [Packages/]`]);
  });
  it('el9/el10: URL/<major>/<arch>/, then the CentOS Stream tree for minor-less releases', () => {
    expect(viaMirror('5.14.0-687.el9.x86_64')).toEqual([`${M}/9/x86_64/ [Packages/]`, `${M}/9-stream/BaseOS/x86_64/debug/tree/ [Packages/]`]);
    expect(viaMirror('6.12.0-55.el10.aarch64')).toEqual([`${M}/10/aarch64/ [Packages/]`, `${M}/10-stream/BaseOS/aarch64/debug/tree/ [Packages/]`]);
    expect(viaMirror('5.14.0-284.11.1.el9_2.x86_64')).toEqual([`${M}/9/x86_64/ [Packages/]`]);
  });
  it('Rocky and Alma (--distro): their vault layouts with <major>.<minor>; kernel-rt adds Rocky RT', () => {
    expect(viaMirror('5.14.0-284.11.1.el9_2.x86_64', 'rocky')).toEqual([`${M}/9.2/BaseOS/x86_64/debug/tree/ [Packages/k/,Packages/]`]);
    expect(viaMirror('4.18.0-372.32.1.rt7.189.el8_6.x86_64', 'rocky')).toEqual([
      `${M}/8.6/RT/x86_64/debug/tree/ [Packages/k/,Packages/]`,
      `${M}/8.6/BaseOS/x86_64/debug/tree/ [Packages/k/,Packages/]`,
    ]);
    expect(viaMirror('5.14.0-284.11.1.el9_2.x86_64', 'alma')).toEqual([`${M}/9.2/BaseOS/debug/x86_64/ [Packages/]`]);
  });
  it('Oracle (UEK, or RHCK with .0.N): URL/ol<major>/debuginfo/', () => {
    expect(viaMirror('5.4.17-2136.300.7.el8uek.x86_64')).toEqual([`${M}/ol8/debuginfo/ []`]);
    expect(viaMirror('5.14.0-284.25.1.0.1.el9_2.x86_64')).toEqual([`${M}/ol9/debuginfo/ []`]);
  });
  it('Fedora: URL/updates/<N>/Everything/<arch>/debug/ then URL/releases/<N>/Everything/<arch>/debug/tree/', () => {
    expect(viaMirror('6.5.6-300.fc39.x86_64')).toEqual([
      `${M}/updates/39/Everything/x86_64/debug/ [Packages/k/]`,
      `${M}/releases/39/Everything/x86_64/debug/tree/ [Packages/k/]`,
    ]);
  });
  it('Amazon Linux: the URL itself is the repository', () => {
    expect(viaMirror('4.14.355-271.569.amzn2.x86_64')).toEqual([`${M}/ []`]);
    expect(mirrorLayout(parseRelease('6.1.176-220.360.amzn2023.x86_64'))).toEqual([{ dir: '', flat: [''] }]);
  });
});

describe('presets', () => {
  it('CentOS 7: debuginfo.centos.org and its mirrors, flat', () => {
    expect(presets(parseRelease('3.10.0-327.el7'))).toEqual([
      'http://debuginfo.centos.org/7/x86_64/ []',
      'http://mirror.facebook.net/centos-debuginfo/7/x86_64/ []',
      'http://linuxsoft.cern.ch/centos-debuginfo/7/x86_64/ []',
      'http://mirrors.ocf.berkeley.edu/centos-debuginfo/7/x86_64/ []',
    ]);
  });
  it('el9_2 without a hint tries CentOS Stream, Rocky and Alma; with --distro only that one', () => {
    const all = presets(parseRelease('5.14.0-284.11.1.el9_2.x86_64'));
    expect(all).toEqual([
      'https://mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/ [Packages/]',
      'metalink https://mirrors.centos.org/metalink?arch=x86_64&repo=centos-baseos-debug-9-stream',
      'https://dl.rockylinux.org/vault/rocky/9.2/BaseOS/x86_64/debug/tree/ [Packages/k/,Packages/]',
      'mirrorlist https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo=BaseOS-9-debug',
      'https://vault.almalinux.org/9.2/BaseOS/debug/x86_64/ [Packages/]',
      'mirrorlist https://mirrors.almalinux.org/mirrorlist/9/baseos-debuginfo',
    ]);
    expect(presets(parseRelease('5.14.0-284.11.1.el9_2.x86_64', { distro: 'alma' }))).toEqual([
      'https://vault.almalinux.org/9.2/BaseOS/debug/x86_64/ [Packages/]',
      'mirrorlist https://mirrors.almalinux.org/mirrorlist/9/baseos-debuginfo',
    ]);
    expect(presets(parseRelease('5.14.0-284.11.1.el9_2.x86_64', { distro: 'rhel' }))).toEqual([]);
  });
  it('Oracle RHCK (.0.N) and UEK: only oss.oracle.com', () => {
    expect(presets(parseRelease('5.14.0-284.25.1.0.1.el9_2.x86_64'))).toEqual(['https://oss.oracle.com/ol9/debuginfo/ []']);
    expect(presets(parseRelease('6.11.0-0.el9ueknext.x86_64'))).toEqual(['https://oss.oracle.com/ol9/debuginfo/ []']);
  });
  it('Fedora: current, archive, secondary arches, then Koji', () => {
    expect(presets(parseRelease('6.8.11-300.fc40.x86_64'))).toEqual([
      'https://dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64/debug/ [Packages/k/]',
      'https://dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/x86_64/debug/tree/ [Packages/k/]',
      'https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/40/Everything/x86_64/debug/ [Packages/k/]',
      'https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/40/Everything/x86_64/debug/tree/ [Packages/k/]',
      'template https://kojipkgs.fedoraproject.org/packages/$srcname/$version/$release/$arch/$file',
    ]);
    expect(presets(parseRelease('6.14.0-63.fc42.ppc64le'))).toContain('https://archive.fedoraproject.org/pub/fedora-secondary/releases/42/Server/ppc64le/debug/tree/ [Packages/k/]');
  });
  it('Amazon Linux: the mirror lists', () => {
    expect(presets(parseRelease('4.14.355-271.569.amzn2.x86_64'))).toEqual(['mirrorlist http://amazonlinux.default.amazonaws.com/2/core/latest/debuginfo/x86_64/mirror.list']);
    expect(presets(parseRelease('6.12.22-27.96.amzn2023.aarch64'))).toEqual(['mirrorlist https://cdn.amazonlinux.com/al2023/core/mirrors/latest/debuginfo/aarch64/mirror.list']);
  });
  it('Debian/Ubuntu have no RPM presets; every preset URL is http(s)', () => {
    expect(presets(parseRelease('6.1.0-56-amd64'))).toEqual([]);
    for (const p of PRESETS) for (const u of p.urls) expect(u).toMatch(/^https?:\/\//);
  });
  it('flags and config come before presets, duplicates collapse', () => {
    const rel = parseRelease('3.10.0-327.el7');
    const c = candidatesFor(rel, cfg({ presets: true, sources: [{ type: 'repo', url: 'http://debuginfo.centos.org/$releasever/$basearch', match: ['rpm'], origin: 'host' }] }));
    expect(c.map(where).slice(0, 2)).toEqual(['http://debuginfo.centos.org/7/x86_64/ []', 'http://mirror.facebook.net/centos-debuginfo/7/x86_64/ []']);
    expect(c).toHaveLength(4);
  });
});

// issue 14: old releases of every RPM family, and what --json calls the places they come from.
describe('presets for releases that left the live mirrors', () => {
  it('CentOS 5, 6 and 8 (EOL): debuginfo.centos.org keeps every point release', () => {
    expect(presets(parseRelease('2.6.18-274.el5xen', { arch: 'i686' }))[0]).toBe('http://debuginfo.centos.org/5/i386/ []');
    expect(presets(parseRelease('2.6.32-754.35.1.el6.x86_64'))[0]).toBe('http://debuginfo.centos.org/6/x86_64/ []');
    expect(presets(parseRelease('4.18.0-348.7.1.el8_5.x86_64')).slice(0, 2)).toEqual(['http://debuginfo.centos.org/8/x86_64/ [Packages/]', 'http://mirror.facebook.net/centos-debuginfo/8/x86_64/ [Packages/]']);
  });
  it('Rocky 8.6 kernel-rt: the RT vault tree first; Alma 8.6: its vault', () => {
    expect(presets(parseRelease('4.18.0-372.32.1.rt7.189.el8_6.x86_64', { distro: 'rocky' })).slice(0, 2)).toEqual([
      'https://dl.rockylinux.org/vault/rocky/8.6/RT/x86_64/debug/tree/ [Packages/k/,Packages/]',
      'https://dl.rockylinux.org/vault/rocky/8.6/BaseOS/x86_64/debug/tree/ [Packages/k/,Packages/]',
    ]);
    expect(presets(parseRelease('4.18.0-372.19.1.el8_6.x86_64', { distro: 'alma' }))[0]).toBe('https://vault.almalinux.org/8.6/BaseOS/debug/x86_64/ [Packages/]');
  });
  it('CentOS Stream builds gone from the compose: the Stream Koji, last, and only without a minor', () => {
    const stream = presets(parseRelease('5.14.0-687.el9.x86_64', { distro: 'centos' }));
    expect(stream.at(-1)).toBe('template https://kojihub.stream.centos.org/kojifiles/packages/$srcname/$version/$release/$arch/$file');
    expect(presets(parseRelease('5.14.0-284.11.1.el9_2.x86_64')).some((p) => p.includes('kojihub'))).toBe(false);
  });
  it('Oracle 6 and Amazon Linux 2 old kernels: the same cumulative repositories', () => {
    expect(presets(parseRelease('4.1.12-124.48.6.el6uek.x86_64'))).toEqual(['https://oss.oracle.com/ol6/debuginfo/ []']);
    expect(presets(parseRelease('4.14.102-99.1.amzn2.x86_64'))).toEqual(['mirrorlist http://amazonlinux.default.amazonaws.com/2/core/latest/debuginfo/x86_64/mirror.list']);
  });
  it('origins: vault and Koji presets say so, the rest are mirrors', () => {
    expect(PRESETS.filter((p) => p.origin === 'vault').map((p) => p.id)).toEqual(['rocky-rt-vault', 'rocky-vault', 'alma-vault', 'fedora-archive', 'fedora-secondary-archive']);
    expect(PRESETS.filter((p) => p.origin === 'koji').map((p) => p.id)).toEqual(['fedora-koji', 'centos-stream-koji']);
  });
});
