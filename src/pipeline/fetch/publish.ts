// Stage 7, publish: lay the entry out in the staging directory (vmlinux, source/, modules/, by
// rename or hard link), write its provenance, and publish it with one directory rename
// (cache.publishEntry also records the build-id index). --no-keep-packages drops the packages.

import { dirname, join, resolve as resolvePath } from 'node:path';
import type { CacheEntry } from '../../core/types.js';
import type { FetchedPackage, FetchResult } from '../../core/fetch-result.js';
import type { FetchContext, JobResult } from './options.js';
import type { ResolvedPlan } from './plan.js';
import { headerSigner } from './rpm-signature.js';
import type { VerifiedVmlinux } from './verify.js';

/** The deepest directory containing every path. */
function commonDir(paths: string[]): string {
  const split = paths.map((p) => dirname(resolvePath(p)).split('/'));
  const first = split[0] ?? [];
  let n = first.length;
  for (const s of split) {
    let i = 0;
    while (i < n && i < s.length && s[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/') || '/';
}

interface Layout {
  vmlinux: string;
  image?: string;
  source: string | null;
  modules: string | null;
}

async function layOut(ctx: FetchContext, plan: ResolvedPlan, results: JobResult[], vm: VerifiedVmlinux, entryDir: string): Promise<Layout> {
  const { cache, rel, want } = ctx;
  const previous = plan.previous;
  const out: Layout = { vmlinux: join(entryDir, 'vmlinux'), source: null, modules: null };
  const vmRes = results.find((x) => x.job.pkg.role === 'vmlinux');
  if (vmRes && vm.member) {
    await cache.adopt(vm.member.path, out.vmlinux);
    const modFiles = want.modules ? (vmRes.r.consumed?.written ?? []).filter((w) => w !== vm.member && w.member.type === 'file') : [];
    if (modFiles.length > 0) {
      // Cut at lib/modules/<uname> so modules/ mirrors /lib/modules/<uname>/ (kernel/, extra/, …).
      let root = commonDir(modFiles.map((w) => w.path));
      const cut = root.indexOf(`/lib/modules/${rel.uname}`);
      if (cut >= 0) root = root.slice(0, cut + `/lib/modules/${rel.uname}`.length);
      out.modules = join(entryDir, 'modules');
      await cache.adopt(root, out.modules);
    }
  } else {
    // Reused from the previous entry by hard links.
    await cache.linkInto(previous!.entry.vmlinux, out.vmlinux);
    if (previous!.entry.modules) {
      out.modules = join(entryDir, 'modules');
      await cache.linkInto(previous!.entry.modules, out.modules);
    }
  }
  if (vm.image) {
    out.image = join(entryDir, 'vmlinux.image');
    if (vmRes) await cache.adopt(vm.image, out.image);
    else await cache.linkInto(vm.image, out.image);
  }
  const srcRes = results.find((x) => x.job.pkg.role === 'source');
  if (srcRes) {
    const files = (srcRes.r.consumed?.written ?? []).filter((w) => w.member.type === 'file');
    if (files.length > 0) {
      out.source = join(entryDir, 'source');
      await cache.adopt(commonDir(files.map((w) => w.path)), out.source);
    }
  } else if (plan.reuseSource && want.source && previous!.entry.source) {
    out.source = join(entryDir, 'source');
    await cache.linkInto(previous!.entry.source, out.source);
  }
  return out;
}

function provenance(plan: ResolvedPlan, results: JobResult[]): FetchedPackage[] {
  const packages: FetchedPackage[] = results.map(({ job, r }) => ({
    name: job.pkg.name,
    fileName: job.pkg.fileName,
    url: r.url,
    sha256: r.sha256,
    size: r.size,
    cached: r.cached,
    sha256Verified: r.sha256Verified,
    partial: r.partial,
    origin: job.pkg.origin ?? 'mirror',
    ...(job.pkg.gpgcheck ? { gpgcheck: job.pkg.gpgcheck } : {}),
    ...(headerSigner(job.pkg) ? { headerSignedBy: headerSigner(job.pkg)! } : {}),
    role: job.pkg.role,
    path: r.path,
  }));
  const previous = plan.previous;
  if (previous) {
    for (const p of previous.entry.packages) if (!packages.some((q) => q.fileName === p.fileName)) packages.push({ ...p, cached: true, role: p === previous.entry.packages[0] ? 'vmlinux' : 'source', path: null });
  }
  const order = { vmlinux: 0, image: 1, source: 2 } as const;
  return packages.sort((x, y) => order[x.role] - order[y.role]);
}

export async function publish(ctx: FetchContext, plan: ResolvedPlan, results: JobResult[], vm: VerifiedVmlinux, entryDir: string): Promise<FetchResult> {
  const { cache, rel, want, dump } = ctx;
  const previous = plan.previous;
  const layout = await layOut(ctx, plan, results, vm, entryDir);
  const packages = provenance(plan, results);
  const entry: CacheEntry = {
    release: rel.uname,
    family: rel.family,
    vmlinux: layout.vmlinux,
    vmlinuxSha256: vm.sha256,
    source: layout.source,
    modules: layout.modules,
    buildId: vm.buildId,
    banner: dump?.banner ?? previous?.entry.banner ?? null,
    packages: packages.map(({ name, fileName, url, sha256, size, sha256Verified, partial, origin, gpgcheck, headerSignedBy }) => ({
      name,
      fileName,
      url,
      sha256,
      size,
      cached: false,
      sha256Verified: sha256Verified ?? true,
      partial: partial ?? null,
      origin: origin ?? 'mirror',
      ...(gpgcheck ? { gpgcheck } : {}),
      ...(headerSignedBy ? { headerSignedBy } : {}),
    })),
    createdAt: new Date().toISOString(),
    ...(layout.image ? { image: layout.image, imageSha256: vm.imageSha256 } : {}),
  };
  const published = await cache.publishEntry(entryDir, entry, { source: want.source || (previous?.wanted.source ?? false), modules: want.modules || (previous?.wanted.modules ?? false) });
  if (ctx.opts.keepPackages === false) {
    for (const p of packages) if (p.path) await cache.removePackage(p.sha256, p.fileName);
    for (const p of packages) p.path = null;
  } else if (ctx.opts.keepPackages === undefined && plan.partialFetch === false) {
    // Downloaded whole only so that the signed sha256 is checked (--no-partial): not kept unless
    // --keep-packages; a package an earlier run kept in the store stays.
    for (const p of packages) if (p.path && !p.cached) await cache.removePackage(p.sha256, p.fileName);
    for (const p of packages) if (!p.cached) p.path = null;
  }
  return {
    release: rel,
    entry: published.entry,
    entryDir: published.dir,
    cacheDir: cache.root,
    vmlinux: published.entry.vmlinux,
    source: published.entry.source,
    modules: published.entry.modules,
    ...(published.entry.image ? { image: published.entry.image } : {}),
    cached: packages.every((p) => p.cached),
    packages,
    dump,
  };
}
