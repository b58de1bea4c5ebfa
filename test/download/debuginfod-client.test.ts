// kdbg's debuginfod client against (1) the real elfutils `debuginfod` indexing real RPM, deb and
// plain-ELF fixtures (scripts/fixtures/60-debuginfod.sh) and (2) the loopback mirror server with
// faults (dropped connection → resume, 503 → failover, wrong file → IntegrityError).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/core/errors.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { fetchDebuginfo, parseDebuginfodUrls, readFileBuildId } from '../../src/download/debuginfod.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startDebuginfod, metricValue, type DebuginfodProcess } from '../helpers/debuginfod.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const fx = requireFixture('debuginfod');
const ids = JSON.parse(readFileSync(join(fx, 'build-ids.json'), 'utf8')) as { rpm: string; deb: string; plain: string };

describe('fetchDebuginfo against the real elfutils debuginfod', () => {
  let server: DebuginfodProcess;
  let url = '';
  const work = mkdtempSync(join(tmpdir(), 'kdbg-dbgd-'));

  beforeAll(async () => {
    // Ready once the scan found all three debuginfo files (one per source type).
    server = await startDebuginfod(['-R', '-U', '-F'], [join(fx, 'rpm'), join(fx, 'deb'), join(fx, 'plain')], (t) =>
      metricValue(t, 'found_debuginfo_total{source=".rpm archive"}') >= 1 &&
      metricValue(t, 'found_debuginfo_total{source=".deb archive"}') >= 1 &&
      metricValue(t, 'found_debuginfo_total{source="files"}') >= 1,
    );
    url = server.url;
  });

  afterAll(() => server?.stop());

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
