// Which keys sign the packages of each built-in preset (issue 16, item 2): a package found through
// a preset gets the same RPM header signature check as one from a `gpgcheck=1` host repository
// (rpm-header-trust.ts), against the distribution's own signing keys. Those keys are shipped with
// kdbg (keys/*.ts, taken from distribution-gpg-keys with their source named; `builtin:<name>`),
// so the check does not depend on what the host has installed. Where kdbg ships no key for a
// distribution (Alibaba Cloud Linux, OpenCloudOS, TencentOS: none was at hand from a source we
// could name), the host's own /etc/pki/rpm-gpg (under the host root) is the key list, as rpm on
// such a host trusts the keys its release package installed. `$releasever` in a name is filled in
// per release (rpm-remote-keys.ts), so a Rocky 9 package must be signed by Rocky 9's key.
// Koji presets serve the build system's unsigned copies (Koji keeps signed ones elsewhere, per
// key): nothing can be checked there, and every package taken from one says so in a warning.
// A site adds its own keys to a preset with config `presetKeys` ({"<preset id>": ["/path"]}), and
// a config mirror entry with `"preset": "<id>"` (a site's copy of a preset) is checked as that preset.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RpmGpgcheck } from '../core/types.js';
import type { MirrorConfig, MirrorSource } from './sources.js';

/** The host directory dnf and rpm keep distribution keys in. */
export const HOST_KEY_DIR = '/etc/pki/rpm-gpg';
const HOST = `host:${HOST_KEY_DIR}`;
const b = (name: string): string => `builtin:${name}`;
const UNSIGNED = 'unsigned' as const;

const CENTOS_OLD = [b('RPM-GPG-KEY-CentOS-$releasever'), b('RPM-GPG-KEY-CentOS-Debug-$releasever'), b('RPM-GPG-KEY-CentOS-7-aarch64')];
const CENTOS_NEW = [b('RPM-GPG-KEY-centosofficial'), b('RPM-GPG-KEY-centosofficial-SHA256')];
const ROCKY = [b('RPM-GPG-KEY-Rocky-$releasever')];
const ALMA = [b('RPM-GPG-KEY-AlmaLinux-$releasever')];
const FEDORA = [b('RPM-GPG-KEY-fedora-$releasever-primary')];
const SUSE = [b('RPM-GPG-KEY-openSUSE'), b('RPM-GPG-KEY-openSUSE-2022'), b('RPM-GPG-KEY-SuSE-SLE-15'), b('RPM-GPG-KEY-SuSE-SLE-Main-2023')];

/** Preset id → the keys its packages are signed with, or `unsigned` (Koji). */
export const PRESET_KEYS: Readonly<Record<string, readonly string[] | typeof UNSIGNED>> = {
  'centos-debuginfo': CENTOS_OLD,
  'centos8-debuginfo': CENTOS_NEW,
  'centos-stream8-debuginfo': CENTOS_NEW,
  'centos-stream': CENTOS_NEW,
  'centos-stream-metalink': CENTOS_NEW,
  'centos-stream-koji': UNSIGNED,
  'rocky-rt-vault': ROCKY,
  'rocky-vault': ROCKY,
  'rocky-current': ROCKY,
  'alma-vault': ALMA,
  'alma-current': ALMA,
  'oracle-debuginfo': [b('RPM-GPG-KEY-oracle-ol$releasever'), b('RPM-GPG-KEY-oracle-el$releasever')],
  'fedora-current': FEDORA,
  'fedora-archive': FEDORA,
  'fedora-secondary-archive': FEDORA,
  'fedora-koji': UNSIGNED,
  'amazon-linux-2': [b('RPM-GPG-KEY-amazon-linux-2')],
  'amazon-linux-2023': [b('RPM-GPG-KEY-amazon-linux-2023')],
  'openeuler-repo': [b('RPM-GPG-KEY-openEuler'), b('RPM-GPG-KEY-openEuler-EulerMaker')],
  'openeuler-metalink': [b('RPM-GPG-KEY-openEuler'), b('RPM-GPG-KEY-openEuler-EulerMaker')],
  anolis: [b('RPM-GPG-KEY-ANOLIS')],
  alinux: [HOST],
  opencloudos: [HOST],
  'tencentos-tkernel': [HOST],
  'opensuse-leap-update-sle-debug': SUSE,
  'opensuse-leap-update-sle': SUSE,
  'opensuse-leap-distribution-debug': SUSE,
  'opensuse-leap-distribution': SUSE,
  'opensuse-leap-distribution-ports-debug': SUSE,
  'opensuse-leap-distribution-ports': SUSE,
  'opensuse-tumbleweed-debug': SUSE,
  'opensuse-tumbleweed': SUSE,
  'opensuse-tumbleweed-ports-debug': SUSE,
  'opensuse-tumbleweed-ports': SUSE,
};

/** The preset a source stands for: a built-in one (`preset <id>`), or a config entry's `preset`. */
export function presetOf(origin: string, src: MirrorSource | undefined): string | undefined {
  if (src?.preset) return src.preset;
  return src === undefined && origin.startsWith('preset ') ? origin.slice('preset '.length) : undefined;
}

/** Whether packages of this preset carry no signature to check (Koji). */
export function presetUnsigned(id: string): boolean {
  return PRESET_KEYS[id] === UNSIGNED;
}

function hostKeys(root: string): string[] {
  try {
    return readdirSync(join(root, HOST_KEY_DIR))
      .filter((n) => n.startsWith('RPM-GPG-KEY'))
      .sort()
      .map((n) => join(root, HOST_KEY_DIR, n));
  } catch {
    return [];
  }
}

/**
 * The header check for a package found through preset `id` (origin `origin`): the preset's keys,
 * the site's `presetKeys` for it, and a copy's own `gpgkey`; undefined for Koji (unsigned) and
 * presets without a key list.
 */
export function presetGpgcheck(id: string, origin: string, config: MirrorConfig, src?: MirrorSource): RpmGpgcheck | undefined {
  const named = PRESET_KEYS[id];
  if (named === undefined || named === UNSIGNED) return undefined;
  const hostRoot = config.hostRoot ?? '/';
  const keys: string[] = [];
  const remote: string[] = [];
  for (const k of named) {
    if (k === HOST) {
      const found = hostKeys(hostRoot);
      keys.push(...found);
      if (found.length === 0) remote.push(`${HOST_KEY_DIR}/RPM-GPG-KEY-* (none under ${hostRoot})`);
    } else remote.push(k);
  }
  keys.push(...(config.presetKeys?.[id] ?? []));
  for (const k of src?.gpgkey ?? []) (k.startsWith('/') ? keys : remote).push(k.startsWith('/') ? join(src?.gpgkeyRoot ?? hostRoot, k) : k);
  return { repo: `${origin} (keys of preset ${id})`, keys, remote };
}

/** The armored text of a shipped key, or null when kdbg ships none of that name (the texts load on first use). */
export async function builtinKeyArmor(name: string): Promise<string | null> {
  const { BUILTIN_KEYS } = await import('./keys/index.js');
  return BUILTIN_KEYS.get(name)?.armor ?? null;
}

/** For a package found through a Koji preset (unsigned copies), the warning's words; null otherwise or when signatures are skipped anyway. */
export function unsignedPresetNote(origin: string | undefined, config: MirrorConfig): string | null {
  if (origin === undefined || config.insecureSkipSignatures || !origin.startsWith('preset ')) return null;
  const id = origin.slice('preset '.length);
  return presetUnsigned(id) ? `taken from ${origin}, whose packages are the build system's unsigned copies: no header signature to check (only the https transport vouches for it; docs/signatures.md)` : null;
}
