// PLACEHOLDER until Debian/Ubuntu index resolution lands (owned by the Debian work).
import { UnavailableError } from '../core/errors.js';
import type { HttpFetcher, KernelRelease, ProgressListener, ResolvedPackage, WantedPackage } from '../core/types.js';

export interface DebResolveOptions {
  /** Archive roots from --mirror (each holds dists/ and pool/), tried first. */
  mirrors: string[];
  /** Flat repositories from --repo (a directory holding Packages[.xz|.gz] and the .debs). */
  repos: string[];
  /** Root of the host's apt configuration (default /etc/apt); null to ignore the host. */
  aptRoot: string | null;
  http: HttpFetcher;
  onProgress?: ProgressListener;
}

export async function resolveDebPackages(rel: KernelRelease, _wanted: WantedPackage[], _opts: DebResolveOptions): Promise<ResolvedPackage[]> {
  throw new UnavailableError(`${rel.uname}: Debian/Ubuntu resolution is not built yet`);
}
