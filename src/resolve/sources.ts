// The shapes of mirror configuration that every resolve/ module shares: where to look
// (MirrorSource) and the loaded configuration (MirrorConfig). Kept apart from config.ts, which
// reads them from flags, files and the host, so the host readers (yum-repos.ts) can name them
// without importing the loader that calls them.

import type { RepoAccess } from '../core/types.js';

export type SourceType = 'mirror' | 'repo' | 'mirrorlist' | 'metalink' | 'template';
export const SOURCE_TYPES: readonly SourceType[] = ['mirror', 'repo', 'mirrorlist', 'metalink', 'template'];

/** One place to look. URLs may hold `$var`/`${var}` placeholders (see layout.ts). */
export interface MirrorSource {
  type: SourceType;
  url: string;
  /** Release selectors this source serves (`*`, a family, a distro, `el7`, `fc39`, `amzn2023`, `rpm`). */
  match: string[];
  /** Where it came from, for messages: `--mirror`, `<file> mirrors.el7[0]`, `<repo file> [id]`. */
  origin: string;
  /** Distribution the source carries, when known. */
  distro?: string;
  /** For `repo` sources: directories under the base to probe when there is no repodata. */
  flat?: string[];
  /** Client certificate, CA, proxy and credentials from the repo file (yum-repos.ts, repo-access.ts). */
  access?: RepoAccess;
  /** Debian/Ubuntu: the keyring file (or fingerprints) its InRelease must be signed with (config `signedBy`). */
  signedBy?: string;
  /** RPM: `repo_gpgcheck=1` in the repo file: repomd.xml must carry a good repomd.xml.asc (rpm-trust.ts). */
  repoGpgcheck?: boolean;
  /** RPM: `gpgcheck=1` in the repo file: each package's header signature is verified (rpm-header-trust.ts). */
  gpgcheck?: boolean;
  /** RPM: the repo file's `gpgkey` paths (file:// URLs as local paths, read under hostRoot). */
  gpgkey?: string[];
  /** The root the local `gpgkey` paths are read under: `/` for config-file entries; absent: hostRoot (host repo files). */
  gpgkeyRoot?: string;
  /** A site's copy of a built-in preset (config entry `preset`): its packages are checked with that preset's keys (preset-keys.ts). */
  preset?: string;
}

export interface MirrorConfig {
  /** Flags, config files and host repos, in priority order (presets are added per release). */
  sources: MirrorSource[];
  /** Whether the built-in presets are consulted after `sources`. */
  presets: boolean;
  /** Root of the host's apt configuration for Debian/Ubuntu (null: ignore the host). */
  aptRoot: string | null;
  /** Config files that were read. */
  files: string[];
  /** Per-request timeout for index files and probes (ms). */
  timeoutMs: number;
  /** How many bases of one mirror list or metalink are searched (the rest serve as failover URLs). */
  mirrorsPerList: number;
  /**
   * The historical archives consulted after every live mirror missed (resolve/archives.ts); a
   * null base is off. Absent: none (configurations built before archives existed).
   */
  archives?: ArchiveConfig;
  /** Config `insecureSkipSignatures` / --insecure-skip-signatures: Debian/Ubuntu suites read unverified. */
  insecureSkipSignatures?: boolean;
  /** Config `keyrings`: trusted keyrings for Debian/Ubuntu archives that name no key (beside the host's trusted.gpg.d). */
  keyrings?: string[];
  /** Config `partialFetch`: false downloads every package whole and checks its sha256 (FetchOptions.partialFetch). */
  partialFetch?: boolean;
  /** Root the host's configuration is read under (KDBG_ROOT, else /): the paths apt sources name. */
  hostRoot?: string;
  /** Config `presetKeys`: key files a site adds to a built-in preset's signing keys (preset-keys.ts), by preset id. */
  presetKeys?: Record<string, string[]>;
}

export interface ArchiveConfig {
  /** Debian snapshot service root ending in "/", or null. */
  debianSnapshot: string | null;
  /** Launchpad web service root ending in "/" (e.g. …/devel/), or null. */
  launchpad: string | null;
}
