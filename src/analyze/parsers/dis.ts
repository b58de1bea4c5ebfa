// `dis -l` (and `dis -rl`): source lines "path/file.c: 123" each followed by the instructions
// generated from that line: "0xffffffff81a592eb <native_safe_halt+11>:\tret".
import { lines } from './common.js';

export interface DisInstruction {
  address: string;
  function: string;
  offset: number;
  text: string;
  file: string | null;
  line: number | null;
}

export interface DisResult {
  instructions: DisInstruction[];
}

const SRC = /^(\S.*?):\s+(\d+)\s*$/;
const INS = /^\s*(0x[0-9a-f]+)\s+<([^>+]+)(?:\+(\d+))?>:\s*(.*)$/;

export function parseDis(text: string): DisResult {
  const instructions: DisInstruction[] = [];
  let file: string | null = null;
  let line: number | null = null;
  for (const l of lines(text)) {
    const i = INS.exec(l);
    if (i) {
      instructions.push({ address: i[1]!.slice(2), function: i[2]!, offset: i[3] === undefined ? 0 : Number(i[3]), text: i[4]!.replace(/\s+$/, '').replace(/\t/g, ' '), file, line });
      continue;
    }
    const s = SRC.exec(l);
    if (s) {
      file = s[1]!;
      line = Number(s[2]);
    }
  }
  return { instructions };
}
