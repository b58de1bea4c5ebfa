// PLACEHOLDER until the rpm extractor lands (owned by the rpm work); keeps the dispatch compiling.
import type { ByteSource } from '../core/byte-source.js';
import { UnavailableError } from '../core/errors.js';
import type { ArchiveMember, ExtractOptions, ExtractResult } from './types.js';

export async function extractRpm(src: ByteSource, _opts: ExtractOptions): Promise<ExtractResult> {
  throw new UnavailableError(`${src.label}: rpm extraction is not built yet`);
}

// eslint-disable-next-line require-yield
export async function* listRpm(src: ByteSource): AsyncGenerator<ArchiveMember> {
  throw new UnavailableError(`${src.label}: rpm listing is not built yet`);
}
