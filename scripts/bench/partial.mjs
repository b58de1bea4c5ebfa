#!/usr/bin/env node
// The partial-fetch extractor on its own, over HTTP Range or on a local file:
//   node scripts/bench/partial.mjs URL|FILE DEST_DIR MEMBER_PATH [--concurrency N]
// Prints a JSON summary (blocks decoded, bytes on the wire, sha256) on stdout; exit 3 when the
// partial path did not apply (the server ignored Range, single-block xz, …).
import { openRangeReader } from '../../dist/download/range-reader.js';
import { FileRandomAccess, tryPartialExtract } from '../../dist/extract/partial.js';

const [src, dest, member] = process.argv.slice(2);
const ci = process.argv.indexOf('--concurrency');
const concurrency = ci > 0 ? Number(process.argv[ci + 1]) : undefined;
const t0 = performance.now();
let ra;
if (/^https?:/.test(src)) {
  const head = await fetch(src, { method: 'HEAD' });
  ra = await openRangeReader(src, Number(head.headers.get('content-length')));
} else {
  ra = await FileRandomAccess.open(src);
}
if (!ra) {
  console.error('partial: the server does not serve ranges');
  process.exit(3);
}
const r = await tryPartialExtract(ra, src.endsWith('.rpm') ? 'rpm' : 'deb', {
  destDir: dest,
  label: src,
  select: (m) => m.path === member,
  stopAfter: 1,
  ...(concurrency ? { concurrency } : {}),
});
if (!r) {
  console.error('partial: not applicable, would fall back to streaming');
  process.exit(3);
}
console.log(
  JSON.stringify({
    seconds: (performance.now() - t0) / 1000,
    bytesReceived: ra.bytesReceived ?? null,
    requests: ra.requests ?? null,
    size: ra.size,
    ...r.partial,
    written: r.written.map((w) => ({ path: w.path, sha256: w.sha256 })),
  }),
);
