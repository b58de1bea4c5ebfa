// `identify`: which kernel wrote this dump (release, arch, build-id, …), from its headers and
// notes only. The identify stage does the reading; this is its face in the library API.

import type { DumpIdentification } from '../identify/index.js';

export type { DumpIdentification } from '../identify/index.js';

/** A dump path (or `-` with `stdin`) → its identity; `release` is null when nothing names it. */
export async function identify(input: string, opts: { stdin?: AsyncIterable<Uint8Array> } = {}): Promise<DumpIdentification> {
  const { identifyDump } = await import('../identify/index.js');
  return identifyDump(input, opts);
}
