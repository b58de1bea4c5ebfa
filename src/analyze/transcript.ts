// The crash transcript kdbg keeps next to every report: a few "# " header lines, then for each
// command a "crash> <command>" line followed by everything crash printed for it (stdout, then
// stderr). Parser tests replay recorded transcripts through splitTranscript.

export interface TranscriptSection {
  command: string;
  output: string;
  /** What crash wrote to stderr while this command ran (also part of the rendered output). */
  stderr: string;
}

export const PROMPT = 'crash> ';

export function formatTranscript(header: string[], sections: readonly TranscriptSection[]): string {
  const out: string[] = header.map((h) => `# ${h}`);
  for (const s of sections) {
    out.push(`${PROMPT}${s.command}`);
    const body = s.output + s.stderr;
    if (body !== '') out.push(body.endsWith('\n') ? body.slice(0, -1) : body);
  }
  return `${out.join('\n')}\n`;
}

/** Split a transcript back into sections (the header lines are dropped). */
export function splitTranscript(text: string): TranscriptSection[] {
  const sections: TranscriptSection[] = [];
  let cur: { command: string; lines: string[] } | null = null;
  const flush = (): void => {
    if (cur) sections.push({ command: cur.command, output: cur.lines.length ? `${cur.lines.join('\n')}\n` : '', stderr: '' });
  };
  const ls = text.replace(/\r\n/g, '\n').split('\n');
  if (ls[ls.length - 1] === '') ls.pop();
  for (const l of ls) {
    if (l.startsWith(PROMPT)) {
      flush();
      cur = { command: l.slice(PROMPT.length), lines: [] };
    } else if (cur) cur.lines.push(l);
  }
  flush();
  return sections;
}

/** The output of the first section whose command equals (or, with a trailing '*', starts with) `command`. */
export function outputOf(sections: readonly TranscriptSection[], command: string): string | null {
  const prefix = command.endsWith('*') ? command.slice(0, -1) : null;
  const s = sections.find((x) => (prefix === null ? x.command === command : x.command.startsWith(prefix)));
  return s ? s.output + s.stderr : null;
}
