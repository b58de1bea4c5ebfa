// `batch`: fetch over many inputs (releases and/or dumps), run with bounded concurrency, each
// result handed to `onItem` the moment it completes; `kdbg fetch A B …` and `--from-file` render
// them (JSON lines with --json; the exit code that of the worst failure). docs/batch-and-cache.md.
//
// Inputs naming the same release (the same string twice, or `3.10.0-327.el7` next to
// `3.10.0-327.el7.x86_64`) share one fetch: the second spelling waits for the first's promise
// instead of queueing behind the release lock, and is never downloaded twice.

import { statSync } from 'node:fs';
import pLimit from 'p-limit';
import { InternalError, isKdbgError, UsageError, type KdbgError } from '../core/errors.js';
import type { FetchResult } from '../core/fetch-result.js';
import { fetchRelease } from './fetch/index.js';
import type { FetchOptions } from './fetch/options.js';

export type BatchItem =
  | { input: string; ok: true; result: FetchResult }
  | { input: string; ok: false; error: KdbgError };

/** Parse an input list: one input per line, `#` starts a comment, blank lines ignored. */
export function parseInputList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line !== '') out.push(line);
  }
  return out;
}

function asKdbgError(e: unknown): KdbgError {
  if (isKdbgError(e)) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new InternalError(`internal error: ${err.message}`, { cause: err });
}

export interface BatchOptions {
  /** Items fetched at the same time (p-limit); at least 1. */
  jobs: number;
  fetch: (input: string) => Promise<FetchResult>;
  /**
   * Key naming the release an input stands for (e.g. its parsed `uname -r`), or null when it
   * cannot be known without work (a dump): inputs with equal keys share one fetch.
   */
  keyOf?: (input: string) => string | null;
  /** Called once per distinct input, in completion order. */
  onItem?: (item: BatchItem) => void;
}

/** Run the batch; resolves (never rejects) with one item per distinct input, in input order. */
export async function runBatch(inputs: readonly string[], opts: BatchOptions): Promise<BatchItem[]> {
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) throw new UsageError(`--jobs must be a positive integer, not ${opts.jobs}`);
  const limit = pLimit(opts.jobs);
  const distinct = [...new Set(inputs)];
  const shared = new Map<string, Promise<FetchResult>>();
  const run = (input: string): Promise<FetchResult> => {
    let key: string | null = null;
    try {
      key = opts.keyOf?.(input) ?? null;
    } catch {
      key = null; // an unparseable release fails in fetch() with its proper error
    }
    if (key === null) return limit(() => opts.fetch(input));
    let p = shared.get(key);
    if (!p) {
      p = limit(() => opts.fetch(input));
      shared.set(key, p);
    }
    return p;
  };
  return Promise.all(
    distinct.map(async (input): Promise<BatchItem> => {
      let item: BatchItem;
      try {
        item = { input, ok: true, result: await run(input) };
      } catch (e) {
        item = { input, ok: false, error: asKdbgError(e) };
      }
      opts.onItem?.(item);
      return item;
    }),
  );
}

export interface FetchBatchOptions extends FetchOptions {
  /** Items fetched at the same time; at least 1. */
  jobs: number;
  onItem?: (item: BatchItem) => void;
}

/**
 * `fetch` over many inputs with the same options. Inputs naming the same release share one fetch;
 * a dump's release is not known until it is read (its fetch then meets any same-release sibling
 * at the release lock and answers from the cache).
 */
export async function fetchBatch(inputs: readonly string[], opts: FetchBatchOptions): Promise<BatchItem[]> {
  const { jobs, onItem, ...fetchOpts } = opts;
  const { parseRelease } = await import('../release/index.js');
  const relOpts = { ...(opts.arch !== undefined ? { arch: opts.arch } : {}), ...(opts.distro !== undefined ? { distro: opts.distro } : {}) };
  return runBatch(inputs, {
    jobs,
    fetch: (input) => fetchRelease(input, fetchOpts),
    keyOf: (input) => {
      if (input.includes('/')) return null;
      try {
        if (statSync(input).isFile()) return null;
      } catch {
        // not a file: a release string
      }
      return parseRelease(input, relOpts).uname;
    },
    ...(onItem ? { onItem } : {}),
  });
}

/** The JSON line of one batch item (docs/batch-and-cache.md). */
export function batchItemJson(item: BatchItem, resultJson: (r: FetchResult) => Record<string, unknown>): Record<string, unknown> {
  if (item.ok) return { input: item.input, ok: true, ...resultJson(item.result) };
  return { input: item.input, ok: false, error: { code: item.error.code, message: item.error.message, exitCode: item.error.exitCode } };
}
