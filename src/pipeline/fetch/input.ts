// Stage 1, input: a release string or a dump path → the kernel release to fetch (and the dump's
// identity, whose build-id and banner later stages use).

import { promises as fsp } from 'node:fs';
import { InputFormatError, InputNotFoundError } from '../../core/errors.js';
import type { DumpIdentity, KernelRelease } from '../../core/types.js';
import type { FetchOptions } from './options.js';

export interface FetchInput {
  rel: KernelRelease;
  dump: DumpIdentity | null;
}

/** A dump path is `-`, anything with a slash, or an existing file; everything else is a release string. */
export async function isDumpInput(input: string): Promise<boolean> {
  if (input === '-') return true;
  try {
    return (await fsp.stat(input)).isFile();
  } catch {
    if (input.includes('/')) throw new InputNotFoundError(`${input}: no such file (a dump path was expected; a release string has no '/')`, { details: { file: input } });
    return false;
  }
}

async function identifyInput(input: string): Promise<DumpIdentity> {
  const { identifyDump } = await import('../../identify/index.js');
  const id = await identifyDump(input);
  if (!id.release) {
    throw new InputFormatError(`${input}: no kernel release found in the dump (no VMCOREINFO OSRELEASE, utsname or banner)`, {
      file: input,
      format: id.format,
    }, { hint: 'pass the release string instead: kdbg fetch <uname -r of the crashed kernel>' });
  }
  return id;
}

/** The release grammar's options: the caller's, else what the dump says. */
export function releaseOptions(opts: FetchOptions, dump: DumpIdentity | null): { arch?: string; distro?: string; packageVersion?: string } {
  return {
    ...(opts.arch !== undefined ? { arch: opts.arch } : dump?.arch ? { arch: dump.arch } : {}),
    ...(opts.distro !== undefined ? { distro: opts.distro } : {}),
    ...(opts.packageVersion !== undefined ? { packageVersion: opts.packageVersion } : dump?.packageVersion ? { packageVersion: dump.packageVersion } : {}),
  };
}

export async function readInput(input: string, opts: FetchOptions): Promise<FetchInput> {
  const dump = (await isDumpInput(input)) ? await identifyInput(input) : null;
  const { parseRelease } = await import('../../release/index.js');
  return { rel: parseRelease(dump?.release ?? input, releaseOptions(opts, dump)), dump };
}
