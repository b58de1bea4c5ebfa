// Stage 5, download ⇉ extract: each resolved package is streamed from its mirror straight into
// the extractor (a tee: the bytes are hashed and stored while the members are written), or, when
// only the vmlinux of a block-indexed package is wanted, fetched partially (./partial.ts).
// Both packages run concurrently; the results go to the verify and publish stages.

import { join } from 'node:path';
import type { PaceLimits } from '../../download/pace.js';
import type { ExtractOptions, ExtractResult } from '../../extract/types.js';
import type { ExtractJob, FetchContext, JobResult } from './options.js';
import { partialFetch } from './partial.js';
import { rpmHeadCheck } from './rpm-signature.js';
import type { ResolvedPlan } from './plan.js';

async function extractJobs(ctx: FetchContext, plan: ResolvedPlan, staging: string): Promise<ExtractJob[]> {
  const select = await import('../../extract/select.js');
  const jobs: ExtractJob[] = [];
  if (plan.vmPkg) {
    const vm = select.vmlinuxSelector(ctx.rel.uname);
    const mods = ctx.want.modules ? select.modulesSelector() : null;
    jobs.push({ pkg: plan.vmPkg, selector: mods ? (m) => vm(m) || mods(m) : vm, ...(mods ? {} : { stopAfter: 1 }), dir: join(staging, 'x-vmlinux') });
  }
  if (plan.srcPkg) jobs.push({ pkg: plan.srcPkg, selector: select.sourceSelector(), dir: join(staging, 'x-source') });
  if (plan.imgPkg) {
    // Only the image member of the main package (/boot/vmlinux-<uname>.xz or .gz), not its modules.
    const { suseImageMembers } = await import('../../release/index.js');
    const want = new Set(suseImageMembers(ctx.rel));
    jobs.push({ pkg: plan.imgPkg, selector: (m) => m.type === 'file' && want.has(m.path), stopAfter: 1, dir: join(staging, 'x-image') });
  }
  return jobs;
}

/** A whole download, extracted as it arrives; a retried attempt starts the extraction again. */
async function wholeDownload(ctx: FetchContext, job: ExtractJob, pace: PaceLimits): Promise<JobResult> {
  const { opts, emit, cache } = ctx;
  const { downloadPackage } = await import('../../download/index.js');
  // A package of known size that cannot fit is refused before its first byte, in one line that
  // says how much is needed (the unpacked members come on top).
  if (job.pkg.size !== null && !(await cache.findPackage(job.pkg.sha256, job.pkg.fileName))) {
    const { ensureFreeSpace } = await import('../../cache/space.js');
    const have = await cache.partialBytes(cache.packageKey(job.pkg.sha256, job.pkg.fileName));
    ensureFreeSpace(cache.root, job.pkg.size - have, `${job.pkg.fileName} (${job.pkg.size} bytes, kept while it is unpacked)`);
  }
  const { extractPackage } = await import('../../extract/index.js');
  const r = await downloadPackage<ExtractResult>(job.pkg, {
    cache,
    consume: async (chunks, attempt) => {
      if (attempt > 0) await cache.removeTree(job.dir); // the bytes it saw were void
      // The download sets the pace here: no decoded block held ahead, one decoder streaming on its
      // own thread (types.ts).
      const xo: ExtractOptions = { destDir: job.dir, select: job.selector, label: job.pkg.fileName, onProgress: emit, decodeAhead: 0 };
      if (job.stopAfter !== undefined) xo.stopAfter = job.stopAfter;
      if (job.stopAtListed) xo.stopAtListed = true;
      if (opts.signal) xo.signal = opts.signal;
      const check = rpmHeadCheck(job.pkg, emit);
      if (check) xo.rpmHeadCheck = check;
      return extractPackage(chunks, xo);
    },
    onProgress: emit,
    pace,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retry ? { retry: opts.retry } : {}),
    ...(opts.segmented !== undefined ? { segmented: opts.segmented } : {}),
    ...(opts.lockTimeoutMs !== undefined ? { lockTimeoutMs: opts.lockTimeoutMs } : {}),
  });
  return { job, r: { ...r, sha256Verified: true, partial: null } };
}

export async function downloadAndExtract(ctx: FetchContext, plan: ResolvedPlan, staging: string): Promise<JobResult[]> {
  const jobs = await extractJobs(ctx, plan, staging);
  const { vmPkg } = plan;
  // A dump's modules named before the fetch ride along when the vmlinux package is read whole.
  const { namedModules, withNamedModules } = await import('./same-pass.js');
  const names = namedModules(ctx);
  const { paceLimits } = await import('../../download/pace.js');
  const pace = paceLimits(plan.idleTimeoutMs);
  // p-limit loads here, not at the top: a cache hit never needs it.
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(2);
  // allSettled, not all: a failed package must not leave its sibling writing into a staging
  // directory we are about to remove. The sibling's verified package still lands in the store.
  //
  // A partial vmlinux fetch decodes on every core; the sources package (thousands of small
  // files: ~100 MB of heap churn) waits until it is done instead of competing with it for both
  // (a multi-block RPM fetch peaked at 234 MB with the two side by side). A whole download
  // decodes one stream on one core, and the sources job runs beside it on the other.
  let partialDecided: (partial: boolean) => void = () => undefined;
  const vmlinuxWasPartial = new Promise<boolean>((r) => (partialDecided = r));
  if (!vmPkg) partialDecided(false);
  let vmlinuxRun: Promise<unknown> = Promise.resolve();
  const runJob = async (job: ExtractJob): Promise<JobResult> => {
    const isVmlinux = job.pkg === vmPkg;
    if (!isVmlinux && (await vmlinuxWasPartial)) await vmlinuxRun.catch(() => undefined);
    let partial: JobResult | null = null;
    try {
      // --no-partial / config partialFetch: false: whole, so the signed index's sha256 is checked.
      partial = ctx.opts.keepPackages !== true && plan.partialFetch !== false ? await partialFetch(job, ctx.cache, ctx.emit, ctx.opts.signal, pace) : null;
    } finally {
      if (isVmlinux) partialDecided(partial !== null);
    }
    return partial ?? wholeDownload(ctx, isVmlinux ? withNamedModules(job, names) : job, pace);
  };
  const settled = await Promise.allSettled(
    jobs.map((job) => {
      const run = limit(() => runJob(job));
      if (job.pkg === vmPkg) vmlinuxRun = run;
      return run;
    }),
  );
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
}
