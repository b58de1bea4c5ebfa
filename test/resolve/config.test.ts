// Mirror configuration: discovery order of config files, validation errors that name the file
// and the key path, flags, and the host's yum.repos.d (with dnf vars) in a temp etcRoot.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, InputNotFoundError, UsageError } from '../../src/core/errors.js';
import { parseRelease } from '../../src/release/index.js';
import { candidatesFor, loadMirrorConfig, parseRepoFile } from '../../src/resolve/index.js';

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kdbg-${prefix}-`));
}

function writeJson(dir: string, name: string, doc: unknown): string {
  mkdirSync(dir, { recursive: true });
  const f = join(dir, name);
  writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return f;
}

async function configError(doc: unknown): Promise<ConfigError> {
  const dir = tmp('cfg');
  const f = writeJson(dir, 'config.json', doc);
  try {
    await loadMirrorConfig({ configFile: f, etcRoot: tmp('etc'), env: { HOME: dir } });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const ce = e as ConfigError;
    expect(ce.exitCode).toBe(78);
    expect(ce.message.startsWith(`${f}: `)).toBe(true);
    expect(ce.message).not.toContain('\n');
    return ce;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation points at the bad key', () => {
  it('mirrors.el7[2].url: not a URL', async () => {
    const e = await configError({ mirrors: { el7: ['http://a.example/', { url: 'https://b.example/' }, { url: 'ftp//nope' }] } });
    expect(e.message).toMatch(/: mirrors\.el7\[2\]\.url: not a URL \("ftp\/\/nope"; http:\/\/ or https:\/\/ expected\)$/);
    expect(e.details['key']).toBe('mirrors.el7[2].url');
  });
  const cases: [unknown, RegExp][] = [
    [{ mirorrs: {} }, /: mirorrs: unknown key \(known: mirrors, presets, hostRepos, aptRoot, timeoutSeconds, mirrorsPerList, archives, debianSnapshotUrl, launchpadUrl, insecureSkipSignatures, keyrings, partialFetch, presetKeys, gpgkey, repoGpgcheck\)$/],
    [[1, 2], /: \(top level\): expected an object, found an array$/],
    [{ mirrors: [] }, /: mirrors: expected an object of selector → list, found an array$/],
    [{ mirrors: { el7: 'http://a/' } }, /: mirrors\.el7: expected a list of mirrors, found a string$/],
    [{ mirrors: { banana: [] } }, /: mirrors\.banana: unknown release selector/],
    [{ mirrors: { fc39: [42] } }, /: mirrors\.fc39\[0\]: expected a URL string or an object with "url", found a number$/],
    [{ mirrors: { '*': [{ url: 'http://a/', type: 'ftp' }] } }, /: mirrors\.\*\[0\]\.type: expected one of mirror, repo, mirrorlist, metalink, template$/],
    [{ mirrors: { '*': [{ url: 'http://a/', color: 'red' }] } }, /: mirrors\.\*\[0\]\.color: unknown key \(known: url, type, distro, flat, signedBy, gpgkey, preset\)$/],
    [{ mirrors: { rhel: [{ url: 'http://a/', type: 'repo', gpgkey: 'keys/RPM-GPG-KEY' }] } }, /: mirrors\.rhel\[0\]\.gpgkey: expected an absolute key file path, a file:\/\/\/ or http\(s\):\/\/ URL, a builtin:<name> of a key kdbg ships \(docs\/signatures\.md\), or a list of them$/],
    [{ mirrors: { rhel: [{ url: 'http://a/', type: 'repo', gpgkey: 'builtin:RPM-GPG-KEY-not-shipped' }] } }, /: mirrors\.rhel\[0\]\.gpgkey: expected an absolute key file path/],
    [{ mirrors: { '*': [{ url: 'http://a/', type: 'repo', preset: 'no-such' }] } }, /: mirrors\.\*\[0\]\.preset: expected the id of a built-in preset \(centos-debuginfo, /],
    [{ presetKeys: ['/k'] }, /: presetKeys: expected an object of preset id → key files, found /],
    [{ presetKeys: { 'rocky-vault': ['k.asc'] } }, /: presetKeys\.rocky-vault: expected a list of absolute key file paths$/],
    [{ mirrors: { rhel: [{ url: 'http://a/', type: 'repo', gpgkey: [] }] } }, /: mirrors\.rhel\[0\]\.gpgkey: expected an absolute key file path/],
    [{ mirrors: { rhel: [{ type: 'repo' }] } }, /: mirrors\.rhel\[0\]\.url: missing$/],
    [{ mirrors: { rhel: [{ url: 'http://a/', flat: ['../up'] }] } }, /: mirrors\.rhel\[0\]\.flat: expected a list of relative directories/],
    [{ presets: 'no' }, /: presets: expected true or false, found a string$/],
    [{ partialFetch: 0 }, /: partialFetch: expected true or false, found a number$/],
    [{ gpgkey: 'RPM-GPG-KEY' }, /: gpgkey: expected an absolute key file path, a file:\/\/\/ or http\(s\):\/\/ URL/],
    [{ repoGpgcheck: 'yes' }, /: repoGpgcheck: expected true or false, found a string$/],
    [{ aptRoot: 'etc/apt' }, /: aptRoot: expected an absolute path or null$/],
    [{ timeoutSeconds: 0 }, /: timeoutSeconds: expected a number of seconds/],
    [{ mirrorsPerList: 1.5 }, /: mirrorsPerList: expected an integer from 1 to 50$/],
    ['{ "mirrors": ', /: not valid JSON \(/],
  ];
  for (const [doc, re] of cases) {
    it(`${JSON.stringify(doc).slice(0, 60)} → ${re.source.slice(0, 50)}`, async () => {
      expect((await configError(doc)).message).toMatch(re);
    });
  }
});

describe('config discovery', () => {
  it('--config wins; a missing explicit file is InputNotFoundError (66)', async () => {
    const dir = tmp('cfg');
    await expect(loadMirrorConfig({ configFile: join(dir, 'nope.json'), etcRoot: tmp('etc'), env: { HOME: dir } })).rejects.toThrow(InputNotFoundError);
    await expect(loadMirrorConfig({ configFile: join(dir, 'nope.json'), etcRoot: tmp('etc'), env: { HOME: dir } })).rejects.toThrow(/config file .*nope\.json \(--config\): not found/);
    await expect(loadMirrorConfig({ etcRoot: tmp('etc'), env: { HOME: dir, KDBG_CONFIG: join(dir, 'gone.json') } })).rejects.toThrow(/\(KDBG_CONFIG\): not found/);
  });

  it('KDBG_CONFIG is read when --config is absent, and then user/system files are not', async () => {
    const dir = tmp('cfg');
    const f = writeJson(dir, 'k.json', { mirrors: { el7: ['http://k.example/'] } });
    const etc = tmp('etc');
    writeJson(join(etc, 'kdbg'), 'config.json', { mirrors: { el7: ['http://system.example/'] } });
    const cfg = await loadMirrorConfig({ etcRoot: etc, env: { HOME: dir, KDBG_CONFIG: f } });
    expect(cfg.files).toEqual([f]);
    expect(cfg.sources.map((s) => s.url)).toEqual(['http://k.example/']);
  });

  it('user (XDG_CONFIG_HOME) then system file; scalars from the first that sets them', async () => {
    const home = tmp('home');
    const xdg = join(home, 'xdg');
    const etc = tmp('etc');
    const user = writeJson(join(xdg, 'kdbg'), 'config.json', { presets: false, partialFetch: false, mirrors: { el7: ['http://user.example/'] } });
    const system = writeJson(join(etc, 'kdbg'), 'config.json', { presets: true, partialFetch: true, timeoutSeconds: 5, aptRoot: null, mirrors: { '*': [{ url: 'http://system.example/', type: 'repo' }] } });
    const cfg = await loadMirrorConfig({ etcRoot: etc, env: { HOME: home, XDG_CONFIG_HOME: xdg } });
    expect(cfg.files).toEqual([user, system]);
    expect(cfg).toMatchObject({ presets: false, partialFetch: false, timeoutMs: 5000, aptRoot: null });
    expect(cfg.sources.map((s) => [s.type, s.url, s.origin])).toEqual([
      ['mirror', 'http://user.example/', `${user} mirrors.el7[0]`],
      ['repo', 'http://system.example/', `${system} mirrors.*[0]`],
    ]);
  });

  it('~/.config/kdbg/config.json is the default user file', async () => {
    const home = tmp('home');
    const f = writeJson(join(home, '.config', 'kdbg'), 'config.json', {});
    expect((await loadMirrorConfig({ etcRoot: tmp('etc'), env: { HOME: home } })).files).toEqual([f]);
  });

  it('order: --repo, --mirror, config file, host repos; KDBG_NO_PRESETS switches presets off', async () => {
    const home = tmp('home');
    const etc = tmp('etc');
    const f = writeJson(home, 'c.json', { mirrors: { rpm: ['http://cfg.example/'] } });
    mkdirSync(join(etc, 'yum.repos.d'));
    writeFileSync(join(etc, 'yum.repos.d', 'h.repo'), '[host-debuginfo]\nbaseurl=http://host.example/$releasever/\n');
    const cfg = await loadMirrorConfig({ configFile: f, mirrors: ['http://m.example/'], repos: ['http://r.example/'], etcRoot: etc, env: { HOME: home } });
    expect(cfg.sources.map((s) => s.url)).toEqual(['http://r.example/', 'http://m.example/', 'http://cfg.example/', 'http://host.example/$releasever/']);
    expect(cfg.presets).toBe(true);
    expect((await loadMirrorConfig({ etcRoot: etc, env: { HOME: home, KDBG_NO_PRESETS: '1' } })).presets).toBe(false);
    const noHost = writeJson(home, 'nohost.json', { hostRepos: false });
    expect((await loadMirrorConfig({ configFile: noHost, etcRoot: etc, env: { HOME: home } })).sources).toEqual([]);
  });

  it('top-level gpgkey/repoGpgcheck: the keys of --mirror, --repo and entries without their own; not of presets or host repos', async () => {
    const home = tmp('home');
    const etc = tmp('etc');
    mkdirSync(join(etc, 'yum.repos.d'));
    writeFileSync(join(etc, 'yum.repos.d', 'h.repo'), '[host-debuginfo]\nbaseurl=http://host.example/\n');
    const f = writeJson(home, 'c.json', {
      gpgkey: ['/k/site.asc', 'file:///k/other.asc'],
      repoGpgcheck: true,
      mirrors: { rpm: ['http://cfg.example/', { url: 'http://own.example/', gpgkey: '/k/own.asc' }, { url: 'http://copy.example/', type: 'repo', preset: 'rocky-vault' }] },
    });
    const cfg = await loadMirrorConfig({ configFile: f, mirrors: ['http://m.example/'], repos: ['http://r.example/'], etcRoot: etc, env: { HOME: home } });
    const by = (u: string) => cfg.sources.find((s) => s.url === u)!;
    const site = { gpgcheck: true, gpgkey: ['/k/site.asc', '/k/other.asc'], gpgkeyRoot: '/', repoGpgcheck: true };
    expect(by('http://m.example/')).toMatchObject(site);
    expect(by('http://r.example/')).toMatchObject(site);
    expect(by('http://cfg.example/')).toMatchObject(site);
    expect(by('http://own.example/')).toMatchObject({ gpgcheck: true, gpgkey: ['/k/own.asc'], repoGpgcheck: true });
    expect(by('http://copy.example/').gpgkey).toBeUndefined();
    expect(by('http://copy.example/').repoGpgcheck).toBeUndefined();
    expect(by('http://host.example/').gpgcheck).toBeUndefined();
    expect(by('http://host.example/').repoGpgcheck).toBeUndefined();
    // Without the keys: no check is asked for (as before).
    const plain = await loadMirrorConfig({ mirrors: ['http://m.example/'], etcRoot: tmp('etc'), env: { HOME: tmp('h') } });
    expect(plain.sources[0]!.gpgcheck).toBeUndefined();
    expect(plain.sources[0]!.repoGpgcheck).toBeUndefined();
  });

  it('--mirror/--repo must be http(s) URLs', async () => {
    await expect(loadMirrorConfig({ mirrors: ['mirror.example/centos'], etcRoot: tmp('etc'), env: { HOME: tmp('h') } })).rejects.toThrow(UsageError);
    await expect(loadMirrorConfig({ repos: ['file:///srv/repo'], etcRoot: tmp('etc'), env: { HOME: tmp('h') } })).rejects.toThrow(/--repo file:\/\/\/srv\/repo: not a URL/);
  });
});

describe('host yum/dnf repos', () => {
  it('parses .repo files: sections, multi-line baseurl, comments', () => {
    const secs = parseRepoFile('# c\n[a-debuginfo]\nname = A\nbaseurl=http://one/\n  http://two/\n\thttp://three/\nenabled=0\n; x\n[b]\nmirrorlist=http://m/\n');
    expect(secs).toEqual([
      { id: 'a-debuginfo', keys: { name: 'A', baseurl: 'http://one/\nhttp://two/\nhttp://three/', enabled: '0' } },
      { id: 'b', keys: { mirrorlist: 'http://m/' } },
    ]);
  });

  it('takes only debug repos (enabled or not), baseurl/mirrorlist/metalink, dnf vars, and fills $releasever/$basearch per release', async () => {
    const etc = tmp('etc');
    mkdirSync(join(etc, 'yum.repos.d'));
    mkdirSync(join(etc, 'dnf', 'vars'), { recursive: true });
    writeFileSync(join(etc, 'dnf', 'vars', 'contentdir'), 'altarch\n');
    writeFileSync(join(etc, 'dnf', 'vars', 'releasever'), '99\n'); // must not override the release's
    writeFileSync(
      join(etc, 'yum.repos.d', 'CentOS-Debuginfo.repo'),
      `[base-debuginfo]
name=CentOS-$releasever - Debuginfo
baseurl=http://debuginfo.centos.org/$releasever/$basearch/
gpgcheck=1
enabled=0

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os
`,
    );
    writeFileSync(
      join(etc, 'yum.repos.d', 'stream.repo'),
      `[baseos-debuginfo]
metalink=https://mirrors.centos.org/metalink?repo=centos-baseos-debug-$stream&arch=$basearch
[appstream-debug]
mirrorlist=http://mirror.example/$contentdir/\${releasever}/debug/$basearch
baseurl=http://a.example/$contentdir/$releasever/debug/$basearch/ , http://b.example/$releasever/
`,
    );
    writeFileSync(join(etc, 'yum.repos.d', 'notes.txt'), '[x-debuginfo]\nbaseurl=http://ignored/\n');
    const cfg = await loadMirrorConfig({ etcRoot: etc, env: { HOME: tmp('h'), KDBG_NO_PRESETS: '1' } });
    expect(cfg.sources.map((s) => [s.type, s.url, s.origin.replace(etc, '<etc>')])).toEqual([
      ['repo', 'http://debuginfo.centos.org/$releasever/$basearch/', '<etc>/yum.repos.d/CentOS-Debuginfo.repo [base-debuginfo]'],
      ['metalink', 'https://mirrors.centos.org/metalink?repo=centos-baseos-debug-$stream&arch=$basearch', '<etc>/yum.repos.d/stream.repo [baseos-debuginfo]'],
      ['repo', 'http://a.example/altarch/$releasever/debug/$basearch/', '<etc>/yum.repos.d/stream.repo [appstream-debug]'],
      ['repo', 'http://b.example/$releasever/', '<etc>/yum.repos.d/stream.repo [appstream-debug]'],
      ['mirrorlist', 'http://mirror.example/altarch/${releasever}/debug/$basearch', '<etc>/yum.repos.d/stream.repo [appstream-debug]'],
    ]);
    const c7 = candidatesFor(parseRelease('3.10.0-327.el7', { arch: 'i686' }), cfg);
    expect(c7[0]).toMatchObject({ kind: 'repo', base: 'http://debuginfo.centos.org/7/i386/' });
    const c9 = candidatesFor(parseRelease('5.14.0-687.el9.aarch64'), cfg);
    expect(c9.map((c) => (c.kind === 'repo' ? c.base : c.kind === 'list' ? c.url : c.template))).toEqual([
      'http://debuginfo.centos.org/9/aarch64/',
      'https://mirrors.centos.org/metalink?repo=centos-baseos-debug-9-stream&arch=aarch64',
      'http://a.example/altarch/9/debug/aarch64/',
      'http://b.example/9/',
      'http://mirror.example/altarch/9/debug/aarch64',
    ]);
    // Host yum repos serve RPM families only.
    expect(candidatesFor(parseRelease('6.1.0-56-amd64'), cfg)).toEqual([]);
  });
});
