// An RPM file's head (lead, signature header, main header) as kdbg's parser reads it, for tests
// that look at signatures or at where the payload starts.
import { readFileSync } from 'node:fs';
import { ByteSource } from '../../src/core/byte-source.js';
import { readRpmHead } from '../../src/formats/rpm.js';

export async function rpmHeadOf(file: string): Promise<{ bytes: Buffer; head: Awaited<ReturnType<typeof readRpmHead>> }> {
  const bytes = readFileSync(file);
  const src = new ByteSource(
    (async function* () {
      yield new Uint8Array(bytes);
    })(),
    file,
    'rpm',
  );
  return { bytes, head: await readRpmHead(src) };
}
