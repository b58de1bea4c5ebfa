// PLACEHOLDER until the deb extractor lands (owned by the deb work); keeps the dispatch compiling.
import type { ByteSource } from '../core/byte-source.js';
import { UnavailableError } from '../core/errors.js';
import type { ArchiveMember, ExtractOptions, ExtractResult } from './types.js';

export async function extractDeb(src: ByteSource, _opts: ExtractOptions): Promise<ExtractResult> {
  throw new UnavailableError(`${src.label}: deb extraction is not built yet`);
}

// eslint-disable-next-line require-yield
export async function* listDeb(src: ByteSource): AsyncGenerator<ArchiveMember> {
  throw new UnavailableError(`${src.label}: deb listing is not built yet`);
}
