// What an RPM header signature covers and where it is (issue 16, item 2). rpm signs the main
// header, not the payload: the signature header carries OpenPGP signatures (RSAHEADER for RSA,
// DSAHEADER for DSA/ECDSA/EdDSA, rpm ≥ 6 OPENPGP as base64 strings) over rpm's header blob, which
// is the fixed 8-byte header magic (8e ad e8 01 and four zero bytes, rpm_header_magic in
// lib/header.cc, whatever the file's reserved bytes say) followed by il, dl, the index entries and
// the data store exactly as stored. The main header lists every file with its digest
// (FILEDIGESTS in FILEDIGESTALGO), so a good header signature anchors each extracted file without
// the whole package: that is how a partial fetch stays trusted.

import { RPM_HEADER_MAGIC, RpmSigTag, RpmTagType, type RpmHeader } from './rpm-header.js';
import { headerStringArray } from './rpm-tags.js';

export interface RpmHeaderSignature {
  /** The signature-header tag it came from. */
  tag: 'RSAHEADER' | 'DSAHEADER' | 'OPENPGP';
  /** One binary OpenPGP signature packet (a detached signature, as gpgv reads it). */
  packet: Uint8Array;
}

function binTag(sig: RpmHeader, tag: number): Uint8Array | null {
  const e = sig.entries.get(tag);
  if (!e || e.type !== RpmTagType.BIN || e.count === 0) return null;
  return sig.data.subarray(e.offset, e.offset + e.count);
}

/** The header signatures of a signature header, OPENPGP first (rpm ≥ 6 reads it first too); [] when unsigned. */
export function rpmHeaderSignatures(sig: RpmHeader): RpmHeaderSignature[] {
  const out: RpmHeaderSignature[] = [];
  const e = sig.entries.get(RpmSigTag.OPENPGP);
  if (e && (e.type === RpmTagType.STRING_ARRAY || e.type === RpmTagType.STRING)) {
    for (const s of headerStringArray(sig, RpmSigTag.OPENPGP) ?? []) {
      const packet = Buffer.from(s.trim(), 'base64');
      if (packet.length > 0) out.push({ tag: 'OPENPGP', packet });
    }
  }
  const rsa = binTag(sig, RpmSigTag.RSAHEADER);
  if (rsa) out.push({ tag: 'RSAHEADER', packet: rsa });
  const dsa = binTag(sig, RpmSigTag.DSAHEADER);
  if (dsa) out.push({ tag: 'DSAHEADER', packet: dsa });
  return out;
}

/** The bytes a header signature is made over: rpm's header magic, il, dl, index, data. */
export function signedHeaderBytes(h: RpmHeader): Uint8Array {
  const out = new Uint8Array(16 + h.index.length + h.data.length);
  out.set(RPM_HEADER_MAGIC, 0); // bytes 4-7 stay zero: rpm hashes its own magic, not the file's
  const v = new DataView(out.buffer);
  v.setUint32(8, h.il);
  v.setUint32(12, h.dl);
  out.set(h.index, 16);
  out.set(h.data, 16 + h.index.length);
  return out;
}

/** PGPHASHALGO (FILEDIGESTALGO) → the digest's name for node:crypto; null for one kdbg cannot compute. */
export function fileDigestName(algo: number): 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sha224' | null {
  switch (algo) {
    case 1:
      return 'md5';
    case 2:
      return 'sha1';
    case 8:
      return 'sha256';
    case 9:
      return 'sha384';
    case 10:
      return 'sha512';
    case 11:
      return 'sha224';
    default:
      return null;
  }
}
