package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensing"
)

func TestDevicePathOfPeriphNames(t *testing.T) {
	for _, c := range []struct {
		kind busKind
		name string
		want string
	}{
		{busI2C, "1", "/dev/i2c-1"},
		{busI2C, "I2C1", "/dev/i2c-1"},
		{busI2C, "/dev/i2c-12", "/dev/i2c-12"},
		{busI2C, "I2C", ""},
		{busI2C, "bus1", ""},
		{busI2C, "-1", ""},
		{busSPI, "SPI0.0", "/dev/spidev0.0"},
		{busSPI, "/dev/spidev1.2", "/dev/spidev1.2"},
		{busSPI, "SPI0", ""},
		{busSPI, "SPI0.x", ""},
		{busSPI, "0.0/../../etc", ""},
	} {
		if got := devicePath(c.kind, c.name); got != c.want {
			t.Errorf("devicePath(%d, %q) = %q, want %q", c.kind, c.name, got, c.want)
		}
	}
}

func FuzzDevicePath(f *testing.F) {
	for _, s := range []string{"1", "I2C1", "/dev/i2c-3", "SPI0.0", "/dev/spidev1.0", "", ".", "SPI.", "I2C-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, k := range []busKind{busI2C, busSPI} {
			p := devicePath(k, name)
			if p == "" {
				continue
			}
			// A path is one of the bus's nodes, with nothing of name
			// outside its numbers, and names itself.
			if strings.Contains(strings.TrimPrefix(p, "/dev/"), "/") {
				t.Fatalf("devicePath(%d, %q) = %q leaves /dev", k, name, p)
			}
			if again := devicePath(k, p); again != p {
				t.Fatalf("devicePath(%d, %q) = %q, but of that %q", k, name, p, again)
			}
		}
	})
}

// A node that does not exist: the message names it and how to enable the
// bus, and tries the node for real.
func TestBusErrorOfAMissingI2CBusNamesTheNodeAndTheFix(t *testing.T) {
	periph := errors.New(`i2creg: can't open unknown bus: "4095"`)
	err := busError(busI2C, "hardware.i2c_bus", "4095", periph, openRW)
	want := `hardware.i2c_bus "4095": no such I2C bus: /dev/i2c-4095 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set hardware.i2c_bus to a bus that exists (ls /dev/i2c-*)`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}

func TestBusErrorOfAMissingSPIPortNamesTheNodeAndTheFix(t *testing.T) {
	notExist := func(p string) error { return &fs.PathError{Op: "open", Path: p, Err: unix.ENOENT} }
	err := busError(busSPI, "sensors.ads1299.spi_port", "SPI1.0", errors.New("spireg: unknown"), notExist)
	want := `sensors.ads1299.spi_port "SPI1.0": no such SPI port: /dev/spidev1.0 does not exist; enable the bus and its spidev device (on a Raspberry Pi: dtparam=spi=on for SPI0, dtoverlay=spi1-1cs for SPI1, in config.txt, then reboot), or set sensors.ads1299.spi_port to a port that exists (ls /dev/spidev*)`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}

func TestBusErrorOfARefusedOpenNamesTheGroup(t *testing.T) {
	var tried []string
	denied := func(p string) error {
		tried = append(tried, p)
		return &fs.PathError{Op: "open", Path: p, Err: unix.EACCES}
	}
	periph := errors.New("sysfs-i2c: are you member of group 'plugdev'? open /dev/i2c-1: permission denied")
	err := busError(busI2C, "hardware.i2c_bus", "I2C1", periph, denied)
	want := `hardware.i2c_bus "I2C1": /dev/i2c-1: permission denied; podd needs read and write access to it: the podd package's unit runs podd in group i2c (SupplementaryGroups=) and its udev rule (/usr/lib/udev/rules.d/99-podd.rules) gives the node to that group; run by hand, add the user to group i2c (usermod -aG i2c USER) and log in again`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
	if len(tried) != 1 || tried[0] != "/dev/i2c-1" {
		t.Fatalf("tried %q, want the one node /dev/i2c-1", tried)
	}
	err = busError(busSPI, "hardware.spi_port", "SPI0.0", periph, denied)
	if !strings.Contains(err.Error(), "/dev/spidev0.0: permission denied") || !strings.Contains(err.Error(), "group spi") {
		t.Fatalf("SPI: %s", err)
	}
}

// A node that opens (the failure was something else) and a name that is no
// node keep periph's error, wrapped, with the key.
func TestBusErrorOfAnotherFailureKeepsPeriphsError(t *testing.T) {
	periph := errors.New("sysfs-i2c: inappropriate ioctl for device")
	err := busError(busI2C, "hardware.i2c_bus", "1", periph, func(string) error { return nil })
	if want := `hardware.i2c_bus "1" (/dev/i2c-1): sysfs-i2c: inappropriate ioctl for device`; err.Error() != want {
		t.Fatalf("got %s, want %s", err, want)
	}
	if !errors.Is(err, periph) {
		t.Fatal("periph's error is not wrapped")
	}
	err = busError(busI2C, "hardware.i2c_bus", "ftdi", periph, func(string) error { t.Fatal("opened a node for a name of none"); return nil })
	if want := `hardware.i2c_bus "ftdi": sysfs-i2c: inappropriate ioctl for device`; err.Error() != want {
		t.Fatalf("got %s, want %s", err, want)
	}
}

func TestChipErrorOfAnAddressNAK(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENXIO, unix.EREMOTEIO} {
		// As periph formats it: the errno's text, not the errno.
		bus := fmt.Errorf("sysfs-i2c: %v", errno)
		drv := fmt.Errorf("tmp117 at 0x4A: read Device_ID: %w", bus)
		err := chipError("sensors.tmp117", 0x4A, "1", drv)
		want := "sensors.tmp117: no chip answers at 0x4A on /dev/i2c-1: check the chip's power and wiring (SDA, SCL, GND, its address strap) and sensors.tmp117's address and i2c_bus; i2cdetect -y 1 lists the addresses that answer: tmp117 at 0x4A: read Device_ID: sysfs-i2c: " + errno.Error()
		if err.Error() != want {
			t.Fatalf("%v:\ngot  %s\nwant %s", errno, err, want)
		}
		if !errors.Is(err, bus) {
			t.Fatalf("%v: the driver's error is not wrapped", errno)
		}
	}
}

func TestChipErrorLeavesOtherErrorsAlone(t *testing.T) {
	wrong := errors.New("max30102: part ID 0x00, want 0x15: not a MAX30102")
	if err := chipError("sensors.max30102", 0x57, "1", wrong); err != wrong {
		t.Fatalf("got %v, want the error itself", err)
	}
	if err := chipError("sensors.max30102", 0x57, "1", nil); err != nil {
		t.Fatalf("nil became %v", err)
	}
}

func TestExplainChipWrapsTheSensorsOpen(t *testing.T) {
	calls := 0
	s := sensing.Sensor{Name: "ads1115", Open: func() (sensing.Device, error) {
		calls++
		return nil, fmt.Errorf("ads1115 at 0x49: write Config: sysfs-i2c: %v", unix.EREMOTEIO)
	}}
	s = explainChip(s, "sensors.ads1115", 0x49, "I2C1")
	_, err := s.Open()
	if calls != 1 || err == nil || !strings.HasPrefix(err.Error(), "sensors.ads1115: no chip answers at 0x49 on /dev/i2c-1: ") {
		t.Fatalf("calls %d, err %v", calls, err)
	}
}

// openRW reports what the system said, as errors.Is can test.
func TestOpenRWOfAMissingNode(t *testing.T) {
	err := openRW(t.TempDir() + "/i2c-9")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want not exist", err)
	}
	f := t.TempDir() + "/node"
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openRW(f); err != nil {
		t.Fatalf("an openable file: %v", err)
	}
}

// A new user's first try, podd --config configs/pod.yaml on a machine
// without the pod's buses: linux mode names the missing node and the fix
// (make hwtest runs the same on a kernel that has the buses).
func TestLinuxModeOnAMachineWithoutI2CBus1NamesTheFix(t *testing.T) {
	if _, err := os.Stat("/dev/i2c-1"); err == nil {
		t.Skip("this machine has /dev/i2c-1")
	}
	cfg, err := configs.Load("../../configs/pod.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	hw, err := openHardware(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		hw.close()
		t.Fatal("opened")
	}
	want := `hardware.i2c_bus "1": no such I2C bus: /dev/i2c-1 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set hardware.i2c_bus to a bus that exists (ls /dev/i2c-*)`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}

// jsonPin prints as periph's Linux GPIO lines do: a JSON document.
type jsonPin struct{ gpio.PinIO }

func (jsonPin) Name() string   { return "GPIO25" }
func (jsonPin) String() string { return "{\n    \"Line\": 25,\n    \"Name\": \"GPIO25\"\n}" }

// A line prints as its name in errors, whatever its driver's String.
func TestNamedPinPrintsAsItsName(t *testing.T) {
	if got := fmt.Sprintf("on %s", namedPin{jsonPin{}}); got != "on GPIO25" {
		t.Fatalf("got %q, want %q", got, "on GPIO25")
	}
}
