#!/usr/bin/env bash
# make boottest: the Debian package on a booted systemd. Installs the
# package (as apt would: its maintainer scripts, sysusers, tmpfiles; then
# the unit enabled, as the technician does) into a minimal Debian of the host's release, boots it with
# Debian's kernel in QEMU (TCG) with systemd as PID 1, and checks podd
# under its own hardened unit (packaging/boottest/check): started by the
# boot and ready, its watchdog fed, its status readable by a member of
# group podd, its files its own, started again after a crash, stopped
# cleanly. podd runs on the simulator (configs/sim.yaml's pod): the
# guest has no buses, and the hardware path is make hwtest's.
#
# Needs root (debootstrap and chroot), debootstrap, qemu-system-x86 and
# cpio; it names what is missing. The minimal Debian is built once, from
# the mirror apt uses, under packaging/cache/ (gitignored); the kernel is
# make hwtest's (hwtest/kernel.sh). Environment: BOOTTEST_TIMEOUT (seconds,
# default 600), GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
timeout_s=${BOOTTEST_TIMEOUT:-600}

die() { echo "boottest: $*" >&2; exit 2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot build the guest)"
missing=
for p in debootstrap qemu-system-x86 cpio; do
	installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] || die "missing Debian packages:$missing (apt-get install$missing)"

kernel=$(hwtest/kernel.sh)

# The guest's Debian: the host's release, minimal, with systemd.
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 2>/dev/null | grep -v security | head -1)
mirror=${mirror:-http://deb.debian.org/debian/}
base=$root/packaging/cache/$suite-systemd
if [ ! -f "$base/.complete" ]; then
	echo "boottest: building a minimal Debian $suite with systemd (debootstrap, once)"
	rm -rf "$base"
	mkdir -p "$root/packaging/cache"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,udev,init-system-helpers \
		"$suite" "$base" "$mirror" >"$root/packaging/cache/debootstrap.log" 2>&1 ||
		die "debootstrap failed: see packaging/cache/debootstrap.log"
	touch "$base/.complete"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "boottest: building the package"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -o "$work/bin/podd" ./cmd/podd
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -o "$work/bin/podctl" ./cmd/podctl
packaging/build-deb.sh "$work/bin" amd64 0.0.0~boottest "$work/deb" >/dev/null

echo "boottest: installing it in the guest"
guest=$work/root
cp -a "$base" "$guest"
cp "$work"/deb/podd_*.deb "$guest/tmp/podd.deb"
# The maintainer scripts run systemd-tmpfiles and systemd-sysusers, which
# need /proc.
mount -t proc proc "$guest/proc"
trap 'umount "$guest/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
chroot "$guest" dpkg -i /tmp/podd.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; die "dpkg -i failed"; }
umount "$guest/proc"
rm "$guest/tmp/podd.deb"
chroot "$guest" useradd --create-home --groups podd tech
# The simulator's pod (configs/sim.yaml) with the paths the unit lets podd
# use.
sed -e 's|^  program: dreamscapes/|  program: /usr/share/podd/dreamscapes/|' \
	-e 's|^  path: ./var/podd.db|  path: /var/lib/podd/podd.db|' \
	-e 's|^  socket: ./var/podd.sock|  socket: /run/podd/podd.sock|' \
	-e 's|^  scenario: sim/scenarios/calm.yaml|  scenario: /etc/podd/calm.yaml|' configs/sim.yaml >"$guest/etc/podd/pod.yaml"
for want in /usr/share/podd/dreamscapes/calm-night.yaml /var/lib/podd/podd.db /run/podd/podd.sock /etc/podd/calm.yaml; do
	grep -q "$want" "$guest/etc/podd/pod.yaml" || die "configs/sim.yaml changed: the guest's pod.yaml does not name $want"
done
cp sim/scenarios/calm.yaml "$guest/etc/podd/calm.yaml"
install -m 0755 packaging/boottest/check "$guest/usr/local/bin/podd-boottest"
install -m 0644 packaging/boottest/podd-boottest.service "$guest/etc/systemd/system/"
ln -s /etc/systemd/system/podd-boottest.service "$guest/etc/systemd/system/multi-user.target.wants/"
# The technician's step after setting the pod up (the package's postinst
# leaves a first install disabled): systemctl enable podd.
chroot "$guest" systemctl enable podd.service >/dev/null 2>&1 || die "systemctl enable podd.service failed in the guest"
# The console carries the check's lines, not a login prompt.
ln -s /dev/null "$guest/etc/systemd/system/serial-getty@ttyS0.service"
(cd "$guest" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"
rm -rf "$guest"

console=$root/packaging/cache/boottest-console.log
echo "boottest: booting it in QEMU (TCG; at most ${timeout_s}s; the console in ${console#"$root"/})"
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -m 2048 -smp 1 \
	-nographic -no-reboot -monitor none -serial stdio \
	-kernel "$kernel" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/sbin/init systemd.show_status=0" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$console"
rc=$?
set -e
# isa-debug-exit makes QEMU exit with (value << 1) | 1: the check writes
# 0 when every step passed.
grep -a -o 'boottest: .*' "$console" || true
case $rc in
1) echo "boottest: PASS" ;;
124|137) echo "boottest: FAIL: the guest did not finish within ${timeout_s}s; QEMU was killed" >&2; exit 1 ;;
0) echo "boottest: FAIL: the guest stopped without a result (a panic, or the check did not run)" >&2; exit 1 ;;
*) echo "boottest: FAIL (QEMU exit $rc): see ${console#"$root"/}" >&2; exit 1 ;;
esac
