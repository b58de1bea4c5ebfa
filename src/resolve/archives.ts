// The historical archives, asked only after every live mirror said "not here": Debian's snapshot
// service for Debian releases (snapshot.ts), Launchpad's publishing history for Ubuntu
// (launchpad.ts). Off with --no-archives, `"archives": false`, or presets off without a base URL
// of the site's own (config.ts). The error when nothing has the package lists every URL tried,
// the mirrors' and the archive's: exit 69 when the archive answered "not here" or could not be
// reached, 75 when it kept refusing (rate limit).

import { NotFoundError, type KdbgError } from '../core/errors.js';
import type { HttpFetcher, KernelRelease, ProgressListener, ResolvedPackage, WantedPackage } from '../core/types.js';
import { ArchiveClient, ArchiveMiss, ArchiveUnreachable, type ArchiveAttempt } from './archive-http.js';
import { resolveFromLaunchpad } from './launchpad.js';
import { resolveFromSnapshot } from './snapshot.js';
import { debTrustOf } from './deb-suite.js';
import type { MirrorConfig } from './sources.js';

export interface ArchiveResolveOptions {
  config: MirrorConfig;
  http: HttpFetcher;
  /** The kdbg cache root: the services' answers are kept under meta/ (null: nothing kept). */
  cacheRoot: string | null;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Whether an archive serves this release's family under the configuration. */
export function archiveFor(rel: KernelRelease, config: MirrorConfig): { service: 'snapshot' | 'launchpad'; base: string } | null {
  const a = config.archives;
  if (!a) return null;
  if (rel.family === 'debian' && a.debianSnapshot) return { service: 'snapshot', base: a.debianSnapshot };
  if (rel.family === 'ubuntu' && a.launchpad) return { service: 'launchpad', base: a.launchpad };
  return null;
}

function triedOf(e: KdbgError): { tried: string[]; attempts: ArchiveAttempt[] } {
  const d = e.details as { tried?: unknown; attempts?: unknown };
  const tried = Array.isArray(d.tried) ? d.tried.filter((u): u is string => typeof u === 'string') : [];
  const attempts = Array.isArray(d.attempts) ? (d.attempts as ArchiveAttempt[]).filter((a) => typeof a?.url === 'string') : [];
  return { tried, attempts };
}

/**
 * The vmlinux package from the family's archive, after the mirrors failed with `mirrorError`.
 * Throws NotFoundError (every URL tried, in the message and details), NetworkError (the service
 * keeps refusing), IntegrityError (the service and its index disagree).
 */
export async function resolveFromArchives(rel: KernelRelease, wanted: WantedPackage[], opts: ArchiveResolveOptions, mirrorError: KdbgError): Promise<ResolvedPackage[]> {
  const where = archiveFor(rel, opts.config);
  const vm = wanted.filter((w) => w.role === 'vmlinux' && w.kind === 'deb');
  if (!where || vm.length === 0) throw mirrorError;
  const pin = rel.packageVersion ?? vm.find((w) => w.evr !== null)?.evr ?? null;
  const attempts: ArchiveAttempt[] = [];
  const client = new ArchiveClient({
    http: opts.http,
    service: where.service,
    cacheRoot: opts.cacheRoot,
    timeoutMs: opts.config.timeoutMs,
    attempts,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const label = where.service === 'snapshot' ? 'the Debian snapshot archive' : 'Launchpad';
  opts.onProgress?.({ kind: 'info', message: `${vm[0]!.name}: on no live mirror; asking ${label} at ${where.base}` });
  let found: ResolvedPackage | null = null;
  let unreachable: ArchiveUnreachable | null = null;
  let miss: ArchiveMiss | null = null;
  try {
    const trust = { trust: debTrustOf(opts.config, []), aptRoot: opts.config.aptRoot };
    found = where.service === 'snapshot' ? await resolveFromSnapshot(rel, vm[0]!, pin, where.base, client, trust) : await resolveFromLaunchpad(vm, pin, where.base, client);
  } catch (e) {
    if (e instanceof ArchiveUnreachable) unreachable = e;
    else if (e instanceof ArchiveMiss) miss = e;
    else throw e;
  }
  opts.onProgress?.({ kind: 'info', message: `${label}: ${client.requests} request${client.requests === 1 ? '' : 's'} to the service (${attempts.filter((a) => a.result === 'cached').length} answers from the cache)` });
  if (found) {
    if (found.sha256 === null) opts.onProgress?.({ kind: 'warning', code: 'KDBG_W_NO_SHA256', message: `${found.fileName}: ${label} gives no sha256; the download is checked by size only` });
    opts.onProgress?.({ kind: 'info', message: `${found.name} ${found.evr}: ${found.urls[0]} (${found.size ?? '?'} bytes, from ${label})` });
    return [found];
  }
  const mirrors = triedOf(mirrorError);
  const tried = [...new Set([...mirrors.tried, ...attempts.map((a) => a.url)])];
  const names = vm.map((w) => w.name).join(' or ');
  const why = unreachable ? `${label} could not be reached (${unreachable.why})` : miss ? `${label}: ${miss.why}` : `${label} does not have it`;
  throw new NotFoundError(`${names}${pin ? ` version ${pin}` : ''}: on no live mirror, and ${why}; ${tried.length} URL${tried.length === 1 ? '' : 's'} tried: ${tried.join(', ')}`, {
    details: { packages: vm.map((w) => w.name), version: pin, tried, attempts: [...mirrors.attempts, ...attempts], archive: where.base },
    hint: unreachable ? 'check the network and proxy settings, or point the archive base URL at a reachable copy (docs/mirrors.md, "Archives")' : 'check the release string and --pkg-version',
  });
}
