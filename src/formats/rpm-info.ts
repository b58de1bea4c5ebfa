// What kdbg needs from an RPM package, in one struct: name, version, payload format and
// compressor, digests, and the file list.

import { boundedLength, type ByteSource } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { FORMAT, parseRpmLead, readRpmHeader, RPM_LEAD_SIZE, type RpmHeader, type RpmLead, RpmSigTag, RpmTag } from './rpm-header.js';
import { headerInt, headerIntArray, headerString, headerStringArray } from './rpm-tags.js';

// ------------------------------------------------------------------------------------------------
// What kdbg needs from a package, in one struct.

export interface RpmFileInfo {
  /** Path as installed, without the leading `/` (cpio names are `./` + this). */
  path: string;
  size: number;
  /** st_mode as stored (FILEMODES, INT16). */
  mode: number;
  /** Symlink target, "" when none. */
  linkTo: string;
  flags: number;
  /** Hex digest of the file's content (FILEDIGESTS) in RpmInfo.fileDigestAlgo, "" when none. */
  digest: string;
  /** (FILEDEVICES, FILEINODES) identify hard-link sets; null when the package lacks them. */
  device: number | null;
  inode: number | null;
}

export interface RpmInfo {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  /** name-[epoch:]version-release.arch */
  nevra: string;
  payloadFormat: string;
  /** As tagged; null when absent (uncompressed, or the old default gzip). */
  payloadCompressor: string | null;
  payloadFlags: string | null;
  /** Hex digest of the compressed payload (PAYLOADDIGEST), and its algorithm (8 = SHA-256). */
  payloadDigest: string | null;
  payloadDigestAlgo: number | null;
  /** Uncompressed payload size from the signature (PAYLOADSIZE / LONGARCHIVESIZE), when present. */
  archiveSize: number | null;
  /** True for v6 / LONGFILESIZES packages whose payload is the stripped cpio (07070X). */
  longFileSizes: boolean;
  /** PGPHASHALGO of FILEDIGESTS: 1 MD5 (the default when absent), 2 SHA1, 8 SHA256, … */
  fileDigestAlgo: number;
  files: RpmFileInfo[];
}

/** Bound on files in one package (the largest kernel debuginfo has ~5000). */
export const RPM_MAX_FILES = 1_000_000;

export function rpmInfo(sig: RpmHeader, h: RpmHeader): RpmInfo {
  const req = (tag: number, name: string): string => {
    const s = headerString(h, tag);
    if (s === null) throw new InputFormatError(`${h.label}: not a valid RPM: main header lacks ${name}`, { file: h.label, format: FORMAT, offset: h.offset });
    return s;
  };
  const name = req(RpmTag.NAME, 'NAME');
  const version = req(RpmTag.VERSION, 'VERSION');
  const release = req(RpmTag.RELEASE, 'RELEASE');
  const arch = headerString(h, RpmTag.ARCH) ?? 'noarch';
  const epoch = headerInt(h, RpmTag.EPOCH);
  const digests = headerStringArray(h, RpmTag.PAYLOADDIGEST);
  const archiveSize = headerInt(sig, RpmSigTag.LONGARCHIVESIZE) ?? headerInt(sig, RpmSigTag.PAYLOADSIZE) ?? headerInt(h, RpmTag.ARCHIVESIZE);
  return {
    name,
    epoch,
    version,
    release,
    arch,
    nevra: `${name}-${epoch === null ? '' : `${epoch}:`}${version}-${release}.${arch}`,
    payloadFormat: headerString(h, RpmTag.PAYLOADFORMAT) ?? 'cpio',
    payloadCompressor: headerString(h, RpmTag.PAYLOADCOMPRESSOR),
    payloadFlags: headerString(h, RpmTag.PAYLOADFLAGS),
    payloadDigest: digests?.[0] ?? null,
    payloadDigestAlgo: headerInt(h, RpmTag.PAYLOADDIGESTALGO),
    archiveSize,
    longFileSizes: h.entries.has(RpmTag.LONGFILESIZES),
    fileDigestAlgo: headerInt(h, RpmTag.FILEDIGESTALGO) ?? 1,
    files: rpmFiles(h),
  };
}

/** The file list: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i] (or v3 OLDFILENAMES) with sizes and modes. */
export function rpmFiles(h: RpmHeader): RpmFileInfo[] {
  let paths: string[];
  const base = headerStringArray(h, RpmTag.BASENAMES);
  if (base) {
    const dirs = headerStringArray(h, RpmTag.DIRNAMES) ?? [];
    const idx = headerIntArray(h, RpmTag.DIRINDEXES) ?? [];
    if (idx.length !== base.length) throw fileListError(h, `DIRINDEXES has ${idx.length} entries, BASENAMES ${base.length}`);
    paths = base.map((b, i) => {
      const d = dirs[idx[i]!];
      if (d === undefined) throw fileListError(h, `DIRINDEXES[${i}] = ${idx[i]} outside DIRNAMES (${dirs.length})`);
      return d + b;
    });
  } else {
    paths = headerStringArray(h, RpmTag.OLDFILENAMES) ?? [];
  }
  const n = boundedLength(paths.length, RPM_MAX_FILES, { label: h.label, format: FORMAT, field: 'file count', offset: h.offset });
  const sizes = headerIntArray(h, RpmTag.LONGFILESIZES) ?? headerIntArray(h, RpmTag.FILESIZES) ?? [];
  const modes = headerIntArray(h, RpmTag.FILEMODES) ?? [];
  const links = headerStringArray(h, RpmTag.FILELINKTOS) ?? [];
  const flags = headerIntArray(h, RpmTag.FILEFLAGS) ?? [];
  const digests = headerStringArray(h, RpmTag.FILEDIGESTS) ?? [];
  const devs = headerIntArray(h, RpmTag.FILEDEVICES);
  const inodes = headerIntArray(h, RpmTag.FILEINODES);
  for (const [arr, what] of [
    [sizes, 'FILESIZES'],
    [modes, 'FILEMODES'],
  ] as const) {
    if (arr.length !== n) throw fileListError(h, `${what} has ${arr.length} entries for ${n} files`);
  }
  const files: RpmFileInfo[] = new Array<RpmFileInfo>(n);
  for (let i = 0; i < n; i++) {
    files[i] = {
      path: paths[i]!.replace(/^\/+/, ''),
      size: sizes[i]!,
      mode: modes[i]!,
      linkTo: links[i] ?? '',
      flags: flags[i] ?? 0,
      digest: digests[i] ?? '',
      device: devs?.[i] ?? null,
      inode: inodes?.[i] ?? null,
    };
  }
  return files;
}

function fileListError(h: RpmHeader, what: string): InputFormatError {
  return new InputFormatError(`${h.label}: not a valid RPM: file list: ${what}`, { file: h.label, format: FORMAT, offset: h.offset });
}

export interface RpmPackageHead {
  lead: RpmLead;
  signature: RpmHeader;
  header: RpmHeader;
  info: RpmInfo;
  /** File offset where the (compressed) payload starts. */
  payloadOffset: number;
}

/**
 * Read lead, signature header (+ padding to 8) and main header from a stream positioned at the
 * start of the file. Leaves `src` at the first payload byte.
 */
export async function readRpmHead(src: ByteSource): Promise<RpmPackageHead> {
  const lead = parseRpmLead(await src.read(RPM_LEAD_SIZE, 'lead'), { label: src.label, offset: 0 });
  const signature = await readRpmHeader(src, 'signature');
  const pad = (8 - (signature.size % 8)) % 8;
  await src.skip(pad, 'signature header padding');
  const header = await readRpmHeader(src, 'main');
  const info = rpmInfo(signature, header);
  if (info.payloadFormat !== 'cpio') {
    throw new InputFormatError(`${src.label}: unsupported RPM payload format "${info.payloadFormat}" (only cpio)`, {
      file: src.label,
      format: FORMAT,
      offset: header.offset,
      expected: 'cpio',
      found: info.payloadFormat,
    });
  }
  return { lead, signature, header, info, payloadOffset: src.position };
}
