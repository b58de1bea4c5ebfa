// Positioned reads through a makedumpfile-flattened file without reassembling it (formats.md
// §A.3): a lazy index of the records, read only as far as a read needs. Split from flattened.ts,
// which replays records into a window; this reads anywhere (kernel pages for identify and klog).

import { readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { LimitError, TruncatedError } from '../core/errors.js';
import { CachedRandomAccess } from '../core/read-cache.js';
import { FLAT_HEADER_SIZE, FLAT_MAX_RECORDS, parseFlatHeader, parseFlatRecordHeader } from './flattened.js';

const FORMAT = 'flattened';

/** Where one record's data lives: logical [offset, offset+size) ← file [fileOffset, …). */
interface FlatIndexEntry {
  offset: number;
  size: number;
  fileOffset: number;
  /** Position in record order: where records overlap, the later one wins. */
  seq: number;
}

/**
 * Runs of records in increasing, non-overlapping logical order. Writers emit one or two such
 * streams (QEMU interleaves its page descriptors with the page data; makedumpfile writes in
 * order), so a lookup is a binary search per run instead of a walk over every record. Records
 * that fit no run start one; past MAX_RUNS (shuffled input) lookups walk every record instead.
 */
const MAX_RUNS = 16;

/**
 * Positioned reads through a flattened file without reassembling it. Record headers (16 bytes
 * each) are indexed lazily, only as far as needed to cover what is read: writers emit page data
 * in increasing offset order, so reading a kernel page early in the dump visits a prefix of the
 * records only. A record read later may overwrite an earlier one (last writer wins) — a byte range
 * is served once the records seen so far cover it, which is exact for page data (written once).
 * The file is read through 1 MiB blocks (core/read-cache.ts): hopping record headers and reading
 * the pages between them costs one read per MiB, not two per record.
 */
export class FlatIndexAccess implements RandomAccess {
  private readonly entries: FlatIndexEntry[] = [];
  private readonly runs: FlatIndexEntry[][] = [];
  private tooManyRuns = false;
  /** Covered logical intervals, sorted by start, merged (disjoint and not touching). */
  private readonly covered: [number, number][] = [];
  private pos = FLAT_HEADER_SIZE;
  private ended = false;
  private logicalSize = 0;
  private readonly src: CachedRandomAccess;

  private constructor(
    src: RandomAccess,
    private readonly maxRecords: number,
  ) {
    this.src = new CachedRandomAccess(src);
  }

  get label(): string {
    return this.src.label;
  }

  /** The logical size once every record has been indexed, else null. */
  get size(): number | null {
    return this.ended ? this.logicalSize : null;
  }

  get recordsIndexed(): number {
    return this.entries.length;
  }

  static async build(src: RandomAccess, maxRecords: number = FLAT_MAX_RECORDS): Promise<FlatIndexAccess> {
    parseFlatHeader(await readExactAt(src, 0, 32, FORMAT, 'flattened header'), src.label);
    return new FlatIndexAccess(src, maxRecords);
  }

  /** Index of the last covered interval starting at or before `a`, or -1. */
  private coveredAt(a: number): number {
    let lo = 0;
    let hi = this.covered.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.covered[mid]![0] <= a) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private covers(a: number, b: number): boolean {
    const i = this.coveredAt(a);
    return i !== -1 && b <= this.covered[i]![1];
  }

  private addCovered(s: number, e: number): void {
    let i = this.coveredAt(s);
    // Merge with the interval before when it reaches s, else insert after it.
    if (i !== -1 && this.covered[i]![1] >= s) this.covered[i]![1] = Math.max(this.covered[i]![1], e);
    else this.covered.splice(++i, 0, [s, e]);
    const cur = this.covered[i]!;
    while (i + 1 < this.covered.length && this.covered[i + 1]![0] <= cur[1]) {
      cur[1] = Math.max(cur[1], this.covered[i + 1]![1]);
      this.covered.splice(i + 1, 1);
    }
  }

  private addEntry(e: FlatIndexEntry): void {
    this.entries.push(e);
    if (e.size === 0 || this.tooManyRuns) return;
    // The run whose last record ends closest below this one.
    let best: FlatIndexEntry[] | null = null;
    let bestEnd = -1;
    for (const run of this.runs) {
      const last = run[run.length - 1]!;
      const end = last.offset + last.size;
      if (end <= e.offset && end > bestEnd) {
        best = run;
        bestEnd = end;
      }
    }
    if (best) best.push(e);
    else if (this.runs.length < MAX_RUNS) this.runs.push([e]);
    else this.tooManyRuns = true;
  }

  private async indexOne(): Promise<void> {
    const src = this.src;
    if (src.size !== null && this.pos >= src.size) {
      throw new TruncatedError(`${src.label}: truncated flattened dump: input ends at offset ${this.pos} after ${this.entries.length} records, without the end marker`, {
        file: src.label,
        format: FORMAT,
        offset: this.pos,
      });
    }
    // Record headers are looked at in the block already read, without an await or a copy each
    // (thousands per MiB in makedumpfile's page-sized records): a walk over every record (klog
    // indexes them all) reads the file once, in 1 MiB blocks.
    const head = src.viewAt(this.pos, 16) ?? (await readExactAt(src, this.pos, 16, FORMAT, 'record header'));
    const rh = parseFlatRecordHeader(head, src.label, this.pos);
    if (rh === null) {
      this.ended = true;
      return;
    }
    if (this.entries.length >= this.maxRecords) {
      throw new LimitError(`${src.label}: flattened dump: more than ${this.maxRecords} records indexed (at offset ${this.pos})`, { file: src.label, format: FORMAT, offset: this.pos });
    }
    this.addEntry({ offset: rh.offset, size: rh.buf_size, fileOffset: this.pos + 16, seq: this.entries.length });
    this.logicalSize = Math.max(this.logicalSize, rh.offset + rh.buf_size);
    if (rh.buf_size > 0) this.addCovered(rh.offset, rh.offset + rh.buf_size);
    this.pos += 16 + rh.buf_size;
  }

  /** The records that touch [offset, end), in record order. */
  private touching(offset: number, end: number): FlatIndexEntry[] {
    const touch = (e: FlatIndexEntry): boolean => e.offset < end && e.offset + e.size > offset;
    if (this.tooManyRuns) return this.entries.filter(touch);
    const out: FlatIndexEntry[] = [];
    for (const run of this.runs) {
      // First record of the run that ends after `offset` (the run is sorted and disjoint).
      let lo = 0;
      let hi = run.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (run[mid]!.offset + run[mid]!.size <= offset) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < run.length && run[i]!.offset < end; i++) out.push(run[i]!);
    }
    return this.runs.length > 1 ? out.sort((a, b) => a.seq - b.seq) : out;
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    while (!this.ended && !this.covers(offset, offset + length)) await this.indexOne();
    const end = this.ended ? Math.min(offset + length, this.logicalSize) : offset + length;
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    // In record order, so later records overwrite earlier ones.
    for (const e of this.touching(offset, end)) {
      const s = Math.max(offset, e.offset);
      const t = Math.min(end, e.offset + e.size);
      const b = await readExactAt(this.src, e.fileOffset + (s - e.offset), t - s, FORMAT, `record data (logical offset ${e.offset})`);
      out.set(b, s - offset);
    }
    return out;
  }
}
