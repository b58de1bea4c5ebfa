// A fast pass over a Debian Packages stream for the few stanzas kdbg can want (issue 19, items 4
// and 5). A main-archive index is ~50 MB of text in ~63,000 stanzas, of which kdbg reads a few
// hundred at most: debug packages, whose names end in `-dbg` or `-dbgsym` (every name kdbg asks
// an index for does: linux-image-<uname>-dbg, linux-image-[unsigned-]<uname>-dbgsym and the
// module packages <name>-<uname>-dbg[sym]). Turning every line into strings and every stanza into
// an object, as parsePackagesStanzas does, cost ~1 s of CPU and ~100 MB of heap per such index.
//
// This pass walks the bytes: it finds line ends, checks each line as parsePackagesStanzas would
// (the same InputFormatError for a line that is neither a field nor a continuation, or too long),
// and looks at one field only, Package. A stanza whose Package passes `keepName` (or whose
// Package value goes on over continuation lines, which only the full parse can say) is handed to
// parsePackagesStanzas whole: the stanzas that come out are exactly the ones the full parse gives.

import { InputFormatError } from '../core/errors.js';
import { parsePackagesStanzas, type Stanza, type StanzaOptions } from './deb-index.js';

/** The stanzas kdbg keeps of an index: debug packages (see the top of this file). */
export function isDebugPackageName(name: string): boolean {
  return name.endsWith('-dbg') || name.endsWith('-dbgsym');
}

const PACKAGE = [0x50, 0x61, 0x63, 0x6b, 0x61, 0x67, 0x65]; // "Package"
const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const HASH = 0x23;

function isPackageKey(b: Uint8Array, s: number, colon: number): boolean {
  if (colon - s !== 7) return false;
  for (let i = 0; i < 7; i++) if (b[s + i] !== PACKAGE[i]) return false;
  return true;
}

/**
 * The stanzas of a Packages stream whose Package passes `keepName`, parsed with `opts.fields`
 * (which must include Package) exactly as parsePackagesStanzas parses them, in the same order.
 * Throws InputFormatError where parsePackagesStanzas would, with the same line numbers (the line
 * length limit counts bytes here, UTF-16 units there).
 */
export async function* scanPackagesStanzas(chunks: AsyncIterable<Uint8Array>, keepName: (name: string) => boolean, opts: StanzaOptions = {}): AsyncGenerator<Stanza> {
  const label = opts.label ?? 'Packages';
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let buf: Uint8Array = new Uint8Array(0);
  let lineNo = 0;
  let bomChecked = false;
  // The stanza being read, as offsets into `buf`: where its first field line starts (-1: none yet),
  // and the value of its (last) Package line.
  let stanzaStart = -1;
  let pkgStart = -1;
  let pkgEnd = -1;
  let pkgContinued = false;
  // The last field line was Package (a continuation line would extend its value).
  let lastWasPackage = false;
  // Copies of the stanzas that may be wanted, for the full parse.
  const wanted: Uint8Array[] = [];

  const bad = (s: number, e: number): InputFormatError => {
    const line = utf8.decode(buf.subarray(s, e));
    return new InputFormatError(`${label}: line ${lineNo} is not a "Field: value" line: ${JSON.stringify(line.slice(0, 80))}`, {
      file: label,
      format: 'Packages',
      offset: lineNo,
      expected: 'Field: value',
      found: line.slice(0, 80),
    });
  };

  /** The stanza read so far ends at `end` (exclusive): keep a copy if it may be wanted. */
  const finish = (end: number): void => {
    const s = stanzaStart;
    stanzaStart = -1;
    if (s >= 0 && pkgStart >= 0 && (pkgContinued || keepName(utf8.decode(buf.subarray(pkgStart, pkgEnd)).trim()))) wanted.push(buf.slice(s, end));
    pkgStart = pkgEnd = -1;
    pkgContinued = false;
  };

  /** Check the whole lines of buf from `at` (and the unfinished one when `final`); returns where the unfinished line starts. */
  const scan = (at: number, final: boolean): number => {
    for (;;) {
      let nl = buf.indexOf(NL, at);
      if (nl < 0) {
        if (!final || at >= buf.length) return at;
        nl = buf.length;
      }
      lineNo++;
      const s = at;
      let e = nl;
      at = nl + 1;
      if (e > s && buf[e - 1] === CR) e--;
      // Blank (empty or only spaces and tabs): the stanza ends.
      let i = s;
      while (i < e && (buf[i] === SP || buf[i] === TAB)) i++;
      if (i === e) {
        lastWasPackage = false;
        finish(s);
        continue;
      }
      const c0 = buf[s]!;
      if (c0 === SP || c0 === TAB) {
        if (stanzaStart < 0 && lineNo === 1) throw bad(s, e);
        if (lastWasPackage) pkgContinued = true;
        continue;
      }
      if (c0 === HASH && stanzaStart < 0) continue; // a comment between stanzas
      let colon = s;
      while (colon < e && buf[colon] !== COLON) colon++;
      if (colon === s || colon === e) throw bad(s, e);
      if (stanzaStart < 0) stanzaStart = s;
      lastWasPackage = isPackageKey(buf, s, colon);
      if (lastWasPackage) {
        pkgStart = colon + 1;
        pkgEnd = e;
        pkgContinued = false;
      }
    }
  };

  /** The full parse of the kept copies; only stanzas whose parsed Package passes keepName. */
  async function* parseWanted(): AsyncGenerator<Stanza> {
    while (wanted.length > 0) {
      const one = (async function* (b: Uint8Array): AsyncGenerator<Uint8Array> {
        yield b;
      })(wanted.shift()!);
      for await (const st of parsePackagesStanzas(one, { ...opts, label })) {
        const name = st['Package'];
        if (name !== undefined && keepName(name)) yield st;
      }
    }
  }

  let from = 0;
  for await (const chunk of chunks) {
    buf = concat(buf, chunk);
    if (!bomChecked) {
      if (buf.length < 3) continue;
      bomChecked = true;
      // A byte order mark starts the text (parsePackagesStanzas's TextDecoder drops it).
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const rest = scan(from, false);
    if (buf.length - rest > maxLine) {
      throw new InputFormatError(`${label}: a line is longer than ${maxLine} bytes (line ${lineNo + 1}); not a Packages index`, {
        file: label,
        format: 'Packages',
        offset: lineNo + 1,
        expected: `lines <= ${maxLine} bytes`,
        found: `${buf.length - rest}+ bytes`,
      });
    }
    // Keep the stanza being read (it may be wanted) and the unfinished line; rebase the offsets.
    const keepFrom = stanzaStart >= 0 ? stanzaStart : rest;
    if (stanzaStart >= 0) stanzaStart -= keepFrom;
    if (pkgStart >= 0) {
      pkgStart -= keepFrom;
      pkgEnd -= keepFrom;
    }
    from = rest - keepFrom;
    buf = buf.subarray(keepFrom);
    yield* parseWanted();
  }
  scan(from, true);
  finish(buf.length);
  yield* parseWanted();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
