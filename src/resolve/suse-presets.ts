// Built-in public locations of openSUSE's kernels (design/mirrors.md §2.6), as data beside
// presets.ts. A SUSE fetch needs two trees per release: the debug tree (kernel-FLAVOR-debuginfo,
// -debugsource) and the ordinary one (kernel-FLAVOR, which holds the stripped image crash needs
// beside the .debug file); they are separate presets because they are not copies of each other.
// $leap is the Leap release that carries an SLE 15 kernel (15.5 for 150500.*, layout.ts); Leap
// 15.3+ ships SLE's kernel updates under update/leap/<v>/sle/. Registered SLES repositories need
// SCC credentials and come from the host (zypper-repos.ts).

import type { MirrorSource } from './sources.js';

/** The shape of presets.ts's Preset (kept structural: presets.ts imports this module). */
interface SusePreset {
  id: string;
  distro: string;
  type: MirrorSource['type'];
  urls: string[];
  match: string[];
  arches?: string[];
}

const O = 'https://download.opensuse.org';
const MAIN_ARCHES = ['x86_64'];
const PORTS = ['aarch64', 'ppc64le', 's390x'];

function pair(id: string, match: string, arches: string[], debug: string, main: string): SusePreset[] {
  return [
    { id: `${id}-debug`, distro: 'suse', type: 'repo', match: [match], arches, urls: [debug] },
    { id, distro: 'suse', type: 'repo', match: [match], arches, urls: [main] },
  ];
}

export const SUSE_PRESETS: readonly SusePreset[] = [
  ...pair('opensuse-leap-update-sle', 'suse-leap', [...MAIN_ARCHES, ...PORTS], `${O}/debug/update/leap/$leap/sle/`, `${O}/update/leap/$leap/sle/`),
  ...pair('opensuse-leap-distribution', 'suse-leap', MAIN_ARCHES, `${O}/debug/distribution/leap/$leap/repo/oss/`, `${O}/distribution/leap/$leap/repo/oss/`),
  ...pair('opensuse-leap-distribution-ports', 'suse-leap', PORTS, `${O}/ports/$basearch/debug/distribution/leap/$leap/repo/oss/`, `${O}/ports/$basearch/distribution/leap/$leap/repo/oss/`),
  ...pair('opensuse-tumbleweed', 'suse-tumbleweed', MAIN_ARCHES, `${O}/debug/tumbleweed/repo/oss/`, `${O}/tumbleweed/repo/oss/`),
  ...pair('opensuse-tumbleweed-ports', 'suse-tumbleweed', PORTS, `${O}/ports/$basearch/debug/tumbleweed/repo/oss/`, `${O}/ports/$basearch/tumbleweed/repo/oss/`),
];
