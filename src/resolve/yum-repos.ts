// The host's own yum/dnf debuginfo repositories (<etcRoot>/yum.repos.d/*.repo), so a RHEL-family
// analysis host works without configuration. Only repos whose id says debug/debuginfo are taken,
// enabled or not (debuginfo repos ship disabled). baseurl → `repo` sources, mirrorlist and
// metalink → list sources. dnf variables from <etcRoot>/dnf/vars and <etcRoot>/yum/vars are
// filled in now; $releasever/$basearch stay for the release being resolved (layout.ts).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelRepoRank, repoAccess } from './repo-access.js';
import type { MirrorSource } from './sources.js';
import { readYumMain } from './yum-main.js';

export interface RepoSection {
  id: string;
  keys: Record<string, string>;
}

/** Parse a .repo (INI) file: sections, `key=value`, indented continuation lines, # and ; comments. */
export function parseRepoFile(text: string): RepoSection[] {
  const out: RepoSection[] = [];
  let cur: RepoSection | null = null;
  let lastKey: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || raw.trim() === '') {
      lastKey = null;
      continue;
    }
    const sec = /^\[([^\]]+)\]\s*$/.exec(raw.trim());
    if (sec && !/^\s/.test(raw)) {
      cur = { id: sec[1]!.trim(), keys: {} };
      out.push(cur);
      lastKey = null;
      continue;
    }
    if (!cur) continue;
    if (/^\s/.test(raw) && lastKey) {
      cur.keys[lastKey] = `${cur.keys[lastKey] ?? ''}\n${raw.trim()}`;
      continue;
    }
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    lastKey = raw.slice(0, eq).trim().toLowerCase();
    cur.keys[lastKey] = raw.slice(eq + 1).trim();
  }
  return out;
}

/** Variables the release decides; never taken from the host's var files. */
const RELEASE_VARS = new Set(['releasever', 'releasever_major', 'releasever_minor', 'basearch', 'arch']);

async function readVars(etcRoot: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  // yum first, then dnf: dnf's value wins where both define a variable.
  for (const dir of [join(etcRoot, 'yum', 'vars'), join(etcRoot, 'dnf', 'vars')]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || RELEASE_VARS.has(n)) continue;
      try {
        vars[n] = (await readFile(join(dir, n), 'utf8')).split('\n')[0]!.trim();
      } catch {
        // unreadable var file: leave the variable unset
      }
    }
  }
  return vars;
}

export function substituteVars(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? m);
}

const DEBUG_ID = /debug/i;

/**
 * Debuginfo sources from <etcRoot>/yum.repos.d, in file-name order; within a file the repos that
 * carry the kernel first (repo-access.ts kernelRepoRank), then section order. Certificate and
 * key paths are read under `root` (KDBG_ROOT).
 */
export async function readHostRepos(etcRoot: string, root = '/'): Promise<MirrorSource[]> {
  const dir = join(etcRoot, 'yum.repos.d');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.repo')).sort();
  } catch {
    return [];
  }
  const vars = await readVars(etcRoot);
  const main = await readYumMain(etcRoot, parseRepoFile); // a repo without its own gpgcheck inherits [main]'s, as in dnf
  const out: MirrorSource[] = [];
  for (const n of names) {
    const file = join(dir, n);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const secs = parseRepoFile(text).map((sec, i) => ({ sec, i }));
    secs.sort((a, b) => kernelRepoRank(a.sec.id) - kernelRepoRank(b.sec.id) || a.i - b.i);
    for (const { sec } of secs) {
      if (!DEBUG_ID.test(sec.id) || sec.id.toLowerCase() === 'main') continue;
      const origin = `${file} [${sec.id}]`;
      const add = (type: MirrorSource['type'], url: string): void => {
        const u = substituteVars(url, vars);
        if (!/^https?:\/\//.test(u)) return;
        const src: MirrorSource = { type, url: u, match: ['rpm'], origin };
        const access = repoAccess(sec.keys, u, origin, root);
        if (access) src.access = access;
        if (/^(1|yes|true)$/i.test(sec.keys['repo_gpgcheck'] ?? main.repo_gpgcheck ?? '')) src.repoGpgcheck = true;
        if (/^(1|yes|true)$/i.test(sec.keys['gpgcheck'] ?? main.gpgcheck ?? '')) src.gpgcheck = true;
        const keys = (sec.keys['gpgkey'] ?? '').split(/[\s,]+/).filter((k) => k !== '').map((k) => substituteVars(k, vars));
        if (keys.length > 0) src.gpgkey = keys.map((k) => k.replace(/^file:\/\//, ''));
        out.push(src);
      };
      for (const u of (sec.keys['baseurl'] ?? '').split(/[\s,]+/)) if (u) add('repo', u);
      if (sec.keys['metalink']) add('metalink', sec.keys['metalink']);
      if (sec.keys['mirrorlist']) add('mirrorlist', sec.keys['mirrorlist']);
    }
  }
  return out;
}
