// The `[main]` section of the host's yum/dnf configuration (<etcRoot>/dnf/dnf.conf, and
// <etcRoot>/yum.conf for yum on el7), for the options a repository inherits when its own stanza
// leaves them out: dnf reads `gpgcheck` and `repo_gpgcheck` of a repo as "the repo's value, else
// [main]'s" (libdnf's ConfigRepo falls back to ConfigMain). Where both files set an option, dnf.conf
// wins (dnf reads only dnf.conf; on el8+ yum.conf is a link to it). Unset everywhere: off, dnf's
// own default.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface YumMain {
  gpgcheck?: string;
  repo_gpgcheck?: string;
}

/** `[main]` of dnf.conf over yum.conf; unreadable or absent files count as empty. The INI parser is yum-repos.ts's (passed in: no import cycle). */
export async function readYumMain(etcRoot: string, parseRepoFile: (text: string) => { id: string; keys: Record<string, string> }[]): Promise<YumMain> {
  const out: YumMain = {};
  // yum.conf first, then dnf.conf: the later one overrides.
  for (const file of [join(etcRoot, 'yum.conf'), join(etcRoot, 'dnf', 'dnf.conf')]) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const main = parseRepoFile(text).find((s) => s.id.toLowerCase() === 'main');
    for (const k of ['gpgcheck', 'repo_gpgcheck'] as const) if (main?.keys[k] !== undefined) out[k] = main.keys[k];
  }
  return out;
}
