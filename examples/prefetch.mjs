// Prefetch the debug vmlinux of each kernel release given on the command line and print
// "<release>\t<path>" per release: the script of docs/api.md.
//
//   node prefetch.mjs [--mirror URL]... 3.10.0-327.el7 5.14.0-362.8.1.el9_3 ...
import { fetch, isKdbgError } from 'kdbg';

const mirrors = [];
const releases = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--mirror') mirrors.push(args[++i]);
  else releases.push(args[i]);
}

let failed = 0;
for (const release of releases) {
  try {
    // The mirror configuration, cache directory and proxies come from the environment and the
    // config files, as for the kdbg command (KDBG_CACHE_DIR, KDBG_CONFIG, ...).
    const r = await fetch(release, { mirrors, vmlinuxOnly: true });
    console.log(`${release}\t${r.vmlinux}`);
  } catch (e) {
    if (!isKdbgError(e)) throw e;
    failed++;
    console.error(`${release}\t${e.code} (exit ${e.exitCode}): ${e.message}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
