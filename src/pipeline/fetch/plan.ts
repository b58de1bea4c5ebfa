// Stages 3 and 4, plan and resolve: which packages the release needs beyond what a previous entry
// already has, then where the mirrors have them (one package per role, the best candidate).

import type { ResolvedEntry } from '../../cache/index.js';
import { NotFoundError } from '../../core/errors.js';
import type { ResolvedPackage, WantedPackage } from '../../core/types.js';
import type { FetchContext } from './options.js';

export interface FetchPlan {
  wanted: WantedPackage[];
  /** The previous entry's vmlinux (and modules) are linked into the new entry instead. */
  reuseVmlinux: boolean;
  reuseSource: boolean;
  previous: ResolvedEntry | null;
  /** The vmlinux member inside the package. */
  memberPath: string;
}

export interface ResolvedPlan extends FetchPlan {
  vmPkg: ResolvedPackage | null;
  srcPkg: ResolvedPackage | null;
  /** SUSE: the main kernel package, for the stripped image beside the debug-only vmlinux. */
  imgPkg?: ResolvedPackage | null;
  /** The config's timeoutSeconds, which bounds package transfers too (download/pace.ts). */
  idleTimeoutMs: number | undefined;
  /** False: every package whole and sha256-checked (FetchOptions.partialFetch, else the config's `partialFetch`). */
  partialFetch?: boolean;
}

export async function planFetch(ctx: FetchContext, previous: ResolvedEntry | null): Promise<FetchPlan> {
  const { wantedPackages, vmlinuxMemberPath } = await import('../../release/index.js');
  const { want } = ctx;
  // What the previous entry already has need not be fetched again (e.g. --vmlinux-only, then full).
  const reuseVmlinux = previous !== null && (!want.modules || previous.wanted.modules);
  const reuseSource = previous !== null && previous.wanted.source && previous.entry.source !== null;
  const wanted = wantedPackages(ctx.rel, { source: want.source, modules: want.modules }).filter(
    (w) => !((w.role === 'vmlinux' || w.role === 'image') && reuseVmlinux) && !(w.role === 'source' && reuseSource),
  );
  return { wanted, reuseVmlinux, reuseSource, previous, memberPath: vmlinuxMemberPath(ctx.rel) };
}

export async function resolvePlan(ctx: FetchContext, plan: FetchPlan): Promise<ResolvedPlan> {
  const { opts, rel, emit } = ctx;
  let resolved: ResolvedPackage[] = [];
  let idleTimeoutMs: number | undefined;
  let partialFetch = opts.partialFetch;
  if (plan.wanted.length > 0) {
    const resolve = await import('../../resolve/index.js');
    const config = await resolve.loadMirrorConfig({
      ...(opts.configFile !== undefined ? { configFile: opts.configFile } : {}),
      mirrors: opts.mirrors ?? [],
      repos: opts.repos ?? [],
      env: ctx.env,
      ...(opts.archives === false ? { archives: false } : {}),
      ...(opts.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}),
    });
    idleTimeoutMs = config.timeoutMs;
    partialFetch ??= config.partialFetch;
    if (config.insecureSkipSignatures && !opts.insecureSkipSignatures) emit({ kind: 'warning', code: 'KDBG_E_SIGNATURE', message: `signatures are not checked (insecureSkipSignatures in ${config.files.join(', ')}): an index or package changed on the way is accepted` });
    const { undiciFetcher, useRepoAccess } = await import('../../download/http.js');
    // Entitled and proxied repositories (client certificates, CA, credentials) get their own connections.
    useRepoAccess(config.sources.flatMap((s) => (s.access ? [s.access] : [])));
    resolved = await resolve.resolvePackages(rel, plan.wanted, {
      config,
      http: opts.http ?? undiciFetcher,
      onProgress: emit,
      cacheRoot: ctx.cache.root,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.debSuites !== undefined && opts.debSuites.length > 0 ? { debSuites: opts.debSuites } : {}),
    });
  }
  // One package per role: the first is the best candidate (Ubuntu lists an alternative second).
  const byRole = new Map<string, ResolvedPackage>();
  for (const p of resolved) if (!byRole.has(p.role)) byRole.set(p.role, p);
  const vmPkg = byRole.get('vmlinux') ?? null;
  const srcPkg = byRole.get('source') ?? null;
  if (!plan.reuseVmlinux && !vmPkg) {
    throw new NotFoundError(`${rel.uname}: no mirror has ${plan.wanted.find((w) => w.role === 'vmlinux')?.fileName ?? 'the debuginfo package'}`, { details: { release: rel.uname } });
  }
  // Debian and Ubuntu ship no separate sources package: only warn where the family has one.
  if (ctx.want.source && !plan.reuseSource && !srcPkg && plan.wanted.some((w) => w.role === 'source')) {
    emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: no sources package found; continuing without sources` });
  }
  return { ...plan, vmPkg, srcPkg, idleTimeoutMs, imgPkg: byRole.get('image') ?? null, ...(partialFetch !== undefined ? { partialFetch } : {}) };
}
