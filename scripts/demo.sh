#!/usr/bin/env bash
# npm run demo: the whole `kdbg fetch` flow on a machine without internet access. Builds (or
# reuses) a local CentOS-7-style debuginfo mirror of real rpmbuild-made packages, serves it on
# 127.0.0.1, and fetches 3.10.0-327.el7 from it into a throw-away cache: cold, then warm.
set -euo pipefail
cd "$(dirname "$0")/.."
export KDBG_FIXTURES=${KDBG_FIXTURES:-$HOME/.cache/kdbg-fixtures}

echo "== building (or reusing) the local CentOS 7 style mirror in $KDBG_FIXTURES/rpm" >&2
bash scripts/fixtures/10-rpm-mirror.sh
mirror="$KDBG_FIXTURES/rpm/mirror"
[ -d "$mirror/7/x86_64" ] || { echo "demo: $mirror/7/x86_64 is missing" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kdbg-demo.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A 20 MB/s limit so the progress bar has something to show on a TTY.
node scripts/serve-dir.mjs "$mirror" --rate 20000000 > "$work/url" &
server_pid=$!
for _ in $(seq 1 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
[ -n "$url" ] || { echo "demo: the mirror server did not start" >&2; exit 1; }
echo "== mirror served at $url (tree: 7/x86_64/{repodata,*.rpm})" >&2
cache="$work/cache"

run() { echo "\$ $*" >&2; "$@"; }

echo "== cold: resolve via repodata, download both packages, extract, verify, publish" >&2
start=$(date +%s%N)
run node bin/kdbg.js fetch 3.10.0-327.el7 --mirror "$url" --cache-dir "$cache"
echo "   ($(( ($(date +%s%N) - start) / 1000000 )) ms)" >&2

echo "== warm: answered from the cache, no request to the mirror" >&2
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
run node bin/kdbg.js fetch 3.10.0-327.el7 --mirror "$url" --cache-dir "$cache" --json

echo "== the cache" >&2
run node bin/kdbg.js cache ls --cache-dir "$cache"
entry="$cache/releases/3.10.0-327.el7.x86_64"
run ls -l "$entry"
if command -v readelf >/dev/null; then run readelf -n "$entry/vmlinux" | grep -i 'build id' || true; fi
