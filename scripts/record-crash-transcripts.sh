#!/usr/bin/env bash
# Record real crash transcripts for the analyze parser tests: run `kdbg analyze` (the real crash
# session code) on the QEMU dumps of scripts/fixtures/30-vmcores.sh and keep each
# crash-transcript.txt under test/fixtures/crash/<crash-version>/<kind>.txt, with the local
# fixture paths replaced by $KDBG_FIXTURES so the files do not depend on the machine.
#
#   scripts/record-crash-transcripts.sh [CRASH_BINARY]     (default: the trixie crash fixture)
#   VMLINUX=… to use another copy of the Debian vmlinux.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${KDBG_FIXTURES:=$HOME/.cache/kdbg-fixtures}"
crash=${1:-$KDBG_FIXTURES/crash-trixie/crash}
# The vmlinux of the kernel the fixtures were built from (40-debian-vmlinux.sh's manifest).
vmlinux=${VMLINUX:-$KDBG_FIXTURES/debian-vmlinux/$(node -p "require('$KDBG_FIXTURES/debian-vmlinux/manifest.json').member")}
ver=$("$crash" --version | awk '/^crash /{print $2; exit}')
out="$root/test/fixtures/crash/$ver"
mkdir -p "$out"
(cd "$root" && npm run -s build) || echo "record: build reported errors; using dist/ as emitted" >&2
for kind in sysrq oops nmi; do
  dump="$KDBG_FIXTURES/vmcores/$kind/vmcore.kdump-zlib"
  extra=()
  [ "$kind" = oops ] && extra=(--modules-dir "$KDBG_FIXTURES/vmcores/oops")
  tmp=$(mktemp -d)
  node "$root/bin/kdbg.js" analyze "$dump" --vmlinux "$vmlinux" --crash "$crash" -o "$tmp" -q "${extra[@]}" \
    --cmd "kmem -i" >/dev/null || true
  sed -e "s|$KDBG_FIXTURES|\$KDBG_FIXTURES|g" -e "s|$vmlinux|vmlinux|g" -e "s|$crash|crash|g" "$tmp/crash-transcript.txt" > "$out/$kind.txt"
  rm -rf "$tmp"
  echo "recorded $out/$kind.txt ($(wc -l < "$out/$kind.txt") lines)" >&2
done
