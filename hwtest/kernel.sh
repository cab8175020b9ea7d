#!/usr/bin/env bash
# hwtest/kernel.sh: prints the path of Debian's kernel image that make
# hwtest and make boottest boot, downloading its package once (apt-get
# download, from the mirror apt uses) and unpacking it (not installing it)
# under hwtest/cache/KVER/kernel. KVER is HWTEST_KERNEL (a Debian kernel
# ABI, e.g. 6.1.0-57-amd64), by default the one linux-image-amd64 depends
# on.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "hwtest: $*" >&2; exit 2; }
kver=${HWTEST_KERNEL:-}
if [ -z "$kver" ]; then
  kver=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' | head -1)
  [ -n "$kver" ] || die "cannot tell Debian's kernel version: apt-cache depends linux-image-amd64 names no linux-image (run apt-get update)"
fi
cache=$PWD/hwtest/cache/$kver
mkdir -p "$cache"
if [ ! -f "$cache/kernel/boot/vmlinuz-$kver" ]; then
  echo "hwtest: downloading linux-image-$kver" >&2
  rm -rf "$cache/deb" "$cache/kernel" "$cache/kernel.tmp"
  mkdir -p "$cache/deb"
  (cd "$cache/deb" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$kver" >/dev/null) ||
    die "apt-get download linux-image-$kver failed (an ABI the archive no longer has? run apt-get update, or set HWTEST_KERNEL)"
  dpkg-deb -x "$cache"/deb/linux-image-"$kver"_*.deb "$cache/kernel.tmp"
  mv "$cache/kernel.tmp" "$cache/kernel"
  rm -rf "$cache/deb"
fi
echo "$cache/kernel/boot/vmlinuz-$kver"
