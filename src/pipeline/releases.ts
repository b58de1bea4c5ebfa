// `releases`: the kernel releases whose debug symbols the Debian or Ubuntu archives carry today,
// newest first (`kdbg releases`). Archives: the given mirrors/repos and the config file's entries
// for the family, else (Debian) the host's apt sources, exactly as fetch's resolve stage reads them.

import { processEnv, type Env } from '../core/env.js';
import type { DebKernelRelease } from '../resolve/deb-releases.js';

export type { DebKernelRelease } from '../resolve/deb-releases.js';

export interface ReleasesOptions {
  family: 'debian' | 'ubuntu';
  /** Debian architecture of the indexes read (amd64, arm64, …). */
  arch: string;
  flavour?: string;
  suites?: string[];
  mirrors?: string[];
  repos?: string[];
  configFile?: string;
  env?: Env;
  /** --insecure-skip-signatures: list from suites whose InRelease is not verified. */
  insecureSkipSignatures?: boolean;
  /** Told when the config file (not the flag) turned signature checks off: the caller warns, as fetch does. */
  onWarning?: (message: string) => void;
}

async function listOptions(o: ReleasesOptions) {
  const [{ loadMirrorConfig }, { undiciFetcher }, { debTrustOf }] = await Promise.all([import('../resolve/index.js'), import('../download/http.js'), import('../resolve/deb-suite.js')]);
  const config = await loadMirrorConfig({
    ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
    mirrors: o.mirrors ?? [],
    repos: o.repos ?? [],
    env: o.env ?? processEnv(),
    ...(o.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}),
  });
  if (config.insecureSkipSignatures && !o.insecureSkipSignatures) o.onWarning?.(`signatures are not checked (insecureSkipSignatures in ${config.files.join(', ')}): an index or package changed on the way is accepted`);
  // Config entries apply when their selector names the family (or everything); an entry with
  // ${release}-style placeholders names one release's archive, not one to list.
  const applies = config.sources.filter((s) => s.match.some((m) => m === '*' || m === o.family) && !s.url.includes('$'));
  return {
    family: o.family,
    arch: o.arch,
    mirrors: applies.filter((s) => s.type === 'mirror').map((s) => s.url),
    repos: applies.filter((s) => s.type === 'repo').map((s) => s.url),
    aptRoot: config.aptRoot,
    http: undiciFetcher,
    trust: debTrustOf(config, applies),
    ...(o.flavour !== undefined ? { flavour: o.flavour } : {}),
    ...(o.suites !== undefined && o.suites.length > 0 ? { suites: o.suites } : {}),
  } as const;
}

/** Every release found, newest first; NotFoundError naming where it looked when there is none. */
export async function listReleases(o: ReleasesOptions): Promise<DebKernelRelease[]> {
  const opts = await listOptions(o);
  const { listDebKernelReleases, noReleases } = await import('../resolve/deb-releases.js');
  const { releases, attempts } = await listDebKernelReleases(opts);
  if (releases.length === 0) throw noReleases(opts, attempts, o.flavour ?? null);
  return releases;
}

/** The newest release of the plain flavour (amd64, arm64, generic, …). */
export async function latestRelease(o: ReleasesOptions): Promise<DebKernelRelease> {
  const opts = await listOptions(o);
  const { latestDebKernelRelease } = await import('../resolve/deb-releases.js');
  return latestDebKernelRelease(opts);
}
