// issue 20, item 4: drgn loads a module's debuginfo that came through `kdbg serve`, the way an
// analysis host with Debian 12's drgn (python3-drgn 0.0.22) does it. That drgn has no debuginfod
// client for the kernel (its own arrived in 0.0.31), so the host asks with elfutils'
// `debuginfod-find` (DEBUGINFOD_URLS = kdbg serve on 127.0.0.1), which lands the file in its
// client cache, and hands that file to `drgn -s`. The libdw drgn links does ask debuginfod for a
// module file given without DWARF; the last test shows what that path gives with 0.0.22 (types,
// not addresses).
// Real parts only: the QEMU oops dump of fixture 30 (makedumpfile's kdump-compressed, which this
// drgn reads through libkdumpfile), fixture 76's signed Debian archive on a 127.0.0.1 mirror (the
// real 858 MB linux-image-<release>-dbg and the oops module's -dbg package), `kdbg serve --fetch`
// over an empty cache. The module's build-id is read from the dump's memory by drgn, the vmlinux's
// by `kdbg identify`; both files drgn is finally given came through kdbg serve. The first drgn run
// (before any fetch) is given the real Debian vmlinux of fixture 40, the same bytes. The script
// drgn runs is drgn-oops.py beside this file.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetrics, metricValue, waitForIndexIds } from '../helpers/debuginfod.js';
import { debianVmlinux, fixturePath, requireFixture, vmcoreKernel } from '../helpers/fixtures.js';
import { isolatedServeEnv, startKdbgServe, type KdbgServe } from '../helpers/kdbg-serve.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

interface MirrorManifest {
  release: string;
  kernelDeb: string;
  moduleDeb: string;
  moduleSha256: string;
}
interface Frame {
  name: string | null;
  pc: string;
  file: string | null;
  line: number | null;
}
/** What drgn-oops.py prints (addresses as hex strings). */
interface DrgnOops {
  release: string;
  modules: { name: string; base: string; textSize: number; buildId: string | null }[];
  crashedPid: number;
  regs: string[];
  rip?: string;
  symbol?: string | null;
  symbolAddress?: string;
  /** The DWARF address of the function the symbol names (null: no DWARF for it). */
  functionAddress?: string | null;
  frames?: Frame[];
  type: { name: string; members: Record<string, number> } | null;
}

const mm = JSON.parse(readFileSync(requireFixture('modules-mirror', 'manifest.json'), 'utf8')) as MirrorManifest;
const vmcore = requireFixture('vmcores', 'oops', 'vmcore.kdump-zlib');
const ko = requireFixture('vmcores', 'oops', 'kdbg_oops.ko');
const source = requireFixture('vmcores', 'oops', 'kdbg_oops.c');
const vm = debianVmlinux();
const repo = join(import.meta.dirname, '..', '..');
const script = join(import.meta.dirname, 'drgn-oops.py');
const work = mkdtempSync(join(tmpdir(), 'kdbg-drgn-'));
const clientCache = join(work, 'client');
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const readelfBuildId = (f: string): string => /Build ID:\s*([0-9a-f]+)/.exec(execFileSync('readelf', ['-nW', f], { encoding: 'utf8' }))![1]!;
/** The line of the module's source that dereferences the NULL item (the oops). */
const oopsLine = readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes('return item->value;')) + 1;

let mirror: MirrorServer;
let serve: KdbgServe | undefined;
let kdbgUrl = '';
const kdbgLog = (): string => serve?.log() ?? '';
const drgnVersion = /drgn (\S+)/.exec(execFileSync('drgn', ['--version'], { encoding: 'utf8' }))?.[1] ?? '';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 300_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr, ms: performance.now() - t0 });
    });
  });
}

/**
 * `drgn -q -c VMCORE -s VMLINUX [-s MODULE_FILE] drgn-oops.py kdbg_oops 'struct kdbg_oops_item'`,
 * with DEBUGINFOD_URLS only when `debuginfod` is given.
 */
async function drgn(vmlinux: string, moduleFile: string | null, debuginfod?: { urls: string; cache: string }): Promise<DrgnOops> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['DEBUGINFOD_URLS'];
  delete env['DEBUGINFOD_PROGRESS'];
  if (debuginfod) Object.assign(env, { DEBUGINFOD_URLS: debuginfod.urls, DEBUGINFOD_CACHE_PATH: debuginfod.cache, DEBUGINFOD_TIMEOUT: '300' });
  const syms = ['-s', vmlinux, ...(moduleFile ? ['-s', moduleFile] : [])];
  const r = await run('drgn', ['-q', '-c', vmcore, ...syms, script, 'kdbg_oops', 'struct kdbg_oops_item'], env);
  expect(r.code, r.stderr).toBe(0);
  console.log(`drgn -s ${moduleFile ? basename(moduleFile) : '(vmlinux only)'}${debuginfod ? ' with DEBUGINFOD_URLS' : ''}: ${r.ms.toFixed(0)} ms`);
  return JSON.parse(r.stdout) as DrgnOops;
}

beforeAll(async () => {
  mirror = await startMirrorServer(join(requireFixture('modules-mirror', 'manifest.json'), '..'));
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [fixturePath('keys', 'archive.asc')] }));
  serve = await startKdbgServe(['--fetch', '--mirror', mirror.url, '--config', config, '--cache-dir', join(work, 'cache')], isolatedServeEnv(join(work, 'xdg')));
  kdbgUrl = serve.url;
}, 120_000);

afterAll(async () => {
  if (serve) expect(await serve.stop()).toBe(0);
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("drgn 0.0.22 loads an oops module's debuginfo through kdbg serve", () => {
  let bare: DrgnOops;
  let moduleId = '';
  let fetched = '';
  let fetchedVmlinux = '';

  it('without it, drgn reads the module and its build-id from the dump but cannot name the oops function', async () => {
    bare = await drgn(vm.path, null);
    expect(bare.release).toBe(vmcoreKernel().release);
    const mod = bare.modules.find((m) => m.name === 'kdbg_oops');
    expect(mod, JSON.stringify(bare.modules)).toBeDefined();
    // The id in the dump's memory is the id of the module file the guest loaded.
    moduleId = mod!.buildId!;
    expect(moduleId).toBe(readelfBuildId(ko));
    expect(bare.crashedPid).toBe(1);
    expect(bare.regs).toHaveLength(1);
    const rip = BigInt(bare.rip!);
    expect(rip >= BigInt(mod!.base) && rip < BigInt(mod!.base) + BigInt(mod!.textSize)).toBe(true);
    // Only the module's own file names what is at that address.
    expect(bare.symbol).toBeNull();
    expect(bare.frames![0]!.name).toBeNull();
    expect(bare.frames!.some((f) => f.name !== null)).toBe(false);
    expect(bare.type).toBeNull();
  }, 300_000);

  it("debuginfod-find fetches the module's debug file by that id from kdbg serve --fetch into the client cache, then the vmlinux by the dump's id", async () => {
    // kdbg serve indexes the archive at start, in the background: wait until it knows the ids.
    const t0 = Date.now();
    const ids = await waitForIndexIds(kdbgUrl, 2);
    expect(ids, kdbgLog()).toBeGreaterThanOrEqual(2);
    const indexMs = Date.now() - t0;
    const moduleReqs = (): number => mirror.requests.filter((q) => q.path === `/${mm.moduleDeb}` && q.status < 300).length;
    const before = moduleReqs();
    const sentBefore = mirror.requests.length;
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: kdbgUrl, DEBUGINFOD_CACHE_PATH: clientCache, DEBUGINFOD_TIMEOUT: '300' };
    delete env['DEBUGINFOD_PROGRESS'];
    const r = await run('debuginfod-find', ['debuginfo', moduleId], env);
    expect(r.code, `${r.stderr}\n${kdbgLog()}`).toBe(0);
    fetched = r.stdout;
    expect(fetched).toBe(join(clientCache, moduleId, 'debuginfo'));
    expect(sha256File(fetched)).toBe(mm.moduleSha256);
    expect(moduleReqs()).toBeGreaterThan(before); // fetched on the miss, from the mirror
    expect(metricValue((await fetchMetrics(kdbgUrl)) ?? '', 'kdbg_serve_fetches_total')).toBe(1);
    // What the miss read from the mirror: a module id's release is fetched first (its vmlinux,
    // by the partial path), then the module package.
    const miss = mirror.requests.slice(sentBefore);
    const bytes = (path: string): string => `${miss.filter((q) => q.path === `/${path}`).length} requests, ${miss.filter((q) => q.path === `/${path}`).reduce((a, q) => a + q.bytesSent, 0)} bytes`;
    console.log(`index ready after ${indexMs} ms of waiting; module miss through debuginfod-find → kdbg serve --fetch → mirror: ${r.ms.toFixed(0)} ms; kernel package ${bytes(mm.kernelDeb)}, module package ${bytes(mm.moduleDeb)}; kdbg: ${kdbgLog().split('\n').filter((l) => l.startsWith('fetch on miss')).join(' | ')}`);

    // The vmlinux by the id the dump carries (VMCOREINFO BUILD-ID, as kdbg identify reads it): the
    // module's miss fetched its release, so kdbg answers from its cache without a second fetch.
    const id = await run(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'identify', '--json', vmcore], isolatedServeEnv(join(work, 'xdg')));
    expect(id.code, id.stderr).toBe(0);
    const buildId = (JSON.parse(id.stdout) as { buildId: string }).buildId;
    expect(buildId).toBe(vm.buildId);
    const v = await run('debuginfod-find', ['debuginfo', buildId], env);
    expect(v.code, `${v.stderr}\n${kdbgLog()}`).toBe(0);
    fetchedVmlinux = v.stdout;
    expect(fetchedVmlinux).toBe(join(clientCache, buildId, 'debuginfo'));
    expect(sha256File(fetchedVmlinux)).toBe(vm.vmlinuxSha256);
    expect(metricValue((await fetchMetrics(kdbgUrl)) ?? '', 'kdbg_serve_fetches_total')).toBe(1);
    console.log(`vmlinux by the dump's id from kdbg serve (cached by the module's miss): ${v.ms.toFixed(0)} ms`);
  }, 600_000);

  it('drgn -s <that file> names the function at the oops RIP, unwinds through the module and knows its type', async () => {
    expect(fetched).not.toBe('');
    expect(fetchedVmlinux).not.toBe('');
    const full = await drgn(fetchedVmlinux, fetched);
    expect(full.rip).toBe(bare.rip);
    expect(full.symbol).toBe('kdbg_oops_read_value');
    expect(full.functionAddress).toBe(full.symbolAddress);
    const [f0, f1] = full.frames!;
    expect(f0).toMatchObject({ name: 'kdbg_oops_read_value', pc: bare.rip, line: oopsLine });
    expect(basename(f0!.file!)).toBe('kdbg_oops.c');
    expect(f1!.name).toBe('kdbg_oops_write');
    // The module's call frame information carries the unwind on into the kernel's frames.
    const names = full.frames!.map((f) => f.name);
    expect(names).toContain('vfs_write');
    expect(full.type).toEqual({ name: 'struct kdbg_oops_item', members: { id: 0, value: 8 } });
    console.log(`drgn: ${full.frames!.map((f) => f.name ?? f.pc).join(' ← ')}`);
  }, 300_000);

  // drgn 0.0.22 has no debuginfod client of its own, but the libdw it links asks debuginfod for
  // the DWARF of a file it is given without any (dwfl_standard_find_debuginfo, by build-id). An
  // analysis host holds the module as its package installed it: stripped of debug sections.
  it("drgn -s <the stripped module> with DEBUGINFOD_URLS: drgn's libdw asks kdbg serve itself, and the module's type comes from its answer", async () => {
    const stripped = join(work, 'kdbg_oops.ko');
    execFileSync('strip', ['--strip-debug', '-o', stripped, ko]);
    expect(readelfBuildId(stripped)).toBe(moduleId);
    expect(execFileSync('readelf', ['-SW', stripped], { encoding: 'utf8' })).not.toContain('.debug_info');
    // Without debuginfod drgn drops the file ("libdwfl error: No DWARF information found").
    const alone = await drgn(fetchedVmlinux, stripped);
    expect(alone.symbol).toBeNull();
    expect(alone.type).toBeNull();

    const answered = async (): Promise<number> => {
      const v = metricValue((await fetchMetrics(kdbgUrl)) ?? '', 'kdbg_serve_requests_total{type="debuginfo",status="200"}');
      return Number.isNaN(v) ? 0 : v;
    };
    const before = await answered();
    const cache = join(work, 'client-drgn');
    const via = await drgn(fetchedVmlinux, stripped, { urls: kdbgUrl, cache });
    expect(via.type).toEqual({ name: 'struct kdbg_oops_item', members: { id: 0, value: 8 } });
    expect(via.symbol).toBe('kdbg_oops_read_value');
    expect(sha256File(join(cache, moduleId, 'debuginfo'))).toBe(mm.moduleSha256);
    let after = await answered();
    for (let i = 0; i < 30 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100)); // counted once the response was handed over
      after = await answered();
    }
    expect(after).toBe(before + 1);
    // drgn 0.0.22 gives the module's section addresses only to the file it was handed (sh_addr
    // written into that file's headers). libdw relocates the DWARF of the file it found itself by
    // asking drgn's section_address callback, which answers -1 ("not loaded") for every section,
    // and libdwfl then makes no adjustment (__libdwfl_relocate_value): the DWARF keeps section
    // offsets (the function at .text+0 is at 0x0). So this path gives types, not a function or
    // line at the oops RIP; `-s <the fetched file>` gives them all.
    if (drgnVersion === '0.0.22') {
      expect(via.functionAddress).toBe('0x0');
      expect(via.frames![0]!.name).toBeNull();
    }
    console.log(`drgn's own debuginfod request: symbol ${via.symbol ?? 'none'} at ${via.symbolAddress ?? '-'}, its DWARF function at ${via.functionAddress ?? '-'}, frame 0 ${via.frames![0]!.name ?? '(no name)'}, ${via.frames!.length} frames, type ${via.type?.name ?? 'none'}`);
  }, 300_000);
});
