// kdump-compressed header and sub-header parsing: real makedumpfile/QEMU headers (values checked
// against what the fixture's tools wrote) and synthetic ones in every ABI/version/endianness.
import { describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, TruncatedError } from '../../src/core/errors.js';
import { kdumpCompression, parseKdumpHeader, parseKdumpSubHeader, SUB_HEADER_READ } from '../../src/formats/kdump.js';
import { parseVmcoreinfo } from '../../src/formats/vmcoreinfo.js';
import { buildKdump, chunked, el7Vmcoreinfo, HOSTILE_CHUNKS, vmcoreinfoText } from '../builders/vmcore.js';
import { requireFixture, readHead, vmcoreKernel } from '../helpers/fixtures.js';


/** Parse header, sub-header and VMCOREINFO from a stream delivered in the given chunk sizes. */
async function parseStreamed(bytes: Uint8Array, sizes: number[]): Promise<{ release: string | undefined; version: number; layout: string }> {
  const src = new ByteSource(chunked(bytes, sizes), 'chunked', 'kdump-compressed');
  const h = parseKdumpHeader(await src.read(464, 'header'), 'chunked');
  await src.skip(h.block_size - 464);
  const s = parseKdumpSubHeader(await src.peek(SUB_HEADER_READ), h, 'chunked');
  let release: string | undefined;
  if (s.offset_vmcoreinfo && s.size_vmcoreinfo) {
    await src.skip(s.offset_vmcoreinfo - src.position);
    release = parseVmcoreinfo(await src.read(s.size_vmcoreinfo, 'vmcoreinfo'))['OSRELEASE'];
  }
  await src.close();
  return { release, version: h.header_version, layout: s.layout };
}

describe('kdump-compressed headers', () => {
  it('real makedumpfile -c header: v6, zlib, 4096-byte blocks, utsname and VMCOREINFO pointer', () => {
    const b = readHead(requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib'), 16384);
    const h = parseKdumpHeader(b, 'kdump');
    expect(h).toMatchObject({ signature: 'KDUMP   ', header_version: 6, abi: 64, endianness: 'le', block_size: 4096 });
    expect(kdumpCompression(h.status)).toBe('zlib');
    expect(h.utsname.release).toBe(vmcoreKernel().release);
    const s = parseKdumpSubHeader(b.subarray(h.block_size, h.block_size + SUB_HEADER_READ), h, 'kdump');
    expect(s.layout).toBe('64');
    // makedumpfile puts the notes copy right after the 104-byte sub-header.
    expect(s.offset_note).toBe(4096 + 104);
    const vi = parseVmcoreinfo(b.subarray(s.offset_vmcoreinfo!, s.offset_vmcoreinfo! + s.size_vmcoreinfo!));
    expect(vi['OSRELEASE']).toBe(vmcoreKernel().release);
  });

  it('real lzo header says lzo', () => {
    const h = parseKdumpHeader(readHead(requireFixture('vmcores', 'sysrq', 'vmcore.kdump-lzo'), 464), 'x');
    expect(kdumpCompression(h.status)).toBe('lzo');
  });

  const variants = [
    { name: '64-bit LE v6', o: {} },
    { name: '64-bit BE v6', o: { endian: 'be' as const } },
    { name: '32-bit pack v6', o: { abi: 32 as const } },
    { name: '32-bit pad v6', o: { abi: 32 as const, layout32: 'pad' as const } },
    { name: '32-bit pack BE v5', o: { abi: 32 as const, endian: 'be' as const, headerVersion: 5 } },
    { name: '64-bit v3 (text only)', o: { headerVersion: 3 } },
  ];
  for (const v of variants) {
    it(`synthetic ${v.name}, in hostile chunk sizes`, async () => {
      const bytes = buildKdump({ utsname: { release: '3.10.0-327.el7.x86_64' }, vmcoreinfo: vmcoreinfoText(el7Vmcoreinfo()), ...v.o });
      for (const sizes of HOSTILE_CHUNKS) {
        const r = await parseStreamed(bytes, sizes);
        expect(r.release, sizes.join(',')).toBe('3.10.0-327.el7.x86_64');
        expect(r.layout).toBe(v.o.abi === 32 ? (v.o.layout32 === 'pad' ? '32pad' : '32pack') : '64');
      }
    });
  }

  it('rejects bad signatures and short headers with offsets', () => {
    expect(() => parseKdumpHeader(new TextEncoder().encode('KDUMPX  '.padEnd(500, '\0')), 'f')).toThrow(InputFormatError);
    expect(() => parseKdumpHeader(buildKdump().subarray(0, 100), 'f')).toThrow(TruncatedError);
    const bad = buildKdump();
    new DataView(bad.buffer).setInt32(428, 12345, true); // block_size not a power of two
    expect(() => parseKdumpHeader(bad, 'f')).toThrow(/block_size/);
    const h = parseKdumpHeader(buildKdump(), 'f');
    expect(() => parseKdumpSubHeader(new Uint8Array(20), h, 'f')).toThrow(/offset 4096/);
  });
});
