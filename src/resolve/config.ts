// Mirror configuration: where kdbg looks for debug packages, in this order:
//   1. flags        --repo URL… (a directory holding the packages and/or repodata/), then --mirror URL…
//                   (a base laid out like the family's public mirror, see layout.ts)
//   2. config file  --config FILE, else $KDBG_CONFIG, else the per-user
//                   ${XDG_CONFIG_HOME:-~/.config}/kdbg/config.json followed by /etc/kdbg/config.json
//   3. host         the debuginfo repos in <etcRoot>/yum.repos.d (enabled or not)
//   4. presets      built-in public mirrors (presets.ts), unless the config says "presets": false
// The file format is documented in docs/mirrors.md; every error names the file and the key path.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { archiveUrlsFromEnv, hostRoot, processEnv } from '../core/env.js';
import { ConfigError, InputNotFoundError, UsageError } from '../core/errors.js';
import { SOURCE_TYPES, type MirrorConfig, type MirrorSource, type SourceType } from './sources.js';
import { readHostRepos } from './yum-repos.js';
import { readZypperRepos } from './zypper-repos.js';
import { ARCHIVE_PRESETS } from './archive-presets.js';
import { BUILTIN_KEY_NAMES } from './keys/names.js';
import { PRESET_KEYS } from './preset-keys.js';
import { CHINA_SELECTOR } from './china-layout.js';

export { SOURCE_TYPES, type MirrorConfig, type MirrorSource, type SourceType } from './sources.js';

export interface LoadConfigOptions {
  configFile?: string;
  mirrors?: string[];
  repos?: string[];
  /** Root for /etc lookups (yum.repos.d, dnf vars, kdbg/config.json); tests point it at a temp dir. */
  etcRoot?: string;
  /** Root the host configuration and the certificate paths it names are read under (default: KDBG_ROOT, else /). */
  hostRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** false: --no-archives (no snapshot, no Launchpad, whatever the files and environment say). */
  archives?: boolean;
  /** --insecure-skip-signatures: read Debian/Ubuntu suites without verifying their InRelease. */
  insecureSkipSignatures?: boolean;
}

const SELECTOR = /^(\*|rpm|rhel|oracle-uek|fedora|amazon|debian|ubuntu|suse|suse-leap|suse-tumbleweed|centos|rocky|alma|oracle|el\d+|fc\d+|amzn2|amzn2023)$/;
const TOP_KEYS = ['mirrors', 'presets', 'hostRepos', 'aptRoot', 'timeoutSeconds', 'mirrorsPerList', 'archives', 'debianSnapshotUrl', 'launchpadUrl', 'insecureSkipSignatures', 'keyrings', 'partialFetch', 'presetKeys', 'gpgkey', 'repoGpgcheck'] as const;
const ENTRY_KEYS = ['url', 'type', 'distro', 'flat', 'signedBy', 'gpgkey', 'preset'] as const;

/** A URL kdbg can fetch: http or https, after placeholders are filled with sample values. */
export function isFetchableUrl(u: string): boolean {
  const sample = u.replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, 'x');
  try {
    const url = new URL(sample);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Validate a parsed config document; throws ConfigError naming `file` and the key path. */
export function validateConfig(
  doc: unknown,
  file: string,
): { sources: MirrorSource[]; presets?: boolean; hostRepos?: boolean; aptRoot?: string | null; timeoutMs?: number; mirrorsPerList?: number; archives?: boolean; debianSnapshotUrl?: string; launchpadUrl?: string; insecureSkipSignatures?: boolean; keyrings?: string[]; partialFetch?: boolean; presetKeys?: Record<string, string[]>; gpgkey?: string[]; repoGpgcheck?: boolean } {
  const fail = (key: string, msg: string): never => {
    throw new ConfigError(`${file}: ${key}: ${msg}`, { details: { file, key } });
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('(top level)', `expected an object, found ${typeName(doc)}`);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k === '$schema' || k === '//') continue;
    if (!(TOP_KEYS as readonly string[]).includes(k)) fail(k, `unknown key (known: ${TOP_KEYS.join(', ')})`);
  }
  const out: ReturnType<typeof validateConfig> = { sources: [] };
  if (o['presets'] !== undefined) {
    if (typeof o['presets'] !== 'boolean') fail('presets', `expected true or false, found ${typeName(o['presets'])}`);
    out.presets = o['presets'] as boolean;
  }
  if (o['hostRepos'] !== undefined) {
    if (typeof o['hostRepos'] !== 'boolean') fail('hostRepos', `expected true or false, found ${typeName(o['hostRepos'])}`);
    out.hostRepos = o['hostRepos'] as boolean;
  }
  if (o['aptRoot'] !== undefined) {
    const a = o['aptRoot'];
    if (a !== null && (typeof a !== 'string' || !a.startsWith('/'))) fail('aptRoot', 'expected an absolute path or null');
    out.aptRoot = a as string | null;
  }
  if (o['timeoutSeconds'] !== undefined) {
    const t = o['timeoutSeconds'];
    if (typeof t !== 'number' || !(t > 0 && t <= 3600)) fail('timeoutSeconds', 'expected a number of seconds in (0, 3600]');
    out.timeoutMs = Math.round((t as number) * 1000);
  }
  if (o['mirrorsPerList'] !== undefined) {
    const t = o['mirrorsPerList'];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 50) fail('mirrorsPerList', 'expected an integer from 1 to 50');
    out.mirrorsPerList = t as number;
  }
  if (o['archives'] !== undefined) {
    if (typeof o['archives'] !== 'boolean') fail('archives', `expected true or false, found ${typeName(o['archives'])}`);
    out.archives = o['archives'] as boolean;
  }
  if (o['insecureSkipSignatures'] !== undefined) {
    if (typeof o['insecureSkipSignatures'] !== 'boolean') fail('insecureSkipSignatures', `expected true or false, found ${typeName(o['insecureSkipSignatures'])}`);
    out.insecureSkipSignatures = o['insecureSkipSignatures'] as boolean;
  }
  if (o['partialFetch'] !== undefined) {
    if (typeof o['partialFetch'] !== 'boolean') fail('partialFetch', `expected true or false, found ${typeName(o['partialFetch'])}`);
    out.partialFetch = o['partialFetch'] as boolean;
  }
  if (o['keyrings'] !== undefined) {
    const k = o['keyrings'];
    if (!Array.isArray(k) || k.some((p) => typeof p !== 'string' || !p.startsWith('/'))) fail('keyrings', 'expected a list of absolute keyring file paths');
    out.keyrings = k as string[];
  }
  if (o['presetKeys'] !== undefined) out.presetKeys = validatePresetKeys(o['presetKeys'], fail);
  // RPM keys for the flags' and the entries' repositories that name none (rpmSourceDefaults).
  if (o['gpgkey'] !== undefined) out.gpgkey = entryGpgkey(o['gpgkey'], 'gpgkey', fail).gpgkey!;
  if (o['repoGpgcheck'] !== undefined) {
    if (typeof o['repoGpgcheck'] !== 'boolean') fail('repoGpgcheck', `expected true or false, found ${typeName(o['repoGpgcheck'])}`);
    out.repoGpgcheck = o['repoGpgcheck'] as boolean;
  }
  for (const k of ['debianSnapshotUrl', 'launchpadUrl'] as const) {
    const u = o[k];
    if (u === undefined) continue;
    if (typeof u !== 'string' || !isFetchableUrl(u) || /\$/.test(u)) fail(k, `not a URL (${JSON.stringify(u)}; http:// or https:// expected)`);
    out[k] = u as string;
  }
  const mirrors = o['mirrors'];
  if (mirrors === undefined) return out;
  if (typeof mirrors !== 'object' || mirrors === null || Array.isArray(mirrors)) fail('mirrors', `expected an object of selector → list, found ${typeName(mirrors)}`);
  for (const [sel, list] of Object.entries(mirrors as Record<string, unknown>)) {
    const key = `mirrors.${sel}`;
    if (!SELECTOR.test(sel) && !CHINA_SELECTOR.test(sel)) fail(key, 'unknown release selector (use *, rpm, a family like rhel/fedora/amazon/debian/ubuntu, a distro like centos/rocky/alma/oracle/openeuler/anolis/alinux/opencloudos/tencentos, or el7, fc39, amzn2, amzn2023, oe2203sp1, an8, al8)');
    if (!Array.isArray(list)) fail(key, `expected a list of mirrors, found ${typeName(list)}`);
    (list as unknown[]).forEach((entry, i) => {
      const ek = `${key}[${i}]`;
      let url: unknown;
      let type: unknown = 'mirror';
      let distro: unknown;
      let flat: unknown;
      let signedBy: unknown;
      let gpgkey: unknown;
      let preset: unknown;
      if (typeof entry === 'string') url = entry;
      else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
        const e = entry as Record<string, unknown>;
        for (const k of Object.keys(e)) if (!(ENTRY_KEYS as readonly string[]).includes(k)) fail(`${ek}.${k}`, `unknown key (known: ${ENTRY_KEYS.join(', ')})`);
        if (e['url'] === undefined) fail(`${ek}.url`, 'missing');
        url = e['url'];
        if (e['type'] !== undefined) type = e['type'];
        distro = e['distro'];
        flat = e['flat'];
        signedBy = e['signedBy'];
        gpgkey = e['gpgkey'];
        preset = e['preset'];
      } else fail(ek, `expected a URL string or an object with "url", found ${typeName(entry)}`);
      if (typeof url !== 'string') fail(`${ek}.url`, `expected a string, found ${typeName(url)}`);
      if (!isFetchableUrl(url as string)) fail(`${ek}.url`, `not a URL (${JSON.stringify(url)}; http:// or https:// expected)`);
      if (typeof type !== 'string' || !(SOURCE_TYPES as readonly string[]).includes(type)) fail(`${ek}.type`, `expected one of ${SOURCE_TYPES.join(', ')}`);
      if (distro !== undefined && typeof distro !== 'string') fail(`${ek}.distro`, 'expected a string');
      if (flat !== undefined && (!Array.isArray(flat) || flat.some((f) => typeof f !== 'string' || f.startsWith('/') || f.includes('..'))))
        fail(`${ek}.flat`, 'expected a list of relative directories like "Packages/"');
      const src: MirrorSource = { type: type as SourceType, url: url as string, match: [sel], origin: `${file} ${ek}` };
      if (signedBy !== undefined && (typeof signedBy !== 'string' || signedBy.trim() === '')) fail(`${ek}.signedBy`, 'expected a keyring file path or key fingerprints');
      if (typeof signedBy === 'string') src.signedBy = signedBy;
      if (gpgkey !== undefined) Object.assign(src, entryGpgkey(gpgkey, `${ek}.gpgkey`, fail));
      if (preset !== undefined) {
        if (typeof preset !== 'string' || !(preset in PRESET_KEYS)) fail(`${ek}.preset`, `expected the id of a built-in preset (${Object.keys(PRESET_KEYS).join(', ')})`);
        src.preset = preset as string;
      }
      if (typeof distro === 'string') src.distro = distro;
      if (Array.isArray(flat)) src.flat = (flat as string[]).map((f) => (f === '' || f.endsWith('/') ? f : `${f}/`));
      out.sources.push(src);
    });
  }
  return out;
}

/**
 * The top-level `gpgkey` and `repoGpgcheck` (dnf's `[main]` for kdbg's own sources): a `--mirror`,
 * `--repo` or config entry that names no `gpgkey` of its own takes these keys (gpgcheck=1 with
 * them), and `repoGpgcheck: true` asks each of them for repomd.xml.asc too. A preset or a site's
 * copy of one (`preset`) keeps the distribution's keys.
 */
function rpmSourceDefaults(s: MirrorSource, d: { gpgkey?: string[]; repoGpgcheck?: boolean }): void {
  if (s.preset !== undefined) return;
  if (d.gpgkey && !s.gpgkey) Object.assign(s, { gpgcheck: true, gpgkey: d.gpgkey, gpgkeyRoot: '/' });
  if (d.repoGpgcheck) s.repoGpgcheck = true;
}

/** `presetKeys`: preset id → absolute key file paths a site adds to that preset's signing keys (preset-keys.ts). */
function validatePresetKeys(v: unknown, fail: (k: string, why: string) => never): Record<string, string[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('presetKeys', `expected an object of preset id → key files, found ${typeName(v)}`);
  const out: Record<string, string[]> = {};
  for (const [id, list] of Object.entries(v as Record<string, unknown>)) {
    if (!(id in PRESET_KEYS)) fail(`presetKeys.${id}`, `not a built-in preset (${Object.keys(PRESET_KEYS).join(', ')})`);
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || !p.startsWith('/'))) fail(`presetKeys.${id}`, 'expected a list of absolute key file paths');
    out[id] = list as string[];
  }
  return out;
}

/** An entry's `gpgkey` (a path or URL, or a list): every RPM from it needs a good header signature by one of them (gpgcheck=1, rpm-header-trust.ts); paths are this machine's, not under KDBG_ROOT. */
function entryGpgkey(v: unknown, key: string, fail: (k: string, why: string) => never): Pick<MirrorSource, 'gpgcheck' | 'gpgkey' | 'gpgkeyRoot'> {
  const list = typeof v === 'string' ? [v] : v;
  // `builtin:<name>`: a distribution key kdbg ships (preset-keys.ts), e.g. Red Hat's for a Satellite entry.
  const ok = (k: unknown): boolean => typeof k === 'string' && (k.startsWith('/') || k.startsWith('file:///') || isFetchableUrl(k) || (k.startsWith('builtin:') && BUILTIN_KEY_NAMES.has(k.slice(8))));
  if (!Array.isArray(list) || list.length === 0 || !list.every(ok)) fail(key, 'expected an absolute key file path, a file:/// or http(s):// URL, a builtin:<name> of a key kdbg ships (docs/signatures.md), or a list of them');
  return { gpgcheck: true, gpgkey: (list as string[]).map((k) => k.replace(/^file:\/\//, '')), gpgkeyRoot: '/' };
}

async function readConfigFile(file: string, mustExist: boolean, via: string): Promise<ReturnType<typeof validateConfig> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!mustExist && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    if (code === 'ENOENT') throw new InputNotFoundError(`config file ${file} (${via}): not found`, { details: { file } });
    throw new ConfigError(`${file}: cannot read (${code ?? (e as Error).message})`, { details: { file }, cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`, { details: { file } });
  }
  return validateConfig(doc, file);
}

function flagSources(flag: '--mirror' | '--repo', urls: string[] | undefined): MirrorSource[] {
  return (urls ?? []).map((url) => {
    if (!isFetchableUrl(url)) throw new UsageError(`${flag} ${url}: not a URL (http:// or https:// expected)`);
    return { type: flag === '--mirror' ? 'mirror' : 'repo', url, match: ['*'], origin: `${flag} ${url}` } satisfies MirrorSource;
  });
}

/** Build the mirror configuration from flags, config files and the host's yum/dnf repos. */
export async function loadMirrorConfig(opts: LoadConfigOptions = {}): Promise<MirrorConfig> {
  const env = opts.env ?? processEnv();
  const root = opts.hostRoot ?? hostRoot(env);
  const etcRoot = opts.etcRoot ?? join(root, 'etc');
  const cfg: MirrorConfig = {
    sources: [...flagSources('--repo', opts.repos), ...flagSources('--mirror', opts.mirrors)],
    presets: true,
    aptRoot: join(etcRoot, 'apt'),
    files: [],
    timeoutMs: 30_000,
    mirrorsPerList: 3,
    hostRoot: root,
    ...(opts.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}),
  };
  const explicit = opts.configFile ?? (env['KDBG_CONFIG'] || undefined);
  const candidates: { file: string; mustExist: boolean; via: string }[] = [];
  if (explicit !== undefined) {
    candidates.push({ file: explicit, mustExist: true, via: opts.configFile !== undefined ? '--config' : 'KDBG_CONFIG' });
  } else {
    const home = env['HOME'] || homedir();
    const xdg = env['XDG_CONFIG_HOME'] || join(home, '.config');
    candidates.push({ file: join(xdg, 'kdbg', 'config.json'), mustExist: false, via: 'user config' });
    candidates.push({ file: join(etcRoot, 'kdbg', 'config.json'), mustExist: false, via: 'system config' });
  }
  let hostRepos = true;
  let archives = true;
  const archiveUrls: { debianSnapshot?: string; launchpad?: string } = {};
  // Scalars come from the first file that sets them (user before system); sources concatenate.
  const seen = new Set<string>();
  const rpm: { gpgkey?: string[]; repoGpgcheck?: boolean } = {};
  for (const c of candidates) {
    const v = await readConfigFile(c.file, c.mustExist, c.via);
    if (!v) continue;
    cfg.files.push(c.file);
    cfg.sources.push(...v.sources);
    const first = (k: string): boolean => (seen.has(k) ? false : (seen.add(k), true));
    if (v.presets !== undefined && first('presets')) cfg.presets = v.presets;
    if (v.hostRepos !== undefined && first('hostRepos')) hostRepos = v.hostRepos;
    if (v.aptRoot !== undefined && first('aptRoot')) cfg.aptRoot = v.aptRoot;
    if (v.timeoutMs !== undefined && first('timeoutMs')) cfg.timeoutMs = v.timeoutMs;
    if (v.mirrorsPerList !== undefined && first('mirrorsPerList')) cfg.mirrorsPerList = v.mirrorsPerList;
    if (v.archives !== undefined && first('archives')) archives = v.archives;
    if (v.debianSnapshotUrl !== undefined && first('debianSnapshotUrl')) archiveUrls.debianSnapshot = v.debianSnapshotUrl;
    if (v.launchpadUrl !== undefined && first('launchpadUrl')) archiveUrls.launchpad = v.launchpadUrl;
    if (v.insecureSkipSignatures !== undefined && first('insecureSkipSignatures') && !cfg.insecureSkipSignatures) cfg.insecureSkipSignatures = v.insecureSkipSignatures;
    if (v.partialFetch !== undefined && first('partialFetch')) cfg.partialFetch = v.partialFetch;
    if (v.keyrings) cfg.keyrings = [...(cfg.keyrings ?? []), ...v.keyrings];
    for (const [id, keys] of Object.entries(v.presetKeys ?? {})) (cfg.presetKeys ??= {})[id] = [...(cfg.presetKeys[id] ?? []), ...keys];
    if (v.gpgkey !== undefined && first('gpgkey')) rpm.gpgkey = v.gpgkey;
    if (v.repoGpgcheck !== undefined && first('repoGpgcheck')) rpm.repoGpgcheck = v.repoGpgcheck;
  }
  for (const s of cfg.sources) rpmSourceDefaults(s, rpm); // flags and entries only: host repo files say their own
  // Tests and air-gapped sites switch the public presets off without a config file.
  if (env['KDBG_NO_PRESETS'] === '1') cfg.presets = false;
  cfg.archives = archiveConfig(archives && opts.archives !== false, { ...archiveUrls, ...archiveUrlsFromEnv(env) }, cfg.presets);
  if (hostRepos) cfg.sources.push(...(await readHostRepos(etcRoot, root)), ...(await readZypperRepos(etcRoot, root)));
  return cfg;
}

/**
 * The archives' base URLs: the environment over the config files over the built-in ones, which
 * count only while the presets are on (tests and air-gapped sites turn presets off and so never
 * reach a public service by accident). A site's own copy is used even with presets off.
 */
function archiveConfig(enabled: boolean, urls: { debianSnapshot?: string; launchpad?: string }, presets: boolean): NonNullable<MirrorConfig['archives']> {
  const pick = (u: string | undefined, preset: string): string | null => {
    if (!enabled) return null;
    const v = u ?? (presets ? preset : undefined);
    if (v === undefined) return null;
    if (!isFetchableUrl(v)) throw new UsageError(`archive base URL ${JSON.stringify(v)}: not a URL (http:// or https:// expected)`);
    return v.endsWith('/') ? v : `${v}/`;
  };
  return { debianSnapshot: pick(urls.debianSnapshot, ARCHIVE_PRESETS.debianSnapshot), launchpad: pick(urls.launchpad, ARCHIVE_PRESETS.launchpad) };
}
