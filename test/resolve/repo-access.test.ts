// The entitlement keys of a yum repo section (repo-access.ts): which access settings a section
// yields, the $releasever Red Hat's content layout wants per release, and the order of a host's
// debug repositories. Hosts are placeholders under .test; the real servers are in
// test/cli/entitled.test.ts.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRelease } from '../../src/release/index.js';
import { candidatesFor, type MirrorConfig } from '../../src/resolve/index.js';
import { accessPrefix, kernelRepoRank, repoAccess, repoBool, rhsmReleasever } from '../../src/resolve/repo-access.js';
import { readHostRepos } from '../../src/resolve/yum-repos.js';

const CDN = 'https://rhsm.test';

describe('repoAccess', () => {
  it('takes the certificate, key and CA under the host root, and the prefix before the first variable', () => {
    const a = repoAccess(
      { sslclientcert: '/etc/pki/entitlement/1.pem', sslclientkey: '/etc/pki/entitlement/1-key.pem', sslcacert: '/etc/rhsm/ca/redhat-uep.pem', sslverify: '1' },
      `${CDN}/content/dist/rhel8/$releasever/x86_64/baseos/debug`,
      'redhat.repo [x]',
      '/srv/host',
    );
    expect(a).toEqual({
      prefix: `${CDN}/content/dist/rhel8/`,
      origin: 'redhat.repo [x]',
      verify: true,
      clientCert: '/srv/host/etc/pki/entitlement/1.pem',
      clientKey: '/srv/host/etc/pki/entitlement/1-key.pem',
      caCert: '/srv/host/etc/rhsm/ca/redhat-uep.pem',
    });
  });
  it('proxy (scheme added), _none_, credentials, sslverify=0; nothing for a plain section', () => {
    expect(repoAccess({ proxy: 'proxy.test:3128', proxy_username: 'u', proxy_password: 'p' }, `${CDN}/r/`, 'o', '/')).toMatchObject({ proxy: 'http://proxy.test:3128', proxyUsername: 'u', proxyPassword: 'p' });
    expect(repoAccess({ proxy: '_none_' }, `${CDN}/r/`, 'o', '/')).toMatchObject({ proxy: null });
    expect(repoAccess({ username: 'admin', password: 'x' }, `${CDN}/r/`, 'o', '/')).toMatchObject({ username: 'admin', password: 'x' });
    expect(repoAccess({ sslverify: 'false' }, `${CDN}/r/`, 'o', '/')).toMatchObject({ verify: false });
    expect(repoAccess({ gpgcheck: '1', sslverify: '1' }, `${CDN}/r/`, 'o', '/')).toBeUndefined();
    expect(accessPrefix(`${CDN}/a/$basearch/b`)).toBe(`${CDN}/a/`);
    expect(repoBool('On', false)).toBe(true);
    expect(repoBool('no', true)).toBe(false);
  });
});

describe('rhsmReleasever', () => {
  const rv = (release: string, url: string): string | null => rhsmReleasever(parseRelease(release), url);
  it('RHEL 7 by product directory, 8/9 by major, EUS/AUS/E4S streams by major.minor', () => {
    expect(rv('3.10.0-1160.105.1.el7.x86_64', `${CDN}/content/dist/rhel/server/7/$releasever/$basearch/debug`)).toBe('7Server');
    expect(rv('3.10.0-1160.el7.x86_64', `${CDN}/content/dist/rhel/workstation/7/$releasever/$basearch/debug`)).toBe('7Workstation');
    expect(rv('4.18.0-513.5.1.el8_9.x86_64', `${CDN}/content/dist/rhel8/$releasever/x86_64/baseos/debug`)).toBe('8');
    expect(rv('4.18.0-372.9.1.el8_6.x86_64', `${CDN}/content/eus/rhel8/$releasever/x86_64/baseos/debug`)).toBe('8.6');
    expect(rv('5.14.0-284.11.1.el9_2.x86_64', `${CDN}/content/e4s/rhel9/$releasever/x86_64/baseos/debug`)).toBe('9.2');
    expect(rv('5.14.0-284.11.1.el9_2.x86_64', `${CDN}/pulp/content/Org/Library/content/dist/rhel9/$releasever/x86_64/baseos/debug`)).toBe('9');
    expect(rv('5.14.0-284.11.1.el9_2.x86_64', `${CDN}/9/BaseOS/$basearch/debug/tree/`)).toBeNull();
    expect(rv('6.5.6-300.fc39.x86_64', `${CDN}/content/dist/rhel8/$releasever/x86_64/baseos/debug`)).toBeNull();
  });
  it('candidatesFor substitutes it only into CDN-laid-out sources', () => {
    const cfg: MirrorConfig = {
      sources: [
        { type: 'repo', url: `${CDN}/content/eus/rhel8/$releasever/x86_64/baseos/debug`, match: ['rpm'], origin: 'a' },
        { type: 'repo', url: `${CDN}/other/$releasever/`, match: ['rpm'], origin: 'b' },
      ],
      presets: false,
      aptRoot: null,
      files: [],
      timeoutMs: 1000,
      mirrorsPerList: 3,
    };
    const c = candidatesFor(parseRelease('4.18.0-372.9.1.el8_6.x86_64'), cfg).map((x) => (x.kind === 'repo' ? x.base : ''));
    expect(c).toEqual([`${CDN}/content/eus/rhel8/8.6/x86_64/baseos/debug/`, `${CDN}/other/8/`]);
  });
});

describe('host repos with entitlement keys', () => {
  it('BaseOS before AppStream within a file; access attached; disabled debug stanzas kept', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kdbg-rhsm-'));
    mkdirSync(join(root, 'etc', 'yum.repos.d'), { recursive: true });
    writeFileSync(
      join(root, 'etc', 'yum.repos.d', 'redhat.repo'),
      ['appstream', 'baseos', 'rt', 'supplementary'].map((r) => `[rhel-8-for-x86_64-${r}-debug-rpms]\nbaseurl = ${CDN}/content/dist/rhel8/$releasever/x86_64/${r}/debug\nenabled = 0\nsslclientcert = /etc/pki/entitlement/7.pem\n`).join('\n'),
    );
    const s = await readHostRepos(join(root, 'etc'), root);
    expect(s.map((x) => x.url.split('/').at(-2))).toEqual(['baseos', 'rt', 'appstream', 'supplementary']);
    expect(s[0]!.access).toMatchObject({ clientCert: join(root, 'etc/pki/entitlement/7.pem'), prefix: `${CDN}/content/dist/rhel8/` });
    expect(kernelRepoRank('rhel-7-server-debug-rpms')).toBe(0);
    expect(kernelRepoRank('rhel-7-server-rhscl-debug-rpms')).toBe(2);
  });
});
