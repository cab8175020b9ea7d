package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensors/max30102"
)

// device is a chip the configuration wires: its name in podd's status
// (sensors) and the keys, bus and address it is configured at.
type device struct {
	name, chip, key string
	bus             string // an I²C bus or, for the ADS1299, an SPI port
	addr            uint16 // 0 on SPI
	sensor          bool   // podd reports its health in status.sensors
}

// devices are the configuration's chips, in the order of podd's status:
// the sensors (the pulse oximeter first), then the outputs.
func devices(cfg *configs.Config) []device {
	s := cfg.Sensors
	out := []device{{"max30102", ChipMAX30102, "sensors.max30102", cfg.Bus(s.MAX30102.I2CBus), max30102.Addr, true}}
	if s.ADS1299.Enabled {
		out = append(out, device{"ads1299", ChipADS1299, "sensors.ads1299", s.ADS1299.SPIPort, 0, true})
	}
	if s.ADS1115.Enabled {
		out = append(out, device{"ads1115", ChipADS1115, "sensors.ads1115", cfg.Bus(s.ADS1115.I2CBus), uint16(s.ADS1115.Address), true})
	}
	if s.TMP117.Enabled {
		out = append(out, device{"tmp117", ChipTMP117, "sensors.tmp117", cfg.Bus(s.TMP117.I2CBus), uint16(s.TMP117.Address), true})
	}
	if p := cfg.Lights.PCA9685; p.Enabled {
		out = append(out, device{"pca9685", ChipPCA9685, "lights.pca9685", cfg.Bus(p.I2CBus), uint16(p.Address), false})
	}
	if usesDRV2605(cfg) {
		out = append(out, device{"drv2605", ChipDRV2605L, "haptics.drv2605", cfg.Bus(cfg.Haptics.DRV2605.I2CBus), 0x5A, false})
	}
	return out
}

func (dv device) where() string {
	if dv.addr == 0 {
		return "on " + dv.bus
	}
	return fmt.Sprintf("at 0x%02X on bus %s", dv.addr, dv.bus)
}

// checkChips checks that each configured chip answers with its ID:
// probed on the hardware when podd is not running, judged by podd's
// health of its sensors when it is.
func (d *Doctor) checkChips(_ context.Context, cfg *configs.Config, state podState, st api.Status, hw Hardware) []Result {
	var out []Result
	for _, dv := range devices(cfg) {
		check := "chip " + dv.name
		switch {
		case state == podUp:
			out = append(out, chipFromStatus(check, dv, st))
		case hw == nil:
			out = append(out, skip(check, notChecked))
		default:
			out = append(out, probeDevice(check, dv, cfg, hw))
		}
	}
	return out
}

func chipFromStatus(check string, dv device, st api.Status) Result {
	if !dv.sensor {
		if w := showError(st); w != "" {
			return warn(check, fmt.Sprintf("podd drives it %s; the show's frames fail: %s", dv.where(), w), "see journalctl -u podd; check the chip's wiring and supply")
		}
		return pass(check, fmt.Sprintf("podd drives it %s (its identity was checked when podd opened it)", dv.where()))
	}
	for _, s := range st.Sensors {
		if s.Name != dv.name {
			continue
		}
		if s.State == "ok" {
			return pass(check, fmt.Sprintf("podd reads it %s: ok (its ID was checked when podd opened it)", dv.where()))
		}
		detail := fmt.Sprintf("podd reports it %s since %s", s.State, s.Since.UTC().Format("2006-01-02T15:04:05Z"))
		if s.Error != "" {
			detail += ": " + s.Error
		}
		if s.State == "no_contact" || s.State == "lead_off" {
			return warn(check, detail, "nobody on the sensor: this is expected in an empty pod")
		}
		return fail(check, detail, "check the chip's wiring, supply and "+dv.key+".*; podctl status explains each state")
	}
	return fail(check, "podd does not report it: it runs another configuration", "run podctl doctor with podd's own --config")
}

func showError(st api.Status) string {
	if st.Show == nil {
		return ""
	}
	return st.Show.WriteError
}

// probeDevice reads the chip's ID registers (read-only).
func probeDevice(check string, dv device, cfg *configs.Config, hw Hardware) Result {
	if dv.chip == ChipADS1299 {
		port, err := hw.SPI(dv.bus)
		if err != nil {
			return fail(check, fmt.Sprintf("cannot open SPI port %s: %v", dv.bus, err), "see the node line above; correct "+dv.key+".spi_port")
		}
		id, err := ProbeADS1299(port)
		if err != nil {
			return fail(check, fmt.Sprintf("ADS1299 %s: %v", dv.where(), err), "check its wiring (SCLK, MOSI, MISO, CS), its supplies (AVDD, DVDD) and "+dv.key+".spi_port")
		}
		return pass(check, fmt.Sprintf("%s %s: %s", id.Chip, dv.where(), id.How))
	}
	bus, err := hw.I2C(dv.bus)
	if err != nil {
		return fail(check, fmt.Sprintf("cannot open I2C bus %s: %v", dv.bus, err), "see the node line above; correct "+dv.key+".i2c_bus (or hardware.i2c_bus)")
	}
	pca := uint16(0)
	if cfg.Lights.PCA9685.Enabled {
		pca = uint16(cfg.Lights.PCA9685.Address)
	}
	id, read, err := probe(bus, dv.addr, dv.chip)
	switch {
	case err == nil:
		return pass(check, fmt.Sprintf("%s %s: %s", id.Chip, dv.where(), id.How))
	case errors.Is(err, ErrNoAnswer):
		return fail(check, fmt.Sprintf("nothing answers %s", dv.where()), "check its wiring (SDA, SCL, supply, ground) and its address ("+dv.key+addrKey(dv)+"); podctl scan lists what answers")
	}
	detail := fmt.Sprintf("the chip %s is not a %s: %s", dv.where(), dv.chip, read)
	if other, oerr := ProbeI2C(bus, dv.addr, pca); oerr == nil {
		detail += fmt.Sprintf("; it is a %s (%s)", other.Chip, other.How)
	}
	return fail(check, detail, "strap the chips to different addresses and set "+strings.TrimPrefix(dv.key+addrKey(dv), "")+" to the chip's")
}

func addrKey(dv device) string {
	if dv.chip == ChipMAX30102 || dv.chip == ChipDRV2605L {
		return " (fixed address)"
	}
	return ".address"
}
