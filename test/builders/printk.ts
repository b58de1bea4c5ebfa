// Kernel memory holding a printk ring laid out as the kernel lays it out, for the layouts no
// kernel that boots here uses, inside an x86_64 ELF vmcore that makedumpfile can read.
//
// Layout B (3.5–5.9), kernel/printk/printk.c of those releases:
// - struct printk_log { u64 ts_nsec; u16 len; u16 text_len; u16 dict_len; u8 facility;
//   u8 flags:5; u8 level:3; [u32 caller_id if CONFIG_PRINTK_CALLER] } __packed __aligned(4) with
//   CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS (x86_64), so LOG_ALIGN is 4;
// - log_store(): size = msg_used_size() = sizeof(struct printk_log) + text_len + dict_len rounded
//   up to LOG_ALIGN; log_make_free_space() drops the oldest records (log_first_idx = log_next())
//   while logbuf_has_space() says no; when the record and one more header do not fit before the
//   end, a zeroed header is written at log_next_idx (the wrap marker, len 0) and log_next_idx = 0.
// Layout A (before 3.5), kernel/printk.c emit_log_char(): LOG_BUF(log_end) = c; log_end++ (the
// index masked with log_buf_len - 1; log_end never reduced).

import { buildElfVmcore, vmcoreinfoText } from './vmcore.js';

export interface PrintkRecord {
  tsNsec: bigint;
  text: string;
  level: number;
  facility?: number;
  dict?: string;
}

const HDR = 16;
const align4 = (n: number): number => (n + 3) & ~3;

/** log_store() into a buffer of `len` bytes: returns the buffer and log_first_idx/log_next_idx. */
export function structuredRing(records: readonly PrintkRecord[], len: number): { buf: Uint8Array; first: number; next: number } {
  const buf = new Uint8Array(len);
  const dv = new DataView(buf.buffer);
  let first = 0;
  let next = 0;
  let firstSeq = 0;
  let nextSeq = 0;
  const recLen = (idx: number): number => {
    const l = dv.getUint16(idx + 8, true);
    return l === 0 ? dv.getUint16(8, true) : l;
  };
  const logNext = (idx: number): number => (dv.getUint16(idx + 8, true) === 0 ? recLen(0) : idx + recLen(idx));
  const hasSpace = (size: number, empty: boolean): boolean => {
    const free = next > first || empty ? Math.max(len - next, first) : first - next;
    return free >= size + HDR;
  };
  for (const r of records) {
    const text = new TextEncoder().encode(r.text);
    const dict = new TextEncoder().encode(r.dict ?? '');
    const size = align4(HDR + text.length + dict.length);
    while (firstSeq < nextSeq && !hasSpace(size, false)) {
      first = logNext(first);
      firstSeq++;
    }
    if (firstSeq === nextSeq) first = next = firstSeq === 0 ? 0 : next;
    if (next + size + HDR > len) {
      buf.fill(0, next, next + HDR);
      next = 0;
      // The ring wrapped under the oldest records: drop those the new one overwrites.
      while (firstSeq < nextSeq && first >= next && first < next + size + HDR && first !== 0) {
        first = logNext(first);
        firstSeq++;
      }
    }
    buf.fill(0, next, next + size);
    dv.setBigUint64(next, r.tsNsec, true);
    dv.setUint16(next + 8, size, true);
    dv.setUint16(next + 10, text.length, true);
    dv.setUint16(next + 12, dict.length, true);
    dv.setUint8(next + 14, r.facility ?? 0);
    dv.setUint8(next + 15, (r.level & 7) << 5);
    buf.set(text, next + HDR);
    buf.set(dict, next + HDR + text.length);
    next += size;
    nextSeq++;
  }
  return { buf, first, next };
}

/** emit_log_char() for every byte of `text` into a ring of `len` (a power of two). */
export function legacyRing(text: string, len: number): { buf: Uint8Array; logEnd: number } {
  const buf = new Uint8Array(len);
  const b = new TextEncoder().encode(text);
  b.forEach((c, i) => (buf[i & (len - 1)] = c));
  return { buf, logEnd: b.length };
}

// Physical memory of the synthetic dump: one PT_LOAD at 16 MiB, mapped at the kernel image
// address 0xffffffff81000000 (phys_base 0) by a 2 MiB page in real page tables, because
// makedumpfile translates every kernel address through them (vtop4_x86_64).
const LOAD_PHYS = 0x1000000;
const KVA = 0xffffffff81000000n;
const PGD = 0x0000;
const PUD = 0x1000;
const PMD = 0x2000;
const VARS = 0x3000;
const BUF = 0x4000;

export interface SyntheticDump {
  bytes: Uint8Array;
  vmcoreinfo: Record<string, string>;
}

/** struct uts_namespace: a 4-byte kref, then struct new_utsname (six 65-byte strings). */
const UTS = 0x3800;
const MEM_MAP = 0x3f00;

function memory(size: number, release: string): { mem: Uint8Array; dv: DataView } {
  const mem = new Uint8Array(size);
  const dv = new DataView(mem.buffer);
  dv.setBigUint64(MEM_MAP, KVA + 0x100000n, true);
  ['Linux', 'synthetic', release, '#1 SMP', 'x86_64', '(none)'].forEach((f, i) => mem.set(new TextEncoder().encode(f), UTS + 4 + i * 65));
  const va = KVA;
  const ent = (table: number, idx: bigint, value: number): void => dv.setBigUint64(table + Number(idx) * 8, BigInt(value), true);
  ent(PGD, (va >> 39n) & 511n, (LOAD_PHYS + PUD) | 0x63);
  ent(PUD, (va >> 30n) & 511n, (LOAD_PHYS + PMD) | 0x63);
  ent(PMD, (va >> 21n) & 511n, LOAD_PHYS | 0xe3);
  return { mem, dv };
}

const sym = (off: number): string => (KVA + BigInt(off)).toString(16);

function baseVmcoreinfo(release: string): Record<string, string> {
  return {
    OSRELEASE: release,
    PAGESIZE: '4096',
    'SYMBOL(_stext)': sym(0),
    'SYMBOL(init_uts_ns)': sym(UTS),
    // FLATMEM: makedumpfile's get_mem_map() wants a memory model before it reads anything; the
    // pointer mem_map points past the dumped memory (--dump-dmesg reads no page struct).
    'SYMBOL(mem_map)': sym(MEM_MAP),
    'SIZE(page)': '64',
    'OFFSET(page.flags)': '0',
    'OFFSET(page._refcount)': '52',
    'OFFSET(page.mapping)': '24',
    'OFFSET(page.lru)': '8',
    'OFFSET(page._mapcount)': '48',
    'OFFSET(page.private)': '40',
    'SYMBOL(init_top_pgt)': sym(PGD),
    'NUMBER(pgtable_l5_enabled)': '0',
    'NUMBER(phys_base)': '0',
    KERNELOFFSET: '0',
  };
}

/** An ELF vmcore whose memory holds a layout-B ring (4.18-style keys). */
export function structuredDump(records: readonly PrintkRecord[], bufLen = 4096, release = '4.18.0-372.9.1.el8.x86_64'): SyntheticDump & { first: number; next: number } {
  const ring = structuredRing(records, bufLen);
  const { mem, dv } = memory(BUF + bufLen, release);
  dv.setBigUint64(VARS, KVA + BigInt(BUF), true); // log_buf
  dv.setUint32(VARS + 8, bufLen, true); // log_buf_len
  dv.setUint32(VARS + 12, ring.first, true); // log_first_idx
  dv.setUint32(VARS + 16, ring.next, true); // log_next_idx
  mem.set(ring.buf, BUF);
  const vmcoreinfo = {
    ...baseVmcoreinfo(release),
    'SYMBOL(log_buf)': sym(VARS),
    'SYMBOL(log_buf_len)': sym(VARS + 8),
    'SYMBOL(log_first_idx)': sym(VARS + 12),
    'SYMBOL(clear_idx)': sym(VARS + 20),
    'SYMBOL(log_next_idx)': sym(VARS + 16),
    'SIZE(printk_log)': '16',
    'OFFSET(printk_log.ts_nsec)': '0',
    'OFFSET(printk_log.len)': '8',
    'OFFSET(printk_log.text_len)': '10',
    'OFFSET(printk_log.dict_len)': '12',
  };
  return { bytes: elf(mem, vmcoreinfo), vmcoreinfo, first: ring.first, next: ring.next };
}

/** An ELF vmcore whose memory holds a layout-A character ring (2.6.32-style keys). */
export function legacyDump(text: string, bufLen = 4096, release = '2.6.32-754.el6.x86_64'): SyntheticDump {
  const ring = legacyRing(text, bufLen);
  const { mem, dv } = memory(BUF + bufLen, release);
  dv.setBigUint64(VARS, KVA + BigInt(BUF), true); // log_buf
  dv.setUint32(VARS + 8, bufLen, true); // log_buf_len
  dv.setUint32(VARS + 12, ring.logEnd, true); // log_end
  dv.setUint32(VARS + 16, Math.min(ring.logEnd, bufLen), true); // logged_chars
  mem.set(ring.buf, BUF);
  const vmcoreinfo = {
    ...baseVmcoreinfo(release),
    'SYMBOL(log_buf)': sym(VARS),
    'SYMBOL(log_buf_len)': sym(VARS + 8),
    'SYMBOL(log_end)': sym(VARS + 12),
    'SYMBOL(logged_chars)': sym(VARS + 16),
  };
  return { bytes: elf(mem, vmcoreinfo), vmcoreinfo };
}

function elf(mem: Uint8Array, vi: Record<string, string>): Uint8Array {
  return buildElfVmcore({ notes: [{ name: 'VMCOREINFO', type: 0, desc: vmcoreinfoText(vi) }], load: mem });
}
