// `resolve`: a release string or dump → the debug packages the mirrors have for it (URLs, sizes,
// sha256 from the repository index), without downloading them. fetch's input, plan and resolve
// stages, and nothing after them; the cache is not opened.

import { processEnv } from '../core/env.js';
import type { KernelRelease, ResolvedPackage } from '../core/types.js';
import { ignoreEvents } from './events.js';
import { readInput } from './fetch/input.js';
import { wantedOf, type FetchOptions } from './fetch/options.js';

export type ResolveOptions = Pick<FetchOptions, 'mirrors' | 'repos' | 'arch' | 'distro' | 'packageVersion' | 'configFile' | 'archives' | 'vmlinuxOnly' | 'modules' | 'env' | 'http' | 'onProgress' | 'signal'>;

export interface ResolveResult {
  release: KernelRelease;
  /** Every candidate found, best first within each role (vmlinux, source). */
  packages: ResolvedPackage[];
}

export async function resolve(input: string, opts: ResolveOptions = {}): Promise<ResolveResult> {
  const { rel } = await readInput(input, opts);
  const { wantedPackages } = await import('../release/index.js');
  const want = wantedOf(opts);
  const resolveStage = await import('../resolve/index.js');
  const config = await resolveStage.loadMirrorConfig({
    ...(opts.configFile !== undefined ? { configFile: opts.configFile } : {}),
    mirrors: opts.mirrors ?? [],
    repos: opts.repos ?? [],
    env: opts.env ?? processEnv(),
    ...(opts.archives === false ? { archives: false } : {}),
  });
  const { undiciFetcher, useRepoAccess } = await import('../download/http.js');
  // Entitled and proxied repositories (client certificates, CA, credentials) get their own connections.
  useRepoAccess(config.sources.flatMap((s) => (s.access ? [s.access] : [])));
  const packages = await resolveStage.resolvePackages(rel, wantedPackages(rel, want), {
    config,
    http: opts.http ?? undiciFetcher,
    onProgress: opts.onProgress ?? ignoreEvents,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { release: rel, packages };
}
