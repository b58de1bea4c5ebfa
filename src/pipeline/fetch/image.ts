// SUSE's second file: the stripped kernel image the main package keeps compressed as
// /boot/vmlinux-<uname>.{xz,gz}. A SUSE .debug file has DWARF and symbols but no code or data
// bytes, and crash needs the image beside it (`crash vmlinux.image vmlinux.debug vmcore`). The
// member extracted by the download stage is decompressed here into `vmlinux.image`.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputFormatError } from '../../core/errors.js';
import type { FetchContext, JobResult } from './options.js';

/** The decompressed image and its sha256, taken from the bytes as they were written. */
export async function materializeImage(ctx: FetchContext, res: JobResult): Promise<{ path: string; sha256: string }> {
  const { suseImageMembers } = await import('../../release/index.js');
  const want = suseImageMembers(ctx.rel);
  const written = (res.r.consumed?.written ?? []).filter((w) => w.member.type === 'file');
  const m = written.find((w) => want.includes(w.member.path));
  if (!m) {
    throw new InputFormatError(`${res.job.pkg.fileName}: has none of ${want.join(', ')}`, {
      file: res.job.pkg.fileName,
      format: 'rpm',
      expected: want[0]!,
      found: written.map((w) => w.member.path).slice(0, 3).join(', ') || 'no matching member',
    }, { hint: 'the main kernel package does not carry the stripped image of this release' });
  }
  const out = join(dirname(m.path), 'vmlinux.image');
  const fh = await open(m.path, 'r');
  const head = new Uint8Array(8);
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  const { detectCompressor, decompressStream } = await import('../../extract/decompress.js');
  const kind = detectCompressor(head) ?? 'none';
  const hash = createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(decompressStream(kind, createReadStream(m.path), m.member.path), tee, createWriteStream(out));
  await rm(m.path);
  ctx.emit({ kind: 'extract', name: res.job.pkg.fileName, member: `${m.member.path} (${kind}) → vmlinux.image`, bytes: 0 });
  return { path: out, sha256: hash.digest('hex') };
}
