// A resumable download on disk: `partial/<key>.part` holds the bytes received so far and
// `partial/<key>.json` the validators of the response they came from (url, ETag, Last-Modified,
// total size). The file's own length is the truth about how many bytes we have — the sidecar is
// only written when a response starts, so a SIGKILL between two chunks loses nothing.
// The download stage drives it; only cache/ writes files.

import { createReadStream, promises as fsp } from 'node:fs';
import { cacheIoError, readJson, writeFileAtomic } from './fs-util.js';

export interface PartialMeta {
  /** URL the bytes came from. */
  url: string;
  etag: string | null;
  lastModified: string | null;
  /** Total size of the file as the server announced it, when known. */
  size: number | null;
  /** Bytes on disk when the sidecar was written (informational; the file length is authoritative). */
  bytes: number;
  /** The sha256 the index promised, if any (lets `cache verify` and humans tell what this was). */
  sha256: string | null;
  fileName: string;
}

export class PartialFile {
  private fh: fsp.FileHandle | null = null;
  private length = 0;

  private constructor(
    readonly path: string,
    readonly metaPath: string,
    public meta: PartialMeta | null,
  ) {}

  static async open(partPath: string): Promise<PartialFile> {
    const metaPath = partPath.replace(/\.part$/, '') + '.json';
    const meta = await readJson<PartialMeta>(metaPath);
    const p = new PartialFile(partPath, metaPath, meta);
    try {
      p.fh = await fsp.open(partPath, 'r+').catch(async (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return fsp.open(partPath, 'w+', 0o664);
        throw e;
      });
      p.length = (await p.fh.stat()).size;
    } catch (e) {
      throw cacheIoError('open partial download', partPath, e);
    }
    // Bytes without a sidecar cannot be trusted to belong to any particular response.
    if (p.meta === null && p.length > 0) await p.truncate();
    return p;
  }

  /** Bytes on disk. */
  get size(): number {
    return this.length;
  }

  async setMeta(meta: PartialMeta): Promise<void> {
    this.meta = meta;
    await writeFileAtomic(this.metaPath, JSON.stringify(meta, null, 2) + '\n', 0o664);
  }

  async truncate(): Promise<void> {
    try {
      await this.handle().truncate(0);
      this.length = 0;
    } catch (e) {
      throw cacheIoError('truncate', this.path, e);
    }
  }

  async append(chunk: Uint8Array): Promise<void> {
    const fh = this.handle();
    let off = 0;
    try {
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, this.length + off);
        off += bytesWritten;
      }
    } catch (e) {
      throw cacheIoError('write', this.path, e);
    }
    this.length += chunk.length;
  }

  /** The bytes already on disk, from `start` up to the current length, as a stream. */
  readBack(start = 0): AsyncIterable<Uint8Array> {
    if (this.length <= start) return (async function* () {})();
    return createReadStream(this.path, { start, end: this.length - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>;
  }

  /** fsync and close; the file stays at `path` for the caller to move into the content store. */
  async finish(): Promise<void> {
    const fh = this.handle();
    this.fh = null;
    try {
      await fh.sync();
    } catch (e) {
      throw cacheIoError('fsync', this.path, e);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Close, keeping the bytes for a later resume. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  /** Close and delete bytes and sidecar (wrong content must never be resumed). */
  async discard(): Promise<void> {
    await this.close();
    await fsp.rm(this.path, { force: true }).catch(() => undefined);
    await fsp.rm(this.metaPath, { force: true }).catch(() => undefined);
    this.length = 0;
    this.meta = null;
  }

  /** Forget everything: empty file, no validators (the next response starts from byte 0). */
  async reset(): Promise<void> {
    await this.truncate();
    await fsp.rm(this.metaPath, { force: true }).catch(() => undefined);
    this.meta = null;
  }

  async removeSidecar(): Promise<void> {
    await fsp.rm(this.metaPath, { force: true }).catch(() => undefined);
  }

  private handle(): fsp.FileHandle {
    if (!this.fh) throw cacheIoError('use closed partial file', this.path, new Error('closed'));
    return this.fh;
  }
}
