// The identify stage: name the kernel that wrote a crash dump by reading only its headers and
// notes (VMCOREINFO → kdump utsname → bounded banner scan), for every dump format kdbg knows:
// ELF vmcores, kdump-compressed (and DISKDUMP), makedumpfile-flattened (also on standard input),
// split parts, and vmcore-dmesg.txt. `kdbg fetch/analyze <dump>` build on identifyDump().
//
// One file per dump format behind one dispatcher (dispatch.ts): elf.ts, kdump.ts (with split.ts),
// flattened.ts, dmesg.ts, compressed.ts (whole-file gzip/xz/zstd/bzip2); identity.ts holds what
// they learn and how each source fills it in; dump-memory.ts reads kernel memory of a dump.

export { FileRandomAccess } from '../core/file-access.js';
export { identifyDump, identifyStream, isDumpPath } from './dispatch.js';
export { openDumpMemory, type DumpMemory } from './dump-memory.js';
export { archFromRelease, formatIdentity, type DumpIdentification, type SplitInfo } from './identity.js';
