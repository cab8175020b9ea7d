package doctor

import (
	"errors"
	"fmt"
	"slices"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/sensors/max30102"
)

// The chips the pod knows, by the names scan prints.
const (
	ChipMAX30102 = "MAX30102"
	ChipTMP117   = "TMP117"
	ChipADS1115  = "ADS1115"
	ChipPCA9685  = "PCA9685"
	ChipDRV2605L = "DRV2605L"
	ChipADS1299  = "ADS1299"
)

// Identity is a chip told by its registers, and how.
type Identity struct {
	Chip string `json:"chip"`
	// How says which registers read what.
	How string `json:"how"`
}

// ErrNoAnswer is a probe of an address where nothing answers (no
// acknowledge, or a bus error).
var ErrNoAnswer = errors.New("no answer")

// ErrUnknown is a chip that answers but is none the probe looks for there.
var ErrUnknown = errors.New("an unknown chip")

// Registers read by the probes (package doc, "Identifying chips without
// writing to them").
const (
	max30102PartIDReg = 0xFF
	max30102PartID    = 0x15
	tmp117IDReg       = 0x0F
	tmp117ID          = 0x0117
	adsLoThreshReg    = 0x02
	adsHiThreshReg    = 0x03
	adsLoReset        = 0x8000
	adsHiReset        = 0x7FFF
	drvStatusReg      = 0x00
	pcaSubAddrReg     = 0x02 // SUBADR1..3, then ALLCALLADR
	ads1299SDATAC     = 0x11
	ads1299RREG       = 0x20
	ads1299IDMask     = 0x1F
	ads1299ID8ch      = 0x1E
)

// pcaSubAddrReset are SUBADR1-3 and ALLCALLADR at power-up.
var pcaSubAddrReset = []byte{0xE2, 0xE4, 0xE8, 0xE0}

// candidates are the chips a probe looks for at addr, in the order it
// reads them; pcaAddr is a configured PCA9685's address (0 for none).
func candidates(addr, pcaAddr uint16) []string {
	switch {
	case addr == max30102.Addr:
		return []string{ChipMAX30102}
	case addr >= 0x48 && addr <= 0x4B:
		return []string{ChipADS1115, ChipTMP117}
	case addr == 0x5A:
		return []string{ChipDRV2605L}
	case addr == 0x40 || addr == pcaAddr:
		return []string{ChipPCA9685}
	}
	return nil
}

// KnownAddresses are the addresses scan probes: those FACTS.md gives the
// pod's chips (MAX30102 0x57, TMP117 and ADS1115 0x48-0x4B, DRV2605L 0x5A,
// PCA9685 0x40) and a configured PCA9685's, in order.
func KnownAddresses(pcaAddr uint16) []uint16 {
	a := []uint16{0x40, 0x48, 0x49, 0x4A, 0x4B, 0x57, 0x5A}
	if pcaAddr != 0 && !slices.Contains(a, pcaAddr) {
		a = append(a, pcaAddr)
		slices.Sort(a)
	}
	return a
}

// ProbeI2C tells the chip at addr on bus by its registers, with read-only
// transfers (a register address written, then read). pcaAddr is a
// configured PCA9685's address (0: only 0x40 is probed as one). It
// returns ErrNoAnswer when nothing answers and ErrUnknown (wrapped, with
// what was read) when a chip answers as none of the candidates.
func ProbeI2C(bus i2c.Bus, addr, pcaAddr uint16) (Identity, error) {
	cands := candidates(addr, pcaAddr)
	if len(cands) == 0 {
		return Identity{}, fmt.Errorf("0x%02X: no chip of the pod's lives there", addr)
	}
	var seen []string
	answered := false
	for _, c := range cands {
		id, read, err := probe(bus, addr, c)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, ErrNoAnswer) {
			answered = true
		}
		if read != "" {
			seen = append(seen, read)
		}
	}
	if !answered {
		return Identity{}, fmt.Errorf("0x%02X: %w", addr, ErrNoAnswer)
	}
	return Identity{}, fmt.Errorf("0x%02X: %w (%s)", addr, ErrUnknown, joinSeen(seen))
}

func joinSeen(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

// probe asks the chip at addr whether it is chip. read says what the
// registers read when they did not match; err wraps ErrNoAnswer when the
// bus failed.
func probe(bus i2c.Bus, addr uint16, chip string) (Identity, string, error) {
	d := i2c.Dev{Bus: bus, Addr: addr}
	read := func(reg byte, n int) ([]byte, error) {
		r := make([]byte, n)
		if err := d.Tx([]byte{reg}, r); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoAnswer, err)
		}
		return r, nil
	}
	switch chip {
	case ChipMAX30102:
		r, err := read(max30102PartIDReg, 1)
		if err != nil {
			return Identity{}, "", err
		}
		if r[0] == max30102PartID {
			return Identity{chip, "PART_ID (0xFF) 0x15"}, "", nil
		}
		return Identity{}, fmt.Sprintf("PART_ID 0x%02X, not 0x15", r[0]), ErrUnknown
	case ChipTMP117:
		r, err := read(tmp117IDReg, 2)
		if err != nil {
			return Identity{}, "", err
		}
		id := uint16(r[0])<<8 | uint16(r[1])
		if id&0x0FFF == tmp117ID {
			return Identity{chip, fmt.Sprintf("Device_ID (0x0F) 0x%04X", id)}, "", nil
		}
		return Identity{}, fmt.Sprintf("register 0x0F 0x%04X, not a TMP117's Device_ID 0x0117", id), ErrUnknown
	case ChipADS1115:
		lo, err := read(adsLoThreshReg, 2)
		if err != nil {
			return Identity{}, "", err
		}
		hi, err := read(adsHiThreshReg, 2)
		if err != nil {
			return Identity{}, "", err
		}
		l, h := uint16(lo[0])<<8|uint16(lo[1]), uint16(hi[0])<<8|uint16(hi[1])
		if l == adsLoReset && h == adsHiReset {
			return Identity{chip, "Lo_thresh/Hi_thresh (0x02/0x03) at their reset values 0x8000/0x7FFF (it has no ID register)"}, "", nil
		}
		return Identity{}, fmt.Sprintf("registers 0x02/0x03 0x%04X/0x%04X, not an ADS1115's 0x8000/0x7FFF", l, h), ErrUnknown
	case ChipDRV2605L:
		r, err := read(drvStatusReg, 1)
		if err != nil {
			return Identity{}, "", err
		}
		switch id := r[0] >> 5; id {
		case drv2605.DeviceID:
			return Identity{chip, "STATUS (0x00) DEVICE_ID 7"}, "", nil
		case 3:
			return Identity{}, "STATUS DEVICE_ID 3: a DRV2605, not the DRV2605L the pod's driver needs", ErrUnknown
		default:
			return Identity{}, fmt.Sprintf("STATUS DEVICE_ID %d, not a DRV2605L's 7", id), ErrUnknown
		}
	case ChipPCA9685:
		got := make([]byte, len(pcaSubAddrReset))
		for i := range got {
			r, err := read(pcaSubAddrReg+byte(i), 1)
			if err != nil {
				return Identity{}, "", err
			}
			got[i] = r[0]
		}
		if slices.Equal(got, pcaSubAddrReset) {
			return Identity{chip, "SUBADR1-3, ALLCALLADR (0x02-0x05) at their reset values E2 E4 E8 E0 (it has no ID register)"}, "", nil
		}
		return Identity{}, fmt.Sprintf("registers 0x02-0x05 % X, not a PCA9685's E2 E4 E8 E0", got), ErrUnknown
	}
	return Identity{}, "", ErrUnknown
}

// ProbeADS1299 asks the ADS1299 behind port for its ID register: SDATAC
// (it wakes in RDATAC mode, where it ignores register reads), then RREG
// of register 0x00. It connects at 1 MHz in SPI mode 1; periph's ports
// connect once, so port must be one opened for the probe.
func ProbeADS1299(port spi.Port) (Identity, error) {
	c, err := port.Connect(physic.MegaHertz, spi.Mode1, 8)
	if err != nil {
		return Identity{}, fmt.Errorf("connect: %w", err)
	}
	if err := c.Tx([]byte{ads1299SDATAC}, nil); err != nil {
		return Identity{}, fmt.Errorf("SDATAC: %w", err)
	}
	r := make([]byte, 3)
	if err := c.Tx([]byte{ads1299RREG, 0x00, 0x00}, r); err != nil {
		return Identity{}, fmt.Errorf("RREG ID: %w", err)
	}
	id := r[2]
	if id&ads1299IDMask == ads1299ID8ch {
		return Identity{ChipADS1299, fmt.Sprintf("ID (0x00) 0x%02X", id)}, nil
	}
	if id == 0x00 || id == 0xFF {
		return Identity{}, fmt.Errorf("ID register reads 0x%02X: %w (MISO stuck: no chip, no supply, or the wrong chip select)", id, ErrNoAnswer)
	}
	return Identity{}, fmt.Errorf("ID register 0x%02X, not an 8-channel ADS1299's 0x3E (0x1E in bits 4:0): %w", id, ErrUnknown)
}
