// Built-in public debuginfo locations of the CentOS successors in China, as data
// (design/mirrors-china.md §1.3, §2.3, §3.3, §4.2). Every entry is a `mirror` base: the family's
// layout under it (china-layout.ts) names the trees. Kylin, UOS, BCLinux, KeyarchOS and CGSL have
// no public debuginfo location: no preset, and kdbg says so in one line.

import type { Preset } from './presets.js';

export const CHINA_PRESETS: readonly Preset[] = [
  { id: 'openeuler-repo', distro: 'openeuler', type: 'mirror', match: ['openeuler'], urls: ['https://repo.openeuler.org/'] },
  {
    // 24.03's host files name a metalink; it answers for the other LTS trees too (UNVERIFIED).
    id: 'openeuler-metalink',
    distro: 'openeuler',
    type: 'metalink',
    match: ['openeuler'],
    urls: ['https://mirrors.openeuler.org/metalink?repo=$releasever/debuginfo&arch=$basearch'],
    flat: ['Packages/'],
  },
  { id: 'anolis', distro: 'anolis', type: 'mirror', match: ['anolis'], urls: ['https://mirrors.openanolis.cn/anolis/', 'https://mirrors.aliyun.com/anolis/'] },
  { id: 'alinux', distro: 'alinux', type: 'mirror', match: ['alinux'], urls: ['https://mirrors.aliyun.com/alinux/'] },
  { id: 'opencloudos', distro: 'opencloudos', type: 'mirror', match: ['opencloudos'], urls: ['https://mirrors.opencloudos.tech/opencloudos/', 'https://mirrors.tencent.com/opencloudos/'] },
  { id: 'tencentos-tkernel', distro: 'tencentos', type: 'mirror', match: ['tencentos'], urls: ['https://mirrors.tencent.com/'] },
];
