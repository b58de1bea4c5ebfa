// Built-in public debuginfo locations of the RPM family, as data (design/mirrors.md §2.1–2.5).
// URLs are templates: $major, $minor, $vault (`9.2` for el9_2, else `9`), $basearch, $arch,
// $version, $release, $file, $srcname (see layout.ts). Sources of one `group` are copies of the
// same tree: a package found on one gets the others as failover URLs without extra requests.
// RHEL itself needs an entitlement certificate and has no preset; Debian/Ubuntu come from the
// host's apt configuration (resolve/deb.ts).

import type { MirrorSource } from './sources.js';
import { SUSE_PRESETS } from './suse-presets.js';

export interface Preset {
  id: string;
  distro: string;
  type: MirrorSource['type'];
  urls: string[];
  /** Release selectors (as in the config file). */
  match: string[];
  /** Directories probed under a repo base when it has no repodata. */
  flat?: string[];
  /** Only for these arches (RPM spelling). */
  arches?: string[];
  /** Only for this package base (`kernel-rt`). */
  base?: string;
  /** What `--json` calls a package found here (`origin`); absent: `mirror`. */
  origin?: 'vault' | 'koji';
  /** Only for releases without a minor in the dist tag (`el9`, not `el9_2`): CentOS Stream builds. */
  withoutMinor?: boolean;
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'centos-debuginfo',
    distro: 'centos',
    type: 'repo',
    match: ['el5', 'el6', 'el7'],
    urls: [
      'http://debuginfo.centos.org/$major/$basearch/',
      'http://mirror.facebook.net/centos-debuginfo/$major/$basearch/',
      'http://linuxsoft.cern.ch/centos-debuginfo/$major/$basearch/',
      'http://mirrors.ocf.berkeley.edu/centos-debuginfo/$major/$basearch/',
    ],
    flat: [''],
  },
  {
    id: 'centos8-debuginfo',
    distro: 'centos',
    type: 'repo',
    match: ['el8'],
    urls: ['http://debuginfo.centos.org/8/$basearch/', 'http://mirror.facebook.net/centos-debuginfo/8/$basearch/'],
    flat: ['Packages/'],
  },
  {
    id: 'centos-stream8-debuginfo',
    distro: 'centos',
    type: 'repo',
    match: ['el8'],
    urls: ['http://debuginfo.centos.org/8-stream/$basearch/'],
    flat: ['Packages/'],
  },
  {
    id: 'centos-stream',
    distro: 'centos',
    type: 'repo',
    match: ['el9', 'el10'],
    urls: ['https://mirror.stream.centos.org/$major-stream/BaseOS/$basearch/debug/tree/'],
    flat: ['Packages/'],
  },
  {
    id: 'centos-stream-metalink',
    distro: 'centos',
    type: 'metalink',
    match: ['el9', 'el10'],
    urls: ['https://mirrors.centos.org/metalink?arch=$basearch&repo=centos-baseos-debug-$major-stream'],
  },
  {
    id: 'rocky-rt-vault',
    origin: 'vault',
    distro: 'rocky',
    type: 'repo',
    match: ['el8', 'el9'],
    base: 'kernel-rt',
    urls: ['https://dl.rockylinux.org/vault/rocky/$vault/RT/$basearch/debug/tree/'],
    flat: ['Packages/k/', 'Packages/'],
  },
  {
    id: 'rocky-vault',
    origin: 'vault',
    distro: 'rocky',
    type: 'repo',
    match: ['el8', 'el9', 'el10'],
    urls: ['https://dl.rockylinux.org/vault/rocky/$vault/BaseOS/$basearch/debug/tree/'],
    flat: ['Packages/k/', 'Packages/'],
  },
  {
    id: 'rocky-current',
    distro: 'rocky',
    type: 'mirrorlist',
    match: ['el8', 'el9', 'el10'],
    urls: ['https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$major-debug'],
  },
  {
    id: 'alma-vault',
    origin: 'vault',
    distro: 'alma',
    type: 'repo',
    match: ['el8', 'el9', 'el10'],
    urls: ['https://vault.almalinux.org/$vault/BaseOS/debug/$basearch/'],
    flat: ['Packages/'],
  },
  {
    id: 'alma-current',
    distro: 'alma',
    type: 'mirrorlist',
    match: ['el8', 'el9', 'el10'],
    urls: ['https://mirrors.almalinux.org/mirrorlist/$major/baseos-debuginfo'],
  },
  {
    id: 'oracle-debuginfo',
    distro: 'oracle',
    type: 'repo',
    match: ['oracle-uek', 'oracle'],
    urls: ['https://oss.oracle.com/ol$major/debuginfo/'],
    flat: [''],
  },
  {
    id: 'fedora-current',
    distro: 'fedora',
    type: 'repo',
    match: ['fedora'],
    urls: [
      'https://dl.fedoraproject.org/pub/fedora/linux/updates/$major/Everything/$basearch/debug/',
      'https://dl.fedoraproject.org/pub/fedora/linux/releases/$major/Everything/$basearch/debug/tree/',
    ],
    flat: ['Packages/k/'],
  },
  {
    id: 'fedora-archive',
    origin: 'vault',
    distro: 'fedora',
    type: 'repo',
    match: ['fedora'],
    urls: [
      'https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/$major/Everything/$basearch/debug/',
      'https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/$major/Everything/$basearch/debug/tree/',
    ],
    flat: ['Packages/k/'],
  },
  {
    id: 'fedora-secondary-archive',
    origin: 'vault',
    distro: 'fedora',
    type: 'repo',
    match: ['fedora'],
    arches: ['ppc64le', 's390x', 'ppc64'],
    urls: ['https://archive.fedoraproject.org/pub/fedora-secondary/releases/$major/Server/$basearch/debug/tree/'],
    flat: ['Packages/k/'],
  },
  {
    // Koji keeps every build; no index, so a HEAD probe (size, no checksum). Last on purpose.
    id: 'fedora-koji',
    origin: 'koji',
    distro: 'fedora',
    type: 'template',
    match: ['fedora'],
    urls: ['https://kojipkgs.fedoraproject.org/packages/$srcname/$version/$release/$arch/$file'],
  },
  {
    id: 'amazon-linux-2',
    distro: 'amazon',
    type: 'mirrorlist',
    match: ['amzn2'],
    urls: ['http://amazonlinux.default.amazonaws.com/2/core/latest/debuginfo/$basearch/mirror.list'],
  },
  {
    id: 'amazon-linux-2023',
    distro: 'amazon',
    type: 'mirrorlist',
    match: ['amzn2023'],
    urls: ['https://cdn.amazonlinux.com/al2023/core/mirrors/latest/debuginfo/$basearch/mirror.list'],
  },
  {
    // CentOS Stream's mirror keeps only the current compose; every build stays in its Koji. No
    // index there: a HEAD probe (size, no checksum), after everything else, like Fedora's Koji.
    id: 'centos-stream-koji',
    origin: 'koji',
    distro: 'centos',
    type: 'template',
    match: ['el9', 'el10'],
    withoutMinor: true,
    urls: ['https://kojihub.stream.centos.org/kojifiles/packages/$srcname/$version/$release/$arch/$file'],
  },
  ...SUSE_PRESETS,
];
