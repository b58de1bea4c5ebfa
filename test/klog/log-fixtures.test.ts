// kdbg log on the real QEMU dumps of scripts/fixtures/30-vmcores.sh, every format: the text must be
// byte-identical to makedumpfile --dump-dmesg. makedumpfile is run here on the files it reads
// (kdump-compressed, makedumpfile -E ELF); QEMU's raw ELF and flattened files, which it refuses,
// are compared with the vmcore-dmesg.txt that makedumpfile made from the same crash (same kind).
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

import { readDumpLog } from '../../src/klog/index.js';
import { formatRecord, recordsText } from '../../src/klog/format.js';
import { decodeLocklessRing, readLocklessBytes } from '../../src/klog/lockless.js';
import type { LocklessBytes, LocklessLayout } from '../../src/klog/lockless.js';
import { openDumpForLog } from '../../src/klog/open.js';
import { readElfTables } from '../../src/formats/elf.js';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { debianVmlinux, fixturePath, guestCpu, requireFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..', '..');
const kdbg = join(repoRoot, 'bin', 'kdbg.js');
const tmp = mkdtempSync(join(tmpdir(), 'kdbg-klog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Dump {
  file: string;
  kind: string;
  format: string;
  producer: string;
}
const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as { kinds: Record<string, { dmesg: string | null }>; dumps: Dump[] };
const memoryDumps = manifest.dumps.filter((d) => d.format !== 'dmesg');
const withLog = memoryDumps.filter((d) => manifest.kinds[d.kind]?.dmesg);
const withoutVmcoreinfo = memoryDumps.filter((d) => !manifest.kinds[d.kind]?.dmesg);
/** What makedumpfile 1.7.2 reads: its own kdump-compressed and ELF output (not QEMU's, not flattened). */
const makedumpfileReads = (d: Dump): boolean => d.producer.startsWith('makedumpfile') && (d.format === 'kdump-compressed' || d.format === 'elf64');

function runKdbg(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [kdbg, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

async function makedumpfileDmesg(file: string): Promise<string> {
  const out = join(tmp, `md-${Math.random().toString(36).slice(2)}.txt`);
  await run('makedumpfile', ['--dump-dmesg', file, out]);
  return readFileSync(out, 'latin1');
}

describe('kdbg log = makedumpfile --dump-dmesg on the real dumps', () => {
  it('has dumps of every format to check', () => {
    expect(new Set(withLog.map((d) => d.format))).toEqual(new Set(['elf64', 'kdump-compressed', 'flattened', 'split']));
  });

  for (const d of withLog) {
    it(`${d.file} (${d.producer})`, async () => {
      const log = await readDumpLog(fixturePath('vmcores', d.file));
      expect(log.layout).toBe('lockless');
      expect(log.problems).toEqual([]);
      expect(log.levelSource).toBe('inferred');
      const text = recordsText(log.records);
      const sibling = readFileSync(fixturePath('vmcores', manifest.kinds[d.kind]!.dmesg!), 'latin1');
      expect(text).toBe(sibling);
      if (makedumpfileReads(d)) expect(text).toBe(await makedumpfileDmesg(fixturePath('vmcores', d.file)));
    }, 60_000);
  }

  it('the CLI prints the same bytes, exits 0, and --tail/--level/--json select records', async () => {
    const file = fixturePath('vmcores', 'oops', 'vmcore.kdump-zlib');
    const want = readFileSync(fixturePath('vmcores', 'oops', 'vmcore-dmesg.txt'), 'latin1');
    const all = await runKdbg(['log', file]);
    expect(all).toEqual({ code: 0, stdout: want, stderr: '' });
    const tail = await runKdbg(['log', file, '--tail', '2']);
    expect(tail.stdout).toBe(want.split('\n').slice(-3).join('\n'));
    const emerg = await runKdbg(['log', file, '--level', '0', '--json']);
    const j = JSON.parse(emerg.stdout) as { layout: string; records: { level: number; facility: number; caller: string; text: string; sequence: number; timestamp: number; timestampNsec: string }[] };
    expect(j.layout).toBe('lockless');
    // KERN_EMERG records: panic() prints its message at level 0 (kernel/panic.c pr_emerg).
    expect(j.records.map((r) => r.text)).toEqual(['Kernel panic - not syncing: Fatal exception']);
    const r = j.records[0]!;
    expect(r).toMatchObject({ level: 0, facility: 0, caller: 'T1' });
    expect(`[${r.timestampNsec.slice(0, -9).padStart(5)}.${r.timestampNsec.slice(-9, -3)}] ${r.text}`).toBe(want.trimEnd().split('\n').at(-1));
  }, 60_000);

  it('--caller adds makedumpfile 1.7.5’s caller column', async () => {
    const log = await readDumpLog(fixturePath('vmcores', 'sysrq', 'vmcore.kdump-zlib'));
    const panic = log.records.find((r) => new TextDecoder().decode(r.text).startsWith('Kernel panic'))!;
    expect(formatRecord(panic, { caller: true })).toMatch(/^\[ +\d+\.\d{6}\] \[ +[TC]\d+\] Kernel panic - not syncing: sysrq triggered crash\n$/);
  });
});

// crash reads QEMU's flattened kdump, which makedumpfile refuses; with the real vmlinux (DWARF) it
// knows each record's level, which kdbg infers from the bytes after printk_info.text_len.
describe('kdbg log = crash `log -m` (real vmlinux) on the QEMU flattened oops dump', () => {
  it('same text, and the same level for every record', async () => {
    const dump = fixturePath('vmcores', 'oops', 'vmcore.qemu-kdump-zlib.flat');
    const crash = spawn(requireFixture('crash-trixie', 'crash'), ['-s', debianVmlinux().path, dump], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    crash.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    crash.stdin.end('log -m\nquit\n');
    await new Promise((res) => crash.on('close', res));
    const lines = out.split('\n').filter((l) => /^\[ *\d+\.\d{6}\] <\d>/.test(l) || /^ {15}/.test(l));
    const levels = lines.filter((l) => l.startsWith('[')).map((l) => Number(/<(\d)>/.exec(l)![1]));
    // -m puts "<N>" after the timestamp and indents continuation lines by its 3 columns too.
    const crashText = lines.map((l) => l.replace(/^(\[ *\d+\.\d{6}\] )<\d>/, '$1').replace(/^ {18}/, ' '.repeat(15))).join('\n') + '\n';
    const log = await readDumpLog(dump);
    expect(recordsText(log.records)).toBe(crashText);
    expect(log.records.map((r) => r.level)).toEqual(levels);
  }, 180_000);
});

describe('kdbg log on bad input', () => {
  for (const d of withoutVmcoreinfo) {
    it(`${d.file}: no VMCOREINFO → exit 65 and one line`, async () => {
      const r = await runKdbg(['log', fixturePath('vmcores', d.file)]);
      expect(r.code).toBe(65);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('no VMCOREINFO');
    }, 60_000);
  }

  it('a dump cut off inside the text ring: prints the records it holds, says what is missing, exit 3', async () => {
    const src = fixturePath('vmcores', 'sysrq', 'vmcore.elf');
    // Where the data ring lies in the file: its image address → physical → PT_LOAD offset.
    const d = await openDumpForLog(src);
    const got = await readLocklessBytes(d.identity.vmcoreinfo!, d.memory!);
    await d.close();
    if (!('layout' in got)) throw new Error(got.message);
    const pa = got.bytes.header.data - 0xffffffff80000000n;
    const ra = await FileRandomAccess.open(src);
    const { programHeaders } = await readElfTables(ra, { sections: false });
    await ra.close();
    const load = programHeaders.find((p) => p.p_type === 1 && pa >= p.p_paddr && pa < p.p_paddr + BigInt(p.p_filesz))!;
    const dataAt = load.p_offset + Number(pa - load.p_paddr);
    const cut = join(tmp, 'vmcore.cut');
    copyFileSync(src, cut);
    // The log's 26 KB of text fill the start of the 128 KiB ring: keep its first 8 KiB.
    truncateSync(cut, dataAt + 8192);
    const r = await runKdbg(['log', cut]);
    expect(r.code).toBe(3);
    const stderr = r.stderr.trim().split('\n');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/log incomplete: \d+ records not in the dump/);
    // Every line printed is a line of the full log, in order.
    const full = readFileSync(fixturePath('vmcores', 'sysrq', 'vmcore-dmesg.txt'), 'latin1');
    expect(r.stdout.length).toBeGreaterThan(1000);
    expect(r.stdout.length).toBeLessThan(full.length);
    let at = 0;
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      at = full.indexOf(`${line}\n`, at);
      expect(at).toBeGreaterThanOrEqual(0);
    }
  }, 120_000);

  it('a vmcore-dmesg.txt or a missing file is refused with one line', async () => {
    const txt = await runKdbg(['log', fixturePath('vmcores', 'sysrq', 'vmcore-dmesg.txt')]);
    expect(txt.code).toBe(65);
    expect(txt.stderr).toContain('already a kernel log');
    const none = await runKdbg(['log', join(tmp, 'nope')]);
    expect(none.code).toBe(66);
    writeFileSync(join(tmp, 'junk'), 'not a dump at all\n'.repeat(10));
    const junk = await runKdbg(['log', join(tmp, 'junk')]);
    expect(junk.code).toBe(65);
    expect(junk.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});

// The real ring's bytes, corrupted on purpose: the reader must keep what is intact and never throw.
describe('lockless ring decoding on damaged real bytes', async () => {
  const d = await openDumpForLog(fixturePath('vmcores', 'oops', 'vmcore.kdump-zlib'));
  const got = await readLocklessBytes(d.identity.vmcoreinfo!, d.memory!);
  await d.close();
  if (!('layout' in got)) throw new Error(got.message);
  const L: LocklessLayout = got.layout;
  const clean: LocklessBytes = got.bytes;
  const whole = decodeLocklessRing(clean, L);
  const copy = (): LocklessBytes => ({ ...clean, descs: clean.descs.slice(), infos: clean.infos.slice(), data: clean.data.slice() });

  it('a block whose ID was overwritten is skipped as torn, the rest is read', () => {
    const r = copy();
    // The 10th record's text block: its leading ID word (just before the text) is overwritten.
    const victim = whole.records[10]!;
    const seq = victim.sequence;
    const at = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length).indexOf(Buffer.from(victim.text));
    expect(at).toBeGreaterThanOrEqual(8);
    new DataView(r.data.buffer, r.data.byteOffset).setBigUint64(at - 8, 0x4141414141414141n, true);
    const out = decodeLocklessRing(r, L);
    expect(out.records).toHaveLength(whole.records.length - 1);
    expect(out.problems.map((p) => p.code)).toEqual(['torn']);
    expect(out.records.map((x) => x.sequence)).not.toContain(seq);
  });

  it('tail and head further apart than the ring holds: reports torn indexes, stops', () => {
    const r = copy();
    r.header = { ...r.header, head_id: r.header.tail_id + (1n << 40n) };
    const out = decodeLocklessRing(r, L);
    expect(out.problems.some((p) => p.code === 'torn' && /inconsistent/.test(p.message))).toBe(true);
  });

  it('random corruption of descriptors, infos and text never throws (200 seeded rounds)', () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let round = 0; round < 200; round++) {
      const r = copy();
      for (let k = 0; k < 1 + rand(64); k++) {
        const arr = [r.descs, r.infos, r.data][rand(3)]!;
        arr[rand(arr.length)] = rand(256);
      }
      if (rand(10) === 0) r.header = { ...r.header, tail_id: BigInt(rand(1 << 30)), head_id: BigInt(rand(1 << 30)) };
      const out = decodeLocklessRing(r, L);
      expect(out.records.length).toBeLessThanOrEqual(2 ** r.header.count_bits + 1);
      for (const rec of out.records) expect(rec.text.length).toBeLessThanOrEqual(r.data.length);
    }
  });
});

describe('kdbg analyze: the first look comes before any fetch', () => {
  it('prints the headline and call trace from the dump alone, then goes on (here: stops offline)', async () => {
    const r = await runKdbg(['analyze', fixturePath('vmcores', 'oops', 'vmcore.kdump-zlib'), '--offline', '--cache-dir', join(tmp, 'empty-cache')]);
    const lines = r.stderr.split('\n');
    const look = lines.findIndex((l) => l.startsWith('kdbg: first look: '));
    const offline = lines.findIndex((l) => l.includes('--offline forbids the network'));
    expect(look).toBeGreaterThan(0);
    expect(offline).toBeGreaterThan(look);
    expect(lines[look]).toMatch(new RegExp(String.raw`^kdbg: first look: NULL pointer dereference at 0000000000000008 in kdbg_oops_read_value\+0x[0-9a-f]+ \[kdbg_oops\] \(init, pid 1, CPU ${guestCpu('oops')}\), tainted: OE$`));
    expect(lines.some((l) => /^kdbg: {3}kdbg_oops_write\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kdbg_oops\]$/.test(l))).toBe(true);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('--no-fetch stops there and writes the report from the dump alone: Markdown, JSON, HTML', async () => {
    const out = join(tmp, 'first-look');
    const r = await runKdbg(['analyze', fixturePath('vmcores', 'oops', 'vmcore.qemu-kdump-zlib.flat'), '--no-fetch', '-q', '-o', out, '--cache-dir', join(tmp, 'empty-cache')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(String.raw`^NULL pointer dereference at 0000000000000008 in kdbg_oops_read_value\+0x[0-9a-f]+ \[kdbg_oops\] \(init, pid 1, CPU ${guestCpu('oops')}\), tainted: OE\n$`));
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { schema: string; dump: { format: string }; firstLook: { oops: { kind: string; pc: { function: string } } }; log: { layout: string; records: number; tail: string[] } };
    expect(report.schema).toBe('kdbg.firstlook/v1');
    expect(report.dump.format).toBe('flattened');
    expect(report.firstLook.oops.kind).toBe('null-pointer-dereference');
    expect(report.firstLook.oops.pc.function).toBe('kdbg_oops_read_value');
    expect(report.log.layout).toBe('lockless');
    expect(report.log.tail.at(-1)).toMatch(/Kernel panic - not syncing: Fatal exception$/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/ {2}kdbg_oops_write\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kdbg_oops\]/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('&lt;TASK&gt;');
    expect(html).not.toContain('<TASK>');
  }, 60_000);
});

describe('address translation on the real dumps', () => {
  // SYMBOL(mem_section) is a direct-map address (memblock-allocated): with no PT_LOAD p_vaddr in a
  // kdump-compressed file, kdbg reaches it only by walking the kernel page tables from
  // init_top_pgt. The guest booted with nokaslr, so the direct map starts at 0xffff888000000000
  // and the same bytes are at physical va - 0xffff888000000000: both reads must agree.
  it('the x86_64 page-table walk lands where the direct map says', async () => {
    const { kernelMemory } = await import('../../src/klog/memory.js');
    const { kdumpPhysReader: kdumpPartReader } = await import('../../src/identify/memory.js');
    const { readKdumpHeaders } = await import('../../src/formats/kdump.js');
    const file = fixturePath('vmcores', 'sysrq', 'vmcore.kdump-zlib');
    const d = await openDumpForLog(file);
    const vi = d.identity.vmcoreinfo!;
    await d.close();
    const va = BigInt(`0x${vi['SYMBOL(mem_section)']}`);
    expect(va >> 40n).toBe(0xffff88n);
    const ra = await FileRandomAccess.open(file);
    try {
      const { header } = await readKdumpHeaders(ra);
      const phys = kdumpPartReader(ra, header);
      const mem = kernelMemory({ vi, arch: 'x86_64', littleEndian: true, phys, virt: null });
      const walked = await mem.readExact(va, 4096);
      const direct = await phys(va - 0xffff888000000000n, 4096);
      expect(walked).not.toBeNull();
      expect(walked!.some((b) => b !== 0)).toBe(true);
      expect(walked).toEqual(direct);
      // An address no page table maps comes back as a hole, not an error.
      const r = await mem.read(0xffffc00000000000n, 64);
      expect(r.holes).toEqual([[0, 64]]);
    } finally {
      await ra.close();
    }
  });
});
