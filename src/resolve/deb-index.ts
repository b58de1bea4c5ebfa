// Debian repository indexes: the `Packages` stanza stream and Debian version ordering.
//
// Packages (deb822 control syntax, Debian Policy §5.1 and §5.6.12): stanzas separated by blank
// lines; "Field: value"; continuation lines start with a space or tab. A main-archive index is
// ~50 MB uncompressed, so it is parsed as a stream: text is split into lines per chunk and only
// the fields the caller asks for are kept.

import { InputFormatError } from '../core/errors.js';

export type Stanza = Record<string, string>;

export interface StanzaOptions {
  /** Field names to keep (case-sensitive as written in Packages files); all when absent. */
  fields?: ReadonlySet<string>;
  /** For messages. */
  label?: string;
  /** A single line longer than this is corruption, not a package index. Default 1 MiB. */
  maxLineLength?: number;
}

/**
 * Parse a stream of Packages text into stanzas. Continuation lines are appended with "\n".
 * Throws InputFormatError for a line that is neither a field nor a continuation.
 */
export async function* parsePackagesStanzas(chunks: AsyncIterable<Uint8Array>, opts: StanzaOptions = {}): AsyncGenerator<Stanza> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const label = opts.label ?? 'Packages';
  const maxLine = opts.maxLineLength ?? 1 << 20;
  const keep = opts.fields;
  let rest = '';
  let cur: Stanza = {};
  let curCount = 0;
  let last: string | null = null;
  let lineNo = 0;

  const handle = (line: string): Stanza | null => {
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '' || /^[ \t]*$/.test(line)) {
      last = null;
      if (curCount === 0) return null;
      const done = cur;
      cur = {};
      curCount = 0;
      return done;
    }
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      if (last === null) {
        if (curCount === 0 && lineNo === 1) throw bad(line);
        return null; // continuation of a field we do not keep
      }
      cur[last] = `${cur[last] ?? ''}\n${line.slice(1)}`;
      return null;
    }
    if (c0 === 0x23 /* # */ && curCount === 0) return null; // comments between stanzas (rare, allowed by deb822)
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(line);
    const key = line.slice(0, colon);
    curCount++;
    if (keep && !keep.has(key)) {
      last = null;
      return null;
    }
    last = key;
    cur[key] = line.slice(colon + 1).trim();
    return null;
  };
  const bad = (line: string): InputFormatError =>
    new InputFormatError(`${label}: line ${lineNo} is not a "Field: value" line: ${JSON.stringify(line.slice(0, 80))}`, {
      file: label,
      format: 'Packages',
      offset: lineNo,
      expected: 'Field: value',
      found: line.slice(0, 80),
    });

  for await (const chunk of chunks) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const s = handle(text.slice(start, nl));
      if (s) yield s;
      start = nl + 1;
    }
    rest = text.slice(start);
    if (rest.length > maxLine) {
      throw new InputFormatError(`${label}: a line is longer than ${maxLine} bytes (line ${lineNo + 1}); not a Packages index`, {
        file: label,
        format: 'Packages',
        offset: lineNo + 1,
        expected: `lines <= ${maxLine} bytes`,
        found: `${rest.length}+ bytes`,
      });
    }
  }
  rest += decoder.decode();
  if (rest !== '') {
    const s = handle(rest);
    if (s) yield s;
  }
  const s = handle('');
  if (s) yield s;
}

// ---------------------------------------------------------------------------------------------
// Debian version comparison (Debian Policy §5.6.12, as dpkg's verrevcmp implements it).

export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Split `[epoch:]upstream[-revision]`; throws InputFormatError for an unusable string. */
export function parseDebVersion(v: string): DebVersion {
  const s = v.trim();
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) throw badVersion(v, 'epoch is not a number');
    epoch = Number(e);
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '' || !/^[0-9]/.test(upstream)) throw badVersion(v, 'upstream version must start with a digit');
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream) || !/^[A-Za-z0-9.+~]*$/.test(revision)) throw badVersion(v, 'invalid character');
  return { epoch, upstream, revision };
}

function badVersion(v: string, why: string): InputFormatError {
  return new InputFormatError(`invalid Debian version ${JSON.stringify(v)}: ${why}`, { format: 'debian-version', expected: '[epoch:]upstream[-revision]', found: v });
}

/** dpkg's order(): "~" sorts before everything (even the end), letters before non-letters. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  const code = c.charCodeAt(0);
  if (code >= 0x30 && code <= 0x39) return 0;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return code;
  return code + 256;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** dpkg verrevcmp: compare one upstream or revision part. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(i < a.length ? a[i] : undefined);
      const bc = order(j < b.length ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compare two Debian versions: negative, 0 or positive like `dpkg --compare-versions`. */
export function debVersionCompare(a: string, b: string): -1 | 0 | 1 {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  const r = x.epoch !== y.epoch ? x.epoch - y.epoch : verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}
