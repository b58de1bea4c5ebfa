// RandomAccess over an open file (positioned reads; nothing is read that is not asked for).
import type { FileHandle } from 'node:fs/promises';
import type { RandomAccess } from '../core/byte-source.js';

export class FileRandomAccess implements RandomAccess {
  constructor(
    private readonly fh: FileHandle,
    readonly label: string,
    readonly size: number,
  ) {}

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return new Uint8Array(0);
    const buf = new Uint8Array(end - offset);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  }
}
