#!/usr/bin/env bash
# Benchmark fixtures (NOT part of `npm test`): built once into $KDBG_FIXTURES/bench/ and cached
# with a stamp keyed on this script.
#
#   bench/www/centos/7/x86_64/   el7-style debuginfo repo (createrepo_c repodata):
#       kernel-debuginfo-3.10.0-327.el7.x86_64.rpm            xz level 2, ONE block (as el7: w2.xzdio),
#           ~700 real .ko debug files (from Debian's dbg package, renamed .ko.debug) then the real
#           633 MB vmlinux at usr/lib/debug/lib/modules/3.10.0-327.el7.x86_64/vmlinux
#       kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm   a source tree (text)
#   bench/www/el9mb/              the same debuginfo payload, multi-block xz (w3T.xzdio, as RHEL 8+/Fedora)
#   bench/www/debian/             Debian-archive layout: dists/bookworm/main/binary-amd64/Packages.xz
#       (real Size/SHA256) and pool/main/l/linux/<the real ~860 MB dbg .deb> (hard link)
#   bench/vmlinux.sha256          sha256 of the real vmlinux (what every scenario must produce)
#   bench/debian.env              which Debian kernel that is (REL, VER, DEB file name): the one
#                                 ../fixtures/debian-kernel.sh chose from the archive
#
# Why real bytes: xz speed and ratio depend on the data; synthetic zeros would flatter everyone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../fixtures/sign.sh"
export KDBG_FIXTURES
out="$KDBG_FIXTURES/bench"
mkdir -p "$KDBG_FIXTURES"
# One builder at a time: a second bench started meanwhile would delete this one's staging tree.
exec 9>"$KDBG_FIXTURES/.bench.lock"
flock 9
pkgs="$KDBG_FIXTURES/debian-pkgs"
rel=3.10.0-327.el7.x86_64
debian_kernel   # REL, VER
recipe=("$here/fixtures.sh" "$DEBIAN_KERNEL_ENV" "$here/../fixtures/sign.sh")

if stamp_ok bench "${recipe[@]}" && [ -s "$out/debian.env" ] && [ -s "$out/www/centos/7/x86_64/repodata/repomd.xml" ] && [ -s "$out/www/el9mb/repodata/repomd.xml" ]; then
  echo "bench fixtures: cached in $out" >&2
  exit 0
fi

mkdir -p "$pkgs" "$out"
# A rebuild first forgets the old stamp: an interrupted one must not leave a stamp over a half-made tree.
rm -f "$out/.stamp"
dbg_path=$(debian_deb "linux-image-$REL-dbg")
dbg_deb=$(basename "$dbg_path")

t0=$(date +%s)
stage="$out/stage"
rm -rf "$stage" "$out/www" "$out/rpmbuild"
mkdir -p "$stage/src"
# One pass over the dbg package: the vmlinux and ~700 module debug files.
dpkg-deb --fsys-tarfile "$pkgs/$dbg_deb" | tar -x -C "$stage/src" \
  ./usr/lib/debug/boot/vmlinux-$REL \
  ./usr/lib/debug/lib/modules/$REL/kernel/drivers/net \
  ./usr/lib/debug/lib/modules/$REL/kernel/drivers/scsi \
  ./usr/lib/debug/lib/modules/$REL/kernel/net/netfilter
echo "bench fixtures: extracted from the dbg deb in $(( $(date +%s) - t0 ))s" >&2
sha256sum "$stage/src/usr/lib/debug/boot/vmlinux-$REL" | cut -d' ' -f1 > "$out/vmlinux.sha256"

# Buildroot tree laid out as el7's kernel-debuginfo (hard links: no copy of 2 GB).
dbgroot="$stage/dbg"
mkdir -p "$dbgroot/usr/lib/debug/lib/modules/$rel"
(cd "$stage/src/usr/lib/debug/lib/modules/$REL" && find kernel -name '*.ko' -print) | while read -r f; do
  mkdir -p "$dbgroot/usr/lib/debug/lib/modules/$rel/$(dirname "$f")"
  ln "$stage/src/usr/lib/debug/lib/modules/$REL/$f" "$dbgroot/usr/lib/debug/lib/modules/$rel/$f.debug"
done
ln "$stage/src/usr/lib/debug/boot/vmlinux-$REL" "$dbgroot/usr/lib/debug/lib/modules/$rel/vmlinux"
echo "bench fixtures: $(find "$dbgroot" -type f | wc -l) files in the debuginfo tree" >&2

# -common: a source tree of real text (C headers and TypeScript's lib), as el7 ships sources.
comroot="$stage/common"
srcdir="$comroot/usr/src/debug/kernel-3.10.0-327.el7/linux-$rel"
mkdir -p "$srcdir"
cp -r /usr/include "$srcdir/include"
cp -r "$here/../../node_modules/typescript/lib" "$srcdir/tools"

mkspec() { # name root payload
  cat <<EOF
%define _binary_payload $3
%define __os_install_post %{nil}
%define debug_package %{nil}
%define _build_id_links none
%define _source_payload w2.xzdio
Name: $1
Version: 3.10.0
Release: 327.el7
Summary: bench fixture $1
License: GPLv2
AutoReqProv: no
%description
Benchmark fixture shaped like CentOS 7's $1.
%install
mkdir -p %{buildroot}
cp -al $2/. %{buildroot}/
%files
%defattr(-,root,root)
/usr
EOF
}

build_rpm() { # name root payload outdir
  local top="$out/rpmbuild/$1-$(basename "$4")" s
  mkdir -p "$top/SPECS" "$4"
  mkspec "$1" "$2" "$3" > "$top/SPECS/$1.spec"
  s=$(date +%s)
  rpmbuild -bb --quiet --target x86_64 --define "_topdir $top" "$top/SPECS/$1.spec" >/dev/null
  mv "$top"/RPMS/x86_64/*.rpm "$4/"
  echo "bench fixtures: rpmbuild $1 ($3) in $(( $(date +%s) - s ))s" >&2
}

el7="$out/www/centos/7/x86_64"
build_rpm kernel-debuginfo "$dbgroot" w2.xzdio "$el7"
build_rpm kernel-debuginfo-common-x86_64 "$comroot" w2.xzdio "$el7"
createrepo_c --quiet "$el7"

mb="$out/www/el9mb"
build_rpm kernel-debuginfo "$dbgroot" w3T2.xzdio "$mb"
cp -l "$el7"/kernel-debuginfo-common-*.rpm "$mb/"
createrepo_c --quiet "$mb"

# Debian archive layout around the real package (hard link, same bytes, real checksums).
deb="$out/www/debian"
mkdir -p "$deb/pool/main/l/linux" "$deb/dists/bookworm/main/binary-amd64"
ln -f "$pkgs/$dbg_deb" "$deb/pool/main/l/linux/$dbg_deb" 2>/dev/null || cp "$pkgs/$dbg_deb" "$deb/pool/main/l/linux/$dbg_deb"
(cd "$deb" && dpkg-scanpackages -m pool /dev/null 2>/dev/null) > "$deb/dists/bookworm/main/binary-amd64/Packages"
xz -k -f "$deb/dists/bookworm/main/binary-amd64/Packages"
{
  echo "Origin: Debian"
  echo "Suite: stable"
  echo "Codename: bookworm"
  echo "Architectures: amd64"
  echo "Components: main"
  echo "Date: $(date -u -R)"
  echo "SHA256:"
  for f in main/binary-amd64/Packages main/binary-amd64/Packages.xz; do
    printf ' %s %s %s\n' "$(sha256sum "$deb/dists/bookworm/$f" | cut -d' ' -f1)" "$(stat -c %s "$deb/dists/bookworm/$f")" "$f"
  done
} > "$deb/dists/bookworm/Release"
# Signed (InRelease, Release.gpg) by the fixture key: kdbg verifies it (issue 16); run.mjs trusts archive-key.asc.
sign_release "$deb/dists/bookworm"
export_key "$deb/archive-key.asc"

rm -rf "$stage" "$out/rpmbuild"
ls -l "$el7" "$mb" >&2
echo "bench fixtures: built in $(( $(date +%s) - t0 ))s" >&2
printf 'REL=%s\nVER=%s\nDEB=%s\n' "$REL" "$VER" "$dbg_deb" > "$out/debian.env"
stamp_write bench "${recipe[@]}"
