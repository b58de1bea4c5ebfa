// A module's build-id → its debug file alone (issue 20: "fetches only the member it needs").
// filelists.xml names the `.build-id/xx/yyyy.debug` link of the id but not what it points to;
// the RPM header's file list does (FILELINKTOS). The header is read by HTTP Range from the start of
// the package (only the header: the payload is not touched), the link resolved to the module's
// `.ko.debug`, and that one file fetched by fetchModuleDebug (the partial path over the xz blocks
// holding it; `<cache>/modules/<release>/<name>.ko`). Null whenever the header cannot say.

import { posix } from 'node:path';
import { ByteSource, type RandomAccess } from '../core/byte-source.js';
import type { FetchedPackage } from '../core/fetch-result.js';
import { readRpmHead } from '../formats/rpm.js';
import { moduleOfPath } from './fetch/modules.js';

async function* chunksOf(ra: RandomAccess, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  for (let pos = 0; ra.size === null || pos < ra.size; pos += chunk) {
    const n = ra.size === null ? chunk : Math.min(chunk, ra.size - pos);
    const b = await ra.readAt(pos, n);
    if (b.length === 0) return;
    yield b;
  }
}

/** The module name (`mod`'s spelling) the package's `member` link points to, or null. */
export async function moduleNameOfLink(pkg: Pick<FetchedPackage, 'url' | 'size' | 'fileName'>, member: string, signal?: AbortSignal): Promise<string | null> {
  if (!pkg.fileName.endsWith('.rpm')) return null;
  const { openRangeReader } = await import('../download/range-reader.js');
  const ra = await openRangeReader(pkg.url, pkg.size, signal ? { signal } : {});
  if (!ra) return null;
  try {
    const src = new ByteSource(chunksOf(ra), pkg.fileName, 'rpm');
    const head = await readRpmHead(src);
    await src.close();
    const rel = member.replace(/^\/+/, '');
    const link = head.info.files.find((f) => f.path === rel);
    if (!link || !link.linkTo) return null;
    const target = posix.resolve('/', posix.dirname(rel), link.linkTo).slice(1);
    return moduleOfPath(target);
  } catch {
    return null; // not an RPM kdbg can read the header of: the caller fetches all modules
  } finally {
    const c = (ra as { close?: () => Promise<void> | void }).close;
    if (typeof c === 'function') await c.call(ra);
  }
}
