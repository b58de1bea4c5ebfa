// The snapshot archive's old InRelease files (issue 16, item 3): snapshot serves each archive as it
// was at a timestamp, InRelease included, so the index kdbg reads there is checked exactly as a
// live mirror's is (deb-trust.ts), against the archive keyring: the config's `keyrings`, then the
// host's trusted keyrings (<aptRoot>/trusted.gpg.d). Valid-Until is not checked: every archived
// InRelease of a suite that has one has expired by design (apt users of snapshot set
// check-valid-until=no for the same reason); the signature and the key still are.

import type { ArchiveClient } from './archive-http.js';
import { parseReleaseSha256, type ReleaseDigest } from './deb-release.js';
import { verifySigned, type DebTrust } from './deb-trust.js';

export interface SnapshotTrust {
  trust: DebTrust;
  aptRoot: string | null;
}

/**
 * The signed digests of `<root>dists/<suite>/`: a map, `null` when the archive has no InRelease for
 * that suite at that time (the suite is not read), or `'skip'` (--insecure-skip-signatures).
 * Throws SignatureError when the InRelease is not signed by a trusted key.
 */
export async function snapshotSuiteDigests(client: ArchiveClient, root: string, suite: string, t: SnapshotTrust): Promise<Map<string, ReleaseDigest> | null | 'skip'> {
  if (t.trust.skip) return 'skip';
  const url = `${root}dists/${suite}/InRelease`;
  const res = await client.get(url);
  if (typeof res === 'number') {
    client.record(url, `HTTP ${res}`);
    return null;
  }
  const parts: Uint8Array[] = [];
  for await (const c of res.body) parts.push(c);
  const v = await verifySigned(url, Buffer.concat(parts), null, { signedBy: null, trusted: false, fromHost: false }, t.trust, t.aptRoot);
  client.record(url, 'verified');
  // The gpgv call shows in --timings beside the live suites' (issue 16 goal: ≤ 50 ms per fetch).
  client.onProgress?.({ kind: 'signature', url, fingerprint: v.fingerprint, ms: v.ms });
  return parseReleaseSha256(v.text);
}
