// A seeded mutation engine for the parser fuzzer. Every case is a pure function of (base input,
// seed): a failure is replayed from its seed alone, which is what test/fuzz/regressions.json
// stores. The mutations are the ones that break binary parsers in practice: flipped bits,
// boundary integers written over length and offset fields, cut and repeated ranges, truncation.

/** mulberry32: small, fast, good enough to spread mutations; not for anything secret. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What text mutations insert ('' = one random printable character). */
const TEXT_PIECES = ['', '', '', '\n', ' ', ':', '=', '"', '<', '>', '/', '</', '/>', '[', ']', '#', '-', '.', '0', '-1', '18446744073709551616', '99999999999', '\n\n', '\t', 'é', '&amp;', '&#0;', '<!--', '$releasever', '..', '../../'];

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/**
 * The mutated copy of `base` for `seed`: 1–4 mutations, half of them inside the first `hot`
 * bytes (where headers, lengths and offsets live).
 */
export function mutate(base: Uint8Array, seed: number, hot = 4096, text = false): Uint8Array {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  let b: Uint8Array = base.slice();
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    if (b.length === 0) {
      b = Uint8Array.of(int(256));
      continue;
    }
    const at = rnd() < 0.5 ? int(Math.min(hot, b.length)) : int(b.length);
    if (text && rnd() < 0.75) {
      // Text formats: keep the bytes legal so the parser's own rules are what gets tested, not
      // only its decoder (a NUL is refused by every XML parser at once).
      const piece = TEXT_PIECES[int(TEXT_PIECES.length)]!;
      const cut = int(3) === 0 ? 0 : 1 + int(Math.min(16, b.length - at));
      b = concat(b.subarray(0, at), Buffer.from(piece === '' ? String.fromCharCode(32 + int(95)) : piece), b.subarray(at + cut));
      continue;
    }
    switch (int(8)) {
      case 0: // one bit
        b[at]! ^= 1 << int(8);
        break;
      case 1: // one byte
        b[at] = [0, 0xff, 0x7f, 0x80, int(256)][int(5)]!;
        break;
      case 2: // a boundary integer over a 32-bit field, either endianness
      case 3: {
        if (at + 4 > b.length) break;
        const v = INTERESTING_32[int(INTERESTING_32.length)]!;
        new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v, rnd() < 0.5);
        break;
      }
      case 4: {
        // a boundary 64-bit value (sizes and offsets in ELF64 and kdump headers)
        if (at + 8 > b.length) break;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        dv.setBigUint64(at, [0n, 0xffffffffffffffffn, 0x7fffffffffffffffn, BigInt(b.length), 1n << 40n][int(5)]!, rnd() < 0.5);
        break;
      }
      case 5: // truncate
        b = b.slice(0, at);
        break;
      case 6: {
        // cut a range out
        const len = 1 + int(Math.min(256, b.length - at));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      default: {
        // repeat a range
        const len = 1 + int(Math.min(256, b.length - at));
        b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
    }
  }
  return b;
}

/**
 * Point mutations only, as (offset, byte) patches: for inputs too big to copy for every case (a
 * whole kdump file whose log ring sits megabytes in), patched into a file and undone in place.
 */
export function pointPatches(size: number, seed: number): Array<[number, number]> {
  const rnd = prng(seed);
  const out: Array<[number, number]> = [];
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * size);
    const len = Math.min(rnd() < 0.5 ? 1 : 8, size - at);
    for (let k = 0; k < len; k++) out.push([at + k, rnd() < 0.5 ? Math.floor(rnd() * 256) : rnd() < 0.5 ? 0 : 0xff]);
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
