// DEBUGINFOD_URLS parsing, kept apart from the client so a warm-cache fetch can read the
// variable without loading undici (~100 ms of start-up).

/**
 * DEBUGINFOD_URLS as elfutils reads it: space-separated server URLs. Empty entries and tokens
 * that are not http(s) URLs (e.g. elfutils 0.190's `ima:enforcing` policy words) are dropped;
 * trailing slashes are trimmed so `<base>/buildid/…` has one slash.
 */
export function parseDebuginfodUrls(value: string | undefined | null): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const tok of value.split(/\s+/)) {
    if (!/^https?:\/\//i.test(tok)) continue;
    const u = tok.replace(/\/+$/, '');
    if (!out.includes(u)) out.push(u);
  }
  return out;
}
