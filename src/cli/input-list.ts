// `--from-file FILE` (`-` = stdin): the list of inputs of a batch fetch.

import { promises as fsp } from 'node:fs';
import { InputNotFoundError } from '../core/errors.js';
import { parseInputList } from '../pipeline/batch.js';

export async function readInputFile(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string[]> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      throw new InputNotFoundError(`${file}: cannot read the input list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { details: { file } });
    }
  }
  return parseInputList(text);
}
