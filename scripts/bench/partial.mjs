#!/usr/bin/env node
// The partial-fetch extractor on its own, over HTTP Range:
//   node scripts/bench/partial.mjs URL DEST_DIR MEMBER_PATH [--concurrency N]
// Prints a JSON summary (blocks decoded, bytes on the wire, sha256) on stdout; exit 3 when the
// partial path did not apply (the server ignored Range, single-block xz, …).
import { openRangeReader } from '../../dist/download/range-reader.js';
import { tryPartialExtract } from '../../dist/extract/partial.js';

const [url, dest, member] = process.argv.slice(2);
const ci = process.argv.indexOf('--concurrency');
const concurrency = ci > 0 ? Number(process.argv[ci + 1]) : undefined;
const head = await fetch(url, { method: 'HEAD' });
const size = Number(head.headers.get('content-length'));
const t0 = performance.now();
const ra = await openRangeReader(url, size);
if (!ra) {
  console.error('partial: the server does not serve ranges');
  process.exit(3);
}
const r = await tryPartialExtract(ra, url.endsWith('.rpm') ? 'rpm' : 'deb', {
  destDir: dest,
  label: url,
  select: (m) => m.path === member,
  stopAfter: 1,
  ...(concurrency ? { concurrency } : {}),
});
if (!r) {
  console.error('partial: not applicable, would fall back to streaming');
  process.exit(3);
}
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, bytesReceived: ra.bytesReceived, requests: ra.requests, size, ...r.partial, written: r.written.map((w) => ({ path: w.path, sha256: w.sha256 })) }));
