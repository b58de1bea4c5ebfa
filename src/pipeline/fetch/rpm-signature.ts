// The header signature check of an RPM from a `gpgcheck=1` repository (issue 16), as the hook the
// extractors call once they have read the package's head, before any member is written
// (ExtractOptions.rpmHeadCheck): the same check on the streaming and the partial path.

import type { ProgressListener, ResolvedPackage, RpmGpgcheck } from '../../core/types.js';
import type { ExtractOptions } from '../../extract/types.js';

/** Who signed each package header verified in this process (the package object → fingerprint), for its provenance. */
const signers = new WeakMap<object, string>();
export function headerSigner(pkg: object): string | undefined {
  return signers.get(pkg);
}

export function rpmHeadCheck(pkg: ResolvedPackage, emit: ProgressListener): ExtractOptions['rpmHeadCheck'] {
  return pkg.kind === 'rpm' ? headCheckFor(pkg, pkg.urls[0] ?? pkg.fileName, emit) : undefined;
}

/** The same for a package read again later from its recorded provenance (fetch --modules: modules.ts). */
export function headCheckFor(pkg: { fileName: string; gpgcheck?: RpmGpgcheck }, url: string, emit: ProgressListener): ExtractOptions['rpmHeadCheck'] {
  const check = pkg.gpgcheck;
  if (!check) return undefined;
  return async (head) => {
    const { verifyRpmHeader } = await import('../../resolve/rpm-header-trust.js');
    const v = await verifyRpmHeader(url, head, check);
    signers.set(pkg, v.fingerprint);
    emit({ kind: 'signature', url, fingerprint: v.fingerprint, ms: v.ms, packageHeader: true });
    emit({ kind: 'info', message: `${pkg.fileName}: good header signature (${v.tag}) by ${v.fingerprint} (gpgv ${v.ms.toFixed(1)} ms); every file written is checked against the signed header's digests` });
  };
}
