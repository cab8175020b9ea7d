package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
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

// outputBuses are what the outputs besides the strip are opened on: an
// I²C bus by its configuration key and name (its error names both and the
// fix), and a GPIO line by name.
type outputBuses struct {
	i2c  func(key, name string) (i2c.Bus, error)
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

// openOutputs opens the outputs besides the strip (the PCA9685 and its OE
// line, the DRV2605L and its EN line, the GPIO motors), puts every output behind one gate,
// and builds the show: zones, guards, the dreamscape bound to them. The
// outputs it opened are in the gate; closing the buses is the caller's.
func openOutputs(cfg *configs.Config, strip *apa102.Dev, b outputBuses, log *slog.Logger) (*actuators.Gate, *controller.Show, error) {
	outs := []actuators.Haltable{strip}
	layout := zones.Layout{Strip: strip, LEDs: cfg.Hardware.LEDCount}
	if p := cfg.Lights.PCA9685; p.Enabled {
		bus, err := b.i2c("lights.pca9685.i2c_bus", cfg.Bus(p.I2CBus))
		if err != nil {
			return nil, nil, err
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
			bus, err := b.i2c("haptics.drv2605.i2c_bus", cfg.Bus(h.DRV2605.I2CBus))
			if err != nil {
				return nil, nil, err
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
		layout.Places = append(layout.Places, zones.Place{Name: pl.Name, Motor: m, OnOff: pl.Driver == "gpio"})
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
		// Played through a guard of its own in the background, once the
		// pod runs: a long program takes seconds, and the watchdog must
		// not wait for them.
		rate, opts := cfg.Dreamscape.RateHz, show.LightGuard
		show.Preview = func(ctx context.Context) []string { return guardedKeyframes(ctx, prog, bound, rate, opts) }
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
// time, at most maxHits of them and then how many more. It stops early,
// with what it found, once ctx is done.
func guardedKeyframes(ctx context.Context, prog *dreamscape.Program, b *dreamscape.Bound, rate int, opts lightguard.Opts) []string {
	if rate <= 0 {
		rate = dreamscape.DefaultRate
	}
	names := b.Zones()
	g, err := lightguard.New(len(names), opts)
	if err != nil {
		return nil
	}
	// Each zone's track in the program, and its keyframes' times.
	keys := make([][]time.Duration, len(names))
	for z, n := range names {
		for _, tr := range prog.Lights {
			if tr.Zone == n {
				for _, k := range tr.Keys {
					keys[z] = append(keys[z], k.At)
				}
			}
		}
	}
	lights, haptics := make([]light.RGB, len(names)), make([]float64, len(b.Places()))
	want := make([]light.RGB, len(names))
	seen := map[[2]int]bool{}
	var hits [][2]int
	end := min(prog.Duration, previewLimit)
	period := time.Second / time.Duration(rate)
	// The guard starts from the program's own first frame: how the pod
	// enters a program is the player's transition, not the program's.
	b.Render(0, lights, haptics)
	_ = g.Reset(0, lights)
	for i, t := 0, period; t <= end; i, t = i+1, t+period {
		if i%1024 == 0 && ctx.Err() != nil {
			break
		}
		b.Render(t, lights, haptics)
		copy(want, lights)
		if limited, _ := g.Limit(t, lights); !limited {
			continue
		}
		for z := range names {
			if lights[z] == want[z] || len(keys[z]) == 0 {
				continue
			}
			// The keyframe in force: the last at or before t.
			k := sort.Search(len(keys[z]), func(i int) bool { return keys[z][i] > t }) - 1
			if h := [2]int{z, k}; !seen[h] {
				seen[h] = true
				hits = append(hits, h)
			}
		}
	}
	var out []string
	for i, h := range hits {
		if i == maxHits {
			out = append(out, fmt.Sprintf("and %d more", len(hits)-maxHits))
			break
		}
		out = append(out, fmt.Sprintf("lights.%s[%d] (at %s)", names[h[0]], h[1], keys[h[0]][h[1]]))
	}
	return out
}

// maxHits bounds the keyframes guardedKeyframes names.
const maxHits = 10

// errNoLine is a GPIO line the platform does not have.
var errNoLine = errors.New("no such GPIO line")
