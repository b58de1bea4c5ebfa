// What a mirror base means for the CentOS successors in China (design/mirrors-china.md), and the
// release variables their repo files use. A release that names its tree (oe2203sp1, al8, oc8's
// minor-less strings excepted) gets ordinary repositories: repodata when the mirror has it, else a
// HEAD probe. A release that does not (oe1: which 20.03 service pack? an8: which 8.x minor?) gets
// trees searched newest first, each by one HEAD per repository for the exact file name, so that a
// search costs at most 2 requests per tree (issue 23's budget).

import type { KernelRelease } from '../core/types.js';
import { anolisLine, compareEvr, isChinaFamily } from '../release/index.js';

export interface ChinaRepo {
  kind: 'repo';
  dir: string;
  /** Directories probed for the package file when there is no repodata (or in a search). */
  flat: string[];
  /** A searched tree: HEAD the exact file name, skip repodata (2 requests per tree at most). */
  headOnly: boolean;
  /** When the index does not list the package, HEAD it anyway (openEuler's update/ index may not list debuginfo). */
  probeAfterIndex?: boolean;
}

/** Trees the mirror lists: read `<base><listDir>`, keep the subdirectories matching `pattern`, newest first. */
export interface ChinaIndex {
  kind: 'index';
  listDir: string;
  pattern: string;
  /** Trees to try when the mirror has no listing. */
  fallback: string[];
  /** Repositories under each tree; `{ver}` is the tree's name. */
  subs: { dir: string; flat: string[] }[];
}

export type ChinaStep = ChinaRepo | ChinaIndex;

const repo = (dir: string, flat: string[], headOnly = false): ChinaRepo => ({ kind: 'repo', dir, flat, headOnly });

/** openEuler's tree name for a dist tag: oe2203sp1 → openEuler-22.03-LTS-SP1. */
export function openEulerTree(dist: string): string | null {
  const m = /^oe(\d\d)(\d\d)(?:sp(\d+))?$/.exec(dist);
  return m ? `openEuler-${m[1]}.${m[2]}-LTS${m[3] ? `-SP${m[3]}` : ''}` : null;
}

/** 20.03 LTS trees, newest first: `oe1` names no service pack. */
const OE1_TREES = ['openEuler-20.03-LTS-SP4', 'openEuler-20.03-LTS-SP3', 'openEuler-20.03-LTS-SP2', 'openEuler-20.03-LTS-SP1', 'openEuler-20.03-LTS'];

/** Minors kdbg tries when a mirror gives no listing (releases known in December 2026). */
const KNOWN_MINORS: Readonly<Record<string, string[]>> = {
  an7: ['7.9', '7.7'],
  an8: ['8.10', '8.9', '8.8', '8.6', '8.4', '8.2', '8'],
  an23: ['23.4', '23.3', '23.2', '23.1', '23.0', '23'],
  oc8: ['8.10', '8.8', '8.6', '8.5'],
  oc9: ['9.4', '9.2', '9.0', '9'],
};

/** Anolis repositories by kernel line: RHCK in BaseOS (os on 7), ANCK in Plus or kernel-5.10. */
function anolisRepos(rel: KernelRelease): string[] {
  const line = anolisLine(rel.version);
  if (rel.distMajor === 7) return line.includes('RHCK') ? ['os'] : ['Plus'];
  if (rel.distMajor === 8) {
    if (line.includes('RHCK')) return ['BaseOS'];
    return rel.version.startsWith('4.19.') ? ['Plus'] : ['Plus', 'kernel-5.10'];
  }
  return ['os'];
}

/** The family's trees under a mirror base; an empty list where no public layout is known. */
export function chinaMirrorSteps(rel: KernelRelease, basearch: string): ChinaStep[] {
  const a = basearch;
  switch (rel.family) {
    case 'openeuler': {
      const trees = rel.dist === 'oe1' ? OE1_TREES : [openEulerTree(rel.dist)].filter((t): t is string => t !== null);
      const search = rel.dist === 'oe1';
      // Errata kernels in update/ (Lustre's lbuild looks there), GA kernels in debuginfo/.
      // Whether update/'s repodata lists the debuginfo packages is UNVERIFIED (Lustre only shows
      // the files under Packages/): a named tree HEADs the file when the index does not list it.
      // update/ first: most hosts run an errata kernel, and the worst case stays within 6 requests
      // (update: repomd, primary, HEAD; debuginfo: repomd, primary).
      return trees.flatMap((t) => [`${t}/update/${a}/`, `${t}/debuginfo/${a}/`].map((d) => ({ ...repo(d, ['Packages/'], search), probeAfterIndex: !search })));
    }
    case 'anolis': {
      const major = String(rel.distMajor ?? '');
      return [
        {
          kind: 'index',
          listDir: '',
          pattern: `^${major}(\\.\\d+)?$`,
          fallback: KNOWN_MINORS[rel.dist] ?? [major],
          subs: anolisRepos(rel).map((r) => ({ dir: `{ver}/${r}/${a}/debug/`, flat: ['Packages/'] })),
        },
      ];
    }
    case 'alinux': {
      // Packages directly inside (surftrace's dbhive lists them so); repodata where present.
      const v = rel.dist === 'al7' ? ['2.1903', '2', '2.1903'] : [String(rel.distMajor), String(rel.distMajor), String(rel.distMajor)];
      const kinds = rel.dist === 'al7' ? ['plus', 'kernels', 'updates'] : ['plus', 'updates', 'kernels'];
      return kinds.map((k, i) => repo(`${v[i]}/${k}/${a}/debug/`, ['']));
    }
    case 'opencloudos': {
      const major = String(rel.distMajor ?? '');
      const subs =
        rel.dist === 'oc8'
          ? [{ dir: `{ver}/BaseOS/${a}/debug/tree/`, flat: ['Packages/'] }]
          : [
              { dir: `{ver}/BaseOS/${a}/debug/tree/`, flat: ['Packages/'] },
              { dir: `{ver}/BaseOS/${a}/debug/`, flat: ['Packages/'] },
            ];
      return [{ kind: 'index', listDir: '', pattern: rel.dist === 'oc8' ? '^8\\.\\d+$' : `^${major}(\\.\\d+)?$`, fallback: KNOWN_MINORS[rel.dist] ?? [major], subs }];
    }
    case 'tencentos':
      // tkernel builds sit in a directory named by their tag (= uname); other TencentOS debug
      // trees are UNVERIFIED.
      return rel.dist.startsWith('tlinux') && rel.uname.includes('-tlinux') ? [repo(`os/tlinux/Tlinux-Kernel-RPMs/${rel.uname}/`, [''])] : [];
    default:
      return [];
  }
}

/** The trees of an index step, newest first, from the listing's names (or the fallback). */
export function indexTrees(step: Pick<ChinaIndex, 'pattern' | 'fallback'>, listed: string[] | null): string[] {
  const re = new RegExp(step.pattern);
  const names = (listed ?? []).filter((n) => re.test(n));
  const use = names.length > 0 ? names : step.fallback;
  return [...new Set(use)].sort((x, y) => compareEvr(`${y}-0`, `${x}-0`));
}

/** Release variables of these families' repo files: openEuler's `$releasever` is `22.03LTS_SP1`. */
export function chinaReleaseVars(rel: KernelRelease): Record<string, string> {
  if (rel.family !== 'openeuler') return {};
  const tree = rel.dist === 'oe1' ? 'openEuler-20.03-LTS' : openEulerTree(rel.dist);
  if (!tree) return {};
  const m = /^openEuler-(\d\d\.\d\d)-LTS(?:-(SP\d+))?$/.exec(tree)!;
  const rv = `${m[1]}LTS${m[2] ? `_${m[2]}` : ''}`;
  return { releasever: rv, tree };
}

/** Config selectors for these families: the family, or a dist tag (`oe2203sp1`, `an8`, `al8`, `oc9`). */
export const CHINA_SELECTOR = /^(openeuler|anolis|alinux|opencloudos|tencentos|kylin|uos|bclinux|keyarchos|cgsl|oe1|oe\d{4}(?:sp\d+)?|an\d+|al[78]|alnx\d+|oc\d+|tl\d+|ky\d+|uel\d+|kos\d+|zncgsl\d+)$/;

export function chinaSelectorMatches(sel: string, rel: KernelRelease): boolean {
  return isChinaFamily(rel.family) && (rel.family === sel || rel.dist === sel);
}

const NAMES: Readonly<Record<string, string>> = {
  kylin: 'Kylin',
  uos: 'UOS',
  bclinux: 'BCLinux',
  keyarchos: 'KeyarchOS',
  cgsl: 'CGSL',
  tencentos: 'TencentOS',
};

/** The one line for a release with no public debuginfo location, or null. */
export function noPublicLocation(rel: KernelRelease, file: string): string | null {
  if (!isChinaFamily(rel.family)) return null;
  const name = NAMES[rel.family];
  if (!name) return null;
  return `${file}: ${name} publishes no debuginfo location kdbg knows; the site must configure a mirror (--repo URL, --mirror URL or a config entry) that carries ${file}`;
}
