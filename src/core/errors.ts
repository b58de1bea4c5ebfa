// One error hierarchy for the whole tool. Every error a user can meet carries a stable `code`
// (KDBG_E_*), a process exit code (sysexits-based, see README "Exit codes"), JSON-able details
// and an optional hint. The CLI's single catch-all turns them into one line on stderr.

export type ErrorDetails = Record<string, unknown>;

export interface KdbgErrorOptions {
  details?: ErrorDetails;
  hint?: string;
  cause?: unknown;
}

export abstract class KdbgError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
  readonly details: ErrorDetails;
  readonly hint: string | undefined;

  constructor(message: string, options: KdbgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, exitCode: this.exitCode, details: this.details, hint: this.hint ?? null };
  }
}

/** Bad command-line usage (unknown flag, unparseable release string). */
export class UsageError extends KdbgError {
  readonly code: string = 'KDBG_E_USAGE';
  readonly exitCode = 64;
}

export interface InputFormatDetails extends ErrorDetails {
  /** The file (or URL, or "-") the bytes came from, when known. */
  file?: string;
  format: string;
  offset?: number | bigint;
  expected?: string;
  found?: string;
}

/** Malformed input: a dump, package or index that does not parse. */
export class InputFormatError extends KdbgError {
  readonly code: string = 'KDBG_E_FORMAT';
  readonly exitCode = 65;
  constructor(message: string, details: InputFormatDetails, options: Omit<KdbgErrorOptions, 'details'> = {}) {
    super(message, { ...options, details });
  }
  get format(): string {
    return String(this.details['format']);
  }
}

/** The input ended before a structure it promised was complete. */
export class TruncatedError extends InputFormatError {
  override readonly code = 'KDBG_E_TRUNCATED';
}

/** A length or count read from input exceeds what kdbg accepts (hostile or corrupt input). */
export class LimitError extends InputFormatError {
  override readonly code = 'KDBG_E_LIMIT';
}

/** Hostile archive member (path traversal, device node, escaping symlink). */
export class UnsafePathError extends InputFormatError {
  override readonly code = 'KDBG_E_UNSAFE_PATH';
}

/** A checksum or size did not match what the index promised. */
export class IntegrityError extends KdbgError {
  readonly code = 'KDBG_E_INTEGRITY';
  readonly exitCode = 65;
}

/**
 * A repository's index is not signed by a key kdbg trusts (no signature, a bad one, an unknown
 * key, an expired Valid-Until), or an index does not match the checksums its signed Release
 * names. `details.reason` says which (resolve/deb-trust.ts); nothing is published.
 */
export class SignatureError extends KdbgError {
  readonly code = 'KDBG_E_SIGNATURE';
  readonly exitCode = 65;
}

/** A local input (dump, package, config file) does not exist or cannot be read. */
export class InputNotFoundError extends KdbgError {
  readonly code = 'KDBG_E_NO_INPUT';
  readonly exitCode = 66;
}

/** The vmlinux does not belong to the dump (banner or build-id differ). */
export class MismatchError extends KdbgError {
  readonly code = 'KDBG_E_MISMATCH';
  readonly exitCode = 67;
}

/** No mirror has the artifact; or a required external tool (crash) is missing. */
export class UnavailableError extends KdbgError {
  readonly code: string = 'KDBG_E_UNAVAILABLE';
  readonly exitCode = 69;
}

/** Not found on any configured mirror; `details.tried` lists every URL tried. */
export class NotFoundError extends UnavailableError {
  override readonly code = 'KDBG_E_NOT_FOUND';
}

/** A bug in kdbg. */
export class InternalError extends KdbgError {
  readonly code = 'KDBG_E_INTERNAL';
  readonly exitCode = 70;
}

/** Configuration file invalid (points at the bad key). */
export class ConfigError extends KdbgError {
  readonly code = 'KDBG_E_CONFIG';
  readonly exitCode = 78;
}

/** Local cache I/O failure. */
export class CacheError extends KdbgError {
  readonly code = 'KDBG_E_CACHE';
  readonly exitCode = 74;
}

/**
 * A repository refused kdbg, or kdbg cannot present what it asks for: an unreadable or expired
 * client certificate/key, a server that rejects the certificate (403), a CA that does not
 * match. Retrying does not help; the host's entitlement or repo file must change.
 */
export class AccessError extends KdbgError {
  readonly code = 'KDBG_E_ACCESS';
  readonly exitCode = 77;
}

/** Network failure after retries and failover. */
export class NetworkError extends KdbgError {
  readonly code = 'KDBG_E_NETWORK';
  readonly exitCode = 75;
  readonly retryable: boolean;
  constructor(message: string, options: KdbgErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? true;
  }
}

/** `crash` failed, timed out, or could not read the dump. */
export class AnalysisError extends KdbgError {
  readonly code = 'KDBG_E_ANALYSIS';
  readonly exitCode = 1;
}

/**
 * The user or a supervisor asked kdbg to stop (SIGINT, SIGTERM). It is the abort reason of the
 * CLI's one AbortSignal, so every stage unwinds through its `finally` blocks (locks released,
 * staging removed) and the exit code says which signal it was: 128 + the signal number, as a
 * shell reports a process killed by it.
 */
export class InterruptedError extends KdbgError {
  readonly code = 'KDBG_E_INTERRUPTED';
  readonly exitCode: number;
  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signalName}`, { details: { signal: signalName } });
    this.exitCode = signalName === 'SIGINT' ? 130 : 143;
  }
}

export function isKdbgError(e: unknown): e is KdbgError {
  return e instanceof KdbgError;
}

/** Exit code of the worst error in a batch: the highest-numbered non-zero code wins. */
export function worstExitCode(codes: Iterable<number>): number {
  let worst = 0;
  for (const c of codes) if (c > worst) worst = c;
  return worst;
}
