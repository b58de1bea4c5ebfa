#!/usr/bin/env bash
# Benchmark fixture for issue 20's `kdbg sync` goal (bench rows f2, f4; NOT part of `npm test`):
# a RHEL 9-style debuginfo repository of 20 kernel-debuginfo packages, 20 distinct kernel
# releases, each with a multi-block xz payload, built by rpmbuild and indexed by createrepo_c.
# Cached in $KDBG_FIXTURES/bench-fleet/ with a stamp keyed on this script; run.mjs calls it only
# when a row that needs it is asked for (it is not part of fixtures.sh: changing that script's
# recipe would rebuild the 10-minute bench fixture).
#
#   bench-fleet/repo/Packages/kernel-debuginfo-5.14.0-<n>.el9.x86_64.rpm   (20 of them)
#   bench-fleet/repo/repodata/          createrepo_c (gz filelists: every file and .build-id link)
#   bench-fleet/manifest.json           {payload, kernels:[{uname, package, size, vmlinux:{member,
#                                       buildId, sha256, size}, modules, modulesBytes}]}
#
# Shape of each package (scaled down from the real Debian 6.1 dbg package the bench already uses,
# whose measured shares are: vmlinux 633 MB = 11.0 % of the 5.75 GB payload, 4023 .ko = 88.9 %):
# - vmlinux: a real ELF (gcc, GNU build-id, linux_banner of its release) carrying 12 MiB of the
#   real Debian vmlinux's bytes (48 chunks of 256 KiB spread over the whole file, shifted per
#   release), so it compresses as the real one does;
# - modules: real Debian .ko files (renamed .ko.debug, as RHEL names them), a different sample for
#   each release, filling 8.1 x the vmlinux's size (the real 88.9 : 11.0); a module larger than a
#   quarter of that budget is left out (amdgpu's 355 MB is larger than a whole scaled package);
# - a /usr/lib/debug/.build-id/xx/yyyy.debug link for the vmlinux and every module (readelf -n),
#   so filelists.xml names every id as Red Hat's do;
# - payload w0T2.xzdio: threaded xz, 1 MiB blocks. The package is ~1/50 of a real one, so the
#   blocks are ~1/12 of the vmlinux as a 12-24 MiB block is of a real 600 MB vmlinux; larger
#   blocks would make the block rounding weigh more than it does on real packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
export KDBG_FIXTURES
name=bench-fleet
out="$KDBG_FIXTURES/$name"
mkdir -p "$KDBG_FIXTURES"
exec 9>"$KDBG_FIXTURES/.bench-fleet.lock"
flock 9
debian_kernel   # REL, VER
recipe=("$here/fleet-fixtures.sh" "$here/../fixtures/lib.sh" "$here/../fixtures/rpm/vmlinux.c" "$here/../fixtures/rpm/kernel-debuginfo.spec" "$DEBIAN_KERNEL_ENV")
if stamp_ok "$name" "${recipe[@]}" && [ -s "$out/manifest.json" ] && [ -s "$out/repo/repodata/repomd.xml" ]; then
  echo "bench-fleet fixture: cached in $out" >&2
  exit 0
fi
need_tools bench-fleet "rpm createrepo-c gcc binutils xz-utils" rpmbuild createrepo_c gcc objcopy readelf xz sha256sum
deb=$(debian_deb "linux-image-$REL-dbg")
build_dir_begin "$out" pool
export SOURCE_DATE_EPOCH=1700000000
kernels=20
vsize=$((12 * 1024 * 1024))
budget=$((vsize * 889 / 110))
t0=$(date +%s)

# 1. One pass over the real dbg package (xz -T2: its data.tar.xz is multi-block): the vmlinux and
#    every module.
ar p "$deb" data.tar.xz | xz -T2 -dc | tar -x -C "$work/pool" --wildcards "./usr/lib/debug/boot/vmlinux-$REL" './usr/lib/debug/lib/modules/*.ko'
real="$work/pool/usr/lib/debug/boot/vmlinux-$REL"
(cd "$work/pool/usr/lib/debug/lib/modules/$REL" && find kernel -name '*.ko' -printf '%p %s\n' | LC_ALL=C sort) >"$work/modules.list"
echo "bench-fleet fixture: $(wc -l <"$work/modules.list") modules extracted in $(($(date +%s) - t0))s" >&2
units=$(($(stat -c %s "$real") / 262144))
spacing=$((units / 48))

manifest=""
for i in $(seq 0 $((kernels - 1))); do
  s=$(date +%s)
  rel="$((500 + i)).el9"
  uname="5.14.0-$rel.x86_64"
  stage="$work/stage"
  rm -rf "$stage" "$work/v" "$work/rpmbuild"
  mkdir -p "$work/v" "$work/rpmbuild"
  dbg="$stage/usr/lib/debug"
  mods="$dbg/lib/modules/$uname"
  mkdir -p "$mods"
  # vmlinux: gcc's ELF with this release's banner, plus the real bytes in a non-loaded section.
  vmlinux_elf "$work/v" "$uname" "(mockbuild@kdbg-fixtures) (gcc (GCC) 11.5.0) #1 SMP PREEMPT_DYNAMIC Tue Nov 14 22:13:20 UTC 2023"
  for k in $(seq 0 47); do
    dd if="$real" bs=262144 skip=$((k * spacing + i * 2)) count=1 status=none
  done >"$work/v/real"
  objcopy --add-section .kdbg_real_debug="$work/v/real" --set-section-flags .kdbg_real_debug=noload,readonly "$work/v/vmlinux" "$mods/vmlinux"
  # Modules: release i draws from every 20th module (offset i), in an order fixed per release,
  # until the budget is filled.
  awk -v i="$i" -v n="$kernels" 'NR % n == i' "$work/modules.list" | sort -R --random-source=<(yes "$uname") |
    awk -v b="$budget" '$2 <= b / 4 && t + $2 <= b { t += $2; print $1 }' >"$work/picked"
  while read -r f; do
    mkdir -p "$mods/$(dirname "$f")"
    ln "$work/pool/usr/lib/debug/lib/modules/$REL/$f" "$mods/$f.debug"
  done <"$work/picked"
  # .build-id links, from readelf's notes of every file at once.
  (cd "$stage" && find usr/lib/debug/lib/modules -type f -print0 | xargs -0 readelf -n) |
    awk '/^File: / { f = $2 } /Build ID:/ { print f, $3 }' >"$work/ids"
  while read -r f id; do
    mkdir -p "$dbg/.build-id/${id:0:2}"
    ln -sf "../../${f#usr/lib/debug/}" "$dbg/.build-id/${id:0:2}/${id:2}.debug"
  done <"$work/ids"
  vid=$(build_id_of "$mods/vmlinux")
  [ -n "$vid" ] || { echo "bench-fleet fixture: $uname vmlinux has no build-id" >&2; exit 1; }
  printf '%s\n' "/usr/lib/debug/lib/modules/$uname" "/usr/lib/debug/.build-id" >"$stage.files"
  rpmbuild_stage kernel-debuginfo 5.14.0 "$rel" w0T2.xzdio "$stage" "$tmp/repo/Packages"
  pkg="repo/Packages/kernel-debuginfo-$uname.rpm"
  nmod=$(wc -l <"$work/picked")
  mbytes=$(du -bc $(sed "s|^|$mods/|; s|$|.debug|" "$work/picked") | tail -1 | cut -f1)
  manifest="$manifest${manifest:+,}
{\"uname\":\"$uname\",\"package\":\"$pkg\",\"size\":$(stat -c %s "$tmp/$pkg"),\"vmlinux\":{\"member\":\"usr/lib/debug/lib/modules/$uname/vmlinux\",\"buildId\":\"$vid\",\"sha256\":\"$(sha256sum "$mods/vmlinux" | cut -c1-64)\",\"size\":$(stat -c %s "$mods/vmlinux")},\"modules\":$nmod,\"modulesBytes\":$mbytes}"
  echo "bench-fleet fixture: [$((i + 1))/$kernels] $uname: $nmod modules, $(stat -c %s "$tmp/$pkg") bytes in $(($(date +%s) - s))s" >&2
done
rm -rf "$work/stage" "$work/pool"
createrepo_c --quiet "$tmp/repo"
printf '{"payload":"w0T2.xzdio","source":"%s","kernels":[%s]}\n' "$(basename "$deb")" "$manifest" >"$tmp/manifest.json"
build_dir_end "$out"
stamp_write "$name" "${recipe[@]}"
du -sh "$out" >&2
echo "bench-fleet fixture: built in $(($(date +%s) - t0))s" >&2
