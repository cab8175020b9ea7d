//go:build hwtest

package main

// The emulated devices of make hwtest's guest (hwtest/init builds them), as
// the tests see them from the side a chip or a wire would: the I²C chips'
// register files (i2c-stub-rdwr, through SMBus transfers, a path podd's
// drivers never use), the SPI controller's last message (spi-virt's
// debugfs) and the GPIO lines' levels (gpio-sim's pull in sysfs).

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sleegation/podd/configs"
)

// stubBus is the guest's I²C bus 1 (hwtest/init).
const stubBus = "/dev/i2c-1"

// The i2c-dev ioctls and SMBus transfer kinds (linux/i2c-dev.h, linux/i2c.h).
const (
	ioctlI2CSlave  = 0x0703
	ioctlI2CSMBus  = 0x0720
	smbusWrite     = 0
	smbusRead      = 1
	smbusByteData  = 2
	smbusWordData  = 3
	smbusBlockData = 5
	smbusDataBytes = 34 // union i2c_smbus_data
)

// smbusIoctlData is struct i2c_smbus_ioctl_data.
type smbusIoctlData struct {
	readWrite uint8
	command   uint8
	size      uint32
	data      *[smbusDataBytes]byte
}

// smbus makes one SMBus transfer to the chip at addr on stubBus: the
// stub's register file, bits 7:0 of a register for byte data, the whole
// 16-bit register for word data (host order, as i2c-stub keeps it).
func smbus(t *testing.T, addr uint16, rw uint8, size uint32, reg uint8, v uint16) uint16 {
	t.Helper()
	var data [smbusDataBytes]byte
	data[0], data[1] = byte(v), byte(v>>8)
	return smbusData(t, addr, rw, size, reg, &data)
}

// smbusData makes one SMBus transfer of data (union i2c_smbus_data) and
// returns its first two bytes, little-endian.
func smbusData(t *testing.T, addr uint16, rw uint8, size uint32, reg uint8, data *[smbusDataBytes]byte) uint16 {
	t.Helper()
	f, err := os.OpenFile(stubBus, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), ioctlI2CSlave, int(addr)); err != nil {
		t.Fatalf("I2C_SLAVE 0x%02X: %v", addr, err)
	}
	arg := smbusIoctlData{readWrite: rw, command: reg, size: size, data: data}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), ioctlI2CSMBus, uintptr(unsafe.Pointer(&arg))); errno != 0 {
		t.Fatalf("SMBus transfer to 0x%02X register 0x%02X: %v", addr, reg, errno)
	}
	if size == smbusByteData {
		return uint16(data[0])
	}
	return uint16(data[0]) | uint16(data[1])<<8
}

func setReg8(t *testing.T, addr uint16, reg, v uint8) {
	t.Helper()
	smbus(t, addr, smbusWrite, smbusByteData, reg, uint16(v))
}

func reg8(t *testing.T, addr uint16, reg uint8) uint8 {
	t.Helper()
	return uint8(smbus(t, addr, smbusRead, smbusByteData, reg, 0))
}

// setFIFO loads the FIFO data port reg of the chip at addr (its fifo_reg)
// with b (up to 32 bytes), read out by the I2C reads of reg that follow.
func setFIFO(t *testing.T, addr uint16, reg uint8, b []byte) {
	t.Helper()
	if len(b) == 0 || len(b) > 32 {
		t.Fatalf("a FIFO block of %d bytes (1..32)", len(b))
	}
	var data [smbusDataBytes]byte
	data[0] = byte(len(b))
	copy(data[1:], b)
	smbusData(t, addr, smbusWrite, smbusBlockData, reg, &data)
}

func setReg16(t *testing.T, addr uint16, reg uint8, v uint16) {
	t.Helper()
	smbus(t, addr, smbusWrite, smbusWordData, reg, v)
}

func reg16(t *testing.T, addr uint16, reg uint8) uint16 {
	t.Helper()
	return smbus(t, addr, smbusRead, smbusWordData, reg, 0)
}

// spiVirt is spi-virt's debugfs directory for an SPI bus: 0 has the LED
// strip, 1 the EEG (hwtest/init).
func spiVirt(bus int) string { return fmt.Sprintf("/sys/kernel/debug/spi-virt/spi%d", bus) }

// spiLast is the last message spi-virt completed: the bytes sent, and the
// settings it went out with.
type spiLast struct {
	tx                      []byte
	messages                int
	mode, bits, speedHz, cs int
}

func spiLastMessage(t *testing.T, bus int) spiLast {
	t.Helper()
	tx, err := os.ReadFile(spiVirt(bus) + "/last_tx")
	if err != nil {
		t.Fatal(err)
	}
	num := func(name string) int {
		b, err := os.ReadFile(spiVirt(bus) + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	return spiLast{tx: tx, messages: num("messages"), mode: num("last_mode"), bits: num("last_bits"), speedHz: num("last_speed_hz"), cs: num("last_cs")}
}

// simLine is a line of the guest's gpio-sim chip: what drives it from
// outside the pod (a button's contact and its pull).
type simLine struct {
	t    *testing.T
	pull string // .../sim_gpioN/pull
}

// simChip is the sysfs directory of the gpio-sim chip (gpiochipN) and its
// character device.
func simChip(t *testing.T) (dir, dev string) {
	t.Helper()
	m, err := filepath.Glob("/sys/devices/platform/gpio-sim.*/gpiochip*")
	if err != nil || len(m) != 1 {
		t.Fatalf("the gpio-sim chip: %q, %v", m, err)
	}
	return m[0], "/dev/" + filepath.Base(m[0])
}

func lineOf(t *testing.T, offset int) simLine {
	dir, _ := simChip(t)
	return simLine{t: t, pull: fmt.Sprintf("%s/sim_gpio%d/pull", dir, offset)}
}

// level is the line's level as gpio-sim holds it: what the pod drives on
// an output, the pull on an input or a line no one requested.
func (l simLine) level() bool {
	l.t.Helper()
	v := strings.TrimSuffix(l.pull, "pull") + "value"
	b, err := os.ReadFile(v)
	if err != nil {
		l.t.Fatal(err)
	}
	switch s := strings.TrimSpace(string(b)); s {
	case "0":
		return false
	case "1":
		return true
	default:
		l.t.Fatalf("%s: %q", v, s)
		return false
	}
}

// set drives the line: "pull-down" or "pull-up".
func (l simLine) set(pull string) {
	l.t.Helper()
	if err := os.WriteFile(l.pull, []byte(pull), 0); err != nil {
		l.t.Fatalf("%s: %v", l.pull, err)
	}
}

// frame is an APA102 frame of px as the datasheet and SK9822 clones want
// it, built here from the protocol, not by the driver: a start frame of 32
// zero bits, 0xFF (0b111 and brightness 31) then blue, green, red per LED,
// n/2 clocks of zeros rounded up to bytes, and one more start frame.
func frame(px [][3]byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0})
	for _, p := range px {
		b.Write([]byte{0xFF, p[2], p[1], p[0]})
	}
	b.Write(make([]byte, (len(px)+15)/16))
	b.Write([]byte{0, 0, 0, 0})
	return b.Bytes()
}

// safeFrame is the strip's safe-state frame for cfg, computed here from
// the configuration, not by the driver: every LED at lights.safe_color, an
// sRGB colour decoded to linear light (IEC 61966-2-1), times
// lights.safe_level, each channel rounded to 8 bits and at least 1 if lit
// at all, so that the safe light is never dark. pod.yaml's #ff8a3d at 0.04
// is red 10, green 3, blue 1.
func safeFrame(t *testing.T, cfg *configs.Config) []byte {
	t.Helper()
	hex := cfg.Lights.SafeColor
	n, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil || len(hex) != 7 {
		t.Fatalf("lights.safe_color %q", hex)
	}
	var px [3]byte
	for i, shift := range []int{16, 8, 0} {
		v := float64(n>>shift&0xFF) / 255
		lin := v / 12.92
		if v > 0.04045 {
			lin = math.Pow((v+0.055)/1.055, 2.4)
		}
		x := lin * cfg.Lights.SafeLevel * 255
		px[i] = byte(math.Round(x))
		if x > 0 && px[i] == 0 {
			px[i] = 1
		}
	}
	all := make([][3]byte, cfg.Hardware.LEDCount)
	for i := range all {
		all[i] = px
	}
	return frame(all)
}

// adsRegs are the 24 registers of the ADS1299 that SPI bus 1's device
// answers as (spi-virt's regs).
func adsRegs(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(spiVirt(1) + "/regs")
	if err != nil || len(b) != 24 {
		t.Fatalf("ADS1299 registers: %d bytes, %v", len(b), err)
	}
	return b
}

func setADSRegs(t *testing.T, regs []byte) {
	t.Helper()
	if err := os.WriteFile(spiVirt(1)+"/regs", regs, 0); err != nil {
		t.Fatal(err)
	}
}

// setADSFrame sets the RDATAC frame SPI bus 1's ADS1299 sends: 27 bytes.
func setADSFrame(t *testing.T, frame []byte) {
	t.Helper()
	if err := os.WriteFile(spiVirt(1)+"/frame", frame, 0); err != nil {
		t.Fatal(err)
	}
}
