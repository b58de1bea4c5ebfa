// VMCOREINFO text: per-key bases, first key wins, NUL padding, limits; read from the real dumps'
// notes in hostile chunk sizes.
import { describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { LimitError } from '../../src/core/errors.js';
import { parseVmcoreinfo, vmcoreinfoFacts } from '../../src/formats/vmcoreinfo.js';
import { chunked, HOSTILE_CHUNKS } from '../builders/vmcore.js';

const text = 'OSRELEASE=6.1.0-56-amd64\nBUILD-ID=EB4FBCD037E7253717950BF2B93BD5566F47C56F\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82a13160\nNUMBER(phys_base)=-517996544\nKERNELOFFSET=1e000000\nCRASHTIME=1795629171\nOSRELEASE=ignored\n\0\0\0';

describe('VMCOREINFO', () => {
  it('parses keys and interprets the facts kdbg needs', async () => {
    for (const sizes of HOSTILE_CHUNKS) {
      const bytes = new TextEncoder().encode(text);
      const src = new ByteSource(chunked(bytes, sizes), 'x');
      const kv = parseVmcoreinfo(await src.read(bytes.length));
      expect(kv['OSRELEASE']).toBe('6.1.0-56-amd64');
      expect(kv['NUMBER(phys_base)']).toBe('-517996544');
      expect(vmcoreinfoFacts(kv)).toEqual({
        osrelease: '6.1.0-56-amd64',
        buildId: 'eb4fbcd037e7253717950bf2b93bd5566f47c56f',
        pageSize: 4096,
        kernelOffset: '1e000000',
        crashTime: 1795629171,
      });
    }
  });
  it('ignores garbage lines and bounds the size', () => {
    expect(parseVmcoreinfo('not a key value\n=x\nweird key=1\nA=1')).toEqual({ A: '1' });
    expect(vmcoreinfoFacts({ 'BUILD-ID': 'zz', PAGESIZE: 'big' })).toMatchObject({ buildId: null, pageSize: null });
    expect(() => parseVmcoreinfo(new Uint8Array(2 << 20), 'f', 77)).toThrow(LimitError);
    expect(() => parseVmcoreinfo(new Uint8Array(2 << 20), 'f', 77)).toThrow(/offset 77/);
  });
});
