// Leftovers of kdbg processes of this host that no longer run, removed when a cache is opened:
// their lock and in-use files, staging directories under tmp/ (`<host>-<pid>-…`) and the temp files of atomic writes
// (`.<host>-<pid>.<hex>.tmp`, fs-util.ts) in the directories where they are written. A SIGKILL
// between a temp file's write and its rename used to leave one in partial/ for good (found by
// test/reliability/kill-points.test.ts). Other hosts' leftovers are left to `kdbg cache prune`,
// which removes them once they are a day old: a pid says nothing across hosts.

import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

function deadPid(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/** The pid in a name made by this host (`<host>-<pid>-…` or `.<host>-<pid>.….tmp`), else null. */
export function pidOfLeftover(name: string, host = hostname()): number | null {
  const n = name.startsWith('.') && name.endsWith('.tmp') ? name.slice(1) : name;
  if (!n.startsWith(`${host}-`)) return null;
  const m = /^(\d+)[-.]/.exec(n.slice(host.length + 1));
  return m ? Number(m[1]) : null;
}

/** Lock and in-use files (`{pid, host, …}` JSON) of dead processes of this host; empty use-dirs go too. */
async function sweepDeadLocks(locksDir: string): Promise<void> {
  const host = hostname();
  const deadHolder = async (p: string): Promise<boolean> => {
    try {
      const info = JSON.parse(await fsp.readFile(p, 'utf8')) as { pid?: unknown; host?: unknown };
      return info.host === host && typeof info.pid === 'number' && deadPid(info.pid);
    } catch {
      return false; // being written, or not ours to judge
    }
  };
  for (const e of await fsp.readdir(locksDir, { withFileTypes: true }).catch(() => [])) {
    const p = join(locksDir, e.name);
    if (e.isFile() && e.name.endsWith('.lock')) {
      if (await deadHolder(p)) await fsp.rm(p, { force: true }).catch(() => undefined);
    } else if (e.isDirectory() && e.name.startsWith('use-')) {
      for (const n of await fsp.readdir(p).catch(() => [] as string[])) if (await deadHolder(join(p, n))) await fsp.rm(join(p, n), { force: true }).catch(() => undefined);
      await fsp.rmdir(p).catch(() => undefined);
    }
  }
}

export async function sweepDeadLeftovers(tmpDir: string, tempFileDirs: readonly string[], locksDir?: string): Promise<void> {
  if (locksDir) await sweepDeadLocks(locksDir);
  for (const n of await fsp.readdir(tmpDir).catch(() => [] as string[])) {
    const pid = pidOfLeftover(n);
    if (pid !== null && !n.startsWith('.') && deadPid(pid)) await fsp.rm(join(tmpDir, n), { recursive: true, force: true }).catch(() => undefined);
  }
  for (const d of tempFileDirs) {
    for (const n of await fsp.readdir(d).catch(() => [] as string[])) {
      if (!n.startsWith('.') || !n.endsWith('.tmp')) continue;
      const pid = pidOfLeftover(n);
      if (pid !== null && deadPid(pid)) await fsp.rm(join(d, n), { force: true }).catch(() => undefined);
    }
  }
}
