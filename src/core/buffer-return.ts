// Decoded buffers going back to the decoder that made them.
//
// Why: an xz decoder writes its output into 1 MiB buffers, a fresh one each time the last is full.
// The el7 payload is 2 GB of them (on the decoder's thread, xz-thread.ts) and the sources package
// 138 MB (on the main thread, where the cpio walk and thousands of file writes keep each buffer
// alive long enough to count as old). Left to the garbage collector, dead ones piled up to about
// 64 MB before each collection (V8 collects array buffers when their external memory has grown by
// that much). A consumer that knows when it holds no view into a chunk any more (ByteSource's
// `release`) hands it back here; once no chunk of a buffer is out, the decoder writes into it again.
//
// Chunks are lent in the order the decoder wrote them, and a decoder never goes back to a buffer
// it has moved on from: so a buffer is complete (no more chunks of it to come) as soon as a chunk
// of another buffer is lent, or the stream ends (`finish`).

export class BufferReturn {
  /** Buffers with chunks out: how many chunks have not come back yet. */
  private readonly out = new Map<ArrayBuffer, number>();
  /** The buffer the decoder is still writing into (its chunks may not all be lent yet). */
  private current: ArrayBuffer | null = null;
  private sink: ((buffer: ArrayBuffer) => void) | null = null;
  /** Buffers handed back to the decoder so far. */
  returned = 0;
  /** Buffers the decoder says it wrote into again (set by the decoder). */
  reused = 0;

  /** Decoder side: where complete buffers go; null: the decoder is gone, drop them. */
  attach(sink: ((buffer: ArrayBuffer) => void) | null): void {
    this.sink = sink;
  }

  /** Decoder side: `chunk` (a view into one of the decoder's buffers) goes to the consumer. */
  lend(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = chunk.buffer as ArrayBuffer;
    this.out.set(b, (this.out.get(b) ?? 0) + 1);
    if (b !== this.current) {
      const before = this.current;
      this.current = b;
      if (before !== null) this.settle(before);
    }
  }

  /** Decoder side: the stream ended; the last buffer is complete too. */
  finish(): void {
    const last = this.current;
    this.current = null;
    if (last !== null) this.settle(last);
  }

  /** Consumer side: the caller holds no view into `chunk` any more (each lent chunk once). */
  giveBack(chunk: Uint8Array): void {
    const b = chunk.buffer as ArrayBuffer;
    const n = this.out.get(b);
    if (n === undefined || n === 0) return; // not lent here
    this.out.set(b, n - 1);
    if (n === 1) this.settle(b);
  }

  private settle(b: ArrayBuffer): void {
    if (b === this.current || this.out.get(b) !== 0) return;
    this.out.delete(b);
    if (this.sink === null) return;
    this.returned++;
    this.sink(b);
  }
}
