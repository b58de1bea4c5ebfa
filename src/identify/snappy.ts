// Snappy's raw block format (google/snappy format_description.txt), as makedumpfile -p stores each
// page of a kdump-compressed dump (snappy_compress, no framing). A varint with the uncompressed
// length, then elements: a literal (tag 00) or a copy of earlier output at an offset of 1, 2 or 4
// bytes (tags 01, 10, 11). A page is at most a few KiB, so the whole output is allocated at once
// and every length and offset is checked against it: hostile input throws, never reads or writes
// out of bounds.

/** Decode one raw snappy block of at most `maxOutput` bytes; throws Error on malformed input. */
export function snappyDecompress(input: Uint8Array, maxOutput: number): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error('snappy: bad length varint');
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > maxOutput) throw new Error(`snappy: length ${length} exceeds ${maxOutput}`);
  const out = new Uint8Array(length);
  let op = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      let len = (tag >> 2) + 1;
      if (len > 60) {
        // 61..64: the length minus one follows in 1..4 little-endian bytes.
        const n = len - 60;
        if (pos + n > input.length) throw new Error('snappy: input overrun');
        len = 0;
        for (let i = 0; i < n; i++) len += input[pos + i]! * 2 ** (8 * i);
        len += 1;
        pos += n;
      }
      if (pos + len > input.length) throw new Error('snappy: input overrun');
      if (op + len > length) throw new Error('snappy: output overrun');
      out.set(input.subarray(pos, pos + len), op);
      pos += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos + 1 > input.length) throw new Error('snappy: input overrun');
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos]!;
      pos += 1;
    } else if (type === 2) {
      if (pos + 2 > input.length) throw new Error('snappy: input overrun');
      len = (tag >> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw new Error('snappy: input overrun');
      len = (tag >> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) + input[pos + 3]! * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > op) throw new Error('snappy: copy offset outside the output (lookbehind)');
    if (op + len > length) throw new Error('snappy: output overrun');
    // Byte by byte: a copy may overlap what it writes (offset < len repeats a pattern).
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== length) throw new Error(`snappy: ${op} bytes decoded, the header says ${length}`);
  return out;
}
