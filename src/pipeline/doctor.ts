// `kdbg doctor`: is this host ready for the dumps it will get? Each check is one line; each
// problem carries the exact command that fixes it on this distribution (host-fixes.ts).
//   crash          found, and its version
//   crash-kernel   crash against every kernel in the cache (known minimums: CRASH_MINIMUMS)
//   gdb, drgn      present on PATH (optional tools beside crash)
//   cache          the cache directory can be written (a real write, not the mode bits: root
//                  ignores those), and its group permissions when it is shared
//   disk           free space against --max-size (the size `kdbg cache prune --max-size` keeps)
//   mirror         every configured mirror/repository answers a HEAD within the timeout
//   certificate    the client certificates of entitled yum repositories (sslclientcert) are valid

import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rm, stat, statfs } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { processEnv, type Env } from '../core/env.js';
import type { HttpFetcher } from '../core/types.js';
import { cacheDirOf } from './cache-dir.js';
import { crashFixCommand, hostDistro, installCommand, type HostDistro } from './host-fixes.js';

export const DOCTOR_SCHEMA = 'kdbg.doctor/v1';

export type DoctorCheckId = 'crash' | 'crash-kernel' | 'gdb' | 'drgn' | 'cache' | 'cache-group' | 'disk' | 'mirror' | 'certificate';

export interface DoctorCheck {
  id: DoctorCheckId;
  status: 'ok' | 'warning' | 'problem';
  /** What was checked: a path, a kernel release, a URL. */
  subject: string;
  message: string;
  /** The command that fixes it on this host; null when ok (or nothing to run). */
  fix: string | null;
}

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA;
  host: HostDistro;
  cacheDir: string;
  checks: DoctorCheck[];
  problems: number;
  warnings: number;
}

export interface DoctorOptions {
  cacheDir?: string;
  /** --crash; else KDBG_CRASH, else PATH. */
  crash?: string;
  /** The size the cache may grow to (bytes); the disk check compares free space with it. */
  maxSizeBytes?: number;
  mirrors?: string[];
  repos?: string[];
  configFile?: string;
  /** Per-mirror HEAD timeout (default 5 s). */
  timeoutMs?: number;
  /** Root of /etc (os-release, yum.repos.d, apt); tests point it at a temp dir. */
  etcRoot?: string;
  /** Certificates expiring within this many days are a warning (default 14). */
  certWarnDays?: number;
  env?: Env;
  http?: HttpFetcher;
  now?: Date;
}

async function onPath(name: string, env: Env): Promise<string | null> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      const p = join(dir, name);
      if ((await stat(p)).isFile()) {
        await access(p, constants.X_OK);
        return p;
      }
    } catch {
      // next
    }
  }
  return null;
}

function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}

export async function doctor(o: DoctorOptions = {}): Promise<DoctorReport> {
  const env = o.env ?? processEnv();
  const etc = o.etcRoot ?? '/etc';
  const host = await hostDistro(etc);
  const cacheDir = cacheDirOf({ cacheDir: o.cacheDir, env });
  const checks: DoctorCheck[] = [];
  await checkCrash(checks, o, env, host, etc, cacheDir);
  for (const [tool, pkg, why] of [
    ['gdb', { deb: 'gdb', rpm: 'gdb' }, 'gdb reads the vmlinux and modules beside crash'],
    ['drgn', { deb: 'python3-drgn', rpm: 'drgn' }, 'drgn scripts the same dumps from Python'],
  ] as const) {
    const p = await onPath(tool, env);
    checks.push(p ? { id: tool, status: 'ok', subject: p, message: `${tool} found`, fix: null } : { id: tool, status: 'warning', subject: tool, message: `${tool} not on PATH (optional: ${why})`, fix: installCommand(host, pkg) });
  }
  await checkCache(checks, cacheDir, o.maxSizeBytes ?? null);
  await checkMirrors(checks, o, env, etc);
  await checkCertificates(checks, etc, o.certWarnDays ?? 14, o.now ?? new Date());
  return { schema: DOCTOR_SCHEMA, host, cacheDir, checks, problems: checks.filter((c) => c.status === 'problem').length, warnings: checks.filter((c) => c.status === 'warning').length };
}

async function checkCrash(checks: DoctorCheck[], o: DoctorOptions, env: Env, host: HostDistro, etc: string, cacheDir: string): Promise<void> {
  const { locateCrash, crashVersion, compareVersions, minimumCrashFor } = await import('../analyze/crash-binary.js');
  let crash: { path: string; version: string | null };
  try {
    const l = await locateCrash({ flag: o.crash, env: { KDBG_CRASH: env['KDBG_CRASH'], PATH: env['PATH'] } });
    crash = { path: l.path, version: await crashVersion(l.path) };
  } catch (e) {
    checks.push({ id: 'crash', status: 'problem', subject: o.crash ?? 'crash', message: (e as Error).message, fix: await crashFixCommand(host, null, etc) });
    return;
  }
  checks.push({ id: 'crash', status: crash.version ? 'ok' : 'warning', subject: crash.path, message: crash.version ? `crash ${crash.version}` : 'crash --version printed no version', fix: null });
  // Every kernel the cache holds is a kernel this host analyses.
  const { openCache } = await import('../cache/index.js');
  const { upstreamVersion } = await import('../verify/index.js');
  let entries: { release: string; banner: string | null; packageVersion: string | null }[] = [];
  try {
    entries = (await (await openCache(cacheDir)).listEntries()).map((r) => ({
      release: r.entry.release,
      banner: r.entry.banner,
      // Debian's package version ("6.1.192-3", from linux-image-…-dbg_6.1.192-3_amd64.deb) names the stable release.
      packageVersion: /_([^_]+)_[^_]+\.deb$/.exec(r.entry.packages[0]?.fileName ?? '')?.[1] ?? null,
    }));
  } catch {
    // an unreadable cache is the cache check's to report
  }
  for (const e of entries) {
    const kv = upstreamVersion(e.release, e.banner, e.packageVersion);
    const min = minimumCrashFor(kv);
    if (!min || crash.version === null) continue;
    if (compareVersions(crash.version, min.crash) >= 0) {
      checks.push({ id: 'crash-kernel', status: 'ok', subject: e.release, message: `crash ${crash.version} reads Linux ${kv} (needs >= ${min.crash})`, fix: null });
    } else {
      checks.push({
        id: 'crash-kernel',
        status: 'problem',
        subject: e.release,
        message: `crash ${crash.version} is too old for ${e.release} (Linux ${kv}): crash >= ${min.crash} is needed (${min.why})`,
        fix: await crashFixCommand(host, min.crash, etc),
      });
    }
  }
}

/** Write, then remove, a file where the cache writes its temporary files. */
async function probeWrite(dir: string): Promise<NodeJS.ErrnoException | null> {
  const tmp = join(dir, 'tmp');
  try {
    await mkdir(dir, { recursive: true });
    // Not recursive: node reports a read-only filesystem under a recursive mkdir as ENOENT.
    await mkdir(tmp).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      if (!(await stat(tmp)).isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${tmp} is a file, not a directory`), { code: 'ENOTDIR', path: tmp });
    });
    const f = join(tmp, `.doctor-${process.pid}`);
    const fh = await open(f, 'w');
    await fh.close();
    await rm(f, { force: true });
    return null;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

async function checkCache(checks: DoctorCheck[], dir: string, maxSize: number | null): Promise<void> {
  const err = await probeWrite(dir);
  if (err) {
    const where = err.path ?? dir;
    const fix =
      err.code === 'EROFS'
        ? `kdbg … --cache-dir DIR on a writable filesystem, or: mount -o remount,rw "$(df --output=target ${dir} | tail -1)"`
        : err.code === 'ENOTDIR' || err.code === 'EEXIST'
          ? `mv ${where} ${where}.not-a-dir && mkdir -p ${dir}/tmp`
          : err.code === 'EACCES' || err.code === 'EPERM'
            ? `chown -R "$(id -un)" ${dir}   # or, for a shared cache: chgrp -R GROUP ${dir} && chmod -R g+rwX ${dir} && find ${dir} -type d -exec chmod g+s {} +`
            : `mkdir -p ${dir}/tmp`;
    checks.push({ id: 'cache', status: 'problem', subject: dir, message: `the cache cannot be written: ${err.code ?? 'error'} on ${where} (${err.message.replace(/^[A-Z]+: /, '')})`, fix });
    return;
  }
  checks.push({ id: 'cache', status: 'ok', subject: dir, message: 'the cache can be written', fix: null });
  // A cache shared by a group (the root is group-writable) needs every directory so, and setgid
  // so that new files keep the group.
  const st = await stat(dir);
  if ((st.mode & 0o020) !== 0) {
    const bad: string[] = [];
    // Two levels: kdbg repairs its top-level directories when it opens the cache, not what a
    // user with another umask published below them (releases/<uname>, modules/<uname>).
    const subdirs = async (p: string): Promise<string[]> => (await readdir(p, { withFileTypes: true }).catch(() => [])).filter((x) => x.isDirectory()).map((x) => join(p, x.name));
    const level1 = await subdirs(dir);
    const level2 = (await Promise.all(level1.map(subdirs))).flat();
    for (const d of [dir, ...level1, ...level2]) {
      const s = await stat(d);
      if ((s.mode & 0o070) !== 0o070 || (s.mode & 0o2000) === 0 || s.gid !== st.gid) bad.push(d);
    }
    checks.push(
      bad.length === 0
        ? { id: 'cache-group', status: 'ok', subject: dir, message: `shared with group ${st.gid}: every directory g+rwxs`, fix: null }
        : { id: 'cache-group', status: 'problem', subject: dir, message: `shared with group ${st.gid}, but ${bad.length} director${bad.length === 1 ? 'y is' : 'ies are'} not group rwx+setgid or not of that group (${bad.slice(0, 3).join(', ')})`, fix: `chgrp -R ${st.gid} ${dir} && chmod -R g+rwX ${dir} && find ${dir} -type d -exec chmod g+s {} +` },
    );
  }
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (maxSize === null) {
    checks.push({ id: 'disk', status: 'ok', subject: dir, message: `${gib(free)} free (no --max-size given to compare with)`, fix: null });
    return;
  }
  const used = await duBytes(dir);
  const room = free + used;
  checks.push(
    room >= maxSize
      ? { id: 'disk', status: 'ok', subject: dir, message: `${gib(free)} free, ${gib(used)} used: room for the --max-size of ${gib(maxSize)}`, fix: null }
      : { id: 'disk', status: 'problem', subject: dir, message: `${gib(free)} free + ${gib(used)} used < --max-size ${gib(maxSize)}: the cache would fill the disk first`, fix: `kdbg cache prune --cache-dir ${dir} --max-size ${Math.max(0, Math.floor((room * 0.9) / 2 ** 30))}G` },
  );
}

async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    try {
      n += (await stat(join(e.parentPath, e.name))).blocks * 512;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

async function checkMirrors(checks: DoctorCheck[], o: DoctorOptions, env: Env, etc: string): Promise<void> {
  const resolve = await import('../resolve/index.js');
  const config = await resolve.loadMirrorConfig({ ...(o.configFile !== undefined ? { configFile: o.configFile } : {}), mirrors: o.mirrors ?? [], repos: o.repos ?? [], etcRoot: etc, env });
  const http = o.http ?? (await import('../download/http.js')).undiciFetcher;
  // A URL with placeholders ($releasever, {release}) is asked at its fixed part.
  const urls = [...new Set(config.sources.map((s) => s.url.replace(/[$%{].*$/, '')).filter((u) => /^https?:\/\//.test(u)))];
  const timeout = o.timeoutMs ?? 5000;
  await Promise.all(
    urls.map(async (url) => {
      const t = Date.now();
      try {
        const r = await http.head(url, { signal: AbortSignal.timeout(timeout) });
        const ok = r.status < 500;
        checks.push({ id: 'mirror', status: ok ? 'ok' : 'problem', subject: url, message: `HTTP ${r.status} in ${Date.now() - t} ms`, fix: ok ? null : `curl -sI ${url}   # then fix or remove it (${originOf(config.sources, url)})` });
      } catch (e) {
        checks.push({ id: 'mirror', status: 'problem', subject: url, message: `no answer within ${timeout} ms: ${(e as Error).message}`, fix: `curl -sI --max-time 10 ${url}   # check the proxy (https_proxy) and firewall, or remove it (${originOf(config.sources, url)})` });
      }
    }),
  );
}

function originOf(sources: readonly { url: string; origin: string }[], url: string): string {
  return sources.find((s) => s.url.startsWith(url))?.origin ?? 'the configuration';
}

async function checkCertificates(checks: DoctorCheck[], etc: string, warnDays: number, now: Date): Promise<void> {
  const { parseRepoFile } = await import('../resolve/index.js');
  const dir = join(etc, 'yum.repos.d');
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.repo')).sort();
  } catch {
    return; // not an RPM host
  }
  const seen = new Set<string>();
  for (const f of files) {
    for (const sec of parseRepoFile(await readFile(join(dir, f), 'utf8'))) {
      const cert = sec.keys['sslclientcert'];
      if (!cert || seen.has(cert) || /^(0|false|no)$/i.test(sec.keys['enabled'] ?? '1')) continue;
      seen.add(cert);
      const fix = 'subscription-manager refresh   # renews the entitlement certificates (then: dnf clean all)';
      let x: X509Certificate;
      try {
        x = new X509Certificate(await readFile(cert));
      } catch (e) {
        checks.push({ id: 'certificate', status: 'problem', subject: cert, message: `[${sec.id}] in ${f}: cannot read the client certificate: ${(e as Error).message}`, fix });
        continue;
      }
      const end = new Date(x.validTo);
      const days = Math.floor((end.getTime() - now.getTime()) / 86_400_000);
      if (end <= now) checks.push({ id: 'certificate', status: 'problem', subject: cert, message: `[${sec.id}] in ${f}: the client certificate expired on ${end.toISOString()}`, fix });
      else if (days < warnDays) checks.push({ id: 'certificate', status: 'warning', subject: cert, message: `[${sec.id}] in ${f}: the client certificate expires in ${days} day${days === 1 ? '' : 's'} (${end.toISOString()})`, fix });
      else checks.push({ id: 'certificate', status: 'ok', subject: cert, message: `[${sec.id}] valid until ${end.toISOString()}`, fix: null });
    }
  }
}
