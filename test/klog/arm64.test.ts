// kdbg log and identify on a real aarch64 dump (scripts/fixtures/32-vmcore-arm64.sh: Debian's arm64
// kernel under QEMU TCG, KASLR on, sysrq crash), and the aarch64 translation (src/klog/aarch64.ts)
// over the dump's own page tables. The reference text is makedumpfile --dump-dmesg of Debian's
// arm64 makedumpfile (run by the fixture under qemu-user) on the same crash; values the archive or
// the boot decides (release, build-id, KASLR offsets, addresses) come from the fixture's manifest.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { FileRandomAccess } from '../../src/core/file-access.js';
import { readElfTables } from '../../src/formats/elf.js';
import { readKdumpHeaders } from '../../src/formats/kdump.js';
import { identifyDump } from '../../src/identify/index.js';
import { elfPhysReader, kdumpPhysReader } from '../../src/identify/memory.js';
import type { PhysReader } from '../../src/identify/memory.js';
import { aarch64Paging, aarch64Translator, aarch64Walk, decodeDescriptor, levelShift, tableIndex } from '../../src/klog/aarch64.js';
import type { Aarch64Paging } from '../../src/klog/aarch64.js';
import { oopsHeadline, parseOops } from '../../src/klog/oops.js';
import { requireFixture } from '../helpers/fixtures.js';

interface Manifest {
  arch: string;
  release: string;
  buildId: string | null;
  packageVersion: string | null;
  pageSize: number;
  vaBits: number;
  kimageVoffset: string;
  physOffset: string;
  kernelOffset: string;
  swapperPgDir: string;
  kallsyms: Record<string, string>;
  modules: Record<string, { size: number; base: string; ko: string }>;
  kernelSays: { kernelOffset: string | null; physOffset: string | null };
  dmesg: string;
  dumps: { file: string; format: string; producer: string }[];
  oops: { dmesg: string; module: string; dumps: { file: string; format: string; producer: string }[] };
}
const dir = requireFixture('vmcore-arm64');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const reference = readFileSync(join(dir, manifest.dmesg), 'latin1');
const oopsReference = readFileSync(join(dir, manifest.oops.dmesg), 'latin1');
const repoRoot = join(import.meta.dirname, '..', '..');
const MASK64 = (1n << 64n) - 1n;

function runKdbg(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

/** Physical memory of the QEMU ELF dump (PT_LOAD p_paddr) and of makedumpfile's kdump file. */
async function physOf(file: string): Promise<{ phys: PhysReader; close: () => Promise<void> }> {
  const ra = await FileRandomAccess.open(join(dir, file));
  if (file.endsWith('.elf')) {
    const { programHeaders } = await readElfTables(ra, { sections: false });
    return { phys: elfPhysReader(ra, programHeaders), close: () => ra.close() };
  }
  const { header } = await readKdumpHeaders(ra);
  return { phys: kdumpPhysReader(ra, header), close: () => ra.close() };
}
const entryOf =
  (phys: PhysReader) =>
  async (pa: bigint): Promise<bigint | null> => {
    const b = await phys(pa, 8);
    return b ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) : null;
  };
const hex = (s: string): bigint => BigInt(s.startsWith('0x') ? s : `0x${s}`);

describe('kdbg log on the real aarch64 dump = makedumpfile --dump-dmesg', () => {
  it('has the three dump files and a reference log that ends with the panic', () => {
    expect(manifest.dumps.map((d) => d.format).sort()).toEqual(['elf64', 'flattened', 'kdump-compressed']);
    expect(reference).toMatch(/Kernel panic - not syncing: sysrq triggered crash\n/);
  });

  for (const d of manifest.dumps) {
    it(`${d.file} (${d.producer}): byte-identical text`, async () => {
      const r = await runKdbg(['log', join(dir, d.file)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(reference);
    });
  }

  for (const d of manifest.oops.dumps) {
    it(`the module oops, ${d.file} (${d.producer}): byte-identical text`, async () => {
      const r = await runKdbg(['log', join(dir, d.file)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(oopsReference);
    });
  }

  it('--json records carry the same lines (first and last)', async () => {
    const r = await runKdbg(['log', '--json', join(dir, 'vmcore.kdump-zlib')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { records: { text: string }[] };
    const lines = reference.trimEnd().split('\n');
    expect(out.records.length).toBeGreaterThan(0);
    expect(lines[0]).toContain(out.records[0]!.text);
    expect(lines[lines.length - 1]).toContain(out.records[out.records.length - 1]!.text);
  });
});

describe('kdbg identify on the real aarch64 dump', () => {
  for (const d of manifest.dumps) {
    it(`${d.file}: release, arch aarch64, build-id, package, KASLR offset`, async () => {
      const id = await identifyDump(join(dir, d.file));
      expect(id.release).toBe(manifest.release);
      expect(id.arch).toBe('aarch64');
      expect(id.buildId).toBe(manifest.buildId);
      expect(id.packageVersion).toBe(manifest.packageVersion);
      expect(id.pageSize).toBe(manifest.pageSize);
      expect(`0x${id.kernelOffset}`).toBe(manifest.kernelSays.kernelOffset);
      expect(id.vmcoreinfo?.['NUMBER(PHYS_OFFSET)']).toBe(manifest.kernelSays.physOffset);
    });
  }
});

describe('aarch64 translation over the dump’s own page tables', () => {
  // The dump's own VMCOREINFO (identify reads it from the ELF note / kdump sub-header).
  let vmcoreinfo: Record<string, string> | null = null;
  beforeAll(async () => {
    vmcoreinfo = (await identifyDump(join(dir, 'vmcore.kdump-zlib'))).vmcoreinfo;
  });
  const vi = (): Record<string, string> => vmcoreinfo!;
  const kv = (): bigint => hex(manifest.kimageVoffset);

  it('geometry from VMCOREINFO: the level count follows VA_BITS and the granule', () => {
    const p = aarch64Paging(vi())!;
    expect(p.pageShift).toBe(Math.log2(manifest.pageSize));
    expect(p.levels).toBe(Math.ceil((manifest.vaBits - p.pageShift) / (p.pageShift - 3)));
    // Every VA bit below VA_BITS is consumed by exactly one level or the page offset.
    let bits = p.pageShift;
    for (let l = 0; l < p.levels; l++) bits += l === 0 ? manifest.vaBits - levelShift(p, 0) : p.pageShift - 3;
    expect(bits).toBe(manifest.vaBits);
  });

  for (const file of ['vmcore.qemu.elf', 'vmcore.kdump-zlib']) {
    it(`${file}: the walk of swapper_pg_dir agrees with kimage_voffset on kernel-image addresses`, async () => {
      const { phys, close } = await physOf(file);
      try {
        const p = aarch64Paging(vi())!;
        const root = (hex(manifest.swapperPgDir) - kv()) & MASK64;
        const entry = entryOf(phys);
        // The top-level descriptor for the image is a table (4K/48: level 0 has no blocks).
        const va = hex(manifest.kallsyms['sysrq_handle_crash']!);
        const top = decodeDescriptor(p, 0, (await entry(root + tableIndex(p, 0, va) * 8n))!);
        expect(top.kind).toBe('table');
        for (const a of [va, hex(manifest.swapperPgDir)]) {
          expect(await aarch64Walk(p, root, a, entry)).toBe((a - kv()) & MASK64);
        }
      } finally {
        await close();
      }
    });
  }

  it('the walk agrees with PHYS_OFFSET on a linear-map address', async () => {
    const { phys, close } = await physOf('vmcore.kdump-zlib');
    try {
      const p = aarch64Paging(vi())!;
      const root = (hex(manifest.swapperPgDir) - kv()) & MASK64;
      // 5.4+ layout: PAGE_OFFSET = -(1 << VA_BITS); take the linear address of the page that
      // holds swapper_pg_dir itself (any RAM page is in the linear map).
      const pageOffset = (1n << 64n) - (1n << BigInt(manifest.vaBits));
      const pa = root;
      const lin = ((pa - hex(manifest.physOffset)) & MASK64) | pageOffset;
      expect(await aarch64Walk(p, root, lin, entryOf(phys))).toBe(pa);
      // And the translator takes the linear rule for it.
      expect(await aarch64Translator(vi(), null)(lin)).toBe(pa);
    } finally {
      await close();
    }
  });

  it('module space, reached only by the walk: the qemu_fw_cfg text in the dump is the .ko’s .text', async () => {
    const mod = manifest.modules['qemu_fw_cfg']!;
    const ko = await FileRandomAccess.open(join(dir, mod.ko));
    const { phys, close } = await physOf('vmcore.kdump-zlib');
    try {
      const t = await readElfTables(ko);
      const text = t.sections.find((s) => s.name === '.text')!;
      const rela = t.sections.find((s) => s.name === '.rela.text')!;
      const code = await ko.readAt(text.sh_offset, text.sh_size);
      const relocs = new Set<number>();
      const rb = await ko.readAt(rela.sh_offset, rela.sh_size);
      const dv = new DataView(rb.buffer, rb.byteOffset, rb.byteLength);
      for (let o = 0; o + 24 <= rb.length; o += 24) {
        const off = Number(dv.getBigUint64(o, true));
        relocs.add(off).add(off + 4);
      }
      const tr = aarch64Translator(vi(), entryOf(phys));
      const base = hex(mod.base);
      const same = async (pa: bigint | null): Promise<{ equal: number; compared: number }> => {
        let equal = 0;
        let compared = 0;
        for (let off = 0; off + 4 <= code.length; off += 4) {
          if (relocs.has(off)) continue;
          const b = pa === null ? null : await phys(pa + BigInt(off), 4);
          compared++;
          if (b && b.every((x, i) => x === code[off + i])) equal++;
        }
        return { equal, compared };
      };
      const walked = await same(await tr(base));
      // ftrace rewrites a patchable-entry NOP per function at load (15 of 638 words on 6.1.0-57); the
      // rest is as built.
      expect(walked.compared).toBeGreaterThan(200);
      expect(walked.equal / walked.compared).toBeGreaterThan(0.95);
      // kimage_voffset alone lands elsewhere for a module address.
      const imageRule = await same((base - kv()) & MASK64);
      expect(imageRule.equal / imageRule.compared).toBeLessThan(0.2);
    } finally {
      await close();
      await ko.close();
    }
  });
});

describe('synthetic geometry vectors (granules this machine cannot boot)', () => {
  const geo = (page: number, va: number): Aarch64Paging => aarch64Paging({ PAGESIZE: String(page), 'NUMBER(VA_BITS)': String(va) })!;
  it('levels: 4K/39 → 3, 4K/48 → 4, 16K/47 → 3, 64K/42 → 2, 64K/48 → 3, 64K/52 → 3', () => {
    expect([geo(4096, 39), geo(4096, 48), geo(16384, 47), geo(65536, 42), geo(65536, 48), geo(65536, 52)].map((p) => p.levels)).toEqual([3, 4, 3, 2, 3, 3]);
  });
  it('64K: 512 MiB blocks at level 2, 64 KiB pages at the last level, PA[51:48] from bits [15:12] with 52-bit PA', () => {
    const p = geo(65536, 48);
    expect(decodeDescriptor(p, 1, 0x0000004000000000n | 0x701n)).toEqual({ kind: 'block', address: 0x0000004000000000n, span: 1n << 29n });
    expect(decodeDescriptor(p, 2, 0x0000000041230000n | 0x703n)).toEqual({ kind: 'page', address: 0x41230000n, span: 0x10000n });
    expect(decodeDescriptor(p, 0, 0x0000000041230000n | 0x1n)).toEqual({ kind: 'invalid' });
    const p52 = aarch64Paging({ PAGESIZE: '65536', 'NUMBER(VA_BITS)': '52', 'NUMBER(MAX_PHYSMEM_BITS)': '52' })!;
    expect(decodeDescriptor(p52, 2, 0x0000000041230000n | 0x3000n | 0x3n)).toEqual({ kind: 'page', address: 0x0003000041230000n, span: 0x10000n });
  });
  it('LPA2 (4K/16K with 52-bit VA running at 52 bits): bits [49:PAGE_SHIFT], PA[51:50] from bits [9:8]; shareability bits otherwise', () => {
    const vi = { PAGESIZE: '16384', 'NUMBER(VA_BITS)': '52', 'NUMBER(TCR_EL1_T1SZ)': '0xc' };
    const p = aarch64Paging(vi)!;
    expect([p.levels, p.lpa2]).toEqual([4, true]);
    expect(decodeDescriptor(p, 3, 0x0002000041234000n | 0x300n | 0x3n)).toEqual({ kind: 'page', address: 0x000e000041234000n, span: 0x4000n });
    // The same kernel fallen back to 48-bit VA (T1SZ 16): bits [9:8] are shareability, not address.
    const p48 = aarch64Paging({ ...vi, 'NUMBER(TCR_EL1_T1SZ)': '0x10' })!;
    expect(decodeDescriptor(p48, 3, 0x0000000041234000n | 0x300n | 0x3n)).toEqual({ kind: 'page', address: 0x41234000n, span: 0x4000n });
  });
  it('4K: 1 GiB and 2 MiB blocks, no block at level 0, invalid entries', () => {
    const p = geo(4096, 48);
    expect(decodeDescriptor(p, 1, 0x40000000n | 0x1n)).toEqual({ kind: 'block', address: 0x40000000n, span: 1n << 30n });
    expect(decodeDescriptor(p, 2, 0x40200000n | 0x1n)).toEqual({ kind: 'block', address: 0x40200000n, span: 1n << 21n });
    expect(decodeDescriptor(p, 0, 0x40000000n | 0x1n)).toEqual({ kind: 'invalid' });
    expect(decodeDescriptor(p, 3, 0x40000000n | 0x1n)).toEqual({ kind: 'invalid' });
    expect(decodeDescriptor(p, 3, 0x40000000n)).toEqual({ kind: 'invalid' });
  });
});

describe('the walk on garbage tables', () => {
  it('seeded fuzz: random descriptors and addresses end in null or an address below 2^52, never a throw', async () => {
    let x = 0x2545f4914f6cdd1dn;
    const rnd = (): bigint => {
      x ^= (x << 13n) & MASK64;
      x ^= x >> 7n;
      x ^= (x << 17n) & MASK64;
      return x;
    };
    for (const [page, va] of [[4096, 48], [4096, 39], [16384, 47], [65536, 42], [65536, 48]] as const) {
      const p = aarch64Paging({ PAGESIZE: String(page), 'NUMBER(VA_BITS)': String(va), 'NUMBER(MAX_PHYSMEM_BITS)': '52' })!;
      let reads = 0;
      for (let i = 0; i < 500; i++) {
        const r = await aarch64Walk(p, rnd() & 0xfffffffff000n, rnd(), async () => (reads++ % 7 === 6 ? null : rnd()));
        if (r !== null) expect(r < 1n << 52n).toBe(true);
      }
      // At most one read per level and walk.
      expect(reads).toBeLessThanOrEqual(500 * p.levels);
    }
  });
});

describe('the oops parser on the aarch64 log', () => {
  it('sysrq panic: kind, headline, CPU/PID/comm, hardware, release, the arm64 "Call trace:" frames', () => {
    const r = parseOops(reference);
    const o = r.first!;
    expect(o.kind).toBe('panic');
    expect(o.headline).toBe('Kernel panic - not syncing: sysrq triggered crash');
    expect(o.panic).toBe('sysrq triggered crash');
    // -smp 1; the guest's /init (PID 1) writes the sysrq trigger.
    expect([o.cpu, o.pid, o.comm]).toEqual([0, 1, 'init']);
    expect(o.hardware).toBe('linux,dummy-virt (DT)');
    expect(o.release).toBe(manifest.release);
    expect(o.tainted).toEqual({ raw: '', flags: [] });
    // A plain panic() on 6.1: no pc/lr lines (those come with an "Internal error: Oops").
    expect([o.pc, o.lr, o.faultAddress]).toEqual([null, null, null]);
    // The frames are the lines under "Call trace:", in order, each function+off/len.
    const block = reference.slice(reference.indexOf('Call trace:\n') + 'Call trace:\n'.length);
    const lines = block.split('\n');
    const frames: string[] = [];
    for (const l of lines) {
      const m = /^\[[ \d.]+\]  (\S+)\+0x([0-9a-f]+)\/0x([0-9a-f]+)$/.exec(l);
      if (!m) break;
      frames.push(`${m[1]}+${parseInt(m[2]!, 16)}/${parseInt(m[3]!, 16)}`);
    }
    expect(frames.length).toBeGreaterThan(5);
    expect(o.trace.map((e) => (e.type === 'frame' ? `${e.function}+${e.offset}/${e.length}` : e.type))).toEqual(frames);
    expect(frames.some((f) => f.startsWith('panic+'))).toBe(true);
    expect(frames.some((f) => f.startsWith('write_sysrq_trigger+'))).toBe(true);
    expect(r.others).toEqual([]);
    // The headline names the first frame that is neither the printing/panic machinery nor a
    // `+0x0` return address (the call to the noreturn panic() ended the function before it).
    const machinery = /^(dump_backtrace|show_stack|dump_stack_lvl|dump_stack|panic)\+/;
    const at = frames.find((f) => !machinery.test(f) && !/\+0\//.test(f))!;
    const [fn, off] = at.split(/[+/]/);
    expect(oopsHeadline(o)).toBe(`panic: sysrq triggered crash in ${fn}+0x${Number(off).toString(16)} (init, pid 1, CPU 0), tainted: none`);
  });
});

describe('the oops parser on a real aarch64 Oops (kdbg_oops.ko: NULL struct pointer, field at offset 8)', () => {
  const o = parseOops(oopsReference).first!;
  /** The log's own `name: value` register pairs (arm64 __show_regs: pstate, sp, x29 … x0). */
  const logged = (): Record<string, string> => {
    const out: Record<string, string> = {};
    const at = oopsReference.slice(oopsReference.indexOf('pstate: '), oopsReference.indexOf('Call trace:'));
    const pstate = /pstate: ([0-9a-f]+)/.exec(at);
    if (pstate) out['pstate'] = pstate[1]!;
    for (const m of at.matchAll(/\b(sp|x\d+)\s*: ([0-9a-f]{16})/g)) out[m[1]!] = m[2]!;
    return out;
  };
  const loc = (word: 'pc' | 'lr'): { function: string; offset: number; length: number; module: string } => {
    const m = new RegExp(`\\] ${word} : (\\S+)\\+0x([0-9a-f]+)/0x([0-9a-f]+) \\[(\\S+)\\]`).exec(oopsReference)!;
    return { function: m[1]!, offset: parseInt(m[2]!, 16), length: parseInt(m[3]!, 16), module: m[4]! };
  };

  it('kind, headline, fault address, the Oops line with its ESR', () => {
    expect(o.kind).toBe('null-pointer-dereference');
    expect(o.headline).toBe('Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008');
    expect(o.faultAddress).toBe('0000000000000008');
    const esr = /Internal error: Oops: ([0-9a-f]+) \[#1\] SMP/.exec(oopsReference)![1];
    expect(o.oops).toEqual({ trap: null, errorCode: esr, count: 1, flags: ['SMP'] });
    expect(o.panic).toBe('Oops: Fatal exception');
  });

  it('pc and lr name the module functions of kdbg_oops.c', () => {
    expect(loc('pc').function).toBe('kdbg_oops_read_value');
    expect(loc('lr').function).toBe('kdbg_oops_write');
    expect(o.pc).toEqual({ ...loc('pc'), address: null, segment: null });
    expect(o.lr).toEqual({ ...loc('lr'), address: null });
  });

  it('registers: pstate, sp and x0–x29 as logged; x0 is the NULL pointer', () => {
    const want = logged();
    expect(Object.keys(want).length).toBe(32);
    expect(o.registers).toEqual(want);
    expect(o.registers['x0']).toBe('0000000000000000');
  });

  it('modules, taint, task, hardware, release; the trace starts at the faulting function', () => {
    expect(o.modules).toEqual([
      { name: 'kdbg_oops', taint: 'OE' },
      { name: 'qemu_fw_cfg', taint: null },
    ]);
    expect(o.tainted?.flags.map((f) => f.letter)).toEqual(['O', 'E']);
    expect([o.cpu, o.pid, o.comm, o.hardware, o.release]).toEqual([0, 1, 'init', 'linux,dummy-virt (DT)', manifest.release]);
    const first = o.trace[0]!;
    expect(first.type === 'frame' && [first.function, first.module, first.reliable]).toEqual(['kdbg_oops_read_value', 'kdbg_oops', true]);
    expect(o.trace.every((e) => e.type === 'frame')).toBe(true);
    expect(oopsHeadline(o)).toBe(`NULL pointer dereference at 0000000000000008 in kdbg_oops_read_value+0x${loc('pc').offset.toString(16)} [kdbg_oops] (init, pid 1, CPU 0), tainted: OE`);
  });
});
