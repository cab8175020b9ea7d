package doctor

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
)

// configLine is a GPIO line the configuration names, with its key.
type configLine struct{ name, key string }

// configLines are the configuration's GPIO lines, in the order of their
// keys.
func configLines(cfg *configs.Config) []configLine {
	var out []configLine
	add := func(name, key string) {
		if name != "" {
			out = append(out, configLine{name, key})
		}
	}
	h := cfg.Hardware
	add(h.ConsentButton, "hardware.consent_button")
	add(h.PanicButton, "hardware.panic_button")
	add(h.AckButton, "hardware.ack_button")
	add(h.IndicatorLED, "hardware.indicator_led")
	if cfg.Sensors.ADS1299.Enabled {
		add(cfg.Sensors.ADS1299.DRDY, "sensors.ads1299.drdy")
	}
	if cfg.Lights.PCA9685.Enabled {
		add(cfg.Lights.PCA9685.OE, "lights.pca9685.oe")
	}
	if usesDRV2605(cfg) {
		add(cfg.Haptics.DRV2605.EN, "haptics.drv2605.en")
	}
	for _, p := range cfg.Haptics.Places {
		if p.Driver == "gpio" {
			add(p.Line, fmt.Sprintf("haptics.places.%s.line", p.Name))
		}
	}
	return out
}

// noLineFix is the fix for a line name that resolves to nothing.
const noLineFix = "name the line by its periph name (GPIO17 on a Raspberry Pi) or its kernel name (gpioinfo lists them)"

// noChipFix is the fix for a line on a machine with no GPIO chip at all:
// no name would resolve, so the name is not the fault.
const noChipFix = "see the node /dev/gpiochip* line above: with no GPIO character device no line can be found"

// checkLines checks that each configured GPIO line exists and is free,
// or held by podd. Reading who holds a line requests nothing, so it is
// read while podd runs too (linux mode: the hardware is opened for it,
// and no bus is); the simulator's lines live in podd's process.
func (d *Doctor) checkLines(cfg *configs.Config, state podState, st api.Status, hw Hardware) []Result {
	var out []Result
	for _, l := range configLines(cfg) {
		check := fmt.Sprintf("line %s (%s)", l.name, l.key)
		if cfg.Hardware.Mode == configs.ModeSim {
			if state == podUp {
				out = append(out, pass(check, "simulated, held by podd"))
			} else {
				out = append(out, pass(check, "simulated, free"))
			}
			continue
		}
		if hw == nil {
			// podd runs, or may: reading who holds a line opens no bus
			// and requests no line.
			h, err := d.OpenHardware()
			if err != nil {
				out = append(out, skip(check, err.Error()))
				continue
			}
			defer h.Close()
			hw = h
		}
		info, err := hw.Line(l.name)
		switch {
		case err == errNoLine:
			fix := noLineFix
			if chips, _ := filepath.Glob(d.System.path("/dev/gpiochip*")); len(chips) == 0 {
				fix = noChipFix
			}
			out = append(out, fail(check, "no such GPIO line", fix))
		case err != nil:
			out = append(out, warn(check, err.Error(), ""))
		case info.Consumer == "":
			out = append(out, pass(check, "free"))
		case strings.HasPrefix(info.Consumer, "podd@"):
			out = append(out, pass(check, "held by podd ("+info.Consumer+")"))
		default:
			out = append(out, fail(check, "held by "+info.Consumer, "stop the program that holds it (gpioinfo names it), or wire and configure another line for "+l.key))
		}
	}
	return out
}
