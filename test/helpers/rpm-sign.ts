// Sign RPM repositories a test builds itself as the fixture scripts sign theirs
// (scripts/fixtures/rpm-sign.sh): real `rpmsign --addsign` and a detached repomd.xml.asc, by the
// fixture `archive` key, in a private copy of its GNUPGHOME (withKeyHome). Then the test's config
// (loopbackOnlyConfig, rpmVerification) verifies them like every fixture mirror.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { withKeyHome } from './deb-keys.js';

const UID = 'kdbg fixture archive <kdbg-archive@localhost>';

/** `rpmsign --addsign` each package (the header signature dnf checks with gpgcheck=1). */
export function signRpms(...files: string[]): void {
  const gpg = execFileSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).trim();
  withKeyHome('archive', (home) => {
    // Debian's rpm names /usr/bin/gpg2 as %__gpg, which Debian 12's gnupg does not ship.
    execFileSync('rpmsign', ['--addsign', '--define', `__gpg ${gpg}`, '--define', `_gpg_path ${home}`, '--define', `_gpg_name ${UID}`, ...files], { stdio: 'ignore' });
  });
}

/** REPO/repodata/repomd.xml.asc, detached and armored, as the distributions publish it (repo_gpgcheck=1); after createrepo_c. */
export function signRepomd(...repos: string[]): void {
  withKeyHome('archive', (home) => {
    for (const r of repos) execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--armor', '--detach-sign', '-o', join(r, 'repodata', 'repomd.xml.asc'), join(r, 'repodata', 'repomd.xml')]);
  });
}
