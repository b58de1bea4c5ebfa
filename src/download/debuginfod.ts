// debuginfod client: fetch a kernel's (or module's) debuginfo by GNU build-id from the servers in
// DEBUGINFOD_URLS — the protocol elfutils, gdb, drgn and systemd-coredump already speak — before
// kdbg falls back to the package route. API (elfutils debuginfod(8)):
//   GET <server>/buildid/<lowercase hex id>/debuginfo   → the ELF with .debug_* sections
//   404 → not known to this server; X-DEBUGINFOD-SIZE announces the size.
// The download streams into a temporary file next to `destFile`, resumes after a dropped
// connection with Range + If-Range (only when the server proved it supports it), retries 5xx/429
// with back-off, hashes while streaming, and then checks the ELF's GNU build-id note against the
// id asked for: a server that answers with another file must not put it in the cache. Only a
// verified file is renamed to `destFile` (same directory, fsync first), so a reader never sees a
// partial or wrong file under the good name.

import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IntegrityError, InputFormatError, NetworkError, UsageError, isKdbgError } from '../core/errors.js';
import { withFileAccess } from '../core/file-access.js';
import type { HttpFetcher, ProgressListener } from '../core/types.js';
import { readElfBuildId } from '../formats/elf.js';
import { undiciFetcher } from './http.js';
export { parseDebuginfodUrls } from './debuginfod-urls.js';
import { paceLimits, SpeedGuard } from './pace.js';
import { backoffDelay, defaultRetryPolicy, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from '../core/retry.js';

export type DebuginfodArtifact = 'debuginfo' | 'executable';

export interface DebuginfodFetchOptions {
  /** Server base URLs, tried in order (see `parseDebuginfodUrls`). */
  urls: readonly string[];
  /** Where the verified file is published (its directory must exist). */
  destFile: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Injected for tests or a shared dispatcher; default: the undici fetcher. */
  fetcher?: HttpFetcher;
  /** Attempts per server for transient failures (5xx, 429, dropped connections). Default 1 + defaultRetryPolicy.retries. */
  attempts?: number;
  /** First back-off delay in ms (doubles per attempt with jitter, capped). Default defaultRetryPolicy.minDelayMs. */
  retryBaseMs?: number;
  /** Which artefact to ask for. Default 'debuginfo'. */
  artifact?: DebuginfodArtifact;
  /** Idle and low-speed bound of each response (pace.ts; config timeoutSeconds). Default 30 s. */
  idleTimeoutMs?: number;
}

export interface DebuginfodResult {
  buildId: string;
  /** The URL the bytes came from. */
  url: string;
  /** The server base URL (as configured) that had it. */
  server: string;
  /** = destFile */
  path: string;
  size: number;
  /** Lowercase hex sha256 of the published file (for cache provenance). */
  sha256: string;
  /** X-DEBUGINFOD-FILE as the server sent it, else null. */
  serverFile: string | null;
}

const BUILD_ID_RE = /^[0-9a-f]{2,128}$/;

/** Normalise a build-id for the URL: lowercase hex, as elfutils sends it. */
export function normalizeBuildId(id: string): string {
  const v = id.trim().toLowerCase();
  if (!BUILD_ID_RE.test(v) || v.length % 2 !== 0) {
    throw new UsageError(`invalid build-id "${id}": expected an even number of hex digits`);
  }
  return v;
}

/** The GNU build-id of an ELF file on disk, or null (no note). Throws InputFormatError if not ELF. */
export async function readFileBuildId(path: string): Promise<string | null> {
  return withFileAccess(path, (ra) => readElfBuildId(ra));
}

type Outcome = { kind: 'ok'; result: DebuginfodResult } | { kind: 'not-found' } | { kind: 'failed'; error: unknown };

/**
 * Fetch `/buildid/<id>/debuginfo` from the first server that has it, verify its build-id and
 * publish it at `opts.destFile`. Returns null when no server knows the id or every server failed
 * (failures are reported as `warning` progress events: the caller falls back to packages).
 * Throws IntegrityError when a server answered with a file whose build-id differs (after trying
 * the remaining servers), and the abort reason when `signal` fires.
 */
export async function fetchDebuginfo(buildId: string, opts: DebuginfodFetchOptions): Promise<DebuginfodResult | null> {
  const id = normalizeBuildId(buildId);
  const artifact = opts.artifact ?? 'debuginfo';
  let integrity: IntegrityError | null = null;
  for (const server of opts.urls) {
    opts.signal?.throwIfAborted();
    const outcome = await fetchFromServer(id, server, artifact, opts);
    if (outcome.kind === 'ok') return outcome.result;
    if (outcome.kind === 'failed') {
      opts.signal?.throwIfAborted();
      if (outcome.error instanceof IntegrityError) integrity ??= outcome.error;
      const msg = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      opts.onProgress?.({ kind: 'warning', code: isKdbgError(outcome.error) ? outcome.error.code : 'KDBG_E_NETWORK', message: `debuginfod ${server}: ${msg}` });
    }
  }
  if (integrity) throw integrity;
  return null;
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const _ of body) {
      // discard: an error page
    }
  } catch {
    // the body of an error status does not matter
  }
}

async function fetchFromServer(id: string, server: string, artifact: DebuginfodArtifact, opts: DebuginfodFetchOptions): Promise<Outcome> {
  const fetcher = opts.fetcher ?? undiciFetcher;
  const url = `${server}/buildid/${id}/${artifact}`;
  const name = `${artifact}:${id}`;
  const attempts = Math.max(1, opts.attempts ?? defaultRetryPolicy.retries + 1);
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...(opts.retryBaseMs !== undefined ? { minDelayMs: opts.retryBaseMs } : {}) };
  const tmp = join(dirname(opts.destFile), `.${basename(opts.destFile)}.${randomBytes(6).toString('hex')}.part`);
  let fh: FileHandle | null = null;
  let received = 0;
  let hash = createHash('sha256');
  let etag: string | null = null;
  let total: number | null = null;
  let serverFile: string | null = null;
  let published = false;
  let lastError: unknown = null;
  try {
    fh = await open(tmp, 'wx', 0o644);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      opts.signal?.throwIfAborted();
      // Splice only onto bytes from the same representation: a strong ETag the server gave us.
      const resume = received > 0 && etag !== null && !etag.startsWith('W/');
      if (received > 0 && !resume) {
        await fh.truncate(0);
        received = 0;
        hash = createHash('sha256');
      }
      const headers: Record<string, string> = resume ? { range: `bytes=${received}-`, 'if-range': etag! } : {};
      let delay = backoffDelay(attempt, policy);
      try {
        const pace = paceLimits(opts.idleTimeoutMs);
        const res = await fetcher.get(url, { headers, idleMs: pace.idleMs, ...(opts.signal ? { signal: opts.signal } : {}) });
        if (res.status === 404 || res.status === 410) {
          await drain(res.body);
          if (received === 0) return { kind: 'not-found' };
          throw new NetworkError(`${url}: HTTP ${res.status} while resuming`, { details: { url } });
        }
        if (isRetryableStatus(res.status)) {
          await drain(res.body);
          const ra = parseRetryAfter(res.headers['retry-after']);
          if (ra !== null && ra > policy.maxRetryAfterMs) {
            // Told to come back much later: another server (or the package route) is faster.
            return { kind: 'failed', error: new NetworkError(`${url}: HTTP ${res.status}, Retry-After ${Math.round(ra / 1000)} s`, { details: { url, status: res.status } }) };
          }
          delay = ra ?? delay;
          throw new NetworkError(`${url}: HTTP ${res.status}`, { details: { url, status: res.status } });
        }
        if (res.status !== 200 && res.status !== 206) {
          await drain(res.body);
          // 4xx other than 404/429: the server will not give it to us; do not retry.
          return { kind: 'failed', error: new NetworkError(`${url}: HTTP ${res.status}`, { retryable: false, details: { url, status: res.status } }) };
        }
        let start = 0;
        if (res.status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
          if (!m || Number(m[1]) !== received || !resume) {
            // Not the continuation we asked for: start over from scratch on the next attempt.
            await drain(res.body);
            etag = null;
            throw new NetworkError(`${url}: unexpected Content-Range "${res.headers['content-range'] ?? ''}"`, { details: { url } });
          }
          start = received;
          if (m[3] !== '*') total = Number(m[3]);
        } else {
          if (received > 0) {
            await fh.truncate(0);
            received = 0;
            hash = createHash('sha256');
          }
          const cl = res.headers['content-length'];
          total = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null;
        }
        const announced = res.headers['x-debuginfod-size'];
        if (announced !== undefined && /^\d+$/.test(announced)) total ??= Number(announced);
        serverFile = res.headers['x-debuginfod-file'] ?? serverFile;
        etag = res.headers['etag'] ?? null;
        if (attempt === 1 || start === 0) opts.onProgress?.({ kind: 'download-start', name, url, total, resumedFrom: start });
        let lastReport = 0;
        const guard = new SpeedGuard(pace, url);
        for await (const chunk of res.body) {
          await fh.write(chunk, 0, chunk.length, received);
          hash.update(chunk);
          received += chunk.length;
          guard.onBytes(chunk.length);
          if (received - lastReport >= 1 << 20) {
            lastReport = received;
            opts.onProgress?.({ kind: 'download-progress', name, received, total });
          }
        }
        if (total !== null && received !== total) {
          throw new NetworkError(`${url}: body ended at ${received} of ${total} bytes`, { details: { url, received, total } });
        }
        lastError = null;
        break;
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        lastError = e;
        if (e instanceof NetworkError && !e.retryable) break;
        if (attempt < attempts) {
          opts.onProgress?.({ kind: 'retry', name, url, attempt, delayMs: delay, reason: e instanceof Error ? e.message : String(e) });
          await sleep(delay, opts.signal);
        }
      }
    }
    if (lastError !== null) return { kind: 'failed', error: lastError };
    await fh.sync();
    await fh.close();
    fh = null;
    // The whole point of asking by build-id: the file must carry that build-id.
    let got: string | null;
    try {
      got = await readFileBuildId(tmp);
    } catch (e) {
      if (e instanceof InputFormatError) {
        return { kind: 'failed', error: new IntegrityError(`${url}: the server's answer is not an ELF file with a build-id (${e.message})`, { cause: e, details: { url, expected: id } }) };
      }
      throw e;
    }
    if (got !== id) {
      return {
        kind: 'failed',
        error: new IntegrityError(`${url}: build-id mismatch: wanted ${id}, the file has ${got ?? 'no build-id note'}`, {
          details: { url, expected: id, found: got },
          hint: 'the debuginfod server is serving a wrong file; nothing was cached',
        }),
      };
    }
    await rename(tmp, opts.destFile);
    published = true;
    opts.onProgress?.({ kind: 'download-done', name, bytes: received });
    return { kind: 'ok', result: { buildId: id, url, server, path: opts.destFile, size: received, sha256: hash.digest('hex'), serverFile } };
  } finally {
    if (fh) await fh.close().catch(() => undefined);
    if (!published) await unlink(tmp).catch(() => undefined);
  }
}
