package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sleegation/podd/sensing"
)

// The messages of linux mode's failures name the key, the device and the
// fix. periph's Linux drivers format the system's error with %v, so what it
// was (a missing node, a refused open, an address nobody acknowledges) is
// found again here: by opening the device node itself, and by the errno's
// text in a transfer's error.

// busKind is a kind of bus linux mode opens by a configured name.
type busKind int

const (
	busI2C busKind = iota
	busSPI
)

// devicePath is the device node periph opens for name (a periph i2creg or
// spireg name: "1", "I2C1" or "/dev/i2c-1"; "SPI0.0" or "/dev/spidev0.0"),
// or "" for a name of no such form.
func devicePath(kind busKind, name string) string {
	switch kind {
	case busI2C:
		n := strings.TrimPrefix(strings.TrimPrefix(name, "/dev/i2c-"), "I2C")
		if _, err := strconv.ParseUint(n, 10, 16); err != nil {
			return ""
		}
		return "/dev/i2c-" + n
	case busSPI:
		n := strings.TrimPrefix(strings.TrimPrefix(name, "/dev/spidev"), "SPI")
		bus, cs, ok := strings.Cut(n, ".")
		if !ok {
			return ""
		}
		for _, s := range []string{bus, cs} {
			if _, err := strconv.ParseUint(s, 10, 16); err != nil {
				return ""
			}
		}
		return "/dev/spidev" + n
	}
	return ""
}

// openRW opens path for reading and writing, as periph does, and closes it.
func openRW(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// busError explains why the bus that key names (name) could not be opened:
// err is periph's error, and open (openRW outside tests) tries the device
// node again to learn whether it is missing or refused. A missing node and a
// refused open get a message naming the node and the fix; any other failure
// is err with the key and name.
func busError(kind busKind, key, name string, err error, open func(string) error) error {
	dev := devicePath(kind, name)
	if dev == "" {
		return fmt.Errorf("%s %q: %w", key, name, err)
	}
	oerr := open(dev)
	switch {
	case errors.Is(oerr, fs.ErrNotExist):
		if kind == busI2C {
			return fmt.Errorf("%s %q: no such I2C bus: %s does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set %s to a bus that exists (ls /dev/i2c-*)", key, name, dev, key)
		}
		return fmt.Errorf("%s %q: no such SPI port: %s does not exist; enable the bus and its spidev device (on a Raspberry Pi: dtparam=spi=on for SPI0, dtoverlay=spi1-1cs for SPI1, in config.txt, then reboot), or set %s to a port that exists (ls /dev/spidev*)", key, name, dev, key)
	case errors.Is(oerr, fs.ErrPermission):
		group := map[busKind]string{busI2C: "i2c", busSPI: "spi"}[kind]
		return fmt.Errorf("%s %q: %s: permission denied; podd needs read and write access to it: the podd package's unit runs podd in group %s (SupplementaryGroups=) and its udev rule (/usr/lib/udev/rules.d/99-podd.rules) gives the node to that group; run by hand, add the user to group %s (usermod -aG %s USER) and log in again", key, name, dev, group, group, group)
	}
	return fmt.Errorf("%s %q (%s): %w", key, name, dev, err)
}

// noAnswer reports whether err is an I²C transfer that no chip
// acknowledged: ENXIO (an address NAK, Documentation/i2c/fault-codes.rst)
// or EREMOTEIO (what several adapters, the Raspberry Pi's among them,
// return for a NAK).
func noAnswer(err error) bool {
	if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EREMOTEIO) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, unix.ENXIO.Error()) || strings.Contains(s, unix.EREMOTEIO.Error())
}

// chipError explains an I²C chip's failure to open: one that does not
// answer at its address is named with its key (sensors.<chip>), address and
// bus, and the fix; err stays wrapped. Other errors come back unchanged.
func chipError(key string, addr uint16, busName string, err error) error {
	if err == nil || !noAnswer(err) {
		return err
	}
	dev := devicePath(busI2C, busName)
	if dev == "" {
		dev = "I2C bus " + busName
	}
	return fmt.Errorf("%s: no chip answers at 0x%02X on %s: check the chip's power and wiring (SDA, SCL, GND, its address strap) and %s's address and i2c_bus; i2cdetect -y %s lists the addresses that answer: %w",
		key, addr, dev, key, strings.TrimPrefix(dev, "/dev/i2c-"), err)
}

// explainChip wraps a sensor's Open so that a chip that does not answer is
// reported by chipError.
func explainChip(s sensing.Sensor, key string, addr uint16, busName string) sensing.Sensor {
	open := s.Open
	s.Open = func() (sensing.Device, error) {
		d, err := open()
		if err != nil {
			return nil, chipError(key, addr, busName, err)
		}
		return d, nil
	}
	return s
}
