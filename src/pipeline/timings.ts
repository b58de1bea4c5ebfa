// Phase timings of one fetch (issue 19, item 1): `kdbg fetch --timings` prints them on stderr,
// `--json` carries them as `timings` (docs/fetch.md). They are read off the events the stages
// already emit (events.ts), so measuring changes nothing in the pipeline:
//
// - the named stages (input, lookup, plan, resolve, download, verify, publish) are sequential;
//   with `otherMs` (the release lock, the second cache look, the staging directory) they add up
//   to `totalMs`;
// - inside resolve, `indexReadMs`: the index reads (Release, repomd.xml, Packages, primary), each
//   from the request to its last byte or its cache read (resolve/index-cache.ts), and
//   `signatureMs`, the gpgv checks; both as wall-clock time: reads and checks of several suites
//   run at the same time (resolve/deb-locations.ts), and time two of them share counts once;
// - inside download, `firstByteMs`: from the start of the stage to the first package response
//   (its headers; whole downloads only — a partial fetch's Range reader emits no such event), and
//   `transferMs`: from that response to the last package's last byte;
// - inside publish, `fsyncMs`: the fsync of the published entry tree (cache/fs-util.ts).
//
// - inside download, `decodeBusyMs`: the wall-clock time during which at least one xz decoder was
//   at work, from the `busy` spans extract/ emits (core/busy.ts): a partial fetch's lanes, each
//   from having its compressed block to having written its output, and the blocks decoded to find
//   the members; a whole download's decoder thread while it had input and room for its output;
//   a decoder on the main thread (core/decompress.ts: xz, gzip, zstd) per input chunk.
//   `decodeIdleMs` is the rest of the download stage: no decoder at work (waiting for the
//   network, the index and header reads before the first block). `writeMs`: the wall-clock time
//   the writes of extracted members took. These stay null when no span came: decoders without a
//   clock (bzip2, legacy lzma) are not guessed at.

import type { FetchTimings } from '../core/fetch-result.js';
import type { ProgressEvent, ProgressListener } from '../core/types.js';

export type { FetchTimings };


const STAGES = ['input', 'lookup', 'plan', 'resolve', 'download', 'verify', 'publish', 'debuginfod'] as const;

/** Watches the events of one fetch; `wrap` the listener, then `finish()` when it returns. */
export class TimingCollector {
  private readonly t0 = Date.now();
  private readonly stageMs = new Map<string, number>();
  private readonly stageStart = new Map<string, number>();
  // Index reads and signature checks may run at the same time (resolve/deb-locations.ts): each is
  // kept as the span [event - ms, event], and the figure is the wall-clock time the spans cover.
  private readonly indexSpans: [number, number][] = [];
  private readonly signatureSpans: [number, number][] = [];
  private headerSignatureMs = 0;
  private readonly indexes = { network: 0, notModified: 0, cache: 0, bytesFromNetwork: 0 };
  private readonly decodeSpans: [number, number][] = [];
  private readonly writeSpans: [number, number][] = [];
  private firstResponse: number | null = null;
  private lastDone: number | null = null;

  wrap(inner: ProgressListener): ProgressListener {
    return (e: ProgressEvent) => {
      this.see(e);
      inner(e);
    };
  }

  private see(e: ProgressEvent): void {
    const now = Date.now();
    if (e.kind === 'stage') {
      if (e.ms === undefined) this.stageStart.set(e.stage, now);
      else this.stageMs.set(e.stage, (this.stageMs.get(e.stage) ?? 0) + e.ms);
    } else if (e.kind === 'index') {
      this.indexSpans.push([now - e.ms, now]);
      if (e.from === 'network') {
        this.indexes.network++;
        this.indexes.bytesFromNetwork += e.bytes;
      } else if (e.from === 'not-modified') this.indexes.notModified++;
      else this.indexes.cache++;
    } else if (e.kind === 'signature') {
      if (e.packageHeader) this.headerSignatureMs += e.ms;
      else this.signatureSpans.push([now - e.ms, now]);
    } else if (e.kind === 'download-start') {
      this.firstResponse ??= now;
    } else if (e.kind === 'download-done') {
      this.lastDone = now;
    } else if (e.kind === 'busy') {
      (e.what === 'decode' ? this.decodeSpans : this.writeSpans).push([e.from, e.to]);
    }
  }

  finish(fsyncMs: number | null): FetchTimings {
    const totalMs = Date.now() - this.t0;
    const ms = (s: string): number => this.stageMs.get(s) ?? 0;
    const staged = STAGES.reduce((a, s) => a + ms(s), 0);
    const dlStart = this.stageStart.get('download');
    const firstByteMs = this.firstResponse !== null && dlStart !== undefined ? Math.max(0, this.firstResponse - dlStart) : null;
    // A decode span may reach past the stage's own clock by a millisecond (two clocks): capped.
    const decodeBusyMs = this.decodeSpans.length > 0 ? Math.min(ms('download'), Math.round(covered(this.decodeSpans))) : null;
    return {
      totalMs,
      inputMs: ms('input'),
      lookupMs: ms('lookup'),
      planMs: ms('plan'),
      resolveMs: ms('resolve'),
      downloadMs: ms('download'),
      verifyMs: ms('verify'),
      publishMs: ms('publish'),
      debuginfodMs: ms('debuginfod'),
      otherMs: Math.max(0, totalMs - staged),
      indexReadMs: Math.round(covered(this.indexSpans)),
      signatureMs: Math.round(covered(this.signatureSpans)),
      headerSignatureMs: Math.round(this.headerSignatureMs),
      indexes: { ...this.indexes },
      firstByteMs,
      transferMs: this.firstResponse !== null && this.lastDone !== null ? Math.max(0, this.lastDone - this.firstResponse) : null,
      fsyncMs: this.stageMs.has('publish') ? fsyncMs : null,
      decodeBusyMs,
      decodeIdleMs: decodeBusyMs === null ? null : ms('download') - decodeBusyMs,
      writeMs: this.writeSpans.length > 0 ? Math.round(covered(this.writeSpans)) : null,
    };
  }
}

/** The time the spans cover together (overlaps counted once): their sum when none overlap. */
export function covered(spans: readonly (readonly [number, number])[]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

const fmt = (v: number | null): string => (v === null ? 'not measured' : `${(v / 1000).toFixed(3)} s`);

/** The `--timings` table: one line per phase (sub-phases indented under the stage they are part of). */
export function timingLines(t: FetchTimings, label: string): string[] {
  const rows: [string, number | null][] = [
    ['input', t.inputMs],
    ['lookup (cache)', t.lookupMs],
    ...(t.debuginfodMs > 0 ? ([['debuginfod', t.debuginfodMs]] as [string, number][]) : []),
    ['plan', t.planMs],
    ['resolve', t.resolveMs],
    ['  index read', t.indexReadMs],
    ['  signatures (gpgv)', t.signatureMs],
    ['download', t.downloadMs],
    ...(t.headerSignatureMs > 0 ? ([['  header signatures (gpgv)', t.headerSignatureMs]] as [string, number][]) : []),
    ['  first byte', t.firstByteMs],
    ['  transfer', t.transferMs],
    ['  decode busy', t.decodeBusyMs],
    ['  decode idle', t.decodeIdleMs],
    ['  write', t.writeMs],
    ['verify', t.verifyMs],
    ['publish', t.publishMs],
    ['  fsync', t.fsyncMs],
    ['other (lock, staging)', t.otherMs],
    ['total', t.totalMs],
  ];
  const ix = t.indexes;
  return [
    `kdbg: timings ${label}`,
    ...rows.map(([name, v]) => `kdbg:   ${name.padEnd(24)}${fmt(v).padStart(14)}${name === '  index read' ? `  (${ix.network} downloaded, ${ix.notModified} not modified, ${ix.cache} from cache; ${ix.bytesFromNetwork} bytes)` : ''}`),
  ];
}
