// makedumpfile-flattened input (-F, also on standard input): replay records only until the
// headers and notes of the file inside are in — when has the header window enough to stop?

import type { RandomAccess } from '../core/byte-source.js';
import { isElf, parseElfHeader, parseProgramHeaders, PT_NOTE } from '../formats/elf.js';
import type { ElfHeader } from '../formats/elf.js';
import { applyFlatTailRecord, reassembleFlattenedFile } from '../formats/flattened.js';
import type { FlatImage } from '../formats/flattened.js';
import { DISKDUMP_SIGNATURE, KDUMP_HEADER_READ, kdumpSignature, parseKdumpHeader, parseKdumpSubHeader, SUB_HEADER_READ } from '../formats/kdump.js';

export function flatDone(img: FlatImage): boolean {
  const head = img.bytesAt(0, 64);
  if (!head) return false;
  try {
    if (isElf(head)) return elfDone(img, parseElfHeader(head, img.label));
    if (kdumpSignature(head)) return kdumpDone(img);
  } catch {
    return false;
  }
  return false;
}

/** The header window of a flattened file: records replayed until headers and notes are in. */
export async function reassembleFlatHeaders(ra: RandomAccess): Promise<FlatImage> {
  let image = await reassembleFlattenedFile(ra, { done: (img) => flatDone(img) || elfTrap(img) !== null });
  const trap = flatDone(image) ? null : elfTrap(image);
  if (trap) {
    // -F -E: take the real program headers from the tail, then read on for the notes.
    if (await applyFlatTailRecord(ra, image, trap.offset, trap.size)) image = await reassembleFlattenedFile(ra, { image, done: flatDone });
    else image = await reassembleFlattenedFile(ra, { done: flatDone });
  }
  return image;
}

/** The zero program header table of a makedumpfile -F -E stream, once seen. */
function elfTrap(img: FlatImage): { offset: number; size: number } | null {
  const head = img.bytesAt(0, 64);
  if (!head || !isElf(head)) return null;
  try {
    const h = parseElfHeader(head, img.label);
    if (h.e_phnum === 0xffff || h.e_phnum === 0) return null;
    const size = h.e_phnum * (h.elfClass === 64 ? 56 : 32);
    const table = img.bytesAt(h.e_phoff, size);
    return table && table.every((b) => b === 0) ? { offset: h.e_phoff, size } : null;
  } catch {
    return null;
  }
}

function elfDone(img: FlatImage, h: ElfHeader): boolean {
  if (h.e_phnum === 0xffff) return false; // needs section 0: read to the end
  const ent = h.elfClass === 64 ? 56 : 32;
  const table = img.bytesAt(h.e_phoff, h.e_phnum * ent);
  // makedumpfile -F -E writes the program headers as zeros first and the real ones last.
  if (!table || table.every((b) => b === 0)) return false;
  const phs = parseProgramHeaders(table, h, { offset: h.e_phoff, label: img.label });
  return phs.filter((p) => p.p_type === PT_NOTE).every((p) => img.covers(p.p_offset, p.p_filesz));
}

function kdumpDone(img: FlatImage): boolean {
  const hb = img.bytesAt(0, KDUMP_HEADER_READ) ?? img.bytesAt(0, 452);
  if (!hb) return false;
  const h = parseKdumpHeader(hb, img.label);
  if (h.signature === DISKDUMP_SIGNATURE || h.sub_hdr_size === 0) return true;
  const sb = img.bytesAt(h.block_size, SUB_HEADER_READ);
  if (!sb) return false;
  const s = parseKdumpSubHeader(sb, h, img.label);
  if (s.size_vmcoreinfo && s.offset_vmcoreinfo !== null && !img.covers(s.offset_vmcoreinfo, s.size_vmcoreinfo)) return false;
  if (s.size_note && s.offset_note !== null && !img.covers(s.offset_note, s.size_note)) return false;
  return true;
}
