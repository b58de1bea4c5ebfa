// ELF notes (PT_NOTE segments, SHT_NOTE sections): name, type and descriptor, bounded; and the
// GNU build-id among them.

import { boundedLength, hex } from '../core/byte-source.js';
import { TruncatedError } from '../core/errors.js';
import { ELF_LIMITS, type ElfNote, type Endianness, Fields, NT_GNU_BUILD_ID } from './elf-types.js';

export interface ParseNotesOptions {
  /** Padding of name and desc: 4 (every kernel note, even in ELF64) or 8 (SHT_NOTE with sh_addralign 8). */
  align?: 4 | 8;
  /** File offset of bytes[0], for error messages and ElfNote.offset. */
  baseOffset?: number;
}

/**
 * Parse a note segment/section: repeated {n_namesz, n_descsz, n_type} (u32 each, 12 bytes in both
 * classes), name padded to `align`, desc padded to `align`. Stops at the end of the bytes or at an
 * all-zero header (writers pad note buffers with zeros). Throws LimitError for absurd sizes and
 * TruncatedError when a note runs past the end.
 */
export function parseNotes(bytes: Uint8Array, endianness: Endianness, label = 'input', opts: ParseNotesOptions = {}): ElfNote[] {
  const align = opts.align ?? 4;
  const base = opts.baseOffset ?? 0;
  const f = new Fields(bytes, endianness);
  const out: ElfNote[] = [];
  const pad = (n: number): number => (n + align - 1) & ~(align - 1);
  let o = 0;
  while (o + 12 <= bytes.length) {
    const n_namesz = f.u32(o);
    const n_descsz = f.u32(o + 4);
    const n_type = f.u32(o + 8);
    if (n_namesz === 0 && n_descsz === 0 && n_type === 0) break;
    boundedLength(n_namesz, ELF_LIMITS.maxNoteField, { label, format: 'ELF note', field: 'n_namesz', offset: base + o });
    boundedLength(n_descsz, ELF_LIMITS.maxNoteField, { label, format: 'ELF note', field: 'n_descsz', offset: base + o + 4 });
    const nameOff = o + 12;
    // Alignment is relative to the start of the note data (12 + name, rounded up): for 4 this
    // equals padding the name alone; for 8-aligned GNU property notes it is what binutils does.
    const descOff = pad(nameOff + n_namesz);
    const end = descOff + n_descsz;
    if (end > bytes.length) {
      throw new TruncatedError(
        `${label}: truncated ELF note at offset ${base + o}: n_namesz ${n_namesz} + n_descsz ${n_descsz} run past the end of the note data (${bytes.length - o} bytes left)`,
        { file: label, format: 'ELF note', offset: base + o, expected: `${end - o} bytes`, found: `${bytes.length - o} bytes` },
      );
    }
    let nameBytes = bytes.subarray(nameOff, nameOff + n_namesz);
    const nul = nameBytes.indexOf(0);
    if (nul !== -1) nameBytes = nameBytes.subarray(0, nul);
    out.push({
      n_namesz,
      n_descsz,
      n_type,
      name: new TextDecoder('latin1').decode(nameBytes),
      desc: bytes.subarray(descOff, end),
      offset: base + o,
    });
    o = pad(descOff + n_descsz);
  }
  return out;
}

/** The GNU build-id (lowercase hex) among notes, or null. */
export function findGnuBuildId(notes: readonly ElfNote[]): string | null {
  const n = notes.find((x) => x.name === 'GNU' && x.n_type === NT_GNU_BUILD_ID && x.desc.length > 0);
  return n ? hex(n.desc) : null;
}
