// A minimal ELF64 vmcore for the watch tests: ET_CORE, x86_64, one PT_NOTE segment with a
// VMCOREINFO note (OSRELEASE, BUILD-ID, PAGESIZE, CRASHTIME) and one PT_LOAD segment — the shape
// the kernel's /proc/vmcore and makedumpfile's ELF output have, reduced to what identify reads.

function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  const pad = (n: number): number => (n + 3) & ~3;
  const out = new Uint8Array(12 + pad(nameBytes.length) + pad(desc.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nameBytes.length, true); // n_namesz
  dv.setUint32(4, desc.length, true); // n_descsz
  dv.setUint32(8, type, true); // n_type
  out.set(nameBytes, 12);
  out.set(desc, 12 + pad(nameBytes.length));
  return out;
}

export function buildElfVmcore(opts: { release: string; buildId: string; loadBytes?: number }): Uint8Array {
  const info = new TextEncoder().encode(
    `OSRELEASE=${opts.release}\nBUILD-ID=${opts.buildId}\nPAGESIZE=4096\nCRASHTIME=1764072000\nSYMBOL(init_uts_ns)=ffffffff82a1a3e0\n`,
  );
  const notes = note('VMCOREINFO', 0, info);
  const loadBytes = opts.loadBytes ?? 4096;
  const ehsize = 64;
  const phentsize = 56;
  const phnum = 2;
  const notesOff = ehsize + phentsize * phnum;
  const loadOff = (notesOff + notes.length + 4095) & ~4095;
  const out = new Uint8Array(loadOff + loadBytes);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 4, true); // e_type = ET_CORE
  dv.setUint16(18, 62, true); // e_machine = EM_X86_64
  dv.setUint32(20, 1, true); // e_version
  dv.setBigUint64(32, BigInt(ehsize), true); // e_phoff
  dv.setUint16(52, ehsize, true); // e_ehsize
  dv.setUint16(54, phentsize, true);
  dv.setUint16(56, phnum, true);
  dv.setUint16(58, 64, true); // e_shentsize
  // PT_NOTE
  let p = ehsize;
  dv.setUint32(p, 4, true);
  dv.setBigUint64(p + 8, BigInt(notesOff), true);
  dv.setBigUint64(p + 32, BigInt(notes.length), true);
  dv.setBigUint64(p + 40, BigInt(notes.length), true);
  // PT_LOAD
  p += phentsize;
  dv.setUint32(p, 1, true);
  dv.setUint32(p + 4, 7, true);
  dv.setBigUint64(p + 8, BigInt(loadOff), true);
  dv.setBigUint64(p + 16, 0xffff888000000000n, true);
  dv.setBigUint64(p + 32, BigInt(loadBytes), true);
  dv.setBigUint64(p + 40, BigInt(loadBytes), true);
  dv.setBigUint64(p + 48, 4096n, true);
  out.set(notes, notesOff);
  return out;
}
