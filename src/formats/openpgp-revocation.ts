// Whether OpenPGP key data (binary, RFC 4880 / 9580 packets) carries a key revocation signature
// (signature type 0x20) — the one fact rpm-header-trust.ts needs beyond gpgv's status lines: gpgv
// reports a signature by a key that is both expired and revoked as EXPKEYSIG alone, and an
// expired key is forgiven for signatures made before its expiry, a revoked one never.
// The revocation's own signature is not checked: the data is a local key file the user or kdbg
// trusts already, and a revocation found in it makes the check stricter, never looser.

/** Signature type of a key revocation (RFC 4880 §5.2.1). */
const KEY_REVOCATION = 0x20;

/** The packets' (tag, body) in `data`; stops at the first malformed header. */
export function openpgpPackets(data: Uint8Array): { tag: number; body: Uint8Array }[] {
  const out: { tag: number; body: Uint8Array }[] = [];
  let i = 0;
  while (i < data.length) {
    const h = data[i]!;
    if (!(h & 0x80)) break;
    let tag: number;
    let len: number;
    let at: number;
    if (h & 0x40) {
      tag = h & 0x3f;
      const o = data[i + 1];
      if (o === undefined) break;
      if (o < 192) [len, at] = [o, i + 2];
      else if (o < 224) [len, at] = [((o - 192) << 8) + (data[i + 2] ?? 0) + 192, i + 3];
      else if (o === 255) [len, at] = [((data[i + 2]! << 24) >>> 0) + (data[i + 3]! << 16) + (data[i + 4]! << 8) + data[i + 5]!, i + 6];
      else break; // partial body lengths do not occur in key data
    } else {
      tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      if (lt === 0) [len, at] = [data[i + 1] ?? 0, i + 2];
      else if (lt === 1) [len, at] = [((data[i + 1] ?? 0) << 8) + (data[i + 2] ?? 0), i + 3];
      else if (lt === 2) [len, at] = [((data[i + 1]! << 24) >>> 0) + (data[i + 2]! << 16) + (data[i + 3]! << 8) + data[i + 4]!, i + 5];
      else break;
    }
    if (at + len > data.length) break;
    out.push({ tag, body: data.subarray(at, at + len) });
    i = at + len;
  }
  return out;
}

/** Whether any signature packet (tag 2) in `data` is a key revocation: version 3 keeps the type at byte 2, versions 4–6 at byte 1. */
export function hasKeyRevocation(data: Uint8Array): boolean {
  return openpgpPackets(data).some((p) => p.tag === 2 && (p.body[0] === 3 ? p.body[2] : p.body[1]) === KEY_REVOCATION);
}
