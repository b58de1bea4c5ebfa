// The signature options of a zypper repo file (issue 16, item 2), mapped to the checks kdbg runs
// for yum/dnf repositories:
// - `pkg_gpgcheck`, else `gpgcheck` (zypper's default: on) → each package's header signature
//   (rpm-header-trust.ts), against the repo's `gpgkey` keys.
// - `repo_gpgcheck=1` → repomd.xml.asc (rpm-trust.ts).
// zypper also trusts keys it imported into its own keyring and the rpmdb (from repomd.xml.key,
// interactively); kdbg reads neither, so a repository without any `gpgkey` is left unchecked
// unless a check is asked for explicitly (then it is refused as "unknown key", naming the repo).

import { repoBool } from './repo-access.js';
import type { MirrorSource } from './sources.js';

export function zypperGpgcheck(keys: Record<string, string>, subst: (s: string) => string): Pick<MirrorSource, 'gpgcheck' | 'repoGpgcheck' | 'gpgkey'> {
  const gpgkey = (keys['gpgkey'] ?? '').split(/[\s,]+/).filter((k) => k !== '').map((k) => subst(k).replace(/^file:\/\//, ''));
  const explicit = keys['pkg_gpgcheck'] ?? keys['gpgcheck'];
  // zypper's gpgcheck default (on) is taken where there is a key to check with.
  const pkg = repoBool(explicit, gpgkey.length > 0);
  const out: Pick<MirrorSource, 'gpgcheck' | 'repoGpgcheck' | 'gpgkey'> = {};
  if (pkg) out.gpgcheck = true;
  if (repoBool(keys['repo_gpgcheck'], false)) out.repoGpgcheck = true;
  if (gpgkey.length > 0) out.gpgkey = gpgkey;
  return out;
}
