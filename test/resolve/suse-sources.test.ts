// SUSE sources: which openSUSE presets a release gets (with $leap/$releasever filled in), and
// what the zypper repo reader takes from repos.d and credentials.d.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRelease } from '../../src/release/index.js';
import { candidatesFor, type MirrorConfig } from '../../src/resolve/index.js';
import { parseCredentials, readZypperRepos } from '../../src/resolve/zypper-repos.js';

const cfg = (over: Partial<MirrorConfig> = {}): MirrorConfig => ({ sources: [], presets: true, aptRoot: null, files: [], timeoutMs: 1000, mirrorsPerList: 3, ...over });
const presetIds = (release: string, arch?: string): string[] =>
  candidatesFor(parseRelease(release, arch ? { arch } : {}), cfg()).map((c) => (c.kind === 'repo' ? `${c.origin} ${c.base.includes('$') ? 'UNFILLED' : ''}`.trim() : c.origin));

describe('openSUSE presets', () => {
  it('SLE 15 SPn kernels get the Leap 15.n debug and main trees, both filled in', () => {
    const c = candidatesFor(parseRelease('5.14.21-150500.55.39-default'), cfg());
    expect(c.map((x) => x.origin)).toEqual([
      'preset opensuse-leap-update-sle-debug',
      'preset opensuse-leap-update-sle',
      'preset opensuse-leap-distribution-debug',
      'preset opensuse-leap-distribution',
    ]);
    for (const x of c) expect(x.kind === 'repo' && x.base.includes('/15.5/') && !x.base.includes('$')).toBe(true);
    expect(presetIds('5.3.18-lp152.19-default')).toContain('preset opensuse-leap-distribution-debug');
  });
  it('Tumbleweed kernels get the Tumbleweed trees (ports for aarch64); unknown SLE 12 kernels none', () => {
    expect(presetIds('6.6.6-1-default')).toEqual(['preset opensuse-tumbleweed-debug', 'preset opensuse-tumbleweed']);
    expect(presetIds('6.6.6-1-default', 'aarch64')).toEqual(['preset opensuse-tumbleweed-ports-debug', 'preset opensuse-tumbleweed-ports']);
    expect(presetIds('4.12.14-122.37-default')).toEqual([]);
    // RPM-family presets never apply to SUSE.
    expect(presetIds('5.14.21-150500.55.39-default').every((o) => o.includes('opensuse'))).toBe(true);
  });
});

describe('zypper repos', () => {
  it('debug repos (enabled or not) first, then enabled main repos; no source or disabled main repos; credentials from credentials.d', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kdbg-zypp-'));
    const d = join(root, 'etc', 'zypp');
    mkdirSync(join(d, 'repos.d'), { recursive: true });
    mkdirSync(join(d, 'credentials.d'), { recursive: true });
    writeFileSync(join(d, 'repos.d', 'a-main.repo'), '[repo-oss]\nenabled=1\nbaseurl=http://zypp.test/oss/\ntype=rpm-md\n[repo-non-oss]\nenabled=0\nbaseurl=http://zypp.test/non-oss/\n');
    writeFileSync(join(d, 'repos.d', 'b-debug.repo'), '[repo-debug]\nenabled=0\nbaseurl=http://zypp.test/debug/$releasever/?credentials=SCC\ntype=rpm-md\n[repo-source]\nenabled=1\nbaseurl=http://zypp.test/src/\n[yast]\nenabled=1\nbaseurl=http://zypp.test/y/\ntype=yast2\n[tok]\nenabled=1\nbaseurl=https://zypp.test/SUSE/Updates/x/?abc123\n');
    writeFileSync(join(d, 'credentials.d', 'SCC'), 'username=SCC_abc\npassword=pw\n');
    const s = await readZypperRepos(join(root, 'etc'), root);
    expect(s.map((x) => [x.url, x.match, x.access?.username ?? null, x.access?.password ?? null])).toEqual([
      ['http://zypp.test/debug/$releasever/', ['suse'], 'SCC_abc', 'pw'],
      ['http://zypp.test/oss/', ['suse'], null, null],
      ['https://zypp.test/SUSE/Updates/x/', ['suse'], null, null],
    ]);
    expect(s[2]!.access).toMatchObject({ prefix: 'https://zypp.test/SUSE/Updates/x/', query: 'abc123' });
    expect(parseCredentials(' username = u \npassword=p w\n# x\n')).toEqual({ username: 'u', password: 'p w' });
  });
});
