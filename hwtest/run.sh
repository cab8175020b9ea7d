#!/usr/bin/env bash
# make hwtest: podd's linux-mode hardware path on a real Linux kernel.
#
# Boots Debian's own kernel in QEMU (TCG: no KVM needed) with an initramfs
# holding busybox, the kernel modules that emulate the pod's buses (hwtest/
# modules: an i2c-stub that answers I2C_RDWR, gpio-sim, a virtual SPI
# controller) and cmd/podd's tests built with -tags hwtest, then runs those
# tests inside the guest (hwtest/init). The guest's result is QEMU's exit code
# through isa-debug-exit; a guest that dies or hangs is reported and QEMU
# killed after HWTEST_TIMEOUT seconds.
#
# It installs nothing: it says which Debian packages are missing. It
# downloads the kernel image package (apt-get download, from the mirror apt
# uses) and builds the modules once per kernel version, under hwtest/cache/
# (gitignored); the modules are built again when their sources change.
#
# Environment: HWTEST_KERNEL (a Debian kernel ABI, e.g. 6.1.0-57-amd64;
# default: the one linux-image-amd64 depends on), HWTEST_TIMEOUT (seconds,
# default 300), HWTEST_RUN (a go test -run pattern, default '^TestHW'),
# GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
timeout_s=${HWTEST_TIMEOUT:-300}
run_pattern=${HWTEST_RUN:-^TestHW}

die() { echo "hwtest: $*" >&2; exit 2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# What the run needs, by Debian package: QEMU, a static busybox for the
# guest, cpio for the initramfs, and the compiler and (below) the headers
# that build the modules for exactly this kernel.
missing=
for p in qemu-system-x86 busybox-static cpio gcc make; do
  installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  die "missing Debian packages:$missing (apt-get install$missing)"
fi
command -v "$GO" >/dev/null 2>&1 || die "no Go toolchain ($GO)"

# The kernel: Debian's image package, unpacked (not installed).
kernel=$(hwtest/kernel.sh)
kver=${kernel##*/vmlinuz-}
cache=${kernel%/kernel/boot/*}
kmods=$cache/kernel/lib/modules/$kver/kernel
installed "linux-headers-$kver" || die "missing Debian packages: linux-headers-$kver (apt-get install linux-headers-$kver)"

# The out-of-tree modules, built again when their sources change.
srcsum=$(cat hwtest/modules/* | sha256sum | cut -d' ' -f1)
if [ "$(cat "$cache/modules/.sources" 2>/dev/null)" != "$srcsum" ]; then
  echo "hwtest: building the modules for $kver"
  rm -rf "$cache/modules"
  mkdir -p "$cache/modules.tmp"
  cp hwtest/modules/* "$cache/modules.tmp/"
  if ! make -s -C "/usr/src/linux-headers-$kver" M="$cache/modules.tmp" -j2 modules >"$cache/modules.log" 2>&1; then
    cat "$cache/modules.log" >&2
    die "building the modules failed"
  fi
  echo "$srcsum" >"$cache/modules.tmp/.sources"
  mv "$cache/modules.tmp" "$cache/modules"
fi

# The tests: cmd/podd's package built with the hwtest tag, static.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "hwtest: building the guest's tests"
CGO_ENABLED=0 "$GO" test -c -tags hwtest -o "$work/podd-hw.test" ./cmd/podd

# The initramfs: busybox, the modules, the tests laid out as the repository
# is (they read ../../configs/pod.yaml and ../../systemd/podd.service), and
# the shipped dreamscapes where a pod has them (pod.yaml's
# dreamscape.program).
ir=$work/root
mkdir -p "$ir"/{bin,dev,proc,sys,tmp,lib/modules,podd/cmd/podd,podd/configs,podd/systemd,usr/share/podd/dreamscapes}
cp /bin/busybox "$ir/bin/busybox"
cp hwtest/init "$ir/init"
chmod 0755 "$ir/init"
cp "$kmods/drivers/i2c/i2c-dev.ko" "$kmods/fs/configfs/configfs.ko" "$ir/lib/modules/"
cp "$cache"/modules/*.ko "$ir/lib/modules/"
cp "$work/podd-hw.test" "$ir/podd/podd-hw.test"
cp configs/pod.yaml "$ir/podd/configs/"
cp systemd/podd.service "$ir/podd/systemd/"
cp dreamscapes/*.yaml "$ir/usr/share/podd/dreamscapes/"
echo "$run_pattern" >"$ir/podd/run"
(cd "$ir" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

echo "hwtest: booting Debian's kernel $kver in QEMU (TCG; at most ${timeout_s}s)"
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
  -nographic -no-reboot -monitor none -serial stdio \
  -kernel "$kernel" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init" \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null
rc=$?
set -e
# isa-debug-exit makes QEMU exit with (value << 1) | 1: the guest writes the
# test binary's exit status, 0 when every test passed.
case $rc in
  1) echo "hwtest: PASS"; exit 0 ;;
  124|137) echo "hwtest: FAIL: the guest did not finish within ${timeout_s}s (hung); QEMU was killed" >&2; exit 1 ;;
  0) echo "hwtest: FAIL: the guest stopped without reporting a result (a kernel panic or a reboot: see the console above)" >&2; exit 1 ;;
  *) if [ $((rc & 1)) -eq 1 ]; then
       echo "hwtest: FAIL: the tests in the guest exited with status $((rc >> 1))" >&2
     else
       echo "hwtest: FAIL: QEMU exited with status $rc" >&2
     fi
     exit 1 ;;
esac
