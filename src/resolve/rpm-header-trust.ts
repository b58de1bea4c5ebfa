// RPM packages from a repository with `gpgcheck=1` (issue 16, item 2): the package's header
// signature (RSAHEADER, DSAHEADER, or rpm ≥ 6 OPENPGP in the signature header) must be good, by a
// key of the repo file's `gpgkey`, before any member is written; dnf checks the same signature
// against the same keys. The check runs on the head kdbg reads anyway (lead, signature header,
// main header: the first bytes of the package, streamed or read by Range), so partial fetch keeps
// working: the signed header lists every file's digest, and the extractors check each written
// file against it (extract/rpm-anchor.ts). The verifier is the host's gpgv, as for Debian
// (deb-trust.ts says why): the signature packet as a detached signature over rpm's header blob
// (formats/rpm-sig.ts). A `gpgkey` URL is fetched at resolve time, as dnf imports it
// (rpm-remote-keys.ts), and arrives here as a local file in `keys`.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureError } from '../core/errors.js';
import type { RpmGpgcheck } from '../core/types.js';
import { hasKeyRevocation } from '../formats/openpgp-revocation.js';
import { rpmHeaderSignatures, signedHeaderBytes, type RpmPackageHead } from '../formats/rpm.js';
import { runGpgv } from '../analyze/gpgv.js';
import { dearmor, judgeStatus, type TrustFailure } from './deb-trust.js';
import { presetGpgcheck, presetOf } from './preset-keys.js';
import type { MirrorConfig } from './sources.js';

/** What a repository found at `origin` asks of its packages: a header signature check, or nothing. */
export function rpmGpgcheckFor(origin: string | undefined, config: MirrorConfig): RpmGpgcheck | undefined {
  const src = origin === undefined ? undefined : config.sources.find((s) => s.origin === origin);
  if (origin === undefined || config.insecureSkipSignatures) return undefined;
  // A built-in preset, or a site's copy of one: the distribution's keys (preset-keys.ts).
  const preset = presetOf(origin, src);
  if (preset !== undefined) return presetGpgcheck(preset, origin, config, src);
  if (!src?.gpgcheck) return undefined;
  const root = src.gpgkeyRoot ?? config.hostRoot ?? '/';
  const all = src.gpgkey ?? [];
  return { repo: origin, keys: all.filter((k) => k.startsWith('/')).map((k) => join(root, k)), remote: all.filter((k) => !k.startsWith('/')) };
}

export interface HeaderVerified {
  /** Fingerprint of the signing key (its primary key). */
  fingerprint: string;
  /** Which signature-header tag held the good signature. */
  tag: string;
  /** The gpgv time (0: this header was verified before in this process). */
  ms: number;
}

const memo = new Map<string, HeaderVerified>();
const timings: number[] = [];
/** The duration of every gpgv call on an RPM header in this process, in ms (tests, the report). */
export function rpmHeaderTimings(): readonly number[] {
  return timings;
}

function refusal(reason: TrustFailure, url: string, words: string, check: RpmGpgcheck): SignatureError {
  return new SignatureError(`${url}: ${words}`, {
    details: { url, reason, repo: check.repo },
    hint: `gpgcheck=1 in ${check.repo}: check the package and the repository's gpgkey; --insecure-skip-signatures reads it unverified`,
  });
}

/** The gpgkey files as binary keyrings for gpgv (armored ones dearmored into `work`); unreadable ones skipped, as dnf skips them. */
async function keyrings(check: RpmGpgcheck, work: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of check.keys) {
    const data = await fsp.readFile(p).catch(() => null);
    if (data === null) continue;
    if (!data.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP')) {
      out.push(p);
      continue;
    }
    const f = join(work, `k${out.length}.gpg`);
    await fsp.writeFile(f, dearmor(data.toString('latin1')));
    out.push(f);
  }
  return out;
}

/**
 * rpm's rule for packages, not apt's for indexes: a header signed while its key was valid stays
 * good after the key expires (rpm's own parser never looked at key expiry); the distributions'
 * old keys (CentOS 5/6, AlmaLinux 8's first one) have expired since, their packages have not
 * changed. gpgv says EXPKEYSIG with KEYEXPIRED <when> and VALIDSIG <fpr> <date> <made>; the
 * signature counts when it was made before every expiry gpgv named. A revoked key is not forgiven:
 * gpgv reports an expired and revoked key as EXPKEYSIG alone, so the key files are read for a
 * revocation (formats/openpgp-revocation.ts).
 */
async function anyRevoked(files: string[]): Promise<boolean> {
  for (const f of files) if (hasKeyRevocation((await fsp.readFile(f).catch(() => null)) ?? new Uint8Array())) return true;
  return false;
}

function signedBeforeExpiry(status: string[], code: number): string | null {
  if (code !== 0 || !status.some((s) => s.startsWith('EXPKEYSIG ')) || status.some((s) => /^(REVKEYSIG|BADSIG|ERRSIG) /.test(s))) return null;
  const valid = status.find((s) => s.startsWith('VALIDSIG '))?.split(' ');
  const expiries = status.filter((s) => s.startsWith('KEYEXPIRED ')).map((s) => Number(s.split(' ')[1]));
  const made = Number(valid?.[3]);
  if (!valid || expiries.length === 0 || !Number.isFinite(made) || expiries.some((e) => !Number.isFinite(e) || made >= e)) return null;
  return valid[valid.length - 1]!;
}

/**
 * Verify the header signature of the package at `url` (its head already read). Resolves with the
 * signer, or throws SignatureError (exit 65): no-signature, bad-signature, unknown-key,
 * expired-key. One good signature by a gpgkey is enough (a package may carry several, by old and
 * new keys, as rpm ≥ 6 allows).
 */
export async function verifyRpmHeader(url: string, head: RpmPackageHead, check: RpmGpgcheck): Promise<HeaderVerified> {
  const sigs = rpmHeaderSignatures(head.signature);
  if (sigs.length === 0) throw refusal('no-signature', url, `no signature: the package header is not signed, and gpgcheck=1 in ${check.repo}`, check);
  const blob = signedHeaderBytes(head.header);
  const h = createHash('sha256').update(blob);
  for (const s of sigs) h.update(s.packet);
  const memoKey = h.update(`\0${check.keys.join('\0')}`).digest('hex');
  const hit = memo.get(memoKey);
  if (hit) return { ...hit, ms: 0 };
  const work = await fsp.mkdtemp(join(tmpdir(), 'kdbg-rpmsig-'));
  try {
    const files = await keyrings(check, work);
    if (files.length === 0) {
      const named = [...check.keys, ...check.remote];
      throw refusal('unknown-key', url, `no key to verify its header signature with: gpgcheck=1 in ${check.repo} but ${named.length === 0 ? 'no gpgkey' : `no readable gpgkey (${named.join(', ')})`}`, check);
    }
    const headerFile = join(work, 'header');
    await fsp.writeFile(headerFile, blob);
    const failures: { reason: TrustFailure; words: string }[] = [];
    for (const [i, s] of sigs.entries()) {
      const sigFile = join(work, `sig${i}`);
      await fsp.writeFile(sigFile, s.packet);
      // --homedir: a private, empty one (no ~/.gnupg is read or created).
      const t0 = performance.now();
      const r = await runGpgv(['--homedir', work, '--status-fd', '2', ...files.flatMap((f) => ['--keyring', f]), sigFile, headerFile]);
      const ms = performance.now() - t0;
      timings.push(ms);
      const judged = judgeStatus(r.status, r.code);
      const before = 'reason' in judged && judged.reason === 'expired-key' && !(await anyRevoked(files)) ? signedBeforeExpiry(r.status, r.code) : null;
      const j = before === null ? judged : { fingerprint: before, primary: before };
      if (!('reason' in j)) {
        const v: HeaderVerified = { fingerprint: j.primary, tag: s.tag, ms };
        memo.set(memoKey, v);
        return v;
      }
      failures.push(j);
    }
    // A bad signature says the header was altered: it outranks "signed by a key we do not know".
    const worst = failures.find((f) => f.reason === 'bad-signature') ?? failures[0]!;
    const words = worst.reason === 'bad-signature' ? 'BAD header signature (the package header was altered after signing)' : worst.reason === 'unknown-key' ? `header ${worst.words.replace(/not in the trusted keyrings/, `not a gpgkey of ${check.repo}`)}` : `header ${worst.words}`;
    throw refusal(worst.reason, url, words, check);
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}
