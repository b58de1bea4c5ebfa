// Which places kdbg searches for the CentOS successors, before any request: the trees under a
// mirror base and the presets (compared with the preset data, never with a literal public host),
// directory listings and the newest-first order of minors.
import { describe, expect, it } from 'vitest';
import { parseRelease } from '../../src/release/index.js';
import { candidatesFor, type Candidate, type MirrorConfig } from '../../src/resolve/index.js';
import { indexTrees } from '../../src/resolve/china-layout.js';
import { parseDirListing } from '../../src/resolve/dir-listing.js';
import { CHINA_PRESETS } from '../../src/resolve/presets-china.js';

const M = 'http://127.0.0.1:9/m/';
function cfg(over: Partial<MirrorConfig> = {}): MirrorConfig {
  return { sources: [{ type: 'mirror', url: M, match: ['*'], origin: '--mirror' }], presets: false, aptRoot: null, files: [], timeoutMs: 1000, mirrorsPerList: 3, ...over };
}
const where = (c: Candidate): string =>
  c.kind === 'repo' ? `${c.base.slice(M.length)}${c.headOnly ? ' HEAD' : ''}` : c.kind === 'list' ? `${c.listType} ${c.url.slice(M.length)}${c.listType === 'index' ? ` ${c.index.subs.map((s) => s.dir).join(' ')}` : ''}` : c.template;
const via = (release: string, arch?: string): string[] => candidatesFor(parseRelease(release, arch ? { arch } : {}), cfg()).map(where);

describe('--mirror layouts of the CentOS successors', () => {
  it('openEuler: the named tree, debuginfo/ then update/, with repodata', () => {
    expect(via('5.10.0-136.12.0.86.oe2203sp1.aarch64')).toEqual(['openEuler-22.03-LTS-SP1/update/aarch64/', 'openEuler-22.03-LTS-SP1/debuginfo/aarch64/']);
    expect(via('6.6.0-28.0.0.34.oe2403.x86_64')).toEqual(['openEuler-24.03-LTS/update/x86_64/', 'openEuler-24.03-LTS/debuginfo/x86_64/']);
  });
  it('openEuler oe1: the 20.03 service-pack trees newest first, searched by HEAD', () => {
    expect(via('4.19.90-2003.4.0.0036.oe1.aarch64')).toEqual(
      ['-SP4', '-SP3', '-SP2', '-SP1', ''].flatMap((sp) => [`openEuler-20.03-LTS${sp}/update/aarch64/ HEAD`, `openEuler-20.03-LTS${sp}/debuginfo/aarch64/ HEAD`]),
    );
  });
  it('Anolis: the listing, then the repository the kernel line decides', () => {
    expect(via('5.10.134-13.an8.x86_64')).toEqual(['index  {ver}/Plus/x86_64/debug/ {ver}/kernel-5.10/x86_64/debug/']);
    expect(via('4.19.91-23.4.an8.x86_64')).toEqual(['index  {ver}/Plus/x86_64/debug/']);
    expect(via('4.18.0-477.10.1.an8.x86_64')).toEqual(['index  {ver}/BaseOS/x86_64/debug/']);
    expect(via('3.10.0-1160.an7.x86_64')).toEqual(['index  {ver}/os/x86_64/debug/']);
    expect(via('6.6.102-5.2.an23', 'loongarch64')).toEqual(['index  {ver}/os/loongarch64/debug/']);
  });
  it('Alinux: plus, updates/kernels, packages directly inside', () => {
    expect(via('5.10.134-16.1.al8')).toEqual(['3/plus/x86_64/debug/', '3/updates/x86_64/debug/', '3/kernels/x86_64/debug/']);
    expect(via('4.19.91-26.al7.x86_64')).toEqual(['2.1903/plus/x86_64/debug/', '2/kernels/x86_64/debug/', '2.1903/updates/x86_64/debug/']);
    expect(via('6.6.102-5.2.alnx4.aarch64')).toEqual(['4/plus/aarch64/debug/', '4/updates/aarch64/debug/', '4/kernels/aarch64/debug/']);
  });
  it('OpenCloudOS and TencentOS', () => {
    expect(via('5.4.119-19.0010.ocrelease.6', 'aarch64')).toEqual(['index  {ver}/BaseOS/aarch64/debug/tree/']);
    expect(via('6.6.117-45.oc9.x86_64')).toEqual(['index  {ver}/BaseOS/x86_64/debug/tree/ {ver}/BaseOS/x86_64/debug/']);
    expect(via('5.4.241-1-tlinux4-0017.7')).toEqual(['os/tlinux/Tlinux-Kernel-RPMs/5.4.241-1-tlinux4-0017.7/']);
  });
  it('Kylin, UOS, BCLinux: the site mirror is the repository', () => {
    for (const r of ['4.19.90-24.4.v2101.ky10.x86_64', '5.10.0-46.uel20.x86_64', '4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64']) expect(via(r)).toEqual(['']);
  });
});

describe('presets of the CentOS successors', () => {
  const presets = (release: string): Candidate[] => candidatesFor(parseRelease(release), cfg({ sources: [], presets: true }));
  const url = (id: string, i = 0): string => CHINA_PRESETS.find((p) => p.id === id)!.urls[i]!;
  it('each distribution gets only its own mirrors', () => {
    const oe = presets('5.10.0-136.12.0.86.oe2203sp1.x86_64');
    expect(oe[1]).toMatchObject({ kind: 'repo', base: `${url('openeuler-repo')}openEuler-22.03-LTS-SP1/debuginfo/x86_64/` });
    expect(oe.find((c) => c.kind === 'list')).toMatchObject({ listType: 'metalink', url: url('openeuler-metalink').replace('$releasever', '22.03LTS_SP1').replace('$basearch', 'x86_64') });
    const an = presets('5.10.134-16.1.an8');
    expect(an.map((c) => (c.kind === 'list' ? c.url : ''))).toEqual([url('anolis', 0), url('anolis', 1)]);
    const al = presets('5.10.134-16.1.al8');
    expect(al.every((c) => c.kind === 'repo' && c.base.startsWith(url('alinux')))).toBe(true);
    expect(presets('5.4.119-19.0010.ocrelease.6').map((c) => (c.kind === 'list' ? c.url : ''))).toEqual([url('opencloudos', 0), url('opencloudos', 1)]);
    expect(presets('4.19.90-24.4.v2101.ky10.x86_64')).toEqual([]);
    expect(presets('4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64')).toEqual([]);
  });
});

describe('directory listings', () => {
  it('reads nginx, Apache and absolute-path listings', () => {
    const nginx = '<html><body><pre><a href="../">../</a>\n<a href="8/">8/</a>  01-Jan-2024\n<a href="8.10/">8.10/</a>\n<a href="8.9/">8.9/</a>\n<a href="RPM-GPG-KEY-ANOLIS">RPM-GPG-KEY-ANOLIS</a></pre></body></html>';
    expect(parseDirListing(nginx)).toEqual(['8', '8.10', '8.9']);
    const apache = '<tr><td><a href="?C=N;O=D">Name</a></td></tr><tr><td><a href="/anolis/">Parent Directory</a></td></tr><tr><td><a href="23.4/">23.4/</a></td></tr><tr><td><a href=\'8.8/\'>8.8/</a></td></tr>';
    expect(parseDirListing(apache)).toEqual(['anolis', '23.4', '8.8']);
    expect(parseDirListing('<a href="/opencloudos/9.2/">9.2/</a> <a href="https://elsewhere.invalid/x/">x</a>')).toEqual(['9.2']);
  });
  it('orders minors newest first and falls back to the known list', () => {
    expect(indexTrees({ pattern: '^8(\\.\\d+)?$', fallback: ['8'] }, ['8', '8.10', '8.2', '8.9', '23.4', 'anolis'])).toEqual(['8.10', '8.9', '8.2', '8']);
    expect(indexTrees({ pattern: '^8\\.\\d+$', fallback: ['8.6', '8.10'] }, null)).toEqual(['8.10', '8.6']);
  });
});

describe('config selectors of the CentOS successors', () => {
  it('accepts families and dist tags, and each matches only its own releases', async () => {
    const { validateConfig, selectorMatches } = await import('../../src/resolve/index.js');
    const v = validateConfig({ mirrors: { openeuler: [M], oe2203sp1: [M], an8: [M], al8: [M], alnx4: [M], oc9: [M], tencentos: [M], kylin: [M], bclinux: [M] } }, 'c.json');
    expect(v.sources.map((s) => s.match[0])).toEqual(['openeuler', 'oe2203sp1', 'an8', 'al8', 'alnx4', 'oc9', 'tencentos', 'kylin', 'bclinux']);
    const an = parseRelease('5.10.134-16.1.an8');
    const al = parseRelease('5.10.134-16.1.al8');
    expect([selectorMatches('an8', an), selectorMatches('an8', al), selectorMatches('al8', al), selectorMatches('alinux', al), selectorMatches('anolis', al)]).toEqual([true, false, true, true, false]);
    expect(selectorMatches('rpm', an)).toBe(true);
    expect(selectorMatches('el8', an)).toBe(false);
    expect(selectorMatches('oe1', parseRelease('4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64'))).toBe(false);
    expect(selectorMatches('bclinux', parseRelease('4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64'))).toBe(true);
  });
});
