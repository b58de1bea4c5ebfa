// A read-only view of the kdbg cache for the debuginfod server: build-id → the file to serve.
//
// Layout read (written by cache/, see src/cache/index.ts and docs/cache.md):
//   <root>/buildid/<build-id>          text file holding <uname>   (the vmlinux index)
//   <root>/releases/<uname>/entry.json  { release, buildId, vmlinux, source, modules, … } with
//                                       paths relative to the entry directory
// The server never writes: `Cache.open` creates directories and sweeps tmp/, so this module reads
// the documented layout itself instead. Lookup order: the buildid/ index (one small read), then a
// scan of releases/*/entry.json (entries published before the index existed, or by hand), then
// the GNU build-ids of module debug files under each entry's modules/ directory, read once per
// entry and re-read only when that entry.json changes.

import { promises as fsp } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { fileBuildId } from './elf-file.js';

export type ArtifactKind = 'vmlinux' | 'module';

export interface BuildIdHit {
  buildId: string;
  kind: ArtifactKind;
  /** Absolute path of the ELF file (vmlinux or module .debug). */
  file: string;
  /** The release (uname) of the entry holding it. */
  release: string;
  entryDir: string;
  /** Absolute path of the entry's extracted sources, or null. */
  sourceDir: string | null;
  /** SUSE: the stripped image that is the executable of a debug-only vmlinux, else null. */
  executable: string | null;
}

interface EntryJson {
  release?: unknown;
  buildId?: unknown;
  vmlinux?: unknown;
  image?: unknown;
  source?: unknown;
  modules?: unknown;
}

interface IndexedEntry {
  release: string;
  dir: string;
  mtimeMs: number;
  buildId: string | null;
  vmlinux: string;
  image: string | null;
  sourceDir: string | null;
  modulesDir: string | null;
  /** build-id → module file; null until first needed (one walk per entry, shared by concurrent lookups). */
  modules: Promise<Map<string, string>> | null;
}

/** Module debug files are named like the package ships them. */
const MODULE_FILE = /\.(ko|ko\.debug|debug)$/;
const MAX_WALK_FILES = 200_000;

export function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
}

export class CacheReader {
  readonly root: string;
  private entries = new Map<string, IndexedEntry>();
  private scanning: Promise<void> | null = null;
  private lastScan = 0;
  private realRoot: string | null = null;

  constructor(
    root: string,
    /** Minimum interval between two directory scans triggered by misses (ms). */
    private readonly rescanIntervalMs = 1000,
  ) {
    this.root = resolve(root);
  }

  /** Number of release entries seen by the last scan. */
  get entryCount(): number {
    return this.entries.size;
  }

  /** The file the cache holds for this build-id, or null. */
  async lookup(buildId: string): Promise<BuildIdHit | null> {
    if (!/^[0-9a-f]{8,128}$/.test(buildId)) return null;
    const viaIndex = await this.fromIndex(buildId);
    if (viaIndex) return viaIndex;
    await this.scan();
    for (const e of this.entries.values()) if (e.buildId === buildId) return this.hit(e, 'vmlinux', e.vmlinux, buildId);
    for (const e of this.entries.values()) {
      const modules = await this.moduleIndex(e);
      const f = modules.get(buildId);
      if (f) return this.hit(e, 'module', f, buildId);
    }
    return null;
  }

  /** Refuse files that resolve (through symlinks) outside the cache root. */
  async insideCache(p: string): Promise<boolean> {
    try {
      this.realRoot ??= await fsp.realpath(this.root);
      return isInside(this.realRoot, await fsp.realpath(p));
    } catch {
      return false;
    }
  }

  private hit(e: IndexedEntry, kind: ArtifactKind, file: string, buildId: string): BuildIdHit {
    return { buildId, kind, file, release: e.release, entryDir: e.dir, sourceDir: e.sourceDir, executable: kind === 'vmlinux' ? e.image : null };
  }

  private async fromIndex(buildId: string): Promise<BuildIdHit | null> {
    let uname: string;
    try {
      uname = (await fsp.readFile(join(this.root, 'buildid', buildId), 'utf8')).trim();
    } catch {
      return null;
    }
    if (!uname || uname.includes('/') || uname === '.' || uname === '..') return null;
    const e = await this.readEntry(uname);
    if (!e || e.buildId !== buildId) return null;
    this.entries.set(uname, e);
    return this.hit(e, 'vmlinux', e.vmlinux, buildId);
  }

  private async readEntry(uname: string, known?: IndexedEntry): Promise<IndexedEntry | null> {
    const dir = join(this.root, 'releases', uname);
    const jsonPath = join(dir, 'entry.json');
    let st;
    try {
      st = await fsp.stat(jsonPath);
    } catch {
      return null;
    }
    if (known && known.mtimeMs === st.mtimeMs) return known;
    let j: EntryJson;
    try {
      j = JSON.parse(await fsp.readFile(jsonPath, 'utf8')) as EntryJson;
    } catch {
      return null; // a damaged entry is a miss, never a wrong answer
    }
    if (typeof j.vmlinux !== 'string') return null;
    const abs = (p: unknown): string | null => (typeof p === 'string' && p !== '' ? resolve(dir, p) : null);
    return {
      release: typeof j.release === 'string' ? j.release : uname,
      dir,
      mtimeMs: st.mtimeMs,
      buildId: typeof j.buildId === 'string' ? j.buildId.toLowerCase() : null,
      vmlinux: resolve(dir, j.vmlinux),
      image: abs(j.image),
      sourceDir: abs(j.source),
      modulesDir: abs(j.modules),
      modules: null,
    };
  }

  /** Re-read releases/ (coalesced, at most once per rescanIntervalMs). */
  async scan(force = false): Promise<void> {
    if (this.scanning) return this.scanning;
    if (!force && Date.now() - this.lastScan < this.rescanIntervalMs) return;
    this.scanning = (async () => {
      let names: string[] = [];
      try {
        names = await fsp.readdir(join(this.root, 'releases'));
      } catch {
        names = [];
      }
      const next = new Map<string, IndexedEntry>();
      for (const n of names) {
        if (n.startsWith('.')) continue;
        const e = await this.readEntry(n, this.entries.get(n));
        if (e) next.set(n, e);
      }
      this.entries = next;
      this.lastScan = Date.now();
    })().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  /**
   * Index the module debug files of every entry now (the server calls this in the background at
   * start: reading the notes of ~4000 modules takes seconds, which a first client should not wait for).
   */
  async prewarm(): Promise<number> {
    await this.scan(true);
    let n = 0;
    for (const e of this.entries.values()) n += (await this.moduleIndex(e)).size;
    return n;
  }

  /** Read the module files of `release` again (serve --fetch put one in `<root>/modules/<release>/`). */
  forgetModules(release: string): void {
    for (const e of this.entries.values()) if (e.release === release) e.modules = null;
  }

  private moduleIndex(e: IndexedEntry): Promise<Map<string, string>> {
    e.modules ??= this.walkModules(e);
    return e.modules;
  }

  private async walkModules(e: IndexedEntry): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    // The entry's modules/ (fetch --modules) and <root>/modules/<release>/ (single modules fetched
    // by kdbg analyze or serve --fetch), in that order.
    for (const dir of [e.modulesDir, join(this.root, 'modules', basename(e.dir))]) {
      if (!dir) continue;
      let count = 0;
      const walk = async (d: string): Promise<void> => {
        let ents;
        try {
          ents = await fsp.readdir(d, { withFileTypes: true });
        } catch {
          return;
        }
        for (const de of ents) {
          if (count >= MAX_WALK_FILES) return;
          const p = join(d, de.name);
          // Regular files and directories only: a symlink could point out of the cache.
          if (de.isDirectory()) await walk(p);
          else if (de.isFile() && MODULE_FILE.test(de.name)) {
            count++;
            const id = await fileBuildId(p);
            if (id && !map.has(id)) map.set(id, p);
          }
        }
      };
      await walk(dir);
    }
    return map;
  }
}
