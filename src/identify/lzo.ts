// LZO1X decompression (liblzo2's lzo1x_decompress_safe, as in Linux lib/lzo), for the pages of
// `makedumpfile -l` dumps, the RHEL kdump default. Bounds-checked: corrupt input throws.
//
// Written for a cold start: `kdbg log` decodes a few dozen pages in a process that lives 100 ms, so
// this code runs in V8's interpreter, where every call and every byte moved costs tens of
// instructions. The helpers are written inline, and runs of bytes are moved by copyWithin / set /
// fill (native memmove) instead of byte by byte, except the short ones, where the call costs
// more than the loop. The first version (helper closures, every match byte by byte) cost 105 M
// instructions for the 21 pages of the sysrq LZO dump's log, more than all the rest of `kdbg log`
// (callgrind); docs/analyze.md "Measured" has the figures after.

class LzoError extends Error {}

/** Runs shorter than this are copied byte by byte: a native call costs more from the interpreter. */
const SHORT = 8;

export function lzo1xDecompress(src: Uint8Array, maxOut: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  const end = src.length;
  let ip = 0;
  let op = 0;
  let state = 0;
  let t = 0;
  let next = 0;
  let mPos = 0;
  // A first byte > 17 opens with a literal run (or, below 4 literals, goes to match_next).
  let toMatchNext = false;
  if (end > 0 && src[0]! > 17) {
    t = src[ip++]! - 17;
    if (t < 4) {
      next = t;
      toMatchNext = true;
    } else {
      if (ip + t > end) throw new LzoError('input overrun');
      if (op + t > maxOut) throw new LzoError('output overrun');
      out.set(src.subarray(ip, ip + t), op);
      ip += t;
      op += t;
      state = 4;
    }
  }
  for (;;) {
    if (toMatchNext) toMatchNext = false;
    else {
      if (ip >= end) throw new LzoError('input overrun');
      t = src[ip++]!;
      if (t < 16) {
        if (state === 0) {
          // A literal run: 3 + t bytes, a t of 0 extended by a zero-run length.
          if (t === 0) {
            let zeros = 0;
            if (ip >= end) throw new LzoError('input overrun');
            while (src[ip] === 0) {
              ip++;
              if (++zeros > 1 << 24) throw new LzoError('length run too long');
              if (ip >= end) throw new LzoError('input overrun');
            }
            t = zeros * 255 + 15 + src[ip++]!;
          }
          t += 3;
          if (ip + t > end) throw new LzoError('input overrun');
          if (op + t > maxOut) throw new LzoError('output overrun');
          out.set(src.subarray(ip, ip + t), op);
          ip += t;
          op += t;
          state = 4;
          continue;
        }
        if (ip >= end) throw new LzoError('input overrun');
        next = t & 3;
        if (state !== 4) {
          // A 2-byte match right after 1-3 literals, then match_next.
          mPos = op - 1 - (t >> 2) - (src[ip++]! << 2);
          if (mPos < 0) throw new LzoError('lookbehind overrun');
          if (op + 2 > maxOut) throw new LzoError('output overrun');
          out[op++] = out[mPos++]!;
          out[op++] = out[mPos]!;
          state = next;
          if (next) {
            if (ip + next > end) throw new LzoError('input overrun');
            if (op + next > maxOut) throw new LzoError('output overrun');
            for (let i = 0; i < next; i++) out[op++] = src[ip++]!;
          }
          continue;
        }
        mPos = op - (1 + 0x0800) - (t >> 2) - (src[ip++]! << 2);
        t = 3;
      } else if (t >= 64) {
        if (ip >= end) throw new LzoError('input overrun');
        next = t & 3;
        mPos = op - 1 - ((t >> 2) & 7) - (src[ip++]! << 3);
        t = (t >> 5) + 1;
      } else {
        const code = t;
        const m4 = t < 32;
        t = m4 ? (t & 7) + 2 : (t & 31) + 2;
        if (t === 2) {
          let zeros = 0;
          if (ip >= end) throw new LzoError('input overrun');
          while (src[ip] === 0) {
            ip++;
            if (++zeros > 1 << 24) throw new LzoError('length run too long');
            if (ip >= end) throw new LzoError('input overrun');
          }
          t = zeros * 255 + (m4 ? 7 : 31) + src[ip++]! + 2;
        }
        if (ip + 2 > end) throw new LzoError('input overrun');
        next = src[ip]! | (src[ip + 1]! << 8);
        ip += 2;
        if (m4) {
          mPos = op - ((code & 8) << 11) - (next >> 2);
          next &= 3;
          if (mPos === op) {
            // End-of-stream marker (a match of distance 0x4000 with the M4 code).
            if (t !== 3) throw new LzoError('bad end marker');
            return out.subarray(0, op);
          }
          mPos -= 0x4000;
        } else {
          mPos = op - 1 - (next >> 2);
          next &= 3;
        }
      }
      if (mPos < 0) throw new LzoError('lookbehind overrun');
      if (op + t > maxOut) throw new LzoError('output overrun');
      const dist = op - mPos;
      if (t < SHORT) {
        // Byte by byte: a match may overlap its own output.
        for (let i = 0; i < t; i++) out[op++] = out[mPos++]!;
      } else if (dist >= t) {
        out.copyWithin(op, mPos, mPos + t);
        op += t;
      } else if (dist === 1) {
        out.fill(out[mPos]!, op, op + t);
        op += t;
      } else {
        // An overlapping match repeats its first `dist` bytes: copy them in growing non-overlapping steps.
        const stop = op + t;
        let step = dist;
        while (op < stop) {
          const n = Math.min(step, stop - op);
          out.copyWithin(op, mPos, mPos + n);
          op += n;
          step += n;
        }
      }
    }
    // match_next: up to 3 literals follow a match.
    state = next;
    if (next) {
      if (ip + next > end) throw new LzoError('input overrun');
      if (op + next > maxOut) throw new LzoError('output overrun');
      for (let i = 0; i < next; i++) out[op++] = src[ip++]!;
    }
  }
}

export { LzoError };
