// The distribution keys kdbg ships for its presets (src/resolve/keys/, preset-keys.ts), read by
// the real gpg: every shipped key parses, its fingerprints are those its module records and those
// docs/signatures.md's table lists, every preset has a decision (keys, the host's
// /etc/pki/rpm-gpg, or unsigned Koji), and every shipped key a preset names exists.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_KEYS } from '../../src/resolve/keys/index.js';
import { BUILTIN_KEY_NAMES } from '../../src/resolve/keys/names.js';
import { PRESET_KEYS, presetGpgcheck, unsignedPresetNote } from '../../src/resolve/preset-keys.js';
import { PRESETS } from '../../src/resolve/presets.js';
import { CHINA_PRESETS } from '../../src/resolve/presets-china.js';
import { rpmGpgcheckFor } from '../../src/resolve/rpm-header-trust.js';
import { withRemoteKeys } from '../../src/resolve/rpm-remote-keys.js';
import type { MirrorConfig } from '../../src/resolve/sources.js';
import type { HttpFetcher, ResolvedPackage } from '../../src/core/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'kdbg-presetkeys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function gpgFingerprints(armor: string): string[] {
  const home = mkdtempSync(join(tmp, 'gpg-'));
  const out = execFileSync('gpg', ['--batch', '--homedir', home, '--show-keys', '--with-colons'], { input: armor, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
  const fprs: string[] = [];
  let primary = false;
  for (const l of out.split('\n')) {
    const f = l.split(':');
    if (f[0] === 'pub') primary = true;
    else if (f[0] === 'sub') primary = false;
    else if (f[0] === 'fpr' && primary) {
      fprs.push(f[9]!);
      primary = false;
    }
  }
  return fprs;
}

/** docs/signatures.md's key table: name → fingerprints. */
function docsTable(): Map<string, string[]> {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'signatures.md'), 'utf8');
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/^\| `(RPM-GPG-KEY-[^`]+)` \| ([^|]+) \|/gm)) out.set(m[1]!, [...m[2]!.matchAll(/`([0-9A-F]{40})`/g)].map((x) => x[1]!));
  return out;
}

describe('the shipped distribution keys', () => {
  it('every key parses with the real gpg, and its fingerprints are the module’s and the docs table’s', () => {
    const table = docsTable();
    expect(BUILTIN_KEYS.size).toBeGreaterThan(0);
    // The name list config validation reads without loading the texts is the same list.
    expect([...BUILTIN_KEY_NAMES]).toEqual([...BUILTIN_KEYS.keys()]);
    for (const [name, k] of BUILTIN_KEYS) {
      const fprs = gpgFingerprints(k.armor);
      expect(fprs.length, name).toBeGreaterThan(0);
      expect(fprs, name).toEqual(k.fingerprints);
      expect(table.get(name), `${name} in docs/signatures.md`).toEqual(fprs);
      expect(k.source, name).toMatch(/^https:\/\/github\.com\/rpm-software-management\/distribution-gpg-keys\/blob\/[0-9a-f]{40}\/keys\//);
    }
    // No row for a key kdbg does not ship.
    expect([...table.keys()].filter((n) => !BUILTIN_KEYS.has(n))).toEqual([]);
  });

  it('every preset has a key decision, and every shipped key a preset names exists (for the releases its $releasever takes)', () => {
    const ids = [...PRESETS, ...CHINA_PRESETS].map((p) => p.id);
    expect(ids.filter((id) => !(id in PRESET_KEYS))).toEqual([]);
    expect(Object.keys(PRESET_KEYS).filter((id) => !ids.includes(id))).toEqual([]);
    const majors = ['5', '6', '7', '8', '9', '10', ...Array.from({ length: 28 }, (_, i) => String(i + 20))];
    for (const [id, keys] of Object.entries(PRESET_KEYS)) {
      if (keys === 'unsigned') continue;
      for (const k of keys.filter((x) => x.startsWith('builtin:'))) {
        const name = k.slice('builtin:'.length);
        const found = name.includes('$releasever') ? majors.filter((m) => BUILTIN_KEYS.has(name.replace('$releasever', m))) : BUILTIN_KEYS.has(name) ? ['-'] : [];
        expect(found.length, `${id}: ${k}`).toBeGreaterThan(0);
      }
    }
  });
});

const config = (o: Partial<MirrorConfig> = {}): MirrorConfig => ({ sources: [], presets: true, aptRoot: null, files: [], timeoutMs: 1000, mirrorsPerList: 1, ...o });
const noHttp: HttpFetcher = {
  get: () => {
    throw new Error('no request is expected: shipped keys are local');
  },
  head: () => {
    throw new Error('no request is expected');
  },
} as unknown as HttpFetcher;

describe('a package found through a built-in preset', () => {
  it('rocky-vault, el9: Rocky 9’s shipped key, written once into the cache, no request', async () => {
    const g = rpmGpgcheckFor('preset rocky-vault', config())!;
    expect(g.repo).toBe('preset rocky-vault (keys of preset rocky-vault)');
    const cache = join(tmp, 'cache');
    const pkg = { name: 'kernel-debuginfo', gpgcheck: g } as unknown as ResolvedPackage;
    const [out] = await withRemoteKeys([pkg], { http: noHttp, cacheRoot: cache, timeoutMs: 1000, vars: { releasever: '9' } });
    expect(out!.gpgcheck!.keys).toEqual([join(cache, 'meta', 'gpgkeys', 'builtin', 'RPM-GPG-KEY-Rocky-9.asc')]);
    expect(gpgFingerprints(readFileSync(out!.gpgcheck!.keys[0]!, 'utf8'))).toEqual(BUILTIN_KEYS.get('RPM-GPG-KEY-Rocky-9')!.fingerprints);
    // A major kdbg ships no key for: named in the refusal, not silently unchecked.
    const [old] = await withRemoteKeys([pkg], { http: noHttp, cacheRoot: cache, timeoutMs: 1000, vars: { releasever: '7' } });
    expect(old!.gpgcheck!.keys).toEqual([]);
    expect(old!.gpgcheck!.remote).toEqual(['builtin:RPM-GPG-KEY-Rocky-7 (not shipped with kdbg)']);
  });

  it('--insecure-skip-signatures: no check', () => {
    expect(rpmGpgcheckFor('preset rocky-vault', config({ insecureSkipSignatures: true }))).toBeUndefined();
  });

  it('presetKeys adds a site key to the preset', () => {
    expect(rpmGpgcheckFor('preset alma-vault', config({ presetKeys: { 'alma-vault': ['/site/key.asc'] } }))!.keys).toEqual(['/site/key.asc']);
  });

  it('a preset without shipped keys (alinux): the host’s /etc/pki/rpm-gpg under the host root', () => {
    const root = join(tmp, 'host');
    mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
    writeFileSync(join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-ALINUX-3'), BUILTIN_KEYS.get('RPM-GPG-KEY-ANOLIS')!.armor);
    writeFileSync(join(root, 'etc/pki/rpm-gpg/README'), 'not a key');
    expect(presetGpgcheck('alinux', 'preset alinux', config({ hostRoot: root }))!.keys).toEqual([join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-ALINUX-3')]);
    const none = presetGpgcheck('alinux', 'preset alinux', config({ hostRoot: join(tmp, 'empty-host') }))!;
    expect(none.keys).toEqual([]);
    expect(none.remote[0]).toMatch(/^\/etc\/pki\/rpm-gpg\/RPM-GPG-KEY-\* \(none under /);
  });

  it('Koji presets (unsigned copies): no header check, and a warning says so', () => {
    expect(rpmGpgcheckFor('preset fedora-koji', config())).toBeUndefined();
    expect(unsignedPresetNote('preset fedora-koji', config())).toMatch(/unsigned copies: no header signature to check/);
    expect(unsignedPresetNote('preset fedora-koji', config({ insecureSkipSignatures: true }))).toBeNull();
    expect(unsignedPresetNote('preset rocky-vault', config())).toBeNull();
  });
});

describe('a config entry', () => {
  it('gpgkey builtin:<name>: the shipped key, as a file, no request', async () => {
    const src = { type: 'repo' as const, url: 'http://127.0.0.1:9/', match: ['*'], origin: 'cfg mirrors.rhel[0]', gpgcheck: true, gpgkey: ['builtin:RPM-GPG-KEY-redhat9-release'], gpgkeyRoot: '/' };
    const g = rpmGpgcheckFor('cfg mirrors.rhel[0]', config({ sources: [src] }))!;
    expect(g.remote).toEqual(['builtin:RPM-GPG-KEY-redhat9-release']);
    const [out] = await withRemoteKeys([{ name: 'kernel-debuginfo', gpgcheck: g } as unknown as ResolvedPackage], { http: noHttp, cacheRoot: null, timeoutMs: 1000 });
    expect(out!.gpgcheck!.keys).toHaveLength(1);
    expect(gpgFingerprints(readFileSync(out!.gpgcheck!.keys[0]!, 'utf8'))).toEqual(['567E347AD0044ADE55BA8A5F199E2F91FD431D51', '7E4624258C406535D56D6F135054E4A45A6340B3']);
  });
});
