// LZO1X decompression (liblzo2's lzo1x_decompress_safe, as in Linux lib/lzo), for the pages of
// `makedumpfile -l` dumps, the RHEL kdump default. Bounds-checked: corrupt input throws.

class LzoError extends Error {}

export function lzo1xDecompress(src: Uint8Array, maxOut: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  let ip = 0;
  let op = 0;
  let state = 0;
  let t = 0;
  let next = 0;
  let mPos = 0;
  const needIp = (n: number): void => {
    if (ip + n > src.length) throw new LzoError('input overrun');
  };
  const needOp = (n: number): void => {
    if (op + n > maxOut) throw new LzoError('output overrun');
  };
  const byte = (): number => {
    needIp(1);
    return src[ip++]!;
  };
  const copyLiterals = (n: number): void => {
    needIp(n);
    needOp(n);
    out.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const zeroRun = (base: number): number => {
    // A length byte of 0 extends by 255 per further zero byte, then base + the next byte.
    let zeros = 0;
    needIp(1);
    while (src[ip] === 0) {
      ip++;
      zeros++;
      needIp(1);
      if (zeros > (1 << 24)) throw new LzoError('length run too long');
    }
    return zeros * 255 + base + byte();
  };
  const le16 = (): number => {
    needIp(2);
    return src[ip]! | (src[ip + 1]! << 8);
  };

  let skipToMatchNext = false;
  if (src.length > 0 && src[0]! > 17) {
    t = src[ip++]! - 17;
    if (t < 4) {
      next = t;
      skipToMatchNext = true;
    } else {
      copyLiterals(t);
      state = 4;
    }
  }
  for (;;) {
    if (!skipToMatchNext) {
      t = byte();
      let copyMatch = true;
      if (t < 16) {
        if (state === 0) {
          if (t === 0) t = zeroRun(15);
          t += 3;
          copyLiterals(t);
          state = 4;
          continue;
        } else if (state !== 4) {
          next = t & 3;
          mPos = op - 1 - (t >> 2) - (byte() << 2);
          if (mPos < 0) throw new LzoError('lookbehind overrun');
          needOp(2);
          out[op++] = out[mPos++]!;
          out[op++] = out[mPos]!;
          copyMatch = false;
          skipToMatchNext = true;
        } else {
          next = t & 3;
          mPos = op - (1 + 0x0800) - (t >> 2) - (byte() << 2);
          t = 3;
        }
      } else if (t >= 64) {
        next = t & 3;
        mPos = op - 1 - ((t >> 2) & 7) - (byte() << 3);
        t = (t >> 5) - 1 + 2;
      } else if (t >= 32) {
        t = (t & 31) + 2;
        if (t === 2) t = zeroRun(31) + 2;
        mPos = op - 1;
        next = le16();
        ip += 2;
        mPos -= next >> 2;
        next &= 3;
      } else {
        mPos = op - ((t & 8) << 11);
        t = (t & 7) + 2;
        if (t === 2) t = zeroRun(7) + 2;
        next = le16();
        ip += 2;
        mPos -= next >> 2;
        next &= 3;
        if (mPos === op) {
          // End-of-stream marker (a match of distance 0x4000 with the M4 code).
          if (t !== 3) throw new LzoError('bad end marker');
          return out.subarray(0, op);
        }
        mPos -= 0x4000;
      }
      if (copyMatch && !skipToMatchNext) {
        if (mPos < 0) throw new LzoError('lookbehind overrun');
        needOp(t);
        // Byte by byte: a match may overlap its own output.
        for (let i = 0; i < t; i++) out[op++] = out[mPos++]!;
      }
    }
    skipToMatchNext = false;
    // match_next: up to 3 literals follow a match.
    state = next;
    if (next) copyLiterals(next);
  }
}

export { LzoError };
