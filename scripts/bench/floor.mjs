#!/usr/bin/env node
// The xz blocks a fetch of MEMBER must decode at the least, cut out of a local package into a
// stand-alone .xz file, for the bench's floor rows (issue 19 item 2):
//   node scripts/bench/floor.mjs PACKAGE.{deb,rpm} MEMBER OUT.xz
// - a multi-block payload (Debian's data.tar.xz, a w3T RPM): the blocks that cover the member's
//   bytes (what kdbg's partial path decodes for it, without the header blocks it reads to find it),
//   as one stream with a fresh index, so `xz -T2 -dc` decodes them on every core;
// - a single-block payload (el7's w2.xzdio): the whole xz payload, for `xz -dc --ignore-check`.
// Prints one JSON line: {mode: 'blocks'|'single', compressedBytes, uncompressedBytes, firstBlock,
// lastBlock, blocksTotal, checkId}. Nothing here is timed: the bench times the decode of OUT.xz.
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRandomAccess } from '../../dist/core/file-access.js';
import { locateDeb } from '../../dist/extract/partial-tar.js';
import { locateRpm } from '../../dist/extract/partial-rpm.js';
import { blocksForRange, readXzIndex, wrapBlocks } from '../../dist/formats/xz.js';

const [pkg, member, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: floor.mjs PACKAGE MEMBER OUT.xz');
  process.exit(2);
}
const kind = pkg.endsWith('.rpm') ? 'rpm' : 'deb';
const ra = await FileRandomAccess.open(pkg);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** Offset and length of the xz payload: the ar member data.tar.xz, or the RPM's payload (to EOF). */
async function payload() {
  if (kind === 'deb') {
    let at = 8;
    while (at + 60 <= ra.size) {
      const h = Buffer.from(await ra.readAt(at, 60));
      const name = h.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = Number(h.toString('latin1', 48, 58).trim());
      if (name.startsWith('data.tar')) return { base: at + 60, length: size };
      at += 60 + size + (size % 2);
    }
    throw new Error(`${pkg}: no data.tar member`);
  }
  // The payload follows the headers: the first xz stream header in the file.
  const head = Buffer.from(await ra.readAt(0, Math.min(ra.size, 64 << 20)));
  const base = head.indexOf(XZ_MAGIC);
  if (base < 0) throw new Error(`${pkg}: no xz payload in the first 64 MiB`);
  return { base, length: ra.size - base };
}

function copy(fd, from, length) {
  return (async () => {
    for (let done = 0; done < length; ) {
      const n = Math.min(8 << 20, length - done);
      const b = await ra.readAt(from + done, n);
      writeSync(fd, b);
      done += b.length;
    }
  })();
}

const { base, length } = await payload();
const index = await readXzIndex(ra, base, length);
const scratch = mkdtempSync(join(tmpdir(), 'kdbg-floor-'));
let located = null;
if (index.blocks.length > 1) {
  const opts = { destDir: scratch, label: pkg, select: (m) => m.path === member, stopAfter: 1 };
  located = kind === 'deb' ? await locateDeb(ra, opts) : await locateRpm(ra, opts);
}
const fd = openSync(out, 'w');
let info;
if (located && located.members.length === 1) {
  const m = located.members[0];
  const blocks = blocksForRange(located.index.blocks, m.dataOffset, m.dataOffset + m.size);
  const first = blocks[0];
  const last = blocks.at(-1);
  const { head, tail } = wrapBlocks(blocks);
  writeSync(fd, head);
  const bytes = last.offset + last.totalSize - first.offset;
  await copy(fd, base + first.offset, bytes);
  writeSync(fd, tail);
  info = { mode: 'blocks', compressedBytes: bytes, uncompressedBytes: blocks.reduce((a, b) => a + b.uncompressedSize, 0), firstBlock: first.index, lastBlock: last.index, blocksTotal: index.blocks.length, checkId: first.checkId };
} else {
  await copy(fd, base, index.compressedSize);
  info = { mode: 'single', compressedBytes: index.compressedSize, uncompressedBytes: index.uncompressedSize, firstBlock: 0, lastBlock: index.blocks.length - 1, blocksTotal: index.blocks.length, checkId: index.blocks[0]?.checkId ?? null };
}
closeSync(fd);
await ra.close();
rmSync(scratch, { recursive: true, force: true });
console.log(JSON.stringify(info));
