// The contract every package extractor (RPM via cpio, deb via ar + tar) fulfils, so fetch,
// unpack and the cache do not care which one ran.

import type { ProgressListener } from '../core/types.js';
import type { RpmPackageHead } from '../formats/rpm.js';

export type MemberType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One archive member, as `kdbg unpack --list --json` prints it. */
export interface ArchiveMember {
  /** Path as in the archive minus a leading `./` (and `/`). */
  path: string;
  size: number;
  /** Permission bits and type bits as stored (st_mode style). */
  mode: number;
  type: MemberType;
  /** Symlink or hardlink target, else null. */
  linkTarget: string | null;
}

export type MemberSelector = (m: ArchiveMember) => boolean;

export interface ExtractOptions {
  /** Directory the selected members are written under (created if missing). */
  destDir: string;
  /** Which members to write. Symlinks among them are resolved inside the archive (see deb). */
  select: MemberSelector;
  /**
   * Stop reading the archive (and decompressing) once this many selected regular files have been
   * written. Undefined: walk to the end.
   */
  stopAfter?: number;
  /**
   * RPM: lower `stopAfter` to the number of regular files the header lists that `select` keeps, so
   * a wanted member the package lacks (an out-of-tree module asked for beside the vmlinux) does not
   * make the walk decode the payload to its end.
   */
  stopAtListed?: boolean;
  /** For messages: the package file name or URL. */
  label: string;
  /**
   * Reads the package again from its first byte. Lets an extractor take a second pass when a
   * wanted symlink points at a member the walk has already passed (Debian's vmlinux links).
   */
  reopen?: () => AsyncIterable<Uint8Array>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /**
   * Streaming multi-block xz (deb data.tar.xz): decoded blocks held ahead of the consumer, each
   * up to a block's size (~24 MiB in Debian's -dbg package). Default: one per core, what a
   * CPU-bound local walk needs. 0: none held at all: one decoder streams the payload on its own
   * thread (xz-thread.ts), what a download that sets the pace needs (the fetch pipeline's whole
   * downloads: a --keep-packages fetch of Debian's -dbg package peaked at 179 MiB instead of
   * 209-214 MiB with 1, in the same 25.4-25.6 s; docs/speed.md).
   */
  decodeAhead?: number;
  /**
   * RPM: checks the package head (lead, signature and main header) before any member is written;
   * the pipeline's header signature check (issue 16, resolve/rpm-header-trust.ts). When given,
   * every member written is anchored to that header: a regular file must match its FILEDIGESTS
   * entry (whatever FILEDIGESTALGO), a symlink its FILELINKTOS, and a member the header does not
   * list is refused (IntegrityError). Partial and streaming extraction both honour it.
   */
  rpmHeadCheck?: (head: RpmPackageHead) => Promise<void>;
}

export interface WrittenMember {
  member: ArchiveMember;
  /** Absolute path written. */
  path: string;
  /** sha256 of the written bytes (regular files), else null. */
  sha256: string | null;
}

export interface ExtractResult {
  kind: 'rpm' | 'deb';
  /** Payload compressor as named by the package (`xz`, `zstd`, `gzip`, `bzip2`, `lzma`, `none`). */
  compressor: string;
  written: WrittenMember[];
  /** True when the walk stopped before the end of the archive because all wanted members were written. */
  stoppedEarly: boolean;
}
