// kdbg's debuginfod client against (1) the real elfutils `debuginfod` indexing real RPM, deb and
// plain-ELF fixtures (scripts/fixtures/60-debuginfod.sh) and (2) the loopback mirror server with
// faults (dropped connection → resume, 503 → failover, wrong file → IntegrityError).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/core/errors.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { fetchDebuginfo, parseDebuginfodUrls, readFileBuildId } from '../../src/download/debuginfod.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const fx = requireFixture('debuginfod');
const ids = JSON.parse(readFileSync(join(fx, 'build-ids.json'), 'utf8')) as { rpm: string; deb: string; plain: string };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function metrics(url: string): Promise<string | null> {
  try {
    const r = await fetch(`${url}/metrics`);
    return r.ok ? await r.text() : null;
  } catch {
    return null;
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}".]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('fetchDebuginfo against the real elfutils debuginfod', () => {
  let proc: ChildProcess | null = null;
  let url = '';
  const work = mkdtempSync(join(tmpdir(), 'kdbg-dbgd-'));

  beforeAll(async () => {
    // debuginfod 0.188 has no listen-address flag: it binds every interface. We only ever talk to
    // it through 127.0.0.1, and it has no DEBUGINFOD_URLS, so it never federates upstream.
    const env = { ...process.env };
    delete env['DEBUGINFOD_URLS'];
    for (let tries = 0; tries < 3 && !url; tries++) {
      const port = await freePort();
      const p = spawn(
        'debuginfod',
        ['-p', String(port), '-d', join(work, `db-${port}.sqlite`), '-t', '0', '-g', '0', '-c', '1', '-R', '-U', '-F', join(fx, 'rpm'), join(fx, 'deb'), join(fx, 'plain')],
        { env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let exited = false;
      p.once('exit', () => (exited = true));
      p.stderr?.resume();
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      // Ready once the scan found all three debuginfo files (one per source type).
      while (Date.now() < deadline && !exited) {
        const t = await metrics(base);
        if (
          t &&
          metric(t, 'found_debuginfo_total{source=".rpm archive"}') >= 1 &&
          metric(t, 'found_debuginfo_total{source=".deb archive"}') >= 1 &&
          metric(t, 'found_debuginfo_total{source="files"}') >= 1
        ) {
          url = base;
          proc = p;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!url) p.kill('SIGTERM');
    }
    if (!url) throw new Error('debuginfod did not come up (is bsdtar from libarchive-tools installed for -U?)');
  });

  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGTERM');
  });

  for (const [kind, file] of [
    ['rpm', 'hello-rpm.debug'],
    ['deb', 'hello-deb.debug'],
    ['plain', 'hello-plain'],
  ] as const) {
    it(`fetches the ${kind} fixture's debuginfo by build-id, byte-identical, build-id verified`, async () => {
      const dest = join(work, `${kind}.debug`);
      const events: ProgressEvent[] = [];
      const r = await fetchDebuginfo(ids[kind], { urls: [url], destFile: dest, onProgress: (e) => events.push(e) });
      expect(r).not.toBeNull();
      expect(r!.buildId).toBe(ids[kind]);
      expect(r!.size).toBe(readFileSync(join(fx, 'build', file)).length);
      expect(readFileSync(dest).equals(readFileSync(join(fx, 'build', file)))).toBe(true);
      expect(await readFileBuildId(dest)).toBe(ids[kind]);
      expect(events.some((e) => e.kind === 'download-done')).toBe(true);
      expect(readdirSync(work).filter((n) => n.endsWith('.part'))).toEqual([]);
    });
  }

  it('returns null for a build-id the server does not know (and publishes nothing)', async () => {
    const dest = join(work, 'unknown.debug');
    const r = await fetchDebuginfo('00'.repeat(20), { urls: [url], destFile: dest });
    expect(r).toBeNull();
    expect(existsSync(dest)).toBe(false);
  });
});

describe('fetchDebuginfo against a misbehaving loopback server', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdbg-dbgd-mirror-'));
  const work = mkdtempSync(join(tmpdir(), 'kdbg-dbgd-out-'));
  let good: MirrorServer;
  let bad: MirrorServer;
  beforeAll(async () => {
    // A static tree shaped like the debuginfod API: /buildid/<id>/debuginfo.
    mkdirSync(join(root, 'good', 'buildid', ids.rpm), { recursive: true });
    copyFileSync(join(fx, 'build', 'hello-rpm.debug'), join(root, 'good', 'buildid', ids.rpm, 'debuginfo'));
    // The "bad" server answers the rpm id with the deb fixture's file.
    mkdirSync(join(root, 'bad', 'buildid', ids.rpm), { recursive: true });
    copyFileSync(join(fx, 'build', 'hello-deb.debug'), join(root, 'bad', 'buildid', ids.rpm, 'debuginfo'));
    good = await startMirrorServer(join(root, 'good'));
    bad = await startMirrorServer(join(root, 'bad'));
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
  });

  it('refuses a file whose build-id differs: IntegrityError, nothing published, no temp left', async () => {
    const dest = join(work, 'mismatch.debug');
    const err = await fetchDebuginfo(ids.rpm, { urls: [bad.url], destFile: dest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).message).toContain(`wanted ${ids.rpm}`);
    expect((err as IntegrityError).message).toContain(ids.deb);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });

  it('after a mismatch, takes the next server that serves the right file', async () => {
    const dest = join(work, 'next.debug');
    const events: ProgressEvent[] = [];
    const r = await fetchDebuginfo(ids.rpm, { urls: [bad.url, good.url], destFile: dest, onProgress: (e) => events.push(e) });
    expect(r?.server).toBe(good.url);
    expect(events.some((e) => e.kind === 'warning' && e.code === 'KDBG_E_INTEGRITY')).toBe(true);
    expect(await readFileBuildId(dest)).toBe(ids.rpm);
  });

  it('resumes with Range after the connection drops mid-body', async () => {
    const dest = join(work, 'resumed.debug');
    let seen = 0;
    good.setFault((path) => (path.endsWith('/debuginfo') && ++seen === 1 ? { dropAfterBytes: 1000 } : undefined));
    try {
      const before = good.requests.length;
      const r = await fetchDebuginfo(ids.rpm, { urls: [good.url], destFile: dest, retryBaseMs: 10 });
      expect(r).not.toBeNull();
      expect(readFileSync(dest).equals(readFileSync(join(fx, 'build', 'hello-rpm.debug')))).toBe(true);
      const reqs = good.requests.slice(before);
      expect(reqs.length).toBe(2);
      expect(reqs[0]!.bytesSent).toBe(1000);
      expect(reqs[1]!.range).toBe('bytes=1000-');
      expect(reqs[1]!.status).toBe(206);
    } finally {
      good.setFault(null);
    }
  });

  it('retries 503 and then fails over to the next server, with a warning', async () => {
    const dest = join(work, 'failover.debug');
    bad.setFault(() => ({ status: 503 }));
    try {
      const events: ProgressEvent[] = [];
      const r = await fetchDebuginfo(ids.rpm, { urls: [bad.url, good.url], destFile: dest, attempts: 2, retryBaseMs: 5, onProgress: (e) => events.push(e) });
      expect(r?.server).toBe(good.url);
      expect(events.filter((e) => e.kind === 'retry')).toHaveLength(1);
      expect(events.some((e) => e.kind === 'warning' && e.message.includes('503'))).toBe(true);
    } finally {
      bad.setFault(null);
    }
  });

  it('returns null (fall back to packages) when every server is down', async () => {
    const r = await fetchDebuginfo(ids.rpm, { urls: ['http://127.0.0.1:1'], destFile: join(work, 'down.debug'), attempts: 1 });
    expect(r).toBeNull();
  });
});

describe('parseDebuginfodUrls', () => {
  it('splits DEBUGINFOD_URLS on whitespace, drops non-URLs and trailing slashes', () => {
    expect(parseDebuginfodUrls('http://a:8002/  https://b.example/x/ ima:enforcing http://a:8002')).toEqual(['http://a:8002', 'https://b.example/x']);
    expect(parseDebuginfodUrls(undefined)).toEqual([]);
    expect(parseDebuginfodUrls('')).toEqual([]);
  });
});
