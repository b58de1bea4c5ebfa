// RPM → members, in one streaming pipeline: bytes as they arrive (file or download) → lead and
// headers → payload decompressor (chosen from PAYLOADCOMPRESSOR, checked against the magic) →
// cpio walk → only the selected members are written. The walk stops, and the decoder and the
// input are torn down, as soon as `stopAfter` selected regular files are written.

import { createHash } from 'node:crypto';
import { ByteSource } from '../core/byte-source.js';
import { InputFormatError, IntegrityError } from '../core/errors.js';
import { boundedLinkSize, cpioMemberType, walkCpio, type CpioHeader, type StrippedEntry } from '../formats/cpio.js';
import { readRpmHead, type RpmFileInfo, type RpmPackageHead } from '../formats/rpm.js';
import { BufferReturn } from '../core/buffer-return.js';
import { BusySpans } from '../core/busy.js';
import type { ProgressListener } from '../core/types.js';
import { compressorFromName, decompressStream, detectCompressor, type Compressor } from './decompress.js';
import { checkAnchoredLink, expectedFileDigest } from './rpm-anchor.js';
import type { ArchiveMember, ExtractOptions, ExtractResult, WrittenMember } from './types.js';
import { createWriterState, readSmall, writeMember } from './write-members.js';

const PGPHASHALGO_SHA256 = 8;

/** One cpio entry seen through the RPM header. */
interface RpmEntry {
  cpio: CpioHeader;
  /** As `kdbg unpack --list` shows it: sizes/modes from the header when it lists the file. */
  member: ArchiveMember;
  info: RpmFileInfo | null;
  body: AsyncIterable<Uint8Array>;
}

interface OpenPayload {
  head: RpmPackageHead;
  compressor: Compressor;
  entries: AsyncGenerator<RpmEntry>;
  /** Read the rest of the payload (after the trailer) and check PAYLOADDIGEST if it is SHA-256. */
  finish(): Promise<void>;
  /** Tear down decoder and input (early stop or error). */
  close(): Promise<void>;
}

/** Choose the payload decoder: the tag says what it should be; the magic must agree. */
export function choosePayloadCompressor(tag: string | null, head: Uint8Array, label: string): Compressor {
  const detected = detectCompressor(head);
  if (tag === null) {
    // rpm's default when the tag is absent is gzip, and its gzip reader passes plain data through.
    return detected === 'none' ? 'none' : 'gzip';
  }
  const kind = compressorFromName(tag);
  if (kind === null) {
    throw new InputFormatError(`${label}: unsupported RPM payload compressor "${tag}" (kdbg reads xz, zstd, gzip, bzip2, lzma, none)`, {
      file: label,
      format: 'rpm',
      found: tag,
      expected: 'xz, zstd, gzip, bzip2, lzma',
    });
  }
  return kind;
}

/** Payloads that unpack to at least this much are decoded from a worker thread (decompress.ts). */
const OFF_THREAD_BYTES = 256 << 20;

async function openPayload(src: ByteSource, onProgress?: ProgressListener): Promise<OpenPayload> {
  const label = src.label;
  const head = await readRpmHead(src);
  const compressor = choosePayloadCompressor(head.info.payloadCompressor, await src.peek(13), label);

  // Hash the compressed payload on its way to the decoder (PAYLOADDIGEST covers it).
  const hash = createHash('sha256');
  let compressedDone = false;
  const hashed = (async function* () {
    for await (const c of src.rest()) {
      hash.update(c);
      yield c;
    }
    compressedDone = true;
  })();
  const files = head.info.files;
  // A big payload (el7 kernel-debuginfo: 2 GB from one xz block) gets a decoder thread of its own.
  const unpacked = files.reduce((n, f) => n + f.size, 0);
  // The decoder thread's buffers come back to it once the cpio walk is past them (buffer-return.ts):
  // the walker and writeMember hold no view across their next read (readSmall copies).
  const returns = new BufferReturn();
  const payload = new ByteSource(decompressStream(compressor, hashed, label, { offThread: unpacked >= OFF_THREAD_BYTES, returns, busy: new BusySpans(onProgress, 'decode') }), label, 'cpio payload', {
    release: (c) => returns.giveBack(c),
  });

  const byPath = new Map<string, RpmFileInfo>();
  for (const f of files) byPath.set(f.path, f);

  // The stripped (07070X) entries are only legitimate in packages that announce the large-file
  // format; elsewhere the walker refuses them.
  const walk = walkCpio(payload, head.info.longFileSizes ? { stripped: strippedResolver(head, label) } : {});
  async function* entries(): AsyncGenerator<RpmEntry> {
    for await (const { header, body } of walk) {
      const path = memberPath(header.name);
      const info = byPath.get(path) ?? null;
      const type = cpioMemberType(header.c_mode);
      if (type === null) {
        throw new InputFormatError(`${label}: cpio member ${header.name} at payload offset ${header.offset} has unknown file type (mode ${header.c_mode.toString(8)})`, {
          file: label,
          format: 'cpio',
          offset: header.offset,
        });
      }
      let linkTarget: string | null = null;
      let data = body;
      if (type === 'symlink') {
        boundedLinkSize(header.c_filesize, { label, offset: header.offset, name: header.name });
        linkTarget = await readSmall(body, 4096, label, header.name);
        data = (async function* () {})();
      }
      const member: ArchiveMember = {
        path,
        size: info && info.mode === header.c_mode ? info.size : type === 'file' || type === 'symlink' ? header.c_filesize : 0,
        mode: header.c_mode,
        type,
        linkTarget,
      };
      yield { cpio: header, member, info, body: data };
    }
  }

  return {
    head,
    compressor,
    entries: entries(),
    async finish() {
      // Whatever follows the trailer (padding) must still decode cleanly; then the digest.
      for await (const _ of payload.rest()) void _;
      if (!compressedDone) return;
      const want = head.info.payloadDigest;
      const algo = head.info.payloadDigestAlgo ?? PGPHASHALGO_SHA256;
      if (want && algo === PGPHASHALGO_SHA256) {
        const got = hash.digest('hex');
        if (got !== want.toLowerCase()) {
          throw new IntegrityError(`${label}: payload sha256 ${got} differs from the package header's PAYLOADDIGEST ${want}`, {
            details: { file: label, expected: want, found: got },
          });
        }
      }
    },
    async close() {
      await payload.close().catch(() => undefined);
      await src.close().catch(() => undefined);
    },
  };
}

/** Archive path minus a leading `./` (an absolute name keeps its `/`, so writers can refuse it). */
function memberPath(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

/** For rpm ≥ 4.12 stripped payloads (07070X): name, mode and data size come from the header. */
function strippedResolver(head: RpmPackageHead, label: string): (fx: number, offset: number) => StrippedEntry {
  const files = head.info.files;
  // Hard-link sets: equal (device, inode). Only the last member (by file index) carries data.
  const lastOfSet = new Map<string, number>();
  const setSize = new Map<string, number>();
  files.forEach((f, i) => {
    if (f.inode === null) return;
    const k = `${f.device}:${f.inode}`;
    lastOfSet.set(k, i);
    setSize.set(k, (setSize.get(k) ?? 0) + 1);
  });
  return (fx, offset) => {
    const f = files[fx];
    if (!f) {
      throw new InputFormatError(`${label}: stripped cpio entry at payload offset ${offset} names file index ${fx}, but the header lists ${files.length} files`, {
        file: label,
        format: 'cpio',
        offset,
      });
    }
    const type = cpioMemberType(f.mode);
    const k = f.inode === null ? null : `${f.device}:${f.inode}`;
    const nlink = k === null ? 1 : (setSize.get(k) ?? 1);
    let filesize = 0;
    if (type === 'file') filesize = k !== null && nlink > 1 && lastOfSet.get(k) !== fx ? 0 : f.size;
    else if (type === 'symlink') filesize = f.size;
    return { name: `./${f.path}`, mode: f.mode, filesize, nlink, ino: f.inode ?? fx };
  };
}

/** Every member of the package, in payload order. */
export async function* listRpm(src: ByteSource): AsyncGenerator<ArchiveMember> {
  const p = await openPayload(src);
  let complete = false;
  try {
    for await (const e of p.entries) yield e.member;
    await p.finish();
    complete = true;
  } finally {
    if (!complete) await p.close();
  }
}

/** Package metadata without touching the payload (NEVRA, compressor, file list). */
export async function readRpmInfo(src: ByteSource): Promise<RpmPackageHead> {
  try {
    return await readRpmHead(src);
  } finally {
    await src.close().catch(() => undefined);
  }
}

const RPMFILE_GHOST = 1 << 6;

/** opts.stopAfter, lowered by opts.stopAtListed to what the header says can be written. */
function listedStop(head: RpmPackageHead, opts: ExtractOptions): number | undefined {
  if (opts.stopAfter === undefined || !opts.stopAtListed) return opts.stopAfter;
  // %ghost files are listed but have no payload entry.
  const listed = head.info.files.filter((f) => (f.flags & RPMFILE_GHOST) === 0 && cpioMemberType(f.mode) === 'file' && opts.select({ path: f.path, size: f.size, mode: f.mode, type: 'file', linkTarget: null })).length;
  // None listed: stop at once (an empty file list says nothing: walk as asked).
  return head.info.files.length > 0 ? Math.min(opts.stopAfter, listed) : opts.stopAfter;
}

export async function extractRpm(src: ByteSource, opts: ExtractOptions): Promise<ExtractResult> {
  const label = opts.label;
  const p = await openPayload(src, opts.onProgress);
  // The header signature is checked before anything (even the target directory) is made.
  const anchored = opts.rpmHeadCheck !== undefined;
  if (opts.rpmHeadCheck) {
    try {
      await opts.rpmHeadCheck(p.head);
    } catch (e) {
      await p.close();
      throw e;
    }
  }
  const state = await createWriterState(opts.destDir, opts.onProgress);
  const written: WrittenMember[] = [];
  let regular = 0;
  const stopAfter = listedStop(p.head, opts);
  let stoppedEarly = false;
  let complete = false;
  // Hard links in newc: every link has a header, only the last one carries the data. Selected
  // links seen before the data wait here, keyed by (dev, ino), and are linked to it afterwards.
  const pendingLinks = new Map<string, ArchiveMember[]>();

  const write = async (m: ArchiveMember, body: AsyncIterable<Uint8Array> | null, info: RpmFileInfo | null): Promise<WrittenMember> => {
    const expect = m.type === 'file' ? expectedFileDigest(p.head, info, m.path, label, anchored) : undefined;
    if (anchored && m.type === 'symlink') checkAnchoredLink(info, m.path, m.linkTarget, label);
    const w = await writeMember(opts.destDir, m, body, { label, state, ...(expect === undefined ? {} : { expectDigest: expect }) });
    opts.onProgress?.({ kind: 'extract', name: label, member: m.path, bytes: m.size });
    return w;
  };

  try {
    for await (const e of p.entries) {
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
      const { cpio, member, info, body } = e;
      const selected = opts.select(member);
      if (member.type === 'file' && cpio.c_nlink > 1) {
        const key = `${cpio.c_devmajor}:${cpio.c_devminor}:${cpio.c_ino}`;
        const headerSize = info?.size ?? 0;
        if (cpio.c_filesize === 0 && headerSize > 0) {
          // Data comes with a later link of the same set.
          if (selected) pendingLinks.set(key, [...(pendingLinks.get(key) ?? []), member]);
          continue;
        }
        const waiting = pendingLinks.get(key) ?? [];
        pendingLinks.delete(key);
        if (!selected && waiting.length === 0) continue;
        // Write the data under the first wanted name, then hard-link the others to it.
        const names = selected ? [member, ...waiting] : waiting;
        const first = names[0]!;
        const w = await write({ ...first, size: cpio.c_filesize, type: 'file' }, body, info);
        written.push(w);
        regular++;
        for (const other of names.slice(1)) {
          const l = await writeMember(opts.destDir, { ...other, type: 'hardlink', linkTarget: first.path }, null, { label, state });
          written.push({ member: other, path: l.path, sha256: w.sha256 });
          regular++;
        }
      } else if (selected) {
        const m = member.type === 'file' ? { ...member, size: cpio.c_filesize } : member;
        written.push(await write(m, member.type === 'file' ? body : null, info));
        if (member.type === 'file') regular++;
      }
      if (stopAfter !== undefined && regular >= stopAfter) {
        stoppedEarly = true;
        break;
      }
    }
    if (!stoppedEarly) {
      if (pendingLinks.size > 0) {
        const names = [...pendingLinks.values()].flat().map((m) => m.path);
        throw new InputFormatError(`${label}: hard links without data in the payload: ${names.slice(0, 5).join(', ')}`, { file: label, format: 'cpio' });
      }
      await p.finish();
    }
    complete = true;
  } finally {
    if (stoppedEarly || !complete) await p.close();
  }
  return { kind: 'rpm', compressor: p.compressor, written, stoppedEarly };
}
