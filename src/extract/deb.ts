// .deb / .ddeb → members on disk: ar (formats/ar.ts) → data.tar.{xz,zst,gz,bz2,lzma,} → tar-stream.
//
// deb(5): member 1 is "debian-binary" ("2.x\n"), member 2 "control.tar[.ext]", member 3
// "data.tar[.ext]"; members whose name starts with "_" may sit in between and are ignored, and
// anything after data.tar is ignored. Only data.tar is decompressed; control.tar is skipped
// without decoding.
//
// Why symlinks get special care: Debian ships `usr/lib/debug/lib/modules/<rel>/vmlinux` and
// `usr/lib/debug/vmlinux-<rel>` as symlinks to `boot/vmlinux-<rel>`, and they are the LAST entries
// of the tar while the real file is entry 11. A caller that selects a symlink gets the target
// file written (at its own path) and the link recreated next to it. When the link comes after a
// target the walk has already passed, the walk needs a second pass (`reopen`) — one extra
// decompression of the archive's head, still far cheaper than unpacking everything.
//
// Early stop: once `stopAfter` selected regular files are written (and no link still waits for
// its target) the walk returns; the decompressor and the input are torn down, so a 5.7 GB tar is
// decoded only up to the end of the vmlinux.

import { resolve as resolvePath } from 'node:path';
import { extract as tarExtract } from 'tar-stream';
import { ByteSource, latin1Decoder } from '../core/byte-source.js';
import { BusySpans } from '../core/busy.js';
import { InputFormatError, isKdbgError, UnsafePathError } from '../core/errors.js';
import type { ProgressListener } from '../core/types.js';
import { readArEntries } from '../formats/ar.js';
import { resolveLinkTarget, toMember } from './deb-members.js';
import { decompressDebPayload, type DebCompressor } from './deb-payload.js';
import { createWriterState, writeMember, type WriterState } from './write-members.js';
import type { ArchiveMember, ExtractOptions, ExtractResult, WrittenMember } from './types.js';

export { debMemberPath, resolveLinkTarget } from './deb-members.js';
export { decompressDebPayload, xzBlocksParallel, type DebCompressor } from './deb-payload.js';

/** deb extraction options; `reopen` (in ExtractOptions) enables the second pass for links to already-passed files. */
export type DebExtractOptions = ExtractOptions;

const DATA_SUFFIX: Record<string, DebCompressor> = {
  '': 'none',
  '.xz': 'xz',
  '.zst': 'zstd',
  '.gz': 'gzip',
  '.bz2': 'bzip2',
  '.lzma': 'lzma',
};

// ---------------------------------------------------------------------------------------------
// The ar → tar walk shared by list and extract.

interface TarEntry {
  member: ArchiveMember;
  /** Offset of the entry's header in the uncompressed tar. */
  offset: number;
  body: AsyncIterable<Uint8Array> & { resume(): unknown };
}

interface DebWalk {
  compressor: DebCompressor;
  entries: AsyncGenerator<TarEntry>;
}

function debFormatError(label: string, msg: string, offset: number, expected: string, found: string): InputFormatError {
  return new InputFormatError(`${label}: ${msg}`, { file: label, format: 'deb', offset, expected, found });
}

/** Find data.tar.* in the ar container and return a tar-entry generator over it. */
async function openDebData(src: ByteSource, signal?: AbortSignal, decodeAhead?: number, onProgress?: ProgressListener): Promise<DebWalk> {
  const label = src.label;
  const ar = readArEntries(src);
  let index = 0;
  for (;;) {
    const r = await ar.next();
    if (r.done) throw debFormatError(label, 'deb has no data.tar member', src.position, 'data.tar[.xz|.zst|.gz|.bz2|.lzma]', 'end of archive');
    const { header, body } = r.value;
    const name = header.ar_name;
    index++;
    if (index === 1) {
      if (name !== 'debian-binary') {
        throw debFormatError(label, `first ar member is ${JSON.stringify(name)}, not debian-binary (not a Debian package)`, header.headerOffset, 'debian-binary', name);
      }
      const text = latin1Decoder.decode(await src.read(Math.min(header.ar_size, 64), 'debian-binary'));
      if (!/^2\.[0-9]+\n/.test(text)) {
        throw debFormatError(label, `unsupported deb format version ${JSON.stringify(text.split('\n')[0])}`, header.dataOffset, '2.x', text.trim());
      }
      continue;
    }
    if (name.startsWith('_') || name.startsWith('control.tar') || name === '/' || name === '//') continue;
    const m = /^data\.tar(\.xz|\.zst|\.gz|\.bz2|\.lzma)?$/.exec(name);
    if (!m) {
      throw debFormatError(label, `unexpected ar member ${JSON.stringify(name)} before data.tar`, header.headerOffset, 'control.tar*, _* or data.tar*', name);
    }
    const compressor = DATA_SUFFIX[m[1] ?? ''] ?? 'none';
    return { compressor, entries: walkTar(label, compressor, header.dataOffset, body, ar, signal, decodeAhead, header.ar_size, onProgress) };
  }
}

async function* walkTar(
  label: string,
  compressor: DebCompressor,
  dataOffset: number,
  body: AsyncGenerator<Uint8Array>,
  ar: AsyncGenerator<unknown>,
  signal?: AbortSignal,
  decodeAhead?: number,
  compressedSize?: number,
  onProgress?: ProgressListener,
): AsyncGenerator<TarEntry> {
  const ex = tarExtract();
  let fed = 0;
  let feedError: unknown = null;
  let stopped = false;
  const decoded = decompressDebPayload(compressor, body, label, decodeAhead, compressedSize, new BusySpans(onProgress, 'decode'));
  const feeder = (async () => {
    const it = decoded[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (stopped) break;
        const r = await it.next();
        if (r.done) break;
        // The walk may have stopped (early stop, error) while we waited for the decoder: a write
        // to a destroyed extractor returns false and would wait for a 'drain' that never comes.
        if (stopped || ex.destroyed) break;
        fed += r.value.length;
        if (!ex.write(r.value) && !ex.destroyed) {
          await new Promise<void>((resolve) => {
            const go = (): void => {
              ex.off('drain', go);
              ex.off('close', go);
              resolve();
            };
            ex.on('drain', go);
            ex.on('close', go);
          });
        }
      }
      if (!stopped) ex.end(undefined);
    } catch (e) {
      feedError = e;
      ex.destroy(e instanceof Error ? e : new Error(String(e)));
    } finally {
      // Tearing the decoder down may rethrow its error; the walk already has it (or stopped).
      await Promise.resolve(it.return?.(undefined)).catch(() => undefined);
    }
  })();
  try {
    for await (const entry of ex) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
      const offset = entry.offset;
      const member = toMember(entry.header, label, offset);
      if (member.path === '') {
        entry.resume();
        continue;
      }
      yield { member, offset, body: entry as unknown as TarEntry['body'] };
      entry.resume();
    }
  } catch (e) {
    if (feedError !== null) throw wrapError(feedError, label, compressor, dataOffset, fed);
    throw wrapError(e, label, compressor, dataOffset, fed);
  } finally {
    stopped = true;
    if (!ex.destroyed) ex.destroy();
    await feeder;
    await ar.return(undefined);
  }
  if (feedError !== null) throw wrapError(feedError, label, compressor, dataOffset, fed);
}

function wrapError(e: unknown, label: string, compressor: DebCompressor, dataOffset: number, fed: number): unknown {
  if (isKdbgError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/tar|Unexpected end of data|header/i.test(msg)) {
    return new InputFormatError(`${label}: data.tar is corrupt near tar offset ${fed}: ${msg}`, { file: label, format: 'tar', offset: fed, expected: 'a valid tar stream', found: msg }, { cause: e });
  }
  return new InputFormatError(`${label}: data.tar ${compressor} stream is corrupt or truncated (member at file offset ${dataOffset}, after ${fed} decoded bytes): ${msg}`, {
    file: label,
    format: compressor,
    offset: dataOffset,
    expected: `a valid ${compressor} stream`,
    found: msg,
  }, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// Public API

/** List every member of a deb's data.tar in archive order (the root "./" entry is left out). */
export async function* listDeb(src: ByteSource): AsyncGenerator<ArchiveMember> {
  const { entries } = await openDebData(src);
  try {
    for await (const e of entries) yield e.member;
  } finally {
    await src.close();
  }
}

interface WalkPlan {
  /** Archive paths to write even though the selector did not pick them (link targets). */
  extraTargets: Set<string>;
}

/**
 * Walk the package and write the selected members under destDir. Selected symlinks and hardlinks
 * get their target file written and the link recreated (a symlink only when it stays inside
 * destDir). Returns what was written, in archive order.
 */
export async function extractDeb(src: ByteSource, opts: DebExtractOptions): Promise<ExtractResult> {
  const label = opts.label || src.label;
  const destDir = resolvePath(opts.destDir);
  const state = await createWriterState(destDir, opts.onProgress);
  const first = await extractPass(src, opts, label, destDir, state, { extraTargets: new Set() });
  if (first.missed.size === 0 || !opts.reopen) {
    if (first.missed.size > 0) {
      const [link, target] = [...first.missed][0]!;
      throw new InputFormatError(
        `${label}: ${link} links to ${target}, which comes earlier in the archive and was not selected`,
        { file: label, format: 'deb', expected: `${target} selected too`, found: `link ${link}` },
        { hint: `select ${target} as well (or the glob that matches both)` },
      );
    }
    return first.result;
  }
  // Second pass: write the targets the first pass had already passed, then link.
  const again = new ByteSource(opts.reopen(), label, 'package');
  const second = await extractPass(again, { ...opts, select: () => false, stopAfter: new Set(first.missed.values()).size }, label, destDir, state, { extraTargets: new Set(first.missed.values()) });
  const written = [...first.result.written, ...second.result.written];
  for (const link of first.pendingLinks) {
    if (first.missed.has(link.path)) written.push(await writeLink(destDir, link, label, state));
  }
  return { ...first.result, written, stoppedEarly: first.result.stoppedEarly || second.result.stoppedEarly };
}

/** Recreate a selected link (its target is already written in this extraction). */
async function writeLink(destDir: string, link: ArchiveMember, label: string, state: WriterState): Promise<WrittenMember> {
  if (link.type === 'hardlink') {
    // tar hardlink targets are archive paths, as writeMember expects.
    return writeMember(destDir, { ...link, linkTarget: resolveLinkTarget(link) }, null, { label, state });
  }
  return writeMember(destDir, link, null, { label, state });
}

interface PassResult {
  result: ExtractResult;
  /** Selected links whose target the pass walked by unwritten: link path → target path. */
  missed: Map<string, string>;
  pendingLinks: ArchiveMember[];
}

async function extractPass(src: ByteSource, opts: DebExtractOptions, label: string, destDir: string, state: WriterState, plan: WalkPlan): Promise<PassResult> {
  const written: WrittenMember[] = [];
  const links = new Map<string, string>(); // every symlink seen: path → resolved target (for chains)
  const seenFiles = new Map<string, boolean>(); // regular file path → written?
  const pendingTargets = new Map<string, ArchiveMember[]>(); // target path → links waiting for it
  const pendingLinks: ArchiveMember[] = [];
  const missed = new Map<string, string>();
  let filesWritten = 0;
  let stoppedEarly = false;
  let compressor: DebCompressor = 'none';

  const resolveChain = (p: string, m: ArchiveMember): string => {
    let cur = p;
    for (let i = 0; i < 40; i++) {
      // Resolve the longest prefix that is a known symlink (links to directories, too).
      const parts = cur.split('/');
      let changed = false;
      for (let k = parts.length; k > 0; k--) {
        const prefix = parts.slice(0, k).join('/');
        const t = links.get(prefix);
        if (t !== undefined) {
          cur = [t, ...parts.slice(k)].filter((x) => x !== '').join('/');
          changed = true;
          break;
        }
      }
      if (!changed) return cur;
    }
    throw new UnsafePathError(`${label}: symlink ${m.path} loops`, { file: label, format: 'tar', expected: 'a link chain that ends', found: m.linkTarget ?? '' });
  };

  const done = (): boolean => opts.stopAfter !== undefined && filesWritten >= opts.stopAfter && pendingTargets.size === 0;

  const walk = await openDebData(src, opts.signal, opts.decodeAhead, opts.onProgress);
  compressor = walk.compressor;
  try {
    for await (const { member: m, offset, body } of walk.entries) {
      if (m.type === 'symlink' || m.type === 'hardlink') {
        const raw = resolveLinkTarget(m);
        if (m.type === 'symlink' && raw !== null) links.set(m.path, raw);
        if (!opts.select(m)) continue;
        if (raw === null) {
          throw new UnsafePathError(`${label}: ${m.type} ${m.path} -> ${m.linkTarget ?? ''} leads out of the archive`, { file: label, format: 'tar', offset, expected: 'a target inside the package', found: m.linkTarget ?? '' });
        }
        const target = m.type === 'symlink' ? resolveChain(raw, m) : raw;
        const seen = seenFiles.get(target);
        if (seen === true) {
          written.push(await writeLink(destDir, m, label, state));
        } else if (seen === false) {
          missed.set(m.path, target);
          pendingLinks.push(m);
        } else {
          const waiting = pendingTargets.get(target) ?? [];
          waiting.push(m);
          pendingTargets.set(target, waiting);
        }
        continue;
      }
      if (m.type === 'char' || m.type === 'block' || m.type === 'fifo' || m.type === 'socket') {
        if (opts.select(m)) {
          throw new UnsafePathError(`${label}: member ${m.path} is a ${m.type} device/special file; kdbg does not create those`, { file: label, format: 'tar', offset, expected: 'file, directory or link', found: m.type });
        }
        continue;
      }
      if (m.type === 'dir') {
        if (opts.select(m)) written.push(await writeMember(destDir, m, null, { label, state }));
        continue;
      }
      const waiting = pendingTargets.get(m.path);
      const wanted = opts.select(m) || plan.extraTargets.has(m.path) || waiting !== undefined;
      seenFiles.set(m.path, wanted);
      if (!wanted) continue;
      opts.onProgress?.({ kind: 'extract', name: label, member: m.path, bytes: m.size });
      // No fsync here: the cache fsyncs the entry tree when it publishes, and unpack does not need it.
      written.push(await writeMember(destDir, m, body, { label, state }));
      filesWritten++;
      if (waiting) {
        pendingTargets.delete(m.path);
        for (const link of waiting) written.push(await writeLink(destDir, link, label, state));
      }
      if (done()) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    await walk.entries.return(undefined);
    await src.close();
  }
  if (pendingTargets.size > 0) {
    const [target, waiting] = [...pendingTargets][0]!;
    throw new InputFormatError(`${label}: ${waiting[0]?.path ?? 'a link'} points to ${target}, which is not a file in the package`, {
      file: label,
      format: 'deb',
      expected: `a regular file ${target}`,
      found: 'no such member',
    });
  }
  return { result: { kind: 'deb', compressor, written, stoppedEarly }, missed, pendingLinks };
}
