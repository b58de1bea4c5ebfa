// Member selectors: which archive members an extraction writes. Paths are archive paths minus a
// leading `./` (ArchiveMember.path), e.g. `usr/lib/debug/lib/modules/<uname>/vmlinux`.

import type { ArchiveMember, MemberSelector } from './types.js';

/**
 * The unstripped kernel image of a debuginfo package (design/mirrors.md §6 step 7): RPM distros'
 * `usr/lib/debug/lib/modules/<uname>/vmlinux`, Debian/Ubuntu's `usr/lib/debug/boot/vmlinux-<uname>`,
 * SUSE's `…/vmlinux-<uname>.debug`. Regular files only: Debian ships symlinks to the same image,
 * and `.build-id/*`, `vmlinux.decompressor` and `vmlinux-gdb.py` never match.
 */
export const VMLINUX_MEMBER_RE = /^\.?\/?usr\/lib\/debug\/(?:boot\/vmlinux-([^/]+?)(?:\.debug)?|(?:usr\/)?lib\/modules\/([^/]+)\/vmlinux(?:\.debug)?)$/;

/** tkernel and OpenCloudOS 8 debuginfo packages put the unstripped image at `/boot/vmlinux-<uname>` (design/mirrors-china.md §4.1). */
export const BOOT_VMLINUX_RE = /^\.?\/?boot\/vmlinux-([^/]+)$/;

export function vmlinuxSelector(uname?: string): MemberSelector {
  return (m) => {
    if (m.type !== 'file') return false;
    const r = VMLINUX_MEMBER_RE.exec(m.path);
    const b = r ? null : BOOT_VMLINUX_RE.exec(m.path);
    if (!r && !b) return false;
    if (uname === undefined) return true;
    return (r ? (r[1] ?? r[2]) : b![1]) === uname;
  };
}

/** The debug source tree of a -debuginfo-common package: everything under `usr/src/debug/`. */
export function sourceSelector(): MemberSelector {
  return (m) => /^usr\/src\/debug\/./.test(m.path) && (m.type === 'file' || m.type === 'dir' || m.type === 'symlink' || m.type === 'hardlink');
}

/**
 * Kernel module debug info: `*.ko.debug` (RPM debuginfo) and, for Debian's -dbg packages whose
 * modules keep the plain name, `*.ko` under `usr/lib/debug/`.
 */
export function modulesSelector(): MemberSelector {
  return (m) => m.type === 'file' && (/\.ko\.debug$/.test(m.path) || /^usr\/lib\/debug\/.*\.ko$/.test(m.path));
}

/**
 * Shell-style patterns as `cpio -i PATTERN` takes them (fnmatch without FNM_PATHNAME): `*` and
 * `**` match any run of characters including `/`, `?` one character, `[...]`/`[!...]` a class,
 * `\x` a literal x. A leading `./` or `/` in a pattern is ignored, since paths carry neither.
 * An empty list selects everything.
 */
export function globSelector(globs: string[]): MemberSelector {
  if (globs.length === 0) return () => true;
  const res = globs.map(globToRegExp);
  return (m) => res.some((re) => re.test(m.path));
}

export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/^(?:\.\/|\/)+/, '');
  let re = '^';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') {
      while (g[i + 1] === '*') i++;
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const close = g.indexOf(']', i + 2);
      if (close === -1) {
        re += '\\[';
        continue;
      }
      let body = g.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, (x) => `\\${x}`)}]`;
      i = close;
    } else if (c === '\\' && i + 1 < g.length) {
      re += escapeRe(g[++i]!);
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(`${re}$`, 's');
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

export function anyOf(...selectors: MemberSelector[]): MemberSelector {
  return (m: ArchiveMember) => selectors.some((s) => s(m));
}
