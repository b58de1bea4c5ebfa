// The shapes the partial-extraction files share (partial.ts and the files it composes).

import type { XzFileIndex } from '../formats/xz.js';
import type { BlockReader } from './block-reader.js';
import type { ArchiveMember, ExtractOptions, ExtractResult } from './types.js';

export interface PartialExtractOptions extends ExtractOptions {
  /** Blocks decoded at once (default: cores, ≤ 4). */
  concurrency?: number;
  /**
   * Compressed blocks fetched ahead of the decoders (default 2), so a decoder that frees up never
   * waits for the network; they are a few MB each.
   */
  prefetch?: number;
  /**
   * Give up (return null) when locating the members would decode more than this share of the
   * blocks just to read headers; the streaming path is then as good. Default 0.5.
   */
  maxHeaderBlockShare?: number;
}

export interface PartialExtractResult extends ExtractResult {
  partial: {
    /** Blocks in the package's xz stream(s). */
    blocksTotal: number;
    /** Blocks fetched and decoded (headers + members). */
    blocksDecoded: number;
    /** Compressed bytes of the blocks read (excl. headers/index reads). */
    compressedBytesRead: number;
    /** Uncompressed size of the tar stream, and where in it each member lay. */
    uncompressedSize: number;
    members: { path: string; offset: number; size: number; firstBlock: number; lastBlock: number }[];
  };
}

/** A wanted member, located in the uncompressed archive. */
export interface TarMember extends ArchiveMember {
  /** Offset of the member's data in the uncompressed tar. */
  dataOffset: number;
  /** RPM: the header's digest of the file, checked before the member is renamed into place. */
  digest?: { algo: string; hex: string; source: string };
}

/** The members found, and the blocks reader that found them (its cached blocks are reused). */
export interface Located {
  reader: BlockReader;
  index: XzFileIndex;
  members: TarMember[];
}
