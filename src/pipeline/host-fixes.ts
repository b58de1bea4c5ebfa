// What host kdbg runs on, and the exact command that fixes a problem there: `kdbg doctor` prints
// one per problem and `kdbg analyze` the crash one when crash is too old for the dump's kernel.
// The distribution comes from /etc/os-release; the Debian archive a command names is the one the
// host's own apt sources use (never a typed host name).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HostDistro {
  /** os-release ID ("debian", "ubuntu", "rhel", "fedora", …), or null when unreadable. */
  id: string | null;
  /** ID plus ID_LIKE, for matching families. */
  like: string[];
  versionId: string | null;
  codename: string | null;
  prettyName: string | null;
}

export function parseOsRelease(text: string): HostDistro {
  const kv: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(l.trim());
    if (m) kv[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  const id = kv['ID'] ?? null;
  return {
    id,
    like: [...(id ? [id] : []), ...(kv['ID_LIKE'] ?? '').split(/\s+/).filter(Boolean)],
    versionId: kv['VERSION_ID'] ?? null,
    codename: kv['VERSION_CODENAME'] ?? null,
    prettyName: kv['PRETTY_NAME'] ?? null,
  };
}

export async function hostDistro(etcRoot = '/etc'): Promise<HostDistro> {
  for (const p of [join(etcRoot, 'os-release'), join(etcRoot, '..', 'usr', 'lib', 'os-release')]) {
    try {
      return parseOsRelease(await readFile(p, 'utf8'));
    } catch {
      // next candidate
    }
  }
  return { id: null, like: [], versionId: null, codename: null, prettyName: null };
}

const isDeb = (d: HostDistro): boolean => d.like.some((x) => x === 'debian' || x === 'ubuntu');
const isRpm = (d: HostDistro): boolean => d.like.some((x) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'].includes(x));
const isSuse = (d: HostDistro): boolean => d.like.some((x) => x.includes('suse'));
const rpmTool = (d: HostDistro): string => (d.versionId !== null && /^7(\.|$)/.test(d.versionId) && d.like.some((x) => x === 'rhel' || x === 'centos') ? 'yum' : 'dnf');

/** The host's Debian archive root (first `deb` URI of its apt sources), for commands that add a suite. */
export async function hostDebianArchive(etcRoot = '/etc'): Promise<string | null> {
  const { readAptSources } = await import('../resolve/apt-sources.js');
  try {
    const s = await readAptSources(join(etcRoot, 'apt'));
    return s.find((x) => x.suites.some((y) => !y.includes('-') && !y.endsWith('/')))?.uris[0] ?? null;
  } catch {
    return null;
  }
}

/** Install a package by its name on this distro ("apt-get install -y crash"). */
export function installCommand(d: HostDistro, pkg: { deb?: string; rpm?: string; suse?: string }): string | null {
  if (isDeb(d) && pkg.deb) return `apt-get install -y ${pkg.deb}`;
  if (isRpm(d) && pkg.rpm) return `${rpmTool(d)} install -y ${pkg.rpm}`;
  if (isSuse(d) && (pkg.suse ?? pkg.rpm)) return `zypper install -y ${pkg.suse ?? pkg.rpm}`;
  return null;
}

/**
 * The command that gets a crash of at least `minimum` on this host. Debian 12 ships 8.0.2 and no
 * newer one in its own suites: trixie's is taken at a low pin priority (only crash and what it
 * needs come from trixie). Elsewhere the distribution's own crash is upgraded.
 */
export async function crashFixCommand(d: HostDistro, minimum: string | null, etcRoot = '/etc'): Promise<string> {
  const wanted = minimum ? `crash >= ${minimum}` : 'crash';
  if (d.id === 'debian' && minimum !== null && (d.codename === 'bookworm' || d.codename === 'bullseye')) {
    const uri = await hostDebianArchive(etcRoot);
    const list = uri ? `echo 'deb ${uri} trixie main' > /etc/apt/sources.list.d/kdbg-trixie.list && ` : '';
    return `${list}printf 'Package: *\\nPin: release n=trixie\\nPin-Priority: 100\\n' > /etc/apt/preferences.d/kdbg-trixie && apt-get update && apt-get install -y -t trixie crash${uri ? '' : ' (after adding a trixie entry to the apt sources)'}`;
  }
  if (isDeb(d)) return minimum ? 'apt-get update && apt-get install -y --only-upgrade crash' : 'apt-get install -y crash';
  if (isRpm(d)) return minimum ? `${rpmTool(d)} upgrade -y crash` : `${rpmTool(d)} install -y crash`;
  if (isSuse(d)) return 'zypper install -y crash';
  return `install ${wanted} and pass it with --crash PATH (or KDBG_CRASH)`;
}
