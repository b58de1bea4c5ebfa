// Which digest an RPM member written to disk must have (issue 16): the main header lists each
// file's digest (FILEDIGESTS, in FILEDIGESTALGO). Unsigned, kdbg checks the sha256 ones, as it
// always has; once the header's signature is verified (ExtractOptions.rpmHeadCheck) the header is
// the anchor of everything written, so every written file must match it, in whatever algorithm
// it uses, and a member the signed header does not list is refused. Used by the streaming
// (rpm.ts) and the partial (partial-rpm.ts) extractors alike.

import { IntegrityError } from '../core/errors.js';
import { fileDigestName, type RpmFileInfo, type RpmPackageHead } from '../formats/rpm.js';

export interface ExpectedDigest {
  algo: string;
  hex: string;
  source: string;
}

/** The digest a regular file `path` must have, or undefined when there is none to check (unsigned packages only). */
export function expectedFileDigest(head: RpmPackageHead, info: RpmFileInfo | null, path: string, label: string, anchored: boolean): ExpectedDigest | undefined {
  const algo = fileDigestName(head.info.fileDigestAlgo);
  if (!anchored) return algo === 'sha256' && info && info.digest ? { algo, hex: info.digest, source: 'the package header' } : undefined;
  if (!info) throw unanchored(label, path, 'is not listed in the signed package header');
  if (algo === null) throw unanchored(label, path, `has a digest in an algorithm kdbg cannot compute (FILEDIGESTALGO ${head.info.fileDigestAlgo})`);
  if (!info.digest) throw unanchored(label, path, 'has no digest in the signed package header');
  return { algo, hex: info.digest, source: 'the signed package header' };
}

/** A symlink written from a signed package must point where the signed header says (FILELINKTOS). */
export function checkAnchoredLink(info: RpmFileInfo | null, path: string, target: string | null, label: string): void {
  if (!info) throw unanchored(label, path, 'is not listed in the signed package header');
  if (info.linkTo !== (target ?? '')) throw unanchored(label, path, `links to ${JSON.stringify(target)}, the signed package header says ${JSON.stringify(info.linkTo)}`);
}

function unanchored(label: string, path: string, what: string): IntegrityError {
  return new IntegrityError(`${label}: member ${path} ${what}`, { details: { file: label, member: path } });
}
