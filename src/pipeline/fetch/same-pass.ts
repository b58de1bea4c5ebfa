// A dump's modules taken in the pass that writes the vmlinux (issue 17). An RPM read whole — el7's
// kernel-debuginfo, whose payload is one xz block, so no Range read can reach a member without
// decoding everything before it — passes every `*.ko.debug` on its way to the vmlinux: rpmbuild
// writes the payload in the header's sorted order, and `…/<uname>/kernel/…` sorts before
// `…/<uname>/vmlinux`. Writing the named ones as they go by costs no decode; asking for them once
// the vmlinux is cached means decoding the payload again (./modules.ts does that, and says so).
//
// Only RPMs: a deb's vmlinux (`usr/lib/debug/boot/`) comes before its modules (`…/lib/modules/`),
// so walking on for them would decode more than the vmlinux needs, while its multi-block xz lets
// the module step read just their blocks later (extract/partial-find.ts).

import { join } from 'node:path';
import type { FetchResult } from '../../core/fetch-result.js';
import type { ExtractJob, FetchContext, JobResult } from './options.js';
import { moduleKey, moduleOfPath } from './modules.js';

/** The module names asked for beside the vmlinux (FetchOptions.moduleNames), or null. */
export function namedModules(ctx: FetchContext): Set<string> | null {
  const names = ctx.opts.moduleNames;
  if (!names || names.length === 0 || ctx.want.modules) return null;
  return new Set(names.map(moduleKey));
}

/**
 * The whole-download job of the vmlinux package, widened to the named modules' debug files. The
 * walk still stops after the last wanted member the header lists (stopAtListed): a module the
 * package lacks (built out of tree) costs nothing past the vmlinux.
 */
export function withNamedModules(job: ExtractJob, names: Set<string> | null): ExtractJob {
  if (!names || job.pkg.kind !== 'rpm' || job.stopAfter === undefined) return job;
  const vm = job.selector;
  return {
    ...job,
    selector: (m) => vm(m) || (m.type === 'file' && names.has(moduleOfPath(m.path) ?? '')),
    stopAfter: job.stopAfter + names.size,
    stopAtListed: true,
  };
}

/** Move the named modules' files the pass wrote to `<cache>/modules/<uname>/<name>.ko`. */
export async function placeModulesInPass(ctx: FetchContext, results: JobResult[], names: Set<string> | null): Promise<FetchResult['modulesInPass']> {
  const vmRes = results.find((x) => x.job.pkg.role === 'vmlinux');
  // Only a pass that was widened to them (withNamedModules) says anything about them.
  if (!names || !vmRes || !vmRes.job.stopAtListed) return undefined;
  const out: NonNullable<FetchResult['modulesInPass']>['taken'] = [];
  const dir = join(ctx.cache.root, 'modules', ctx.rel.uname);
  for (const w of vmRes.r.consumed?.written ?? []) {
    const n = w.member.type === 'file' ? moduleOfPath(w.member.path) : null;
    if (n === null || !names.has(n) || out.some((x) => x.name === n)) continue;
    const to = join(dir, `${n}.ko`);
    await ctx.cache.adopt(w.path, to);
    out.push({ name: n, path: to, member: w.member.path, package: vmRes.job.pkg.fileName });
  }
  if (out.length > 0) {
    ctx.emit({ kind: 'info', message: `${vmRes.job.pkg.fileName}: ${out.length} of ${names.size} module debug file${names.size === 1 ? '' : 's'} taken in the pass that wrote the vmlinux (${out.map((x) => x.name).join(' ')})` });
  }
  return { asked: [...names], taken: out };
}
