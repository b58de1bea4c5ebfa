// A Debian suite's Release file: which index files the suite has, with their SHA256 and size.
// signedRelease reads `InRelease` (else `Release` + `Release.gpg`) and verifies it (deb-trust.ts)
// before any digest is believed; the digests then name the indexes in the cache (index-cache.ts),
// let kdbg skip index names the suite does not have, and every index read is checked against
// them (deb.ts). The cached InRelease (validators, index-cache.ts) is verified again on each use.

import { readValidated, type IndexCacheOptions } from './index-cache.js';
import { checkDates, signatureError, verifySigned, type DebTrust, type SourceKeys } from './deb-trust.js';

export interface ReleaseDigest {
  sha256: string;
  size: number;
}

/** The `SHA256:` list of a Release/InRelease text: path (relative to dists/<suite>/) → digest. */
export function parseReleaseSha256(text: string): Map<string, ReleaseDigest> {
  const out = new Map<string, ReleaseDigest>();
  let inSha = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inSha = /^SHA256:\s*$/.test(line);
      continue;
    }
    if (!inSha) continue;
    const m = /^\s+([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) out.set(m[3]!, { sha256: m[1]!.toLowerCase(), size: Number(m[2]) });
  }
  return out;
}

/** The digests of `<suiteBase>Release`, or null when it cannot be read or lists none. */
export async function releaseDigests(suiteBase: string, o: IndexCacheOptions): Promise<Map<string, ReleaseDigest> | null> {
  const body = await readValidated(`${suiteBase}Release`, o);
  if (typeof body === 'string') return null;
  const m = parseReleaseSha256(body.toString('utf8'));
  return m.size > 0 ? m : null;
}

/** What a suite's signed Release says, or why there is none to read. */
export type SuiteRelease =
  /** Verified (`fingerprint`), or read unverified (`trusted=yes`, --insecure-skip-signatures: `fingerprint` null). */
  | { state: 'ok'; digests: Map<string, ReleaseDigest>; fingerprint: string | null; url: string; ms: number }
  /** Neither InRelease nor Release (404): the mirror does not carry the suite. */
  | { state: 'absent'; url: string }
  /** Unverified and no Release at all, allowed (trusted/skip): the indexes are read without digests. */
  | { state: 'unlisted'; url: string }
  /** The mirror failed in passing (`result` as readIndexWithRetry words it). */
  | { state: 'failed'; url: string; result: string };

/**
 * The suite at `suiteBase` (`…/dists/<suite>/`, or a flat repository's directory): InRelease, else
 * Release with Release.gpg, verified against `keys` unless the source is trusted or the user skips
 * signatures. Throws SignatureError for every refusal (exit 65).
 */
export async function signedRelease(suiteBase: string, o: IndexCacheOptions, keys: SourceKeys, trust: DebTrust, aptRoot: string | null): Promise<SuiteRelease> {
  const unverified = trust.skip || keys.trusted;
  const inUrl = `${suiteBase}InRelease`;
  const inRel = await readValidated(inUrl, o);
  let data: Buffer;
  let sig: Buffer | null = null;
  let url = inUrl;
  if (typeof inRel !== 'string') data = inRel;
  else if (inRel !== 'HTTP 404' && inRel !== 'HTTP 403' && inRel !== 'HTTP 410') return { state: 'failed', url: inUrl, result: inRel };
  else {
    url = `${suiteBase}Release`;
    const rel = await readValidated(url, o);
    if (typeof rel === 'string') {
      if (rel !== 'HTTP 404' && rel !== 'HTTP 403' && rel !== 'HTTP 410') return { state: 'failed', url, result: rel };
      return unverified ? { state: 'unlisted', url: inUrl } : { state: 'absent', url: inUrl };
    }
    data = rel;
    if (!unverified) {
      const s = await readValidated(`${suiteBase}Release.gpg`, o);
      if (typeof s === 'string') {
        if (s === 'HTTP 404' || s === 'HTTP 403' || s === 'HTTP 410') throw signatureError('no-signature', `${suiteBase}Release`, 'no signature: neither InRelease nor Release.gpg is published');
        return { state: 'failed', url: `${suiteBase}Release.gpg`, result: s };
      }
      sig = s;
    }
  }
  if (unverified) {
    // As apt reads a trusted=yes source: the Release (signed or not) still names the indexes.
    const text = data.toString('utf8');
    const body = text.includes('-----BEGIN PGP SIGNED MESSAGE-----') ? (text.split(/\n\n/).slice(1).join('\n\n').split('-----BEGIN PGP SIGNATURE-----')[0] ?? '') : text;
    return { state: 'ok', digests: parseReleaseSha256(body), fingerprint: null, url, ms: 0 };
  }
  const v = await verifySigned(url, data, sig, keys, trust, aptRoot);
  checkDates(v.text, url);
  return { state: 'ok', digests: parseReleaseSha256(v.text), fingerprint: v.fingerprint, url, ms: v.ms };
}
