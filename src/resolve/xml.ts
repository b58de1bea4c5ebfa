// A thin streaming layer over saxes: feed decoded text chunk by chunk, hand element events to the
// caller, stop as soon as the caller says it has what it needs. Nothing holds the whole document.

import { SaxesParser } from 'saxes';
import { InputFormatError } from '../core/errors.js';

export interface XmlHandlers {
  open(name: string, attrs: Record<string, string>): void;
  close(name: string): void;
  text(t: string): void;
}

/**
 * Walk an XML byte stream. Returns true when `done()` turned true before the end (the rest of the
 * stream was not read), false when the whole document was read.
 */
export async function walkXml(chunks: AsyncIterable<Uint8Array>, label: string, format: string, h: XmlHandlers, done: () => boolean = () => false): Promise<boolean> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  let err: Error | null = null;
  parser.on('error', (e) => {
    err ??= e;
  });
  parser.on('opentag', (t) => h.open(t.name, t.attributes as Record<string, string>));
  parser.on('closetag', (t) => h.close(t.name));
  parser.on('text', (t) => h.text(t));
  parser.on('cdata', (t) => h.text(t));
  const dec = new TextDecoder('utf-8');
  let consumed = 0;
  const bad = (): InputFormatError =>
    new InputFormatError(`${label}: not well-formed XML (${err!.message.split('\n')[0]})`, { file: label, format, offset: consumed });
  for await (const c of chunks) {
    parser.write(dec.decode(c, { stream: true }));
    consumed += c.length;
    if (err) throw bad();
    if (done()) return true;
  }
  parser.write(dec.decode());
  parser.close();
  if (err) throw bad();
  return false;
}
