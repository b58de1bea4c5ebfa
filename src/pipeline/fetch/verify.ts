// Stage 6, verify: the vmlinux the package should hold is there (else the package does not match
// the release), and its build-id is read and compared with the dump's. The packages' own sha256
// was checked by the download stage as the bytes went by (or, for a partial fetch, every xz block
// by its own check).

import { posix } from 'node:path';
import { InputFormatError } from '../../core/errors.js';
import type { WrittenMember } from '../../extract/types.js';
import type { FetchContext, JobResult } from './options.js';
import type { ResolvedPlan } from './plan.js';

export interface VerifiedVmlinux {
  /** The extracted vmlinux member, or null when the previous entry's is reused. */
  member: WrittenMember | null;
  /** The file whose build-id was read (the member's, or the previous entry's vmlinux). */
  file: string;
  sha256: string;
  buildId: string | null;
  /** SUSE: the stripped image decompressed from the main package (./image.ts), else null. */
  image: string | null;
  /** Its sha256 (null: a previous entry's image recorded none). */
  imageSha256: string | null;
}

function findVmlinux(written: WrittenMember[], memberPath: string): WrittenMember | null {
  const files = written.filter((w) => w.member.type === 'file');
  return (
    files.find((w) => w.member.path === memberPath) ??
    files.find((w) => posix.basename(w.member.path) === posix.basename(memberPath)) ??
    files.find((w) => /^vmlinux(-|$)/.test(posix.basename(w.member.path))) ??
    null
  );
}

export async function verifyVmlinux(ctx: FetchContext, plan: ResolvedPlan, results: JobResult[]): Promise<VerifiedVmlinux> {
  const { rel, dump, emit } = ctx;
  const vmRes = results.find((x) => x.job.pkg.role === 'vmlinux');
  let out: VerifiedVmlinux;
  if (vmRes) {
    const written = vmRes.r.consumed?.written ?? [];
    const vm = findVmlinux(written, plan.memberPath);
    if (!vm) {
      throw new InputFormatError(`${vmRes.job.pkg.fileName}: has no ${plan.memberPath}`, {
        file: vmRes.job.pkg.fileName,
        format: vmRes.job.pkg.kind,
        expected: plan.memberPath,
        found: written.length ? written.map((w) => w.member.path).slice(0, 3).join(', ') : 'no matching member',
      }, { hint: 'the package does not match the release; check --arch and the variant' });
    }
    out = { member: vm, file: vm.path, sha256: vm.sha256 ?? '', buildId: null, image: null, imageSha256: null };
  } else {
    const prev = plan.previous!.entry;
    out = { member: null, file: prev.vmlinux, sha256: prev.vmlinuxSha256, buildId: null, image: prev.image ?? null, imageSha256: prev.imageSha256 ?? null };
  }
  const imgRes = results.find((x) => x.job.pkg.role === 'image');
  if (imgRes) {
    const img = await (await import('./image.js')).materializeImage(ctx, imgRes);
    out.image = img.path;
    out.imageSha256 = img.sha256;
  }
  const { readFileBuildId } = await import('../../download/debuginfod.js');
  try {
    out.buildId = await readFileBuildId(out.file);
  } catch {
    out.buildId = null; // not an ELF with a build-id note: the entry still serves by release
  }
  // A debug-only file may lack the note its image has (both carry it when objcopy kept it).
  if (out.buildId === null && out.image) out.buildId = await readFileBuildId(out.image).catch(() => null);
  if (dump?.buildId && out.buildId && dump.buildId !== out.buildId) {
    emit({ kind: 'warning', code: 'KDBG_E_MISMATCH', message: `${rel.uname}: the vmlinux build-id ${out.buildId} differs from the dump's ${dump.buildId}` });
  }
  return out;
}
