// node:fs/promises as the bundled fast path sees it (scripts/build-fast.mjs resolves every import of
// node:fs/promises in dist/fast/kdbg-fast.cjs to this file; nothing else imports it). The same
// functions, answered with the synchronous calls of node:fs.
//
// Why: `kdbg log` and `kdbg identify` make a few dozen small reads in one short process. Through
// fs/promises each one is a trip through libuv's thread pool: four threads started on the first
// read, and every read a hand-off to one of them and back, which on a loaded 2-core machine waits
// for the scheduler more than it reads. Loading fs/promises also loads node's readline, watchers
// and dir modules. A one-shot command that reads a few pages of a local file loses nothing by
// blocking: there is nothing else for the process to do meanwhile (makedumpfile reads the same
// way). The long-running commands (serve, watch, fetch) never use this file: they run from dist/
// with the real fs/promises.
//
// The calls fail as fs/promises fails: a rejected promise carrying node's own errno error (same
// code, syscall, path and message), since each function is async and the sync call throws it.

import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** The part of fs/promises' FileHandle that the bundled commands use. */
export class FileHandle {
  private fdOrClosed: number;

  constructor(fd: number) {
    this.fdOrClosed = fd;
  }

  get fd(): number {
    return this.fdOrClosed;
  }

  async read<T extends NodeJS.ArrayBufferView>(buffer: T, offset: number, length: number, position: number | null): Promise<{ bytesRead: number; buffer: T }> {
    return { bytesRead: readSync(this.fdOrClosed, buffer, offset, length, position), buffer };
  }

  async stat(): Promise<Stats> {
    return fstatSync(this.fdOrClosed);
  }

  /** A second close does nothing (as with FileHandle): the number may already name another file. */
  async close(): Promise<void> {
    const fd = this.fdOrClosed;
    if (fd === -1) return;
    this.fdOrClosed = -1;
    closeSync(fd);
  }
}

export async function open(path: string, flags: string = 'r'): Promise<FileHandle> {
  return new FileHandle(openSync(path, flags));
}

export async function stat(path: string): Promise<Stats> {
  return statSync(path);
}

export async function readdir(path: string): Promise<string[]> {
  return readdirSync(path);
}

export async function readFile(path: string): Promise<Buffer> {
  return readFileSync(path);
}
