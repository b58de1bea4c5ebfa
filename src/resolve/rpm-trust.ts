// RPM repositories with `repo_gpgcheck=1` (issue 16, item 2): repomd.xml is believed only with a
// good detached signature, repomd.xml.asc, by a key of the repo file's `gpgkey` (the files under
// /etc/pki/rpm-gpg, read under KDBG_ROOT), checked with the host's gpgv as deb-trust.ts does for
// Debian; dnf verifies the same file against the same keys. repomd.xml names the primary index by
// its sha256, and primary names each package's sha256, so the chain reaches the package.
// A `gpgkey` that is not a local file (an http URL) is not fetched: the key would come over the
// channel it is meant to check; such a repository fails as "unknown key".

import { SignatureError } from '../core/errors.js';
import { signatureError, verifySigned } from './deb-trust.js';
import { readValidated, type IndexCacheOptions } from './index-cache.js';
import type { MirrorConfig } from './sources.js';

export { rpmGpgcheckFor } from './rpm-header-trust.js';

/** For the repository of `origin` (a candidate's source): a check of repomd.xml's bytes, or undefined when it asks for none. */
export function repomdVerifier(origin: string, config: MirrorConfig, io: IndexCacheOptions): ((url: string, body: Buffer) => Promise<void>) | undefined {
  const src = config.sources.find((s) => s.origin === origin);
  if (!src?.repoGpgcheck || config.insecureSkipSignatures) return undefined;
  const keys = (src.gpgkey ?? []).filter((k) => k.startsWith('/'));
  const hostRoot = src.gpgkeyRoot ?? config.hostRoot ?? '/'; // config keys (gpgkeyRoot '/') are this machine's, not under KDBG_ROOT
  return async (url, body) => {
    const sig = await readValidated(`${url}.asc`, io);
    if (typeof sig === 'string') {
      if (/^HTTP 40[34]$|^HTTP 410$/.test(sig)) throw signatureError('no-signature', url, `no signature: repo_gpgcheck=1 (${origin}) but ${url}.asc is not published (${sig})`);
      throw signatureError('no-signature', url, `no signature: ${url}.asc could not be read (${sig})`);
    }
    if (keys.length === 0) throw signatureError('unknown-key', url, `repo_gpgcheck=1 (${origin}) but no local gpgkey file to verify it with`);
    const v = await verifySigned(url, body, sig, { signedBy: keys.join(' '), trusted: false, fromHost: true }, { skip: false, keyrings: [], signedBy: new Map(), hostRoot }, null).catch((e: unknown) => {
      // gpgv's words are apt's ("the trusted keyrings"); an RPM repository trusts its gpgkey files.
      if (!(e instanceof SignatureError) || e.details['reason'] !== 'unknown-key') throw e;
      const key = /signed by key (\S+),/.exec(e.message)?.[1];
      if (key === undefined) throw e;
      throw new SignatureError(`${url}: signed by key ${key}, which is not a gpgkey of ${origin} (${keys.join(', ')})`, {
        details: { url, reason: 'unknown-key' },
        hint: "check the repository's gpgkey (repo file gpgkey=, config \"gpgkey\"); --insecure-skip-signatures reads it unverified",
      });
    });
    io.onProgress?.({ kind: 'signature', url: `${url}.asc`, fingerprint: v.fingerprint, ms: v.ms });
  };
}

export function isSignatureError(e: unknown): e is SignatureError {
  return e instanceof SignatureError;
}
