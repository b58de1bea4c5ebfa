// apt sources parsing (deb822 .sources and one-line .list) from files written here, and the
// archives/suites kdbg derives from them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { archivesFromSources, codenamesOf, parseDeb822Sources, parseSourcesList, readAptSources, suitesFor } from '../../src/resolve/apt-sources.js';

describe('one-line sources.list', () => {
  it('options, comments, deb-src, flat repos', () => {
    const s = parseSourcesList(
      [
        '# comment',
        'deb http://127.0.0.1:1/debian bookworm main contrib # trailing',
        'deb-src http://127.0.0.1:1/debian bookworm main',
        'deb [ arch=amd64,arm64 signed-by=/usr/share/keyrings/k.gpg ] http://127.0.0.1:1/sec bookworm-security main',
        'deb [trusted=yes] http://127.0.0.1:1/flat ./',
        '',
      ].join('\n'),
      '/etc/apt/sources.list',
    );
    expect(s).toEqual([
      { uris: ['http://127.0.0.1:1/debian'], suites: ['bookworm'], components: ['main', 'contrib'], architectures: null, signedBy: null, file: '/etc/apt/sources.list', line: 2 },
      { uris: ['http://127.0.0.1:1/sec'], suites: ['bookworm-security'], components: ['main'], architectures: ['amd64', 'arm64'], signedBy: '/usr/share/keyrings/k.gpg', file: '/etc/apt/sources.list', line: 4 },
      { uris: ['http://127.0.0.1:1/flat'], suites: ['./'], components: [], architectures: null, signedBy: null, file: '/etc/apt/sources.list', line: 5, trusted: true },
    ]);
  });
  it('a garbled line is a ConfigError naming file and line', () => {
    expect(() => parseSourcesList('deb\n', '/x.list')).toThrow(ConfigError);
    expect(() => parseSourcesList('\ndeb [arch] http://h/ s main\n', '/x.list')).toThrow(/\/x\.list:2: apt source option "arch" has no "="/);
  });
});

describe('deb822 .sources', () => {
  it('several stanzas, Enabled: no, deb-src only, multi-line Signed-By key', () => {
    const text = [
      'Types: deb deb-src',
      'URIs: http://127.0.0.1:1/debian http://127.0.0.1:2/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main non-free-firmware',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      '# security',
      'Types: deb',
      'URIs: http://127.0.0.1:1/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      'Architectures: amd64',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .',
      ' mQINBF...',
      ' -----END PGP PUBLIC KEY BLOCK-----',
      '',
      'Types: deb',
      'URIs: http://127.0.0.1:3/off',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb-src',
      'URIs: http://127.0.0.1:4/src',
      'Suites: bookworm',
      'Components: main',
    ].join('\n');
    const s = parseDeb822Sources(text, '/etc/apt/sources.list.d/debian.sources');
    expect(s.map((x) => [x.uris, x.suites, x.components, x.architectures, x.signedBy, x.line])).toEqual([
      [['http://127.0.0.1:1/debian', 'http://127.0.0.1:2/debian'], ['bookworm', 'bookworm-updates'], ['main', 'non-free-firmware'], null, '/usr/share/keyrings/debian-archive-keyring.gpg', 1],
      [['http://127.0.0.1:1/debian-security'], ['bookworm-security'], ['main'], ['amd64'], '(inline key)', 8],
    ]);
  });
  it('a stanza without Suites is a ConfigError with the line', () => {
    expect(() => parseDeb822Sources('\nTypes: deb\nURIs: http://h/\n', '/a.sources')).toThrow(/\/a\.sources:2: deb822 stanza has no Suites field/);
  });
});

describe('readAptSources + archivesFromSources', () => {
  it('reads sources.list and sources.list.d/*.{list,sources} only, in name order', async () => {
    const apt = mkdtempSync(join(tmpdir(), 'kdbg-apt-'));
    mkdirSync(join(apt, 'sources.list.d'));
    writeFileSync(join(apt, 'sources.list'), 'deb http://127.0.0.1:1/debian bookworm main\n');
    writeFileSync(join(apt, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://127.0.0.1:1/debian\nSuites: bookworm-updates\nComponents: main\n');
    writeFileSync(join(apt, 'sources.list.d', 'a.list'), 'deb http://127.0.0.1:1/debian-security bookworm-security main\n');
    writeFileSync(join(apt, 'sources.list.d', 'c.list.disabled-by-farm'), 'deb http://127.0.0.1:9/x bookworm main\n');
    writeFileSync(join(apt, 'sources.list.d', 'd.list.save'), 'deb http://127.0.0.1:9/y bookworm main\n');
    writeFileSync(join(apt, 'sources.list.d', 'e.list'), 'deb cdrom:[Debian]/ bookworm main\n');
    const s = await readAptSources(apt);
    expect(s.map((x) => x.file.split('/').pop())).toEqual(['sources.list', 'a.list', 'b.sources', 'e.list']);
    const a = archivesFromSources(s, 'amd64');
    expect(a).toEqual([
      { root: 'http://127.0.0.1:1/debian/', suites: ['bookworm', 'bookworm-updates'], components: ['main'], fromHost: true, flat: false },
      { root: 'http://127.0.0.1:1/debian-security/', suites: ['bookworm-security'], components: ['main'], fromHost: true, flat: false },
    ]);
    expect(codenamesOf(s)).toEqual(['bookworm']);
    expect(archivesFromSources(parseSourcesList('deb [arch=arm64] http://h/debian bookworm main\n', 'x'), 'amd64')).toEqual([]);
  });
  it('a missing apt root is no error', async () => {
    expect(await readAptSources(join(tmpdir(), 'kdbg-no-such-apt'))).toEqual([]);
  });
  it('pockets per family', () => {
    expect(suitesFor('bookworm', 'debian')).toEqual(['bookworm', 'bookworm-security', 'bookworm-updates']);
    expect(suitesFor('jammy', 'ubuntu')).toEqual(['jammy', 'jammy-updates', 'jammy-security', 'jammy-proposed']);
  });
});
