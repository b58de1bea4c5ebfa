// RandomAccess over an open file: positioned reads, nothing read that is not asked for. Dumps,
// vmlinux files and local packages are hundreds of MB to many GB; their parsers only ever need
// headers, tables and notes.
import { open, type FileHandle } from 'node:fs/promises';
import type { RandomAccess } from './byte-source.js';

export class FileRandomAccess implements RandomAccess {
  constructor(
    private readonly fh: FileHandle,
    readonly label: string,
    readonly size: number,
  ) {}

  /** Open `path` for positioned reads; the caller closes it. */
  static async open(path: string, label: string = path): Promise<FileRandomAccess> {
    const fh = await open(path, 'r');
    try {
      return new FileRandomAccess(fh, label, (await fh.stat()).size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return new Uint8Array(0);
    const buf = newFillBuffer(end - offset);
    const got = await this.readInto(offset, buf);
    return got === buf.length ? buf : buf.subarray(0, got);
  }

  async readInto(offset: number, dest: Uint8Array): Promise<number> {
    const n = Math.max(0, Math.min(dest.length, this.size - offset));
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(dest, got, n - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * A buffer a read or a decode fills: large ones are not zeroed first. glibc's calloc clears every
 * reused chunk, and the 1 MiB blocks of core/read-cache.ts come from reused chunks: a walk over a
 * 27 MB flattened dump cleared 95 MB (callgrind); a 24 MiB xz block was cleared for nothing before
 * each decode. Only the bytes filled are ever returned. Small ones stay a plain Uint8Array
 * (allocUnsafe would hand out slices of one shared pool).
 */
export function newFillBuffer(n: number): Uint8Array {
  return n >= 64 << 10 ? new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n) : new Uint8Array(n);
}

/** Run `fn` with positioned reads over `path`, closing the file afterwards. */
export async function withFileAccess<T>(path: string, fn: (ra: FileRandomAccess) => Promise<T>): Promise<T> {
  const ra = await FileRandomAccess.open(path);
  try {
    return await fn(ra);
  } finally {
    await ra.close();
  }
}
