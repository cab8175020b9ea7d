package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/hapticguard"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/lightguard"
	"github.com/sleegation/podd/actuators/pca9685"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/dreamscape"
)

// outputBuses are what the outputs besides the strip are opened on.
type outputBuses struct {
	i2c  func(name string) (i2c.Bus, error)
	line func(name string) (gpio.PinIO, error)
}

// AmbientLight is the strip's steady light when no dreamscape is
// configured: a warm, dim glow (8-bit channel values).
var AmbientLight = apa102.Color{R: 40, G: 18, B: 4}

// safeLights are the safe state's light and the wake ramp's end, linear.
func safeLights(l configs.LightsConfig) (safe, wake light.RGB, err error) {
	c, err := light.ParseHex(l.SafeColor)
	if err != nil {
		return light.RGB{}, light.RGB{}, fmt.Errorf("lights.safe_color: %w", err)
	}
	return c.Scale(l.SafeLevel), c.Scale(l.WakeLevel), nil
}

// stripSafe is the strip's safe colour, 8-bit, never dark when the level is
// above 0: a channel the colour has rounds up to at least 1.
func stripSafe(c light.RGB) apa102.Color {
	r, g, b := c.Bytes()
	up := func(v float64, x uint8) uint8 {
		if v > 0 && x == 0 {
			return 1
		}
		return x
	}
	return apa102.Color{R: up(c.R, r), G: up(c.G, g), B: up(c.B, b)}
}

// openOutputs opens the outputs besides the strip (the PCA9685 and its OE
// line, the DRV2605L and its EN line, the GPIO motors), puts every output behind one gate,
// and builds the show: zones, guards, the dreamscape bound to them. The
// outputs it opened are in the gate; closing the buses is the caller's.
func openOutputs(cfg *configs.Config, strip *apa102.Dev, b outputBuses, log *slog.Logger) (*actuators.Gate, *controller.Show, error) {
	outs := []actuators.Haltable{strip}
	layout := zones.Layout{Strip: strip, LEDs: cfg.Hardware.LEDCount}
	if p := cfg.Lights.PCA9685; p.Enabled {
		bus, err := b.i2c(cfg.Bus(p.I2CBus))
		if err != nil {
			return nil, nil, fmt.Errorf("lights.pca9685.i2c_bus %q: %w", cfg.Bus(p.I2CBus), err)
		}
		opts := pca9685.Opts{Addr: uint16(p.Address), Frequency: physic.Frequency(p.FrequencyHz) * physic.Hertz}
		if p.OE != "" {
			oe, err := b.line(p.OE)
			if err != nil {
				return nil, nil, fmt.Errorf("lights.pca9685.oe %q: %w", p.OE, err)
			}
			opts.OE = oe
		}
		dev, err := pca9685.New(bus, &opts)
		if err != nil {
			return nil, nil, fmt.Errorf("lights.pca9685: %w", err)
		}
		outs = append(outs, dev)
		layout.PWM = dev
	}
	for _, z := range cfg.Lights.Zones {
		layout.Lights = append(layout.Lights, zones.Light{Name: z.Name, First: z.First, Count: z.Count, PWM: z.PWM})
	}
	h := cfg.Haptics
	for _, pl := range h.Places {
		var m zones.Motor
		switch pl.Driver {
		case "drv2605":
			bus, err := b.i2c(cfg.Bus(h.DRV2605.I2CBus))
			if err != nil {
				return nil, nil, fmt.Errorf("haptics.drv2605.i2c_bus %q: %w", cfg.Bus(h.DRV2605.I2CBus), err)
			}
			opts := drv2605.DefaultOpts
			if h.DRV2605.Actuator == "lra" {
				opts.Actuator, opts.Library, opts.LRAFrequency = drv2605.LRA, 6, 175
			}
			// The chip's own cap (OD_CLAMP) is the configured one: the
			// motor cannot be driven harder whatever is written to it.
			opts.MaxIntensity = h.MaxIntensity
			if h.DRV2605.EN != "" {
				en, err := b.line(h.DRV2605.EN)
				if err != nil {
					return nil, nil, fmt.Errorf("haptics.drv2605.en %q: %w", h.DRV2605.EN, err)
				}
				opts.EN = en
			}
			dev, err := drv2605.New(bus, &opts)
			if err != nil {
				return nil, nil, fmt.Errorf("haptics.places %q: %w", pl.Name, err)
			}
			outs = append(outs, dev)
			m = capped{dev, h.MaxIntensity}
		case "gpio":
			line, err := b.line(pl.Line)
			if err != nil {
				return nil, nil, fmt.Errorf("haptics.places %q: line %q: %w", pl.Name, pl.Line, err)
			}
			dev, err := gpioout.New(line, gpioout.Opts{Name: "motor " + pl.Name})
			if err != nil {
				return nil, nil, fmt.Errorf("haptics.places %q: %w", pl.Name, err)
			}
			outs = append(outs, dev)
			m = dev
		default:
			return nil, nil, fmt.Errorf("haptics.places %q: driver %q is not drv2605 or gpio", pl.Name, pl.Driver)
		}
		layout.Places = append(layout.Places, zones.Place{Name: pl.Name, Motor: m})
	}
	var indicator *gpioout.Dev
	if name := cfg.Hardware.IndicatorLED; name != "" {
		line, err := b.line(name)
		if err != nil {
			return nil, nil, fmt.Errorf("hardware.indicator_led %q: %w", name, err)
		}
		// Not in the gate: it shows the latch, not the dreamscape.
		if indicator, err = gpioout.New(line, gpioout.Opts{Name: "indicator"}); err != nil {
			return nil, nil, fmt.Errorf("hardware.indicator_led: %w", err)
		}
	}
	o, err := zones.New(layout)
	if err != nil {
		return nil, nil, err
	}
	safe, wake, err := safeLights(cfg.Lights)
	if err != nil {
		return nil, nil, err
	}
	show := &controller.Show{
		Outputs: o, Rate: cfg.Dreamscape.RateHz,
		Ambient:     light.FromBytes(AmbientLight.R, AmbientLight.G, AmbientLight.B),
		LightGuard:  lightguard.Opts{MaxSlew: cfg.Lights.MaxSlew},
		HapticGuard: hapticguard.Opts{Cap: h.MaxIntensity, Duty: h.DutyBudget, Window: h.DutyWindow},
		Strip:       strip, SafeLight: safe, WakeLight: wake, WakeRamp: cfg.Lights.WakeRamp,
	}
	if indicator != nil {
		show.Indicator = indicator
	}
	if path := cfg.Dreamscape.Program; path != "" {
		prog, err := dreamscape.Load(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(path) {
				wd, _ := os.Getwd()
				return nil, nil, fmt.Errorf("dreamscape.program: %w (a relative path is read from the working directory, %s; the shipped programs are in dreamscapes/ of the source and /usr/share/podd/dreamscapes on a pod)", err, wd)
			}
			return nil, nil, fmt.Errorf("dreamscape.program: %w", err)
		}
		bound, err := prog.Bind(o.LightNames(), o.PlaceNames())
		if err != nil {
			return nil, nil, fmt.Errorf("dreamscape.program: %w", err)
		}
		show.Program = bound
		if hits := guardedKeyframes(prog, bound, cfg.Dreamscape.RateHz, show.LightGuard); len(hits) > 0 {
			log.Warn("dreamscape: the photosensitivity guard will slow these changes of the program", "program", prog.Name, "keyframes", strings.Join(hits, "; "))
		}
	}
	return actuators.NewGate(outs...), show, nil
}

// capped drives a DRV2605L whose OD_CLAMP is the cap: intensity x of the
// motor's full scale is x/cap of the chip's clamped scale.
type capped struct {
	*drv2605.Dev
	cap float64
}

func (c capped) SetIntensity(x float64) error { return c.Dev.SetIntensity(min(1, x/c.cap)) }

// previewLimit bounds how much of a program guardedKeyframes plays: an
// hour of frames, a few seconds of work at start.
const previewLimit = time.Hour

// guardedKeyframes plays prog (one pass, at most previewLimit) at rate
// through a light guard and names the keyframes in force when the guard
// would slow a change, "lights.zone[i] (at T)", each once, in order of
// time, at most maxHits of them and then how many more.
func guardedKeyframes(prog *dreamscape.Program, b *dreamscape.Bound, rate int, opts lightguard.Opts) []string {
	if rate <= 0 {
		rate = dreamscape.DefaultRate
	}
	names := b.Zones()
	g, err := lightguard.New(len(names), opts)
	if err != nil {
		return nil
	}
	lights, haptics := make([]light.RGB, len(names)), make([]float64, len(b.Places()))
	want := make([]light.RGB, len(names))
	seen := map[string]bool{}
	var hits []string
	end := min(prog.Duration, previewLimit)
	period := time.Second / time.Duration(rate)
	// The guard starts from the program's own first frame: how the pod
	// enters a program is the player's transition, not the program's.
	b.Render(0, lights, haptics)
	_ = g.Reset(0, lights)
	for t := period; t <= end; t += period {
		b.Render(t, lights, haptics)
		copy(want, lights)
		limited, _ := g.Limit(t, lights)
		if !limited {
			continue
		}
		for z, n := range names {
			if lights[z] == want[z] {
				continue
			}
			track := -1
			for i, tr := range prog.Lights {
				if tr.Zone == n {
					track = i
				}
			}
			if track < 0 {
				continue
			}
			k := 0
			for i, key := range prog.Lights[track].Keys {
				if key.At <= t {
					k = i
				}
			}
			h := fmt.Sprintf("lights.%s[%d] (at %s)", n, k, prog.Lights[track].Keys[k].At)
			if !seen[h] {
				seen[h] = true
				hits = append(hits, h)
			}
		}
	}
	if len(hits) > maxHits {
		hits = append(hits[:maxHits], fmt.Sprintf("and %d more", len(hits)-maxHits))
	}
	return hits
}

// maxHits bounds the keyframes guardedKeyframes names.
const maxHits = 10

// errNoLine is a GPIO line the platform does not have.
var errNoLine = errors.New("no such GPIO line")
