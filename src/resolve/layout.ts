// From configured sources to the ordered places to look for one release: which sources apply
// (release selectors), what a `--mirror` base means for each family (its public layout), URL
// variables ($releasever, $basearch, $vault …), the presets, and de-duplication.

import type { KernelRelease, WantedPackage } from '../core/types.js';
import { isChinaFamily, rpmNaming, suseLeapVersion } from '../release/index.js';
import type { MirrorConfig, MirrorSource } from './sources.js';
import { PRESETS } from './presets.js';
import { CHINA_PRESETS } from './presets-china.js';
import { CHINA_SELECTOR, chinaMirrorSteps, chinaReleaseVars, chinaSelectorMatches } from './china-layout.js';
import { rhsmReleasever } from './repo-access.js';
import { substituteVars } from './yum-repos.js';

export type Candidate =
  // headOnly: HEAD the exact file, no repodata (a searched tree); besideRequired: optional packages
  // (sources) only where the required one is (the CentOS successors' request budget).
  | { kind: 'repo'; base: string; flat: string[]; origin: string; group: string; headOnly?: boolean; besideRequired?: boolean; probeAfterIndex?: boolean }
  | { kind: 'list'; listType: 'mirrorlist' | 'metalink'; url: string; flat: string[]; origin: string; group: string }
  // A mirror's listing of trees (Anolis, OpenCloudOS minors), expanded into searched repos when reached.
  | { kind: 'list'; listType: 'index'; url: string; flat: string[]; origin: string; group: string; index: { pattern: string; fallback: string[]; subs: { dir: string; flat: string[] }[] } }
  | { kind: 'template'; template: string; origin: string; group: string };

/** Does a release selector (config key, preset `match`) apply to this release? */
export function selectorMatches(sel: string, rel: KernelRelease): boolean {
  const rpmFamily = rel.family !== 'debian' && rel.family !== 'ubuntu';
  if (CHINA_SELECTOR.test(sel)) return chinaSelectorMatches(sel, rel);
  const el = /^el(\d+)$/.exec(sel);
  if (el) return (rel.family === 'rhel' || rel.family === 'oracle-uek') && rel.distMajor === Number(el[1]);
  const fc = /^fc(\d+)$/.exec(sel);
  if (fc) return rel.family === 'fedora' && rel.distMajor === Number(fc[1]);
  switch (sel) {
    case '*':
      return true;
    case 'rpm':
      return rpmFamily;
    case 'amzn2':
    case 'amzn2023':
      return rel.family === 'amazon' && rel.dist === sel;
    case 'oracle':
      return rel.family === 'oracle-uek' || rel.distro === 'oracle';
    case 'suse-leap':
      return rel.family === 'suse' && suseLeapVersion(rel) !== null;
    case 'suse-tumbleweed':
      return rel.family === 'suse' && rel.dist === 'tumbleweed';
    case 'centos':
    case 'rocky':
    case 'alma':
      return rel.family === 'rhel' && (rel.distro === undefined || rel.distro === sel);
    default:
      return rel.family === sel;
  }
}

function basearch(arch: string): string {
  if (/^i[3-6]86$/.test(arch)) return 'i386';
  if (arch === 'armv7hl') return 'armhfp';
  return arch;
}

/** Variables for URL templates. Host-ish defaults keep stock repo files usable. */
export function releaseVars(rel: KernelRelease, pkg?: WantedPackage): Record<string, string> {
  const major = rel.distMajor === null ? '' : String(rel.distMajor);
  const minor = /_(\d+)$/.exec(rel.dist)?.[1] ?? '';
  const vars: Record<string, string> = {
    contentdir: 'centos',
    infra: 'stock',
    awsregion: 'default',
    awsdomain: 'amazonaws.com',
    product: 'core',
    target: 'latest',
    ociregion: '',
    ocidomain: 'oracle.com',
    releasever: major,
    releasever_major: major,
    releasever_minor: minor,
    major,
    minor,
    vault: minor ? `${major}.${minor}` : major,
    stream: `${major}-stream`,
    basearch: basearch(rel.arch),
    arch: rel.arch,
    version: rel.version,
    release: rel.release,
    uname: rel.uname,
    ...chinaReleaseVars(rel),
  };
  // SUSE: the openSUSE Leap release whose debug trees carry this SLE kernel ($leap = 15.5).
  const leap = rel.family === 'suse' ? suseLeapVersion(rel) : null;
  if (leap) {
    vars['leap'] = leap;
    vars['releasever'] = leap; // zypper's $releasever on that Leap host
  }
  if (pkg) {
    vars['name'] = pkg.name;
    if (pkg.fileName) vars['file'] = pkg.fileName;
    if (pkg.kind === 'rpm' && rel.family !== 'suse') vars['srcname'] = rpmNaming(rel).base;
  }
  return vars;
}

function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

/**
 * What `--mirror URL` (and config entries of type `mirror`) means per family: the directories
 * under URL where that family's public mirror keeps the repository, with the directories probed
 * for packages when a repository has no repodata. Documented in docs/mirrors.md.
 */
export function mirrorLayout(rel: KernelRelease): { dir: string; flat: string[] }[] {
  const v = releaseVars(rel);
  const arch = v['basearch']!;
  const maj = rel.distMajor ?? 0;
  if (rel.family === 'oracle-uek' || rel.distro === 'oracle') return [{ dir: `ol${maj}/debuginfo/`, flat: [''] }];
  if (rel.family === 'rhel') {
    if (rel.distro === 'rocky') {
      const rt = rpmNaming(rel).base === 'kernel-rt' ? [{ dir: `${v['vault']}/RT/${arch}/debug/tree/`, flat: ['Packages/k/', 'Packages/'] }] : [];
      return [...rt, { dir: `${v['vault']}/BaseOS/${arch}/debug/tree/`, flat: ['Packages/k/', 'Packages/'] }];
    }
    if (rel.distro === 'alma') return [{ dir: `${v['vault']}/BaseOS/debug/${arch}/`, flat: ['Packages/'] }];
    // The CentOS debuginfo layout <major>/<arch>/ (packages directly for ≤ 7, under Packages/
    // from 8), then CentOS Stream's trees for releases without a minor.
    if (maj <= 7) return [{ dir: `${maj}/${arch}/`, flat: [''] }];
    const out = [{ dir: `${maj}/${arch}/`, flat: ['Packages/'] }];
    if (!v['minor']) {
      if (maj === 8) out.push({ dir: `8-stream/${arch}/`, flat: ['Packages/'] });
      else out.push({ dir: `${maj}-stream/BaseOS/${arch}/debug/tree/`, flat: ['Packages/'] });
    }
    return out;
  }
  if (rel.family === 'fedora')
    return [
      { dir: `updates/${maj}/Everything/${arch}/debug/`, flat: ['Packages/k/'] },
      { dir: `releases/${maj}/Everything/${arch}/debug/tree/`, flat: ['Packages/k/'] },
    ];
  // Amazon Linux's public trees are GUID-addressed behind mirror lists: a --mirror is the repo.
  return [{ dir: '', flat: [''] }];
}

/** Sources from the config that apply to this release, followed by the matching presets. */
export function applicableSources(rel: KernelRelease, config: MirrorConfig): (MirrorSource & { group: string })[] {
  const out: (MirrorSource & { group: string })[] = [];
  config.sources.forEach((s, i) => {
    if (s.match.some((m) => selectorMatches(m, rel))) out.push({ ...s, group: `source:${i}` });
  });
  if (!config.presets) return out;
  const base = rel.family === 'debian' || rel.family === 'ubuntu' || rel.family === 'suse' ? null : rpmNaming(rel).base;
  for (const p of [...PRESETS, ...CHINA_PRESETS]) {
    if (!p.match.some((m) => selectorMatches(m, rel))) continue;
    // Rebuilds share NVRs but not build-ids: with a distribution known, only its mirrors.
    if (rel.distro !== undefined && p.distro !== rel.distro) continue;
    if (p.arches && !p.arches.includes(rel.arch)) continue;
    if (p.base && p.base !== base) continue;
    if (p.withoutMinor && /_\d+$/.test(rel.dist)) continue;
    for (const url of p.urls) {
      const s: MirrorSource & { group: string } = { type: p.type, url, match: p.match, origin: `preset ${p.id}`, distro: p.distro, group: `preset:${p.id}` };
      if (p.flat) s.flat = p.flat;
      out.push(s);
    }
  }
  return out;
}

/** The ordered, de-duplicated candidates for an RPM-family release. */
export function candidatesFor(rel: KernelRelease, config: MirrorConfig): Candidate[] {
  const relVars = releaseVars(rel);
  const seen = new Set<string>();
  const out: Candidate[] = [];
  const push = (c: Candidate, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    out.push(c);
  };
  for (const s of applicableSources(rel, config)) {
    // Red Hat's CDN layout (and a Satellite's copy of it) wants RHEL's own $releasever (7Server, 8.6).
    const rv = rhsmReleasever(rel, s.url);
    const vars = rv === null ? relVars : { ...relVars, releasever: rv };
    switch (s.type) {
      case 'repo': {
        const base = withSlash(substituteVars(s.url, vars));
        push({ kind: 'repo', base, flat: s.flat ?? [''], origin: s.origin, group: s.group }, base);
        break;
      }
      case 'mirror':
        if (isChinaFamily(rel.family)) {
          const root = withSlash(substituteVars(s.url, vars));
          const steps = chinaMirrorSteps(rel, vars['basearch']!);
          for (const st of steps) {
            if (st.kind === 'index') push({ kind: 'list', listType: 'index', url: root + st.listDir, flat: [], origin: s.origin, group: `${s.group}:index`, index: { pattern: st.pattern, fallback: st.fallback, subs: st.subs } }, `index:${root}${st.listDir}`);
            else push({ kind: 'repo', base: root + st.dir, flat: s.flat ?? st.flat, origin: s.origin, group: `${s.group}:${st.dir}`, headOnly: st.headOnly, besideRequired: true, probeAfterIndex: st.probeAfterIndex === true }, root + st.dir);
          }
          // No public layout (Kylin, UOS, BCLinux): the site's mirror is the repository itself.
          if (steps.length === 0) push({ kind: 'repo', base: root, flat: s.flat ?? ['', 'Packages/'], origin: s.origin, group: s.group, besideRequired: true }, root);
          break;
        }
        for (const l of mirrorLayout(rel)) {
          const base = withSlash(substituteVars(s.url, vars)) + l.dir;
          push({ kind: 'repo', base, flat: s.flat ?? l.flat, origin: s.origin, group: `${s.group}:${l.dir}` }, base);
        }
        break;
      case 'mirrorlist':
      case 'metalink': {
        const url = substituteVars(s.url, vars);
        push({ kind: 'list', listType: s.type, url, flat: s.flat ?? [''], origin: s.origin, group: s.group }, url);
        break;
      }
      case 'template':
        push({ kind: 'template', template: s.url, origin: s.origin, group: s.group }, `template:${s.url}`);
        break;
    }
  }
  return out;
}
