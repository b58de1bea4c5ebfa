// Pull-style readers over bytes. Parsers in formats/ are written against ByteSource (a
// streaming cursor) or RandomAccess (positioned reads); neither knows where the bytes come from.

import { LimitError, TruncatedError } from './errors.js';

export type ByteChunks = AsyncIterable<Uint8Array>;

export interface ByteSourceOptions {
  /**
   * Called with each chunk of the stream once it is wholly consumed and the caller has made its
   * next call on the source, so the producer can reuse its memory (a decoder's output buffers).
   * With it, a view returned by `read`/`peek`/`stream`/`rest` is valid only until the next call
   * on the source: a caller that keeps bytes longer copies them.
   */
  release?: (chunk: Uint8Array) => void;
}

/**
 * A forward-only cursor over an async stream of chunks. `read`/`peek` return views into the
 * chunks and copy only when a value straddles two chunks. `position` is absolute.
 */
export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffered: Uint8Array[] = [];
  private bufferedLength = 0;
  private done = false;
  private pos = 0;
  private readonly release: ((chunk: Uint8Array) => void) | null;
  /** Chunks consumed whole whose views the caller may still hold until its next call. */
  private retired: Uint8Array[] = [];

  constructor(
    chunks: ByteChunks,
    /** Used in error messages: a file name, URL or format label. */
    readonly label: string = 'input',
    readonly format: string = 'bytes',
    opts: ByteSourceOptions = {},
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.release = opts.release ?? null;
  }

  static fromBytes(bytes: Uint8Array, label?: string, format?: string): ByteSource {
    return new ByteSource(
      (async function* () {
        yield bytes;
      })(),
      label,
      format,
    );
  }

  get position(): number {
    return this.pos;
  }

  /** Drop the first buffered chunk, consumed to its end. */
  private shiftConsumed(): void {
    const c = this.buffered.shift()!;
    if (this.release !== null) this.retired.push(c);
  }

  /** A new call on the source: the chunks consumed before it go back to their producer. */
  private settle(): void {
    if (this.retired.length === 0) return;
    const r = this.retired;
    this.retired = [];
    for (const c of r) this.release!(c);
  }

  /** Pull until at least n bytes are buffered or the stream ends; returns what is buffered. */
  private async fill(n: number): Promise<number> {
    while (this.bufferedLength < n && !this.done) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.length === 0) {
        if (this.release !== null) this.retired.push(r.value);
        continue;
      }
      this.buffered.push(r.value);
      this.bufferedLength += r.value.length;
    }
    return this.bufferedLength;
  }

  private take(n: number, consume: boolean): Uint8Array {
    const first = this.buffered[0];
    let out: Uint8Array;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (consume) {
        if (first.length === n) this.shiftConsumed();
        else this.buffered[0] = first.subarray(n);
      }
    } else {
      out = new Uint8Array(n);
      let off = 0;
      let i = 0;
      while (off < n) {
        const c = this.buffered[i]!;
        const k = Math.min(c.length, n - off);
        out.set(c.subarray(0, k), off);
        off += k;
        if (consume) {
          if (k === c.length) {
            this.shiftConsumed();
            continue;
          }
          this.buffered[0] = c.subarray(k);
        }
        i++;
      }
    }
    if (consume) {
      this.bufferedLength -= n;
      this.pos += n;
    }
    return out;
  }

  /** Read exactly n bytes or throw TruncatedError naming `what`. */
  async read(n: number, what = 'data'): Promise<Uint8Array> {
    this.settle();
    if (n === 0) return new Uint8Array(0);
    const have = await this.fill(n);
    if (have < n) throw this.truncated(n, have, what);
    return this.take(n, true);
  }

  /** Up to n bytes without consuming them (fewer only at end of stream). */
  async peek(n: number): Promise<Uint8Array> {
    this.settle();
    const have = await this.fill(n);
    return this.take(Math.min(n, have), false);
  }

  /** Skip exactly n bytes or throw TruncatedError. */
  async skip(n: number, what = 'data'): Promise<void> {
    // The same walk as stream(), its views dropped.
    for await (const chunk of this.stream(n, what)) void chunk;
  }

  /**
   * Yield exactly n bytes as chunks (views), for member bodies. Throws TruncatedError if the
   * stream ends first.
   */
  async *stream(n: number, what = 'member body'): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      this.settle(); // the view yielded last is done with
      if (this.bufferedLength === 0) {
        const have = await this.fill(1);
        if (have === 0) throw this.truncated(n, n - left, what);
      }
      const c = this.buffered[0]!;
      const k = Math.min(c.length, left);
      const out = c.subarray(0, k);
      if (k === c.length) this.shiftConsumed();
      else this.buffered[0] = c.subarray(k);
      this.bufferedLength -= k;
      this.pos += k;
      left -= k;
      yield out;
    }
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    this.settle();
    return (await this.fill(1)) === 0;
  }

  /** The rest of the input as chunks (used to hand a payload to a decompressor). */
  async *rest(): AsyncGenerator<Uint8Array> {
    while (this.buffered.length > 0) {
      this.settle();
      const c = this.buffered[0]!;
      this.shiftConsumed();
      this.bufferedLength -= c.length;
      this.pos += c.length;
      yield c;
    }
    while (!this.done) {
      this.settle();
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        break;
      }
      this.pos += r.value.length;
      if (this.release !== null) this.retired.push(r.value);
      yield r.value;
    }
    this.settle();
  }

  /** Stop pulling from the underlying stream (lets a download/decoder be torn down early). */
  async close(): Promise<void> {
    this.done = true;
    this.retired = []; // the producer is being torn down: nothing to hand back
    this.buffered = [];
    this.bufferedLength = 0;
    await this.iterator.return?.();
  }

  truncated(wanted: number, got: number, what: string): TruncatedError {
    return new TruncatedError(
      `${this.label}: truncated ${this.format}: ${what} needs ${wanted} bytes at offset ${this.pos}, only ${got} left`,
      { file: this.label, format: this.format, offset: this.pos, expected: `${wanted} bytes`, found: `${got} bytes` },
    );
  }
}

/** Positioned reads (a FileHandle, an in-memory buffer, an HTTP Range reader). */
export interface RandomAccess {
  readonly label: string;
  /** Total size in bytes, when known. */
  readonly size: number | null;
  /** Read up to `length` bytes at `offset`; fewer only at end of input. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: read up to `dest.length` bytes at `offset` into `dest` (fewer only at end of input),
   * returning how many. Lets a caller reuse one buffer for many large reads (extract/block-reader.ts:
   * the compressed xz blocks) instead of a fresh allocation each.
   */
  readInto?(offset: number, dest: Uint8Array): Promise<number>;
}

export class BytesRandomAccess implements RandomAccess {
  constructor(
    private readonly bytes: Uint8Array,
    readonly label = 'buffer',
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(Math.min(offset, this.bytes.length), Math.min(offset + length, this.bytes.length));
  }
}

/** Read exactly `length` bytes at `offset` or throw TruncatedError. */
export async function readExactAt(src: RandomAccess, offset: number, length: number, format: string, what: string): Promise<Uint8Array> {
  const b = await src.readAt(offset, length);
  if (b.length < length) {
    throw new TruncatedError(`${src.label}: truncated ${format}: ${what} needs ${length} bytes at offset ${offset}, only ${b.length} there`, {
      file: src.label,
      format,
      offset,
      expected: `${length} bytes`,
      found: `${b.length} bytes`,
    });
  }
  return b;
}

/**
 * Bound a length or count read from untrusted input. Returns it as a number, or throws
 * LimitError naming the field, the offset and the limit.
 */
export function boundedLength(
  value: number | bigint,
  max: number,
  ctx: { label: string; format: string; field: string; offset?: number | bigint },
): number {
  const v = typeof value === 'bigint' ? value : BigInt(value);
  if (v < 0n || v > BigInt(max)) {
    throw new LimitError(
      `${ctx.label}: ${ctx.format} field ${ctx.field} is ${v}${ctx.offset === undefined ? '' : ` at offset ${ctx.offset}`}, over the limit of ${max}`,
      { file: ctx.label, format: ctx.format, offset: ctx.offset ?? 0, expected: `<= ${max}`, found: String(v) },
    );
  }
  return Number(v);
}

/** Narrow a 64-bit field to a JS number, or throw LimitError (beyond 2^53). */
export function u64ToNumber(v: bigint, ctx: { label: string; format: string; field: string; offset?: number | bigint }): number {
  return boundedLength(v, Number.MAX_SAFE_INTEGER, ctx);
}

export const textDecoder = new TextDecoder('utf-8', { fatal: false });
export const latin1Decoder = new TextDecoder('latin1');

/** ASCII/UTF-8 string up to the first NUL. */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return textDecoder.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

export function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
