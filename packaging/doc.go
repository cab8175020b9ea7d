// Package packaging holds the pod's Debian package: nfpm.yaml, build-deb.sh
// (which stages the binaries and the gzipped changelog and runs nfpm; `make
// deb` calls it per architecture) and the maintainer scripts postinst, prerm
// and postrm. Its tests build the package, read it with dpkg-deb, install,
// upgrade, remove and purge it in a throw-away root, and check the systemd
// unit in ../systemd.
//
// # Maintainer scripts
//
// nfpm runs no debhelper, so the scripts are written by hand as
// dh_installsystemd's generated snippets are (with --no-enable, --no-start
// and its default restart after upgrade), using deb-systemd-helper and
// deb-systemd-invoke from init-system-helpers:
//
//   - postinst configure: systemd-sysusers (user podd, member of i2c, spi
//     and gpio), pod.yaml's group by number from the root's /etc/group,
//     systemd-tmpfiles, the udev rules; then the enablement is kept as it
//     was (deb-systemd-helper was-enabled/enable, update-state), and the
//     unit is started (first install) or restarted (upgrade) through
//     deb-systemd-invoke, which starts only an enabled unit: a first
//     install stays stopped until a technician has set pod.id and enabled
//     it.
//   - prerm stops the service on remove and deconfigure only; on upgrade
//     the new postinst restarts it.
//   - postrm remove masks the unit (its enablement is configuration and
//     stays); purge forgets the enablement and deletes /etc/podd and the
//     state in /var/lib/podd and /run/podd. The user stays (Debian keeps
//     system users: files elsewhere may be owned by it).
//
// With DPKG_ROOT set (dpkg --root with --force-script-chrootless) every
// step works on that root: systemd-sysusers and systemd-tmpfiles with
// --root, deb-systemd-helper by DPKG_ROOT itself; udevadm, systemctl and
// deb-systemd-invoke are not run. TestDebPackage's lifecycle wraps each of
// those tools to log its calls and fails on any that would reach the
// running system, and compares the running system's users, /etc/podd,
// state and enablement paths before and after every dpkg run.
//
// # The unit's devices
//
// With DevicePolicy=closed, DeviceAllow=char-NAME matches the character
// devices whose major the kernel registered as NAME (the names in
// /proc/devices), not the device nodes' names: spidev registers "spi"
// (drivers/spi/spidev.c, register_chrdev(SPIDEV_MAJOR, "spi", ...)),
// i2c-dev "i2c" (drivers/i2c/i2c-dev.c, register_chrdev_region(...,
// "i2c")), the GPIO character devices "gpiochip" (drivers/gpio/gpiolib.c,
// alloc_chrdev_region(..., GPIOCHIP_NAME) with GPIOCHIP_NAME "gpiochip").
// periph reaches GPIO lines through /dev/gpiochipN (its gpioioctl driver);
// its sysfs GPIO driver and /dev/gpiomem stay closed (ProtectKernelTunables
// makes /sys read-only), which it reports as failed drivers, not as an
// error. The watchdog is allowed by path (/dev/watchdog, misc 10:130).
//
// # The sandbox
//
// systemd-analyze security rates the unit 1.9. What is left open is what
// the daemon needs: AF_INET/AF_INET6 (the broker, any address: no IP
// allow list), AF_UNIX (the local API), the supplementary bus groups, the
// devices above, /proc's non-process files (periph reads /proc/cpuinfo
// and /proc/device-tree to know the board), and adjtimex(2), by which
// cmd/podd reads whether the clock is synchronised (ProtectClock would
// refuse it; with no capabilities the kernel refuses any change to the
// clock). PrivateUsers is not set: it maps every group but the service's
// own to nobody, and the buses are reached through the supplementary
// groups i2c, spi and gpio; it has not been tried on a pod.
package packaging
