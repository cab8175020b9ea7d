//go:build hwtest

package main

// make hwtest: what linux mode says of a chip with another ID, a chip that
// does not answer, a missing bus and a node its user may not open.

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sleegation/podd/configs"
)

// The identification reads come from the chip: another ID is refused.
func TestHWAChipWithAnotherIDIsRefused(t *testing.T) {
	powerOn(t)
	setReg8(t, addrMAX30102, 0xFF, 0x11) // a MAX30100's PART_ID
	setReg16(t, addrTMP117, 0x0F, 0x8583)
	t.Cleanup(func() { powerOn(t) })
	_, hw := openGuest(t)
	_, err := hw.openOximeter()
	if err == nil || err.Error() != "max30102: part ID 0x11, want 0x15: not a MAX30102" {
		t.Errorf("max30102: %v", err)
	}
	_, err = sensorNamed(t, hw, "tmp117").Open()
	if err == nil || !strings.HasPrefix(err.Error(), "tmp117 at 0x48: Device_ID 0x8583, want 0x0117: not a TMP117") {
		t.Errorf("tmp117: %v", err)
	}
}

// A chip that does not answer at its configured address: the message
// names the key, the address, the bus and the fix.
func TestHWAChipThatDoesNotAnswerIsNamedWithTheFix(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t, "PODD_SENSORS_TMP117_ADDRESS=0x4A")
	_, err := sensorNamed(t, hw, "tmp117").Open()
	want := "sensors.tmp117: no chip answers at 0x4A on /dev/i2c-1: check the chip's power and wiring (SDA, SCL, GND, its address strap) and sensors.tmp117's address and i2c_bus; i2cdetect -y 1 lists the addresses that answer: tmp117 at 0x4A: read Device_ID: sysfs-i2c: no such device or address"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// A bus or line the kernel does not have: openHardware refuses the
// configuration, naming the key, the device node and the fix.
func TestHWAMissingBusIsNamedWithTheFix(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	absent := absentLine(t, guestConfig(t))
	for _, c := range []struct{ env, want string }{
		{"PODD_HARDWARE_I2C_BUS=5", `hardware.i2c_bus "5": no such I2C bus: /dev/i2c-5 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set hardware.i2c_bus to a bus that exists (ls /dev/i2c-*)`},
		{"PODD_HARDWARE_SPI_PORT=SPI3.0", `hardware.spi_port "SPI3.0": no such SPI port: /dev/spidev3.0 does not exist; enable the bus and its spidev device (on a Raspberry Pi: dtparam=spi=on for SPI0, dtoverlay=spi1-1cs for SPI1, in config.txt, then reboot), or set hardware.spi_port to a port that exists (ls /dev/spidev*)`},
		{"PODD_SENSORS_TMP117_I2C_BUS=3", `sensors.tmp117.i2c_bus "3": no such I2C bus: /dev/i2c-3 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set sensors.tmp117.i2c_bus to a bus that exists (ls /dev/i2c-*)`},
		{"PODD_HARDWARE_PANIC_BUTTON=" + absent, `hardware.panic_button "` + absent + `": ` + noLineFix},
	} {
		hw, err := openHardware(guestConfig(t, c.env), log)
		if err == nil {
			hw.close()
			t.Errorf("%s: opened", c.env)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s:\ngot  %v\nwant %s", c.env, err, c.want)
		}
	}
}

// absentLine is a GPIO line name, GPIOn, that the guest's board has no
// line of and that cfg names for nothing (a line cfg names would be
// refused as taken before it is looked up).
func absentLine(t *testing.T, cfg *configs.Config) string {
	t.Helper()
	used := map[string]bool{}
	names, err := filepath.Glob("/sys/kernel/config/gpio-sim/pod/bank0/line*/name")
	if err != nil || len(names) == 0 {
		t.Fatalf("the board's line names: %q, %v", names, err)
	}
	for _, f := range names {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		used[strings.TrimSpace(string(b))] = true
	}
	h := cfg.Hardware
	for _, n := range []string{h.ConsentButton, h.PanicButton, h.AckButton, h.IndicatorLED, cfg.Sensors.ADS1299.DRDY, cfg.Lights.PCA9685.OE} {
		used[n] = true
	}
	for _, p := range cfg.Haptics.Places {
		used[p.Line] = true
	}
	for n := range 28 {
		if name := fmt.Sprintf("GPIO%d", n); !used[name] {
			return name
		}
	}
	t.Fatal("every line GPIO0..GPIO27 is on the board or in pod.yaml")
	return ""
}

// A bus podd's user may not open: run as nobody with /dev/i2c-1 root's
// alone, openHardware names the node, the group and the fix.
func TestHWAPermissionErrorIsNamedWithTheFix(t *testing.T) {
	st, err := os.Stat(stubBus)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stubBus, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(stubBus, st.Mode().Perm()) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuestChildOpensTheHardware$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HWTEST_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := `open: hardware.i2c_bus "1": /dev/i2c-1: permission denied; podd needs read and write access to it: the podd package's unit runs podd in group i2c (SupplementaryGroups=) and its udev rule (/usr/lib/udev/rules.d/99-podd.rules) gives the node to that group; run by hand, add the user to group i2c (usermod -aG i2c USER) and log in again`
	if !slices.Contains(strings.Split(string(out), "\n"), want) {
		t.Fatalf("child's output has no line\n%s\n:\n%s", want, out)
	}
}

// TestGuestChildOpensTheHardware is the permission test's child: it prints
// openHardware's error as the line "open: ERROR".
func TestGuestChildOpensTheHardware(t *testing.T) {
	if os.Getenv("HWTEST_CHILD") == "" {
		t.Skip("the permission test's child process")
	}
	hw, err := openHardware(guestConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		hw.close()
		t.Fatal("opened as uid 65534")
	}
	os.Stdout.WriteString("open: " + err.Error() + "\n")
}
