// The compact on-disk build-id index of one repository revision (issue 20, item 2): build-id →
// (package, kernel release). Built once per repomd revision from filelists.xml and read back
// whole into one Buffer: 1 M ids are 24 MB, and a look-up is a binary search over it.
//
// File layout (all integers big-endian):
//   "KDBGBID1"                      magic, 8 bytes
//   u32 headerLength, header        JSON: { repo, revision, filelistsSha256, packages: [[name,
//                                   epoch, ver, rel, arch, uname|null], …], count }
//   count × 24-byte records         sorted by key: 20 bytes of the id (zero-padded; longer ids
//                                   keep their first 20 bytes), u8 id length in bytes, u24 package
//
// Written to a temporary name and renamed, so a reader sees the old index or the new one.

import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { InputFormatError } from '../core/errors.js';
import type { FilelistsPackage } from './filelists.js';

const MAGIC = Buffer.from('KDBGBID1');
const REC = 24;
const KEY = 20;
const MAX_PACKAGES = 1 << 24;

/** member: the file the ids of this entry name (Debian: the vmlinux or `.ko` read; RPM: absent, the `.build-id` link). */
export type IndexedPackage = [name: string, epoch: string, ver: string, rel: string, arch: string, uname: string | null, member?: string];

export interface BuildIdIndexHeader {
  repo: string;
  /** repomd.xml's <revision>, else its filelists checksum: what decides that the index is stale. */
  revision: string;
  filelistsSha256: string | null;
  packages: IndexedPackage[];
  count: number;
  /** `deb`: a Debian/Ubuntu archive's index (pipeline/buildid-debs.ts); absent: RPM filelists. */
  kind?: 'rpm' | 'deb';
  /** deb: the package's URL per package entry (same order as packages). */
  urls?: string[];
  /** deb: the suite whose index listed it (null: a flat repository), per package entry. */
  suites?: (string | null)[];
}

export interface BuildIdIndexHit {
  buildId: string;
  repo: string;
  package: { name: string; epoch: string; ver: string; rel: string; arch: string };
  /** The kernel release the package's vmlinux belongs to, null when its filelists did not say. */
  uname: string | null;
  /** The link the package lists for the id (the member that names it); deb: the file read. */
  member: string;
  kind: 'rpm' | 'deb';
  /** deb: the package's URL. */
  url: string | null;
  /** deb: the suite whose index listed the package (null: unknown, or a flat repository). */
  suite: string | null;
}

function keyOf(id: string, out: Buffer, at: number): boolean {
  if (!/^[0-9a-f]+$/.test(id) || id.length % 2 !== 0 || id.length < 8 || id.length > 256) return false;
  const bytes = Buffer.from(id.slice(0, KEY * 2), 'hex');
  out.fill(0, at, at + KEY);
  bytes.copy(out, at);
  out[at + KEY] = Math.min(255, id.length / 2);
  return true;
}

/** Collects ids package by package, then sorts once (build side). */
export class BuildIdIndexBuilder {
  private recs = Buffer.alloc(REC * 4096);
  private n = 0;
  readonly packages: IndexedPackage[] = [];
  private urls: string[] | undefined;
  private suites: (string | null)[] | undefined;

  add(p: FilelistsPackage & { member?: string; url?: string; suite?: string | null }): void {
    if (this.packages.length >= MAX_PACKAGES) return;
    const pi = this.packages.length;
    this.packages.push(p.member !== undefined ? [p.name, p.epoch, p.ver, p.rel, p.arch, p.uname, p.member] : [p.name, p.epoch, p.ver, p.rel, p.arch, p.uname]);
    if (p.url !== undefined) (this.urls ??= []).push(p.url);
    if (p.suite !== undefined) (this.suites ??= []).push(p.suite);
    for (const id of p.buildIds) {
      if ((this.n + 1) * REC > this.recs.length) {
        const bigger = Buffer.alloc(this.recs.length * 2);
        this.recs.copy(bigger, 0, 0, this.n * REC);
        this.recs = bigger;
      }
      const at = this.n * REC;
      if (!keyOf(id, this.recs, at)) continue;
      this.recs.writeUIntBE(pi, at + KEY + 1, 3);
      this.n++;
    }
  }

  get count(): number {
    return this.n;
  }

  /** The file's bytes: records sorted by key (first four key bytes as a number, then the rest). */
  encode(repo: string, revision: string, filelistsSha256: string | null, kind?: 'deb'): Buffer {
    const n = this.n;
    const recs = this.recs;
    const k0 = new Uint32Array(n);
    for (let i = 0; i < n; i++) k0[i] = recs.readUInt32BE(i * REC);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => (k0[a]! !== k0[b]! ? (k0[a]! < k0[b]! ? -1 : 1) : recs.compare(recs, b * REC, b * REC + REC, a * REC, a * REC + REC)));
    const header = Buffer.from(JSON.stringify({ repo, revision, filelistsSha256, packages: this.packages, count: n, ...(kind ? { kind, ...(this.urls ? { urls: this.urls } : {}), ...(this.suites ? { suites: this.suites } : {}) } : {}) } satisfies BuildIdIndexHeader));
    const out = Buffer.alloc(MAGIC.length + 4 + header.length + n * REC);
    MAGIC.copy(out, 0);
    out.writeUInt32BE(header.length, MAGIC.length);
    header.copy(out, MAGIC.length + 4);
    const base = MAGIC.length + 4 + header.length;
    for (let i = 0; i < n; i++) recs.copy(out, base + i * REC, order[i]! * REC, order[i]! * REC + REC);
    return out;
  }
}

/** A loaded index (read side). */
export class BuildIdIndex {
  private readonly key = Buffer.alloc(REC);

  private constructor(
    readonly header: BuildIdIndexHeader,
    private readonly recs: Buffer,
  ) {}

  get count(): number {
    return this.header.count;
  }

  get bytes(): number {
    return this.recs.length;
  }

  static decode(buf: Buffer, label: string): BuildIdIndex {
    const bad = (why: string): InputFormatError => new InputFormatError(`${label}: ${why}`, { file: label, format: 'kdbg build-id index' });
    if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('not a kdbg build-id index');
    const hl = buf.readUInt32BE(MAGIC.length);
    const base = MAGIC.length + 4 + hl;
    if (base > buf.length) throw bad('truncated header');
    let h: BuildIdIndexHeader;
    try {
      h = JSON.parse(buf.subarray(MAGIC.length + 4, base).toString('utf8')) as BuildIdIndexHeader;
    } catch {
      throw bad('damaged header');
    }
    if (typeof h.count !== 'number' || !Array.isArray(h.packages) || base + h.count * REC !== buf.length) throw bad('record count does not match the file size');
    return new BuildIdIndex(h, buf.subarray(base));
  }

  lookup(id: string): BuildIdIndexHit | null {
    if (!keyOf(id, this.key, 0)) return null;
    let lo = 0;
    let hi = this.header.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.recs.compare(this.key, 0, KEY + 1, mid * REC, mid * REC + KEY + 1);
      if (c === 0) {
        const pi = this.recs.readUIntBE(mid * REC + KEY + 1, 3);
        const p = this.header.packages[pi];
        if (!p) return null;
        return {
          buildId: id,
          repo: this.header.repo,
          package: { name: p[0], epoch: p[1], ver: p[2], rel: p[3], arch: p[4] },
          uname: p[5],
          member: p[6] ?? `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`,
          kind: this.header.kind ?? 'rpm',
          url: this.header.urls?.[pi] ?? null,
          suite: this.header.suites?.[pi] ?? null,
        };
      }
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }
}

export async function writeIndexFile(file: string, bytes: Buffer): Promise<void> {
  await fsp.mkdir(dirname(file), { recursive: true });
  // Unique per write: several repositories' indexes are written at once by one process.
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** The index in `file`, or null when there is none or it is damaged (then it is rebuilt). */
export async function readIndexFile(file: string): Promise<BuildIdIndex | null> {
  try {
    return BuildIdIndex.decode(await fsp.readFile(file), file);
  } catch {
    return null;
  }
}
