// Helpers shared by the crash output parsers. Every parser is a pure function over the text one
// crash command printed; it never throws on odd input (crash versions differ in spacing and in
// extra lines), it returns what it recognised and leaves the rest in `unparsed`.

/** Split command output into lines without the trailing empty line. */
export function lines(text: string): string[] {
  const ls = text.replace(/\r\n/g, '\n').split('\n');
  if (ls.length > 0 && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

/** "205.6 MB" / "2 MB" / "0" / "30 GB" → bytes (approximate: crash rounds), null when unrecognised. */
export function sizeToBytes(text: string): number | null {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?B|bytes?)$/i.exec(t);
  if (!m) return null;
  const unit = m[2]!.toUpperCase();
  const mult: Record<string, number> = { B: 1, BYTE: 1, BYTES: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, PB: 1024 ** 5 };
  const f = mult[unit];
  return f === undefined ? null : Math.round(Number(m[1]) * f);
}

/** Crash error lines look like "<command>: <message>" or "crash: <message>". */
export function errorLines(ls: readonly string[], command: string): string[] {
  const verb = command.trim().split(/\s+/, 1)[0] ?? '';
  return ls.filter((l) => (verb !== '' && l.startsWith(`${verb}: `)) || l.startsWith('crash: '));
}
