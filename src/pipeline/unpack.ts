// `unpack`: the members of a local RPM or .deb, listed or extracted with kdbg's own parsers
// (`kdbg unpack`, the replacement for `rpm2cpio X | cpio -idm`). Globs select members like cpio -i
// patterns; literal names let the walk stop early, and in a block-indexed package (multi-block
// xz: Debian debs, RHEL 8+ RPMs) decode only the blocks that hold them (docs/speed.md).

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputNotFoundError } from '../core/errors.js';
import type { ArchiveMember, ExtractResult } from '../extract/types.js';

export type { ArchiveMember, ExtractResult } from '../extract/types.js';

async function checkFile(file: string): Promise<void> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new InputNotFoundError(`${file}: cannot read package (${e.code ?? e.message})`, { cause: e, details: { file } });
  });
  if (!st.isFile()) throw new InputNotFoundError(`${file}: not a regular file`, { details: { file } });
}

const open = (file: string): ReturnType<typeof createReadStream> => createReadStream(file, { highWaterMark: 1 << 20 });

/** The members of `file` the globs select (every member without globs), in archive order. */
export async function* listMembers(file: string, globs: readonly string[] = []): AsyncGenerator<ArchiveMember> {
  await checkFile(file);
  const { listPackage } = await import('../extract/index.js');
  const { globSelector } = await import('../extract/select.js');
  const select = globSelector([...globs]);
  const chunks = open(file);
  try {
    for await (const m of listPackage(chunks, file)) if (select(m)) yield m;
  } finally {
    chunks.destroy();
  }
}

/** Extract the members the globs select under `directory` (created if missing). */
export async function unpack(file: string, directory: string, globs: readonly string[] = []): Promise<ExtractResult> {
  await checkFile(file);
  const { extractPackage } = await import('../extract/index.js');
  const { globSelector } = await import('../extract/select.js');
  const select = globSelector([...globs]);
  const dest = resolve(directory);
  const chunks = open(file);
  try {
    // Literal member names (no glob characters) tell us how many files we want, so the walk can
    // stop as soon as they are written instead of decompressing the rest of a 5 GB payload.
    // `reopen` lets the deb walker take a second pass for a symlink whose target it has passed.
    const literal = globs.length > 0 && globs.every((g) => !/[*?[\\]/.test(g));
    const wanted = new Set(globs.map((g) => g.replace(/^(?:\.\/|\/)+/, ''))).size;
    // Literal names in a block-indexed package: positioned reads decode only the blocks that hold
    // them, on every core, each block written straight to its place — faster than `xz -T2 | tar`
    // and a third less memory than the streaming walk. Anything else streams.
    const partial = literal ? await unpackPartially(file, dest, select, wanted) : null;
    return (
      partial ??
      (await extractPackage(chunks, {
        destDir: dest,
        select,
        label: file,
        ...(literal ? { stopAfter: wanted } : {}),
        reopen: () => open(file),
      }))
    );
  } finally {
    chunks.destroy();
  }
}

/** The partial path on a local file, or null when it does not apply (see tryPartialExtract). */
async function unpackPartially(file: string, destDir: string, select: (m: ArchiveMember) => boolean, stopAfter: number): Promise<ExtractResult | null> {
  const { tryPartialExtract } = await import('../extract/partial.js');
  const { withFileAccess } = await import('../core/file-access.js');
  return withFileAccess(file, async (ra) => {
    const head = await ra.readAt(0, 8);
    const isDeb = Buffer.from(head).toString('latin1') === '!<arch>\n';
    const isRpm = head[0] === 0xed && head[1] === 0xab && head[2] === 0xee && head[3] === 0xdb;
    if (!isDeb && !isRpm) return null;
    return tryPartialExtract(ra, isDeb ? 'deb' : 'rpm', { destDir, select, stopAfter, label: file });
  });
}
