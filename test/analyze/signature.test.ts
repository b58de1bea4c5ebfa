// Crash signatures (docs/analyze.md, "Signature") on real crashes: the recorded crash 8.0.6
// transcripts of the three QEMU dumps (full analysis, no crash run), the same dumps' own logs read
// from every container kdbg reads (first look), edited copies of the oops dump's log (another
// build: offsets, addresses, clone suffixes; another caller), and the oops corpus.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSections } from '../../src/analyze/index.js';
import { callChain } from '../../src/analyze/call-chain.js';
import { chainSignature, crashSignature, normalizeFunction } from '../../src/analyze/signature.js';
import type { CrashSignature } from '../../src/analyze/signature.js';
import { splitTranscript } from '../../src/analyze/transcript.js';
import { triage } from '../../src/analyze/triage.js';
import { readDumpLog } from '../../src/klog/index.js';
import { recordsText } from '../../src/klog/format.js';
import { parseOops } from '../../src/klog/oops.js';
import { analyzeDumpOnly } from '../../src/pipeline/analyze.js';
import { oopsSignature } from '../../src/pipeline/signature.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';

const KINDS = ['sysrq', 'nmi', 'oops'] as const;
const crashDir = join(import.meta.dirname, '..', 'fixtures', 'crash');

/** The full analysis' signature of a recorded crash session, as buildReport computes it. */
function transcriptSignature(file: string): CrashSignature {
  const p = parseSections(splitTranscript(readFileSync(file, 'utf8')));
  const t = triage({ sys: p.sys, bt: p.bt, log: p.log, kmem: p.kmem, ps: p.ps, dis: p.dis, sym: p.sym, hung: p.hung });
  return chainSignature(t.panicClass, callChain(p.bt?.tasks[0] ?? null, t.location), t.location);
}

const dmesgSignature = (kind: string): CrashSignature => oopsSignature(parseOops(readFileSync(requireFixture('vmcores', kind, 'vmcore-dmesg.txt'), 'utf8')).first!);

describe('signatures of the three real QEMU dumps', () => {
  const full = Object.fromEntries(KINDS.map((k) => [k, transcriptSignature(join(crashDir, '8.0.6', `${k}.txt`))]));

  it('are three different ones, each with the frames that name the crash', () => {
    expect(new Set(KINDS.map((k) => full[k]!.id)).size).toBe(3);
    expect(full['oops']).toMatchObject({
      class: 'null-dereference',
      frames: [
        { function: 'kdbg_oops_read_value', module: 'kdbg_oops' },
        { function: 'kdbg_oops_write', module: 'kdbg_oops' },
        { function: 'proc_reg_write', module: null },
      ],
    });
    // `__handle_sysrq.cold` in bt: the suffix goes; panic goes; the SysRq handler stays.
    expect(full['sysrq']!.text).toBe('sysrq: sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger');
    // The exception RIP and bt's frame of the same function are one entry; the NMI entry code goes.
    expect(full['nmi']!.text).toBe('nmi: unknown_nmi_error < native_safe_halt < amd_e400_idle');
    for (const k of KINDS) expect(full[k]!.id).toMatch(/^[0-9a-f]{12}$/);
  });

  // The recordings were made on the Debian build the archive carried then; the cached dumps are
  // rebuilt from whatever it carries now (when this was written: recordings 6.1.0-56, dumps
  // 6.1.0-57), so this is also "the same bug on another kernel build".
  it('agree between the full analysis (crash bt) and the first look (the log oops), and across crash 8.0.2 and 8.0.6', () => {
    for (const k of KINDS) {
      expect(dmesgSignature(k)).toEqual(full[k]);
      expect(transcriptSignature(join(crashDir, '8.0.2', `${k}.txt`)).id).toBe(full[k]!.id);
    }
  });

  it('is one per dump across every container the fixtures hold (ELF, kdump zlib/lzo/snappy, flattened, split)', async () => {
    const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as { dumps: { file: string; kind: string; format: string; expected: { source: string } }[] };
    const dumps = manifest.dumps.filter((d) => (KINDS as readonly string[]).includes(d.kind) && d.format !== 'dmesg' && d.expected.source === 'vmcoreinfo' && existsSync(fixturePath('vmcores', d.file)));
    const formats = new Set(dumps.map((d) => d.format));
    expect([...formats].sort()).toEqual(expect.arrayContaining(['elf64', 'flattened', 'kdump-compressed']));
    expect(dumps.some((d) => d.file.endsWith('.kdump-snappy'))).toBe(true);
    expect(dumps.some((d) => d.file.endsWith('.kdump-lzo'))).toBe(true);
    let read = 0;
    for (const d of dumps) {
      if (/split-[23]$/.test(d.file)) continue; // a split set is read from its first part
      const log = await readDumpLog(fixturePath('vmcores', d.file));
      const o = parseOops(recordsText(log.records)).first;
      expect(o, d.file).not.toBeNull();
      expect(oopsSignature(o!), d.file).toEqual(full[d.kind]);
      read++;
    }
    expect(read).toBeGreaterThanOrEqual(10);
  });

  it('goes into the first-look report.json of `analyze --no-fetch` (pipeline)', async () => {
    for (const k of KINDS) {
      const r = await analyzeDumpOnly({ dump: requireFixture('vmcores', k, 'vmcore.kdump-zlib') });
      expect(r.report.firstLook!.signature).toEqual(full[k]);
      expect(r.markdown).toContain(`signature: ${full[k]!.id} ${full[k]!.text}`);
    }
  });
});

describe('the same bug on another build, and another bug in the same function', () => {
  const log = readFileSync(requireFixture('vmcores', 'oops', 'vmcore-dmesg.txt'), 'utf8');
  const base = dmesgSignature('oops');

  it('ignores offsets, addresses, release and clone suffixes', () => {
    const rebuilt = log
      .replace(/6\.1\.0-56-amd64/g, '6.1.0-99-amd64')
      .replace(/kdbg_oops_read_value\+0x5\/0x10/g, 'kdbg_oops_read_value.isra.0+0x9/0x20')
      .replace(/kdbg_oops_write\+0x10\/0x28/g, 'kdbg_oops_write.constprop.0+0x14/0x30')
      .replace(/proc_reg_write\+0x56\/0xa0/g, 'proc_reg_write.part.0.cold+0x60/0xb0')
      .replace(/ffffc9000001/g, 'ffffc9000042')
      .replace(/vfs_write\+0xc7\/0x3f0/g, 'vfs_write+0xd1/0x400');
    expect(rebuilt).not.toBe(log);
    const again = oopsSignature(parseOops(rebuilt).first!);
    expect(again).toEqual(base);
  });

  it('tells different callers of the same faulting function apart', () => {
    const other = oopsSignature(parseOops(log.replace(/kdbg_oops_write\+0x10\/0x28/g, 'kdbg_oops_ioctl+0x10/0x28')).first!);
    expect(other.frames[0]).toEqual(base.frames[0]);
    expect(other.id).not.toBe(base.id);
    expect(other.text).toBe('null-dereference: kdbg_oops_read_value [kdbg_oops] < kdbg_oops_ioctl [kdbg_oops] < proc_reg_write');
  });

  it('drops "?" frames: an unreliable entry between real ones changes nothing', () => {
    const noisy = log.replace(/(\] +)(proc_reg_write\+0x56\/0xa0)/, '$1? do_sys_openat2+0x9b/0x170\n[    4.869698]  $2');
    expect(noisy).not.toBe(log);
    expect(oopsSignature(parseOops(noisy).first!)).toEqual(base);
  });

  it('keeps the module name: the same function in another module is another signature', () => {
    const a = crashSignature('null-dereference', [{ function: 'probe+0x10/0x20', module: 'mod_a' }]);
    const b = crashSignature('null-dereference', [{ function: 'probe+0x30/0x40', module: 'mod_b' }]);
    const a2 = crashSignature('null-dereference', [{ function: 'probe.isra.3+0x1/0x2', module: 'mod_a(OE)' }]);
    expect(a.id).not.toBe(b.id);
    expect(a2).toEqual(a);
  });
});

describe('normalizeFunction', () => {
  it.each([
    ['__handle_sysrq.cold+0x44/0x11c', '__handle_sysrq'],
    ['tcp_v4_rcv.isra.0', 'tcp_v4_rcv'],
    ['foo.constprop.12.isra.3', 'foo'],
    ['bar.part.0.cold.7', 'bar'],
    ['baz.llvm.123456789', 'baz'],
    ['native_safe_halt+11', 'native_safe_halt'],
    ['plain', 'plain'],
  ])('%s → %s', (raw, want) => expect(normalizeFunction(raw)).toBe(want));
});

describe('oops corpus vectors (first look)', () => {
  const corpus = join(import.meta.dirname, '..', 'fixtures', 'klog', 'oops-corpus');
  const sig = (f: string): CrashSignature => oopsSignature(parseOops(readFileSync(join(corpus, f), 'utf8')).first!);
  it.each([
    ['6.1-debian-knet.txt', 'null-dereference: bkn_seq_dma_next_pos [linux_bcm_knet]'],
    ['5.4-amzn2-gpf.txt', 'general-protection-fault: string_nocheck'],
    ['7.0-xen-bug.txt', 'kernel-bug: xen_leave_lazy_mmu'],
    ['aarch64-6.12-container.txt', 'null-dereference: percpu_counter_add_batch'],
    ['3.11-mptcp.txt', 'null-dereference: mptcp_reqsk_find_tk'],
    // The RIP is the fortify checker itself (generic) and the snippet has no trace: the class alone.
    ['6.15-fortify-bug.txt', 'kernel-bug: (no frames)'],
  ])('%s → %s', (f, text) => expect(sig(f).text).toBe(text));

  it('a RHEL 7 crash transcript: kexec, oops_end and the page-fault path go, the culprit stays', () => {
    const s = transcriptSignature(join(crashDir, 'seed-centos7', 'kswapd-null-deref.txt'));
    // The exception RIP (down_read_trylock, inlined into its caller) first, then bt's frames after page_fault.
    expect(s.text).toMatch(/^null-dereference: down_read_trylock < page_lock_anon_vma_read < /);
    expect(s.frames.map((f) => f.function)).not.toContain('page_fault');
  });
});
