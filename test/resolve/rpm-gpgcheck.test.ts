// Which packages must carry a good header signature (issue 16): a host repo file's `gpgcheck=1`
// (1/yes/true, as dnf reads it) makes rpmGpgcheckFor name the repo's local gpgkeys, read under the
// host root (KDBG_ROOT); remote gpgkeys are listed apart (fetched later: rpm-remote-keys.ts); gpgcheck=0, another repository,
// and insecureSkipSignatures ask for nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMirrorConfig } from '../../src/resolve/index.js';
import { rpmGpgcheckFor } from '../../src/resolve/rpm-header-trust.js';

const root = mkdtempSync(join(tmpdir(), 'kdbg-gpgcheck-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'etc/yum.repos.d'), { recursive: true });
writeFileSync(
  join(root, 'etc/yum.repos.d/debug.repo'),
  [
    '[signed-debuginfo]', 'baseurl=http://127.0.0.1:9/signed/', 'gpgcheck = yes',
    'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-a https://127.0.0.1:9/RPM-GPG-KEY-b', '',
    '[plain-debuginfo]', 'baseurl=http://127.0.0.1:9/plain/', 'gpgcheck=0', 'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-a', '',
  ].join('\n'),
);
const load = (skip = false) => loadMirrorConfig({ hostRoot: root, env: { HOME: root, KDBG_NO_PRESETS: '1' }, ...(skip ? { insecureSkipSignatures: true } : {}) });
const origin = (id: string): string => `${join(root, 'etc/yum.repos.d/debug.repo')} [${id}]`;

describe('gpgcheck in host repo files', () => {
  it('gpgcheck=yes: the local gpgkey under the host root, the remote one listed apart', async () => {
    const cfg = await load();
    expect(cfg.sources.find((s) => s.origin === origin('signed-debuginfo'))!.gpgcheck).toBe(true);
    expect(rpmGpgcheckFor(origin('signed-debuginfo'), cfg)).toEqual({
      repo: origin('signed-debuginfo'),
      keys: [join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-a')],
      remote: ['https://127.0.0.1:9/RPM-GPG-KEY-b'],
    });
  });

  it('gpgcheck=0, an unknown origin, or insecureSkipSignatures: no check', async () => {
    const cfg = await load();
    expect(rpmGpgcheckFor(origin('plain-debuginfo'), cfg)).toBeUndefined();
    expect(rpmGpgcheckFor('--repo', cfg)).toBeUndefined();
    expect(rpmGpgcheckFor(undefined, cfg)).toBeUndefined();
    expect(rpmGpgcheckFor(origin('signed-debuginfo'), await load(true))).toBeUndefined();
  });
});
