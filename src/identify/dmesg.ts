// vmcore-dmesg.txt: the kernel log kdump saves beside (or instead of) the vmcore; the release
// comes from its "Linux version" banner line.

import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { scanForBanner } from './banner.js';
import { applyBanner, emptyIdentity, type DumpIdentification } from './identity.js';

export async function identifyDmesg(ra: RandomAccess, path: string): Promise<DumpIdentification> {
  const id = emptyIdentity(path, 'dmesg');
  const hit = await scanForBanner(ra, { limit: 64 << 20, chunk: 1 << 20 });
  if (!hit) {
    throw new InputFormatError(`${path}: kernel log text without a "Linux version" banner line (scanned the first ${64} MiB)`, { file: path, format: 'dmesg', offset: 0, expected: 'a "Linux version …" line' });
  }
  applyBanner(id, hit);
  return id;
}
