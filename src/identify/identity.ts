// What identify learns about a dump (DumpIdentification) and how each source of facts fills it
// in: VMCOREINFO, the linux_banner found by a scan, the kernel's own utsname. Shared by the
// per-format readers (elf.ts, kdump.ts, dmesg.ts) and the dispatcher (dispatch.ts).

import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, InputNotFoundError, isKdbgError } from '../core/errors.js';
import type { DumpIdentity } from '../core/types.js';
import type { ElfNote } from '../formats/elf.js';
import { FlatIndexAccess } from '../formats/flat-index.js';
import type { NewUtsname } from '../formats/kdump.js';
import { parseVmcoreinfo, vmcoreinfoFacts } from '../formats/vmcoreinfo.js';
import { packageVersionFrom } from './banner.js';
import type { BannerHit } from './banner.js';
import type { WholeFileCompression } from './compressed.js';

/** Which part of a `makedumpfile --split` set a file is. */
export interface SplitInfo {
  /** 1-based; null when it cannot be told (stdin, sibling parts not found). */
  part: number | null;
  parts: number | null;
  /** The pfn range [startPfn, endPfn) stored in this part (decimal strings: may exceed 2^53). */
  startPfn: string;
  endPfn: string;
}

/** DumpIdentity plus what else identify learns (documented in docs/identify.md). */
export interface DumpIdentification extends DumpIdentity {
  /** Distribution package version from the banner/utsname ("6.1.192-2"), else null. */
  packageVersion: string | null;
  /** Number of NT_PRSTATUS notes (CPUs that saved registers), or the kdump header's nr_cpus. */
  cpus: number | null;
  /** For flattened input: the format inside ("elf64", "kdump-compressed"); else same as format. */
  container: string;
  /** kdump-compressed page compression: zlib, lzo, snappy, zstd, none. */
  compression: string | null;
  /** kdump-compressed header utsname (QEMU fills only machine). */
  utsname: NewUtsname | null;
  split: SplitInfo | null;
  /** Whole-file compression the dump was read through (vmcore.gz …), else null. */
  compressed: WholeFileCompression | null;
}

/** Banner scan bound (files and standard input). */
export const BANNER_SCAN_LIMIT = 256 << 20;

/** How the bytes being identified were reached. */
export interface Ctx {
  file: boolean;
  flattened?: boolean;
  /** The flattened file itself (for fallbacks that need page data beyond the window). */
  flatFile?: RandomAccess;
  /** False: do not scan the directory for a split part's siblings (identifyDump's option). */
  splitSiblings?: boolean;
  /** False: do not read the kernel's utsname from memory when the release is known (identifyDump's option). */
  utsname?: boolean;
}

export function emptyIdentity(path: string, format: DumpIdentity['format']): DumpIdentification {
  return {
    path,
    format,
    release: null,
    arch: null,
    buildId: null,
    crashTime: null,
    pageSize: null,
    kernelOffset: null,
    banner: null,
    source: null,
    vmcoreinfo: null,
    packageVersion: null,
    cpus: null,
    container: format,
    compression: null,
    utsname: null,
    split: null,
    compressed: null,
  };
}

export function applyVmcoreinfo(id: DumpIdentification, entries: Record<string, string>): void {
  const f = vmcoreinfoFacts(entries);
  id.vmcoreinfo = entries;
  if (f.osrelease) {
    id.release = f.osrelease;
    id.source = 'vmcoreinfo';
  }
  id.buildId = f.buildId;
  id.pageSize = f.pageSize ?? id.pageSize;
  id.kernelOffset = f.kernelOffset;
  if (f.crashTime !== null) id.crashTime = new Date(f.crashTime * 1000).toISOString();
}

export function applyBanner(id: DumpIdentification, hit: BannerHit): void {
  id.banner = hit.banner;
  if (id.release === null) {
    id.release = hit.release;
    id.source = 'banner-scan';
  }
  id.packageVersion ??= packageVersionFrom(hit.banner, id.release);
  id.arch ??= archFromRelease(id.release);
}

/** Architecture spelled in the release string (el7 `.x86_64`, Debian `-amd64`), else null. */
export function archFromRelease(release: string | null): string | null {
  if (!release) return null;
  const m = /[.-](x86_64|aarch64|ppc64le|ppc64|s390x|i686|i586|i386|armv7hl|riscv64)(?:\+\w+)?$/.exec(release);
  if (m) return m[1]!;
  const deb: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', '686': 'i686', '686-pae': 'i686', ppc64el: 'ppc64le', s390x: 's390x', armmp: 'armv7l', 'armmp-lpae': 'armv7l' };
  for (const [k, v] of Object.entries(deb)) if (release.endsWith(`-${k}`) || release.endsWith(`-cloud-${k}`) || release.endsWith(`-rt-${k}`)) return v;
  if (/-(generic|lowlatency|aws|azure|gcp|kvm|oracle)$/.test(release)) return null;
  return null;
}

/** utsname read from the kernel's memory (init_uts_ns). */
export function applyUtsname(id: DumpIdentification, u: NewUtsname): void {
  id.utsname ??= u;
  if (id.utsname.version === '' && id.utsname.release === '') id.utsname = { ...u, machine: id.utsname.machine || u.machine };
  if (id.release === null && u.release) {
    id.release = u.release;
    id.source = 'utsname';
  }
  id.arch ??= u.machine || null;
  id.packageVersion ??= packageVersionFrom(u.version, id.release);
}

/** Records kdbg indexes at most to reach page data in a flattened file (~10 GB of 64 KiB records). */
const FLAT_INDEX_MAX_RECORDS = 200_000;

/** Where page data can be read: the file itself, a record index of a flattened file, or nothing (stdin flattened). */
export async function memorySource(ra: RandomAccess, ctx: Ctx): Promise<RandomAccess | null> {
  if (ctx.flatFile) return optional(() => FlatIndexAccess.build(ctx.flatFile!, FLAT_INDEX_MAX_RECORDS));
  if (ctx.flattened) return null;
  return ra;
}

/** Enrichments must not turn a good identification into an error. */
export async function optional<T>(f: () => Promise<T | null>): Promise<T | null> {
  try {
    return await f();
  } catch {
    return null;
  }
}

export function vmcoreinfoFromNotes(notes: readonly ElfNote[]): Record<string, string> | null {
  const n = notes.find((x) => x.name === 'VMCOREINFO');
  if (!n) return null;
  return parseVmcoreinfo(n.desc, 'VMCOREINFO note', n.offset);
}

export function errnoText(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? String(e);
}

/** Any non-KdbgError from reading (EIO, EISDIR on read) becomes a one-line input error. */
export function wrapUnexpected(e: unknown, path: string): unknown {
  if (isKdbgError(e)) return e;
  const code = (e as { code?: string }).code;
  if (typeof code === 'string') return new InputNotFoundError(`${path}: cannot read (${errnoText(e)})`, { details: { file: path }, cause: e });
  if (e instanceof RangeError) {
    return new InputFormatError(`${path}: malformed dump (${e.message})`, { file: path, format: 'dump' }, { cause: e });
  }
  return e;
}

/** Human-readable one-screen summary (the CLI prints it). */
export function formatIdentity(id: DumpIdentification): string[] {
  const lines: string[] = [];
  const fmt = id.format === 'flattened' || (id.format === 'split' && id.container !== 'kdump-compressed' && id.container !== 'split') ? `${id.format} (${id.container})` : id.format;
  lines.push(`dump:           ${id.path}`);
  lines.push(`format:         ${fmt}${id.compression ? `, pages ${id.compression}` : ''}`);
  if (id.split) lines.push(`split:          part ${id.split.part ?? '?'} of ${id.split.parts ?? '?'} (pfn ${id.split.startPfn}–${id.split.endPfn})`);
  lines.push(`release:        ${id.release ?? 'unknown'}${id.source ? `  (from ${id.source})` : ''}`);
  lines.push(`arch:           ${id.arch ?? 'unknown'}`);
  lines.push(`build-id:       ${id.buildId ?? 'none'}`);
  if (id.utsname?.version) lines.push(`uts version:    ${id.utsname.version}`);
  if (id.packageVersion) lines.push(`package:        ${id.packageVersion}`);
  lines.push(`crash time:     ${id.crashTime ?? 'not recorded'}`);
  if (id.pageSize !== null) lines.push(`page size:      ${id.pageSize}`);
  if (id.kernelOffset !== null) lines.push(`kernel offset:  0x${id.kernelOffset}`);
  if (id.cpus !== null) lines.push(`cpus:           ${id.cpus}`);
  if (id.banner) lines.push(`banner:         ${id.banner}`);
  return lines;
}
