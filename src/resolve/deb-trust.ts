// Who wrote a Debian/Ubuntu suite's index (issue 16): the suite's InRelease (or Release with
// Release.gpg) is checked with the host's `gpgv`, the verifier apt itself runs, against the keys
// apt would use for that source:
//   1. the source's `signed-by` (a keyring file, an inline key block, or key fingerprints), from
//      the host's apt sources or a kdbg config entry (`signedBy`);
//   2. else the trusted keyrings: the config's `keyrings`, then `<aptRoot>/trusted.gpg` and
//      `<aptRoot>/trusted.gpg.d/*.{gpg,asc}` (apt's Dir::Etc::Trusted and TrustedParts).
// Why gpgv and not a JavaScript OpenPGP library: it is what apt runs on the same host for the same
// files, so kdbg accepts exactly what `apt update` accepts, with the host's algorithm policy and
// its security updates; gpgv has no trust database or agent, only keyring files in and a status
// line out. Armored keyrings (`.asc`, inline keys) are dearmored first, as apt does, because gpgv
// 2.2 reads only binary keyrings.
//
// Only the text gpgv says was signed is parsed (its --output), never the bytes around the
// signature block; `Date` and `Valid-Until` are checked on that text.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureError } from '../core/errors.js';
import { serialByKey } from '../core/serial-by-key.js';
import { runGpgv } from '../analyze/gpgv.js';

/** The failure modes of issue 16, as `details.reason` of SignatureError. */
export type TrustFailure = 'no-signature' | 'bad-signature' | 'unknown-key' | 'expired-key' | 'expired' | 'not-yet-valid' | 'index-mismatch';

export interface DebTrust {
  /** `--insecure-skip-signatures` / config `insecureSkipSignatures`: read unsigned suites (warned on every run). */
  skip: boolean;
  /** Config `keyrings`: trusted keyring files for archives that name no key of their own. */
  keyrings: string[];
  /** Archive root (ending in "/") → its `signedBy` from a config entry. */
  signedBy: ReadonlyMap<string, string>;
  /** Paths named in the host's apt configuration are read under this root (KDBG_ROOT, else /). */
  hostRoot: string;
}

/** The keys one source is checked against: a `signed-by` value, `trusted=yes`, or neither (the trusted keyrings). */
export interface SourceKeys {
  /** A path, several paths, fingerprints, or an armored key block. */
  signedBy: string | null;
  /** `[trusted=yes]`: accepted unsigned, as apt does, with a warning. */
  trusted: boolean;
  /** The value came from the host's apt sources (its paths are read under hostRoot). */
  fromHost: boolean;
}

export interface Verified {
  /** The signed text (what gpgv output), the only text parsed afterwards. */
  text: string;
  /** Fingerprint of the signing (sub)key. */
  fingerprint: string;
  /** How long the gpgv call took (issue 16 goal: ≤ 50 ms per fetch). */
  ms: number;
}

const timings: number[] = [];
/** The duration of every gpgv call of this process, in ms (for tests and the timing report). */
export function gpgvTimings(): readonly number[] {
  return timings;
}

export function signatureError(reason: TrustFailure, url: string, words: string): SignatureError {
  return new SignatureError(`${url}: ${words}`, {
    details: { url, reason },
    hint: 'check the archive and its key (signed-by, config "keyrings"); --insecure-skip-signatures reads it unverified',
  });
}

/** Binary OpenPGP packets of every armored block in `text` (RFC 4880 §6.2). */
export function dearmor(text: string): Buffer {
  const out: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const lines = m[1]!.split(/\r?\n/);
    // Armor headers (Version:, Comment:) end at the first empty line; a deb822 inline key may have none.
    const blank = lines.findIndex((l) => l.trim() === '');
    const body = (lines.slice(0, blank).some((l) => /^[A-Za-z-]+: /.test(l)) ? lines.slice(blank + 1) : lines).filter((l) => l.trim() !== '' && !l.startsWith('='));
    out.push(Buffer.from(body.join(''), 'base64'));
  }
  return Buffer.concat(out);
}

function isArmored(b: Buffer): boolean {
  return b.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
}

async function listTrustedParts(aptRoot: string | null): Promise<string[]> {
  if (aptRoot === null) return [];
  const out: string[] = [];
  const main = join(aptRoot, 'trusted.gpg');
  if (await fsp.stat(main).then((s) => s.isFile(), () => false)) out.push(main);
  const dir = join(aptRoot, 'trusted.gpg.d');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  // apt: only *.gpg and *.asc in TrustedParts, in name order.
  for (const n of names.sort()) if (/^[A-Za-z0-9_.-]+\.(gpg|asc)$/.test(n)) out.push(join(dir, n));
  return out;
}

/** Keyring files for gpgv (armored ones written dearmored into `work`), and the fingerprints allowed (null: any). */
async function keyringsFor(keys: SourceKeys, trust: DebTrust, aptRoot: string | null, work: string): Promise<{ files: string[]; fingerprints: string[] | null }> {
  let paths: string[] = [];
  let fingerprints: string[] | null = null;
  let inline: string | null = null;
  const v = keys.signedBy?.trim() ?? '';
  if (v.includes('BEGIN PGP')) inline = v;
  else if (v !== '') {
    const words = v.split(/[\s,]+/).filter((w) => w !== '');
    const fprs = words.filter((w) => /^[0-9A-Fa-f]{16,40}!?$/.test(w));
    paths = words.filter((w) => !fprs.includes(w)).map((p) => (keys.fromHost && p.startsWith('/') ? join(trust.hostRoot, p) : p));
    if (fprs.length > 0) fingerprints = fprs.map((f) => f.replace(/!$/, '').toUpperCase());
  }
  if (inline === null && paths.length === 0) paths = [...trust.keyrings, ...(await listTrustedParts(aptRoot))];
  const files: string[] = [];
  const add = async (data: Buffer, label: string): Promise<void> => {
    const f = join(work, `k${files.length}-${label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(-40)}.gpg`);
    await fsp.writeFile(f, data);
    files.push(f);
  };
  if (inline !== null) await add(dearmor(inline), 'inline');
  for (const p of paths) {
    const data = await fsp.readFile(p).catch(() => null);
    if (data === null) continue; // apt too skips a keyring it cannot read; the signature then has no key
    if (isArmored(data)) await add(dearmor(data.toString('latin1')), p);
    else files.push(p);
  }
  return { files, fingerprints };
}

/** What gpgv's status lines say, as kdbg's failure modes (null: a good signature). */
export function judgeStatus(status: string[], code: number): { reason: TrustFailure; words: string } | { fingerprint: string; primary: string } {
  const has = (k: string): string | undefined => status.find((s) => s === k || s.startsWith(`${k} `));
  const valid = has('VALIDSIG');
  if (code === 0 && has('GOODSIG') && valid) {
    const f = valid.split(' ');
    return { fingerprint: f[1]!, primary: f[f.length - 1]! };
  }
  if (has('BADSIG')) return { reason: 'bad-signature', words: 'BAD signature (the signed text was altered)' };
  const exp = has('EXPKEYSIG') ?? has('REVKEYSIG');
  if (exp) return { reason: 'expired-key', words: `signed by an expired or revoked key ${exp.split(' ')[1] ?? ''}` };
  const nokey = has('NO_PUBKEY') ?? has('ERRSIG');
  if (nokey) return { reason: 'unknown-key', words: `signed by key ${nokey.split(' ')[1] ?? '?'}, which is not in the trusted keyrings` };
  if (has('NODATA') || !has('NEWSIG')) return { reason: 'no-signature', words: 'no OpenPGP signature' };
  return { reason: 'bad-signature', words: `gpgv refused the signature (exit ${code})` };
}

const memo = new Map<string, Verified>();

/**
 * Verify a clearsigned InRelease (`sig` null) or a Release with its detached Release.gpg. Returns
 * the signed text; throws SignatureError (exit 65) naming `url` and the failure.
 */
export async function verifySigned(url: string, data: Buffer, sig: Buffer | null, keys: SourceKeys, trust: DebTrust, aptRoot: string | null): Promise<Verified> {
  const memoKey = createHash('sha256').update(data).update(sig ?? '').update(`\0${keys.signedBy ?? ''}\0${trust.keyrings.join('\0')}\0${aptRoot ?? ''}`).digest('hex');
  // The same text checked by two suites read at the same time: one gpgv call, as one after another.
  return checkOneAtATime(memoKey, async () => {
    const hit = memo.get(memoKey);
    if (hit) return { ...hit, ms: 0 };
    return verifyUncached(url, data, sig, keys, trust, aptRoot, memoKey);
  });
}

const checkOneAtATime = serialByKey();

async function verifyUncached(url: string, data: Buffer, sig: Buffer | null, keys: SourceKeys, trust: DebTrust, aptRoot: string | null, memoKey: string): Promise<Verified> {
  const work = await fsp.mkdtemp(join(tmpdir(), 'kdbg-gpgv-'));
  try {
    const { files, fingerprints } = await keyringsFor(keys, trust, aptRoot, work);
    if (files.length === 0) throw signatureError('unknown-key', url, `no keyring to verify it with (signed-by ${keys.signedBy ?? 'unset'}, no trusted keyrings${aptRoot ? ` under ${aptRoot}` : ''})`);
    const dataFile = join(work, sig ? 'Release' : 'InRelease');
    await fsp.writeFile(dataFile, data);
    // --homedir: a private, empty one (no ~/.gnupg is read or created).
    const args = ['--homedir', work, '--status-fd', '2', ...files.flatMap((f) => ['--keyring', f])];
    if (sig) {
      await fsp.writeFile(join(work, 'Release.gpg'), sig);
      args.push(join(work, 'Release.gpg'), dataFile);
    } else args.push('--output', '-', dataFile);
    const t0 = performance.now();
    const r = await runGpgv(args);
    const ms = performance.now() - t0;
    timings.push(ms);
    const j = judgeStatus(r.status, r.code);
    if ('reason' in j) throw signatureError(j.reason, url, j.words);
    if (fingerprints && !fingerprints.some((f) => j.fingerprint.endsWith(f) || j.primary.endsWith(f)))
      throw signatureError('unknown-key', url, `signed by ${j.primary}, not by the signed-by fingerprints ${fingerprints.join(', ')}`);
    const text = sig ? data.toString('utf8') : r.stdout.toString('utf8');
    const v: Verified = { text, fingerprint: j.primary, ms };
    memo.set(memoKey, v);
    return v;
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The first stanza's fields of a Release text (Date, Valid-Until, …); the SHA256 list is parsed elsewhere. */
function releaseField(text: string, name: string): string | null {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(text.split(/\n\s*\n/)[0] ?? '');
  return m ? m[1]!.trim() : null;
}

/** Clock skew allowed on `Date` (a mirror's clock slightly ahead is not an attack). */
export const DATE_SKEW_MS = 5 * 60 * 1000;

/** apt's date checks: Valid-Until passed → `expired`; Date in the future → `not-yet-valid`. */
export function checkDates(text: string, url: string, now: number = Date.now()): void {
  const until = releaseField(text, 'Valid-Until');
  if (until !== null) {
    const t = Date.parse(until);
    if (Number.isNaN(t)) throw signatureError('expired', url, `Valid-Until ${JSON.stringify(until)} is not a date`);
    if (t < now) throw signatureError('expired', url, `expired: Valid-Until ${until} has passed (a replayed or stale mirror)`);
  }
  const date = releaseField(text, 'Date');
  if (date !== null) {
    const t = Date.parse(date);
    if (!Number.isNaN(t) && t > now + DATE_SKEW_MS) throw signatureError('not-yet-valid', url, `not valid yet: Date ${date} is in the future`);
  }
}
