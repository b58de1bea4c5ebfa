// Package → members. Detects the container from its first bytes and hands the stream to the
// RPM (lead magic ed ab ee db) or deb (`!<arch>\n`) extractor.

import { ByteSource } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import type { ArchiveMember, ExtractOptions, ExtractResult } from './types.js';

export type { ArchiveMember, ExtractOptions, ExtractResult, MemberSelector, WrittenMember } from './types.js';

export type PackageKind = 'rpm' | 'deb';

const RPM_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const AR_MAGIC = [0x21, 0x3c, 0x61, 0x72, 0x63, 0x68, 0x3e, 0x0a]; // "!<arch>\n"

export async function detectPackageKind(src: ByteSource): Promise<PackageKind> {
  const head = await src.peek(8);
  if (RPM_MAGIC.every((b, i) => head[i] === b)) return 'rpm';
  if (AR_MAGIC.every((b, i) => head[i] === b)) return 'deb';
  throw new InputFormatError(`${src.label}: not an RPM or deb package (unknown magic ${Buffer.from(head).toString('hex') || 'empty file'})`, {
    file: src.label,
    format: 'package',
    offset: 0,
    expected: 'RPM lead ed ab ee db or ar "!<arch>\\n"',
    found: Buffer.from(head).toString('hex'),
  });
}

/** Walk a package and write the selected members. */
export async function extractPackage(chunks: AsyncIterable<Uint8Array>, opts: ExtractOptions): Promise<ExtractResult> {
  const src = new ByteSource(chunks, opts.label, 'package');
  const kind = await detectPackageKind(src);
  if (kind === 'rpm') return (await import('./rpm.js')).extractRpm(src, opts);
  return (await import('./deb.js')).extractDeb(src, opts);
}

/** List every member of a package, in archive order. */
export async function* listPackage(chunks: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<ArchiveMember> {
  const src = new ByteSource(chunks, label, 'package');
  const kind = await detectPackageKind(src);
  if (kind === 'rpm') yield* (await import('./rpm.js')).listRpm(src);
  else yield* (await import('./deb.js')).listDeb(src);
}
