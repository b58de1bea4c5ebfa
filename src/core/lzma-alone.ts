// Legacy .lzma ("alone") streams, as old rpm payloads carry them. node-liblzma's native binding
// knows only .xz (lzma_stream_decoder), so these go through the WebAssembly build of the same
// liblzma 5.8 that node-liblzma ships beside it (lib/wasm/liblzma.{js,wasm}), with
// lzma_auto_decoder, which reads the .lzma header. Slower than native code, but the format is
// rare (rpm payloads before xz) and it saves a second native binding (bench/results.md).
//
// Driven here rather than through node-liblzma's wasm helpers: those fetch() the .wasm file (we
// hand it the bytes) and pass the 64-bit memlimit as a BigInt, which this build, compiled without
// WASM_BIGINT, takes as two 32-bit halves.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** The few exports of the emscripten module that this file uses. */
interface LiblzmaWasm {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _lzma_auto_decoder(strm: number, ...memlimitAndFlags: (number | bigint)[]): number;
  _lzma_code(strm: number, action: number): number;
  _lzma_end(strm: number): void;
}

const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
const LZMA_RUN = 0;
const LZMA_FINISH = 3;
/** Names of liblzma's return codes, for messages (the decoder's own wording, as native errors). */
const LZMA_RET = ['LZMA_OK', 'LZMA_STREAM_END', 'LZMA_NO_CHECK', 'LZMA_UNSUPPORTED_CHECK', 'LZMA_GET_CHECK', 'LZMA_MEM_ERROR', 'LZMA_MEMLIMIT_ERROR', 'LZMA_FORMAT_ERROR', 'LZMA_OPTIONS_ERROR', 'LZMA_DATA_ERROR', 'LZMA_BUF_ERROR', 'LZMA_PROG_ERROR'];
/** lzma_stream on wasm32: next_in, avail_in, total_in (u64), next_out, avail_out, total_out (u64), …; 96 bytes. */
const STREAM_SIZE = 96;
const NEXT_IN = 0;
const AVAIL_IN = 4;
const NEXT_OUT = 16;
const AVAIL_OUT = 20;
/** The decoder's memory limit: lzma -9 needs ~65 MiB; the wasm heap can grow to 256 MiB. */
const MEMLIMIT = 256 * 1024 * 1024;
const OUT_SIZE = 1 << 20;

let loading: Promise<LiblzmaWasm> | null = null;

function load(): Promise<LiblzmaWasm> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmBinary = await readFile(require.resolve('node-liblzma/wasm/liblzma.wasm'));
    const { default: create } = (await import('node-liblzma/wasm/liblzma.js')) as unknown as { default: (opts: { wasmBinary: Uint8Array }) => Promise<LiblzmaWasm> };
    return create({ wasmBinary });
  })();
  return loading;
}

function u32(m: LiblzmaWasm, at: number): number {
  return new DataView(m.HEAPU8.buffer).getUint32(at, true);
}

function setU32(m: LiblzmaWasm, at: number, v: number): void {
  new DataView(m.HEAPU8.buffer).setUint32(at, v, true);
}

function initDecoder(m: LiblzmaWasm, strm: number): number {
  try {
    return m._lzma_auto_decoder(strm, MEMLIMIT, 0, 0); // memlimit as two 32-bit halves, flags
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return m._lzma_auto_decoder(strm, BigInt(MEMLIMIT), 0); // a build with BigInt integration
  }
}

class LzmaError extends Error {
  constructor(readonly ret: number) {
    super(`${LZMA_RET[ret] ?? `liblzma error ${ret}`}`);
  }
}

/** Decode a .lzma stream; decoder failures go through `opts.mapError` (core/decompress.ts DecodeOptions). */
export async function* decodeLzmaAlone(input: AsyncIterable<Uint8Array>, opts: { mapError: (e: unknown, inputEnded: boolean) => Error }): AsyncGenerator<Uint8Array> {
  const m = await load();
  const strm = m._malloc(STREAM_SIZE);
  const out = m._malloc(OUT_SIZE);
  let inBuf = 0;
  m.HEAPU8.fill(0, strm, strm + STREAM_SIZE); // LZMA_STREAM_INIT
  try {
    const ret = initDecoder(m, strm);
    if (ret !== LZMA_OK) throw opts.mapError(new LzmaError(ret), false);
    const it = input[Symbol.asyncIterator]();
    let ended = false;
    let done = false;
    try {
      while (!done) {
        const r = await it.next();
        if (r.done) ended = true;
        else if (r.value.length === 0) continue;
        else {
          if (inBuf) m._free(inBuf);
          inBuf = m._malloc(r.value.length);
          m.HEAPU8.set(r.value, inBuf);
          setU32(m, strm + NEXT_IN, inBuf);
          setU32(m, strm + AVAIL_IN, r.value.length);
        }
        // Run until this input is used up (or, at the end, until the stream ends).
        for (;;) {
          setU32(m, strm + NEXT_OUT, out);
          setU32(m, strm + AVAIL_OUT, OUT_SIZE);
          const ret = m._lzma_code(strm, ended ? LZMA_FINISH : LZMA_RUN);
          const produced = OUT_SIZE - u32(m, strm + AVAIL_OUT);
          if (produced > 0) yield m.HEAPU8.slice(out, out + produced);
          if (ret === LZMA_STREAM_END) {
            done = true;
            break;
          }
          if (ret !== LZMA_OK) throw opts.mapError(new LzmaError(ret), ended);
          if (produced < OUT_SIZE && u32(m, strm + AVAIL_IN) === 0) {
            if (ended) throw opts.mapError(new LzmaError(10), true); // no progress at the end: LZMA_BUF_ERROR
            break;
          }
        }
      }
    } finally {
      if (!ended) await it.return?.();
    }
  } finally {
    m._lzma_end(strm);
    if (inBuf) m._free(inBuf);
    m._free(out);
    m._free(strm);
  }
}
