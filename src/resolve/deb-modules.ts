// Debug packages of modules built outside the kernel package for one kernel ABI. Debian names a
// separately built module package after the ABI it was built for (`<src>-modules-<uname>`, as
// module-assistant and the archive's own out-of-tree module packages do), and its debug package
// adds `-dbg` (hand-made) or `-dbgsym` (debhelper's automatic ones). The kernel's own
// `linux-image-<uname>-dbg(sym)` is not one of them. Only the archives the user configured are
// read (--mirror/--repo/config); the host's apt sources only when none is configured.

import type { KernelRelease, ResolvedPackage } from '../core/types.js';
import { debIndexLocations, scanIndex, type Attempt, type Candidate, type DebResolveOptions } from './deb.js';
import { debVersionCompare } from './deb-index.js';

/** Whether a package name is a module debug package for this kernel (not the kernel's own). */
export function isModuleDebugPackage(name: string, uname: string): boolean {
  if (name.startsWith('linux-image-')) return false;
  return name.endsWith(`-${uname}-dbg`) || name.endsWith(`-${uname}-dbgsym`);
}

/** The newest of each module debug package for `rel`, every archive carrying it as a URL. */
export async function resolveDebModulePackages(rel: KernelRelease, arch: string, opts: DebResolveOptions): Promise<ResolvedPackage[]> {
  const { locations } = await debIndexLocations(rel, arch, opts);
  const explicit = locations.filter((l) => !l.fromHost);
  const attempts: Attempt[] = [];
  const all: Candidate[] = [];
  for (const loc of explicit.length > 0 ? explicit : locations) {
    all.push(...(await scanIndex(loc, (n) => isModuleDebugPackage(n, rel.uname), arch, opts, attempts)));
  }
  const out: ResolvedPackage[] = [];
  for (const name of [...new Set(all.map((c) => c.name))].sort()) {
    const cands = all.filter((c) => c.name === name).sort((a, b) => -debVersionCompare(a.version, b.version));
    const best = cands[0]!;
    const urls = [...new Set(cands.filter((c) => c.version === best.version && c.sha256 === best.sha256).map((c) => c.url))];
    out.push({ role: 'vmlinux', name, fileName: best.filename.split('/').pop()!, evr: best.version, arch, kind: 'deb', required: false, urls, sha256: best.sha256, size: best.size });
  }
  return out;
}
