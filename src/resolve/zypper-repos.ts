// The host's zypper repositories (<etcRoot>/zypp/repos.d/*.repo), so a SUSE analysis host works
// without configuration. A SUSE kernel needs two kinds: the `-Debuginfo-` / `repo-debug*` repos
// (kernel-FLAVOR-debuginfo, -debugsource; taken enabled or not, as they ship disabled) and the
// ordinary enabled ones (kernel-FLAVOR, which holds the stripped image). Only `type=rpm-md` (or
// untyped) http(s) repos. Registered SLES repositories authenticate as zypper does: the
// `credentials=NAME` URL parameter (or the repo's `service=NAME`) names
// <etcRoot>/zypp/credentials.d/NAME, whose username/password become HTTP basic credentials; a
// token query left on the URL (SCC) is sent with every request.
// zypper's own variables come from <etcRoot>/zypp/vars.d; $releasever/$basearch stay for the
// release being resolved (layout.ts sets $releasever to the Leap release of an SLE kernel).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accessPrefix, repoAccess, repoBool } from './repo-access.js';
import type { MirrorSource } from './sources.js';
import { parseRepoFile, substituteVars } from './yum-repos.js';
import { zypperGpgcheck } from './zypper-gpgcheck.js';

const RELEASE_VARS = new Set(['releasever', 'releasever_major', 'releasever_minor', 'basearch', 'arch']);

/** zypper credentials files: `username=` and `password=` lines. */
export function parseCredentials(text: string): { username?: string; password?: string } {
  const out: { username?: string; password?: string } = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(username|password)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1] as 'username' | 'password'] = m[2]!;
  }
  return out;
}

async function readVars(etcRoot: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  const dir = join(etcRoot, 'zypp', 'vars.d');
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return vars;
  }
  for (const n of names.sort()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || RELEASE_VARS.has(n)) continue;
    try {
      vars[n] = (await readFile(join(dir, n), 'utf8')).split('\n')[0]!.trim();
    } catch {
      // unreadable var file: leave the variable unset
    }
  }
  return vars;
}

async function credentials(etcRoot: string, name: string): Promise<{ username?: string; password?: string }> {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) return {};
  try {
    return parseCredentials(await readFile(join(etcRoot, 'zypp', 'credentials.d', name), 'utf8'));
  } catch {
    return {}; // zypper itself asks interactively; kdbg goes on without credentials
  }
}

const DEBUG = /debug/i;
const SKIP = /source/i;

/** zypper repositories for SUSE releases, debug repos first, in file-name then section order. */
export async function readZypperRepos(etcRoot: string, root = '/'): Promise<MirrorSource[]> {
  const dir = join(etcRoot, 'zypp', 'repos.d');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.repo')).sort();
  } catch {
    return [];
  }
  const vars = await readVars(etcRoot);
  const debug: MirrorSource[] = [];
  const main: MirrorSource[] = [];
  for (const n of names) {
    const file = join(dir, n);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const sec of parseRepoFile(text)) {
      const type = (sec.keys['type'] ?? 'rpm-md').toLowerCase();
      if (type !== 'rpm-md' && type !== 'none' && type !== 'nu') continue;
      const isDebug = DEBUG.test(sec.id) || DEBUG.test(sec.keys['name'] ?? '');
      if (!isDebug && (!repoBool(sec.keys['enabled'], true) || SKIP.test(sec.id))) continue;
      const origin = `${file} [${sec.id}]`;
      for (const raw of (sec.keys['baseurl'] ?? '').split(/[\s,]+/)) {
        if (!raw) continue;
        let u = substituteVars(raw, vars);
        if (!/^https?:\/\//.test(u)) continue;
        const keys = { ...sec.keys };
        const q = u.indexOf('?');
        let credName = sec.keys['service'];
        if (q >= 0) {
          const params = new URLSearchParams(u.slice(q + 1));
          const c = params.get('credentials');
          if (c) {
            credName = c;
            params.delete('credentials');
            const rest = params.toString();
            u = u.slice(0, q) + (rest ? `?${rest}` : '');
          }
        }
        // What is left of the query (SCC's `?<token>`) goes on every request, as libzypp appends
        // it after `repodata/…` and package paths; the base itself stays a plain directory URL.
        const qi = u.indexOf('?');
        const query = qi >= 0 ? u.slice(qi + 1) : '';
        if (qi >= 0) u = u.slice(0, qi);
        if (credName) Object.assign(keys, await credentials(etcRoot, credName));
        const src: MirrorSource = { type: 'repo', url: u, match: ['suse'], origin };
        let access = repoAccess(keys, u, origin, root);
        if (query) access = { ...(access ?? { prefix: accessPrefix(u), origin, verify: true }), query };
        if (access) src.access = access;
        Object.assign(src, zypperGpgcheck(sec.keys, (k) => substituteVars(k, vars))); // gpgcheck/pkg_gpgcheck/repo_gpgcheck, gpgkey
        (isDebug ? debug : main).push(src);
      }
    }
  }
  return [...debug, ...main];
}
