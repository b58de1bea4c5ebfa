// The host's apt sources: which archives (URIs), suites and components a Debian/Ubuntu machine
// already trusts. kdbg reads them so `kdbg fetch 6.1.0-56-amd64` needs no configuration.
//
// Formats (sources.list(5), apt 2.6):
// - one-line style `sources.list` and `sources.list.d/*.list`:
//     deb [ arch=amd64,arm64 signed-by=/usr/share/keyrings/x.gpg ] URI SUITE [COMPONENT...]
//   (`deb-src` lines are ignored; a SUITE ending in "/" is a flat repository with no components);
// - deb822 `sources.list.d/*.sources`: stanzas with Types, URIs, Suites, Components,
//   Architectures, Signed-By, Enabled; continuation lines start with a space or tab ("." alone is
//   an empty line inside a field, used by inline Signed-By keys).
// Files whose names end in anything else (`.disabled`, `.save`, `.dpkg-old`, …) are ignored, as
// apt does. `$(ARCH)` in suites is substituted with the architecture asked for.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';

export interface AptSource {
  /** `deb` entries only; `deb-src` are dropped while parsing. */
  uris: string[];
  suites: string[];
  /** Empty for a flat repository (suite ends in "/"). */
  components: string[];
  /** `arch=` / `Architectures:`; null means "the host's". */
  architectures: string[] | null;
  signedBy: string | null;
  /** The inline key block of a deb822 `Signed-By` (signedBy then says "(inline key)"). */
  signedByKey?: string;
  /** `[trusted=yes]` / `Trusted: yes`: apt reads the source without a signature (kdbg too, with a warning). */
  trusted?: boolean;
  /** File and line (1-based) the entry came from, for messages. */
  file: string;
  line: number;
}

function configError(file: string, line: number, msg: string): ConfigError {
  return new ConfigError(`${file}:${line}: ${msg}`, { details: { file, line } });
}

/** Parse one-line style sources (sources.list, *.list). */
export function parseSourcesList(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) throw configError(file, i + 1, `cannot parse apt source line ${JSON.stringify(line)} (expected "deb [options] URI SUITE [COMPONENT...]")`);
    if (m[1] !== 'deb') continue;
    let architectures: string[] | null = null;
    let signedBy: string | null = null;
    let trusted = false;
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter((o) => o !== '')) {
      const eq = opt.indexOf('=');
      if (eq < 0) throw configError(file, i + 1, `apt source option ${JSON.stringify(opt)} has no "="`);
      const key = opt.slice(0, eq).replace(/[+-]$/, '');
      const value = opt.slice(eq + 1);
      if (key === 'arch') architectures = value.split(',').filter((a) => a !== '');
      else if (key === 'signed-by') signedBy = value;
      else if (key === 'trusted') trusted = value === 'yes';
    }
    const suite = m[4]!;
    const components = (m[5] ?? '').split(/\s+/).filter((c) => c !== '');
    out.push({ uris: [m[3]!], suites: [suite], components: suite.endsWith('/') ? [] : components, architectures, signedBy, file, line: i + 1, ...(trusted ? { trusted } : {}) });
  }
  return out;
}

/** Parse deb822 `.sources` stanzas. `Enabled: no` stanzas are dropped. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let start = 0;
  let last: string | null = null;
  const flush = (): void => {
    if (fields.size === 0) return;
    const f = fields;
    fields = new Map();
    last = null;
    const words = (k: string): string[] => (f.get(k) ?? '').split(/\s+/).filter((w) => w !== '');
    const enabled = (f.get('enabled') ?? 'yes').trim().toLowerCase();
    if (enabled === 'no' || enabled === 'false') return;
    if (!words('types').includes('deb')) return;
    const uris = words('uris');
    const suites = words('suites');
    if (uris.length === 0) throw configError(file, start, 'deb822 stanza has no URIs field');
    if (suites.length === 0) throw configError(file, start, 'deb822 stanza has no Suites field');
    const archs = words('architectures');
    const signed = f.get('signed-by')?.trim() ?? '';
    out.push({
      uris,
      suites,
      components: suites.every((s) => s.endsWith('/')) ? [] : words('components'),
      architectures: archs.length > 0 ? archs : null,
      // An inline key block is not a path; keep only a path (or fingerprint list) for display.
      signedBy: signed === '' ? null : signed.includes('BEGIN PGP') ? '(inline key)' : signed,
      file,
      line: start,
      ...(signed.includes('BEGIN PGP') ? { signedByKey: signed } : {}),
      ...(/^(yes|true)$/i.test(f.get('trusted')?.trim() ?? '') ? { trusted: true } : {}),
    });
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.startsWith('#')) continue;
    if (raw.trim() === '') {
      flush();
      continue;
    }
    if (/^[ \t]/.test(raw)) {
      if (last === null) throw configError(file, i + 1, 'continuation line outside a field');
      const v = raw.trim();
      fields.set(last, `${fields.get(last) ?? ''}\n${v === '.' ? '' : v}`);
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) throw configError(file, i + 1, `expected "Field: value", found ${JSON.stringify(raw)}`);
    if (fields.size === 0) start = i + 1;
    last = raw.slice(0, colon).trim().toLowerCase();
    fields.set(last, raw.slice(colon + 1).trim());
  }
  flush();
  return out;
}

/**
 * Every enabled `deb` source under `aptRoot` (sources.list, then sources.list.d/ in name order,
 * like apt). A missing aptRoot or file is no error (a non-Debian host simply has none).
 */
export async function readAptSources(aptRoot: string): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const tryRead = async (p: string): Promise<string | null> => {
    try {
      return await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw new ConfigError(`${p}: cannot read apt sources: ${(e as Error).message}`, { cause: e });
    }
  };
  const main = join(aptRoot, 'sources.list');
  const t = await tryRead(main);
  if (t !== null) out.push(...parseSourcesList(t, main));
  let names: string[] = [];
  try {
    names = (await readdir(join(aptRoot, 'sources.list.d'))).sort();
  } catch {
    names = [];
  }
  for (const n of names) {
    // apt's Dir::Ignore-Files-Silently: only *.list and *.sources are read.
    if (!/^[A-Za-z0-9_.-]+\.(list|sources)$/.test(n)) continue;
    const p = join(aptRoot, 'sources.list.d', n);
    const text = await tryRead(p);
    if (text === null) continue;
    out.push(...(n.endsWith('.sources') ? parseDeb822Sources(text, p) : parseSourcesList(text, p)));
  }
  return out;
}

/** An archive root and the suites/components to read from it for one architecture. */
export interface AptArchive {
  root: string;
  suites: string[];
  components: string[];
  /** From the host's apt config (true) or from kdbg's configuration (false). */
  fromHost: boolean;
  /** Flat repository: the suite is a path holding Packages directly. */
  flat: boolean;
}

/** Normalise a URI to a root ending in "/". */
export function archiveRoot(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/**
 * Host sources → archives for `arch`. Suites are taken as listed (apt lists -updates and
 * -security itself); `$(ARCH)` is substituted; sources restricted to other architectures are
 * skipped. Only http(s) URIs can be fetched (cdrom:, file:, mirror+file: are ignored).
 */
export function archivesFromSources(sources: AptSource[], arch: string): AptArchive[] {
  const byRoot = new Map<string, AptArchive>();
  for (const s of sources) {
    if (s.architectures && !s.architectures.includes(arch)) continue;
    for (const uri of s.uris) {
      if (!/^https?:\/\//.test(uri)) continue;
      for (const rawSuite of s.suites) {
        const suite = rawSuite.replace(/\$\(ARCH\)/g, arch);
        const flat = suite.endsWith('/');
        const root = flat ? new URL(suite, archiveRoot(uri)).href : archiveRoot(uri);
        const key = `${root}\0${flat}`;
        const a = byRoot.get(key) ?? { root, suites: [], components: [], fromHost: true, flat };
        if (!flat && !a.suites.includes(suite)) a.suites.push(suite);
        for (const c of s.components) if (!a.components.includes(c)) a.components.push(c);
        byRoot.set(key, a);
      }
    }
  }
  return [...byRoot.values()];
}

/** The codenames the host's suites belong to (`bookworm-security` → `bookworm`). */
export function codenamesOf(sources: AptSource[]): string[] {
  const out: string[] = [];
  for (const s of sources) {
    for (const suite of s.suites) {
      if (suite.endsWith('/')) continue;
      const c = suite.replace(/[-/](security|updates|proposed|backports|backports-sloppy)$/, '').replace(/\/updates$/, '');
      if (!out.includes(c)) out.push(c);
    }
  }
  return out;
}

/** The suites to read for a codename: the release, its updates, its security pocket (and -proposed for ddebs). */
export function suitesFor(codename: string, family: 'debian' | 'ubuntu'): string[] {
  return family === 'ubuntu' ? [codename, `${codename}-updates`, `${codename}-security`, `${codename}-proposed`] : [codename, `${codename}-security`, `${codename}-updates`];
}
