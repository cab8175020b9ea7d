// Package zones owns the pod's named outputs: the light zones (a run of the
// LED strip, or one or three channels of the PWM controller) and the haptic
// places (a motor each), and the encoding of one frame, a colour per zone
// and an intensity per place, into each device's write.
//
// It decides nothing about what is shown: the frame comes from the
// dreamscape player through the photosensitivity and haptic guards, and it
// is written only while the actuators' gate is open (the caller runs Show
// through actuators.Gate.Do).
//
// Encoding:
//   - a strip zone shows its colour on each of its LEDs, as 8-bit channel
//     values of linear light (light.Byte8); LEDs in no zone stay dark;
//   - an RGB PWM zone (three channels) drives each channel with its colour's
//     linear value as the duty cycle; a one-channel zone (one colour of
//     light) with the colour's relative luminance;
//   - a place's motor gets its intensity, written only when it changed, so
//     a steady program costs no bus traffic on the haptic drivers.
//
// Show allocates nothing: the strip's pixels and the PWM duties are kept
// between frames.
package zones

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
)

// Strip is the LED strip (apa102.Dev).
type Strip interface {
	Write(pixels []apa102.Color) error
	String() string
}

// PWM is the PWM controller's channels (pca9685.Dev): SetAll takes one duty
// cycle, 0..1, per channel from channel 0.
type PWM interface {
	SetAll(duties []float64) error
	String() string
}

// Motor is a haptic place's motor (drv2605.Dev, gpioout.Dev): intensity
// 0..1 of its full scale.
type Motor interface {
	SetIntensity(x float64) error
	String() string
}

// PWMChannels is the number of channels of the PWM controller.
const PWMChannels = 16

// Light is one light zone: LEDs First..First+Count-1 of the strip, or the
// PWM channels PWM (one, or red, green and blue).
type Light struct {
	Name         string
	First, Count int
	PWM          []int
	leds         []int // the LEDs of the Unzoned zone
}

// Unzoned names the zone New adds for the strip's LEDs that no zone
// covers: no program can name it (it is not a zone name), so it plays
// dark, but like any zone it goes through the light guard, so those LEDs
// fade from the safe light (which lights the whole strip) rather than
// drop to dark at once.
const Unzoned = "(unzoned)"

// Place is one haptic place and its motor. OnOff is a motor that only runs
// or stops (gpioout.Dev): its intensity is 0 or 1 (hapticguard's on-off
// places).
type Place struct {
	Name  string
	Motor Motor
	OnOff bool
}

// Layout is the pod's outputs and their names.
type Layout struct {
	Strip  Strip // nil for none
	LEDs   int   // LEDs on the strip
	PWM    PWM   // nil for none
	Lights []Light
	Places []Place
}

// Outputs writes frames to the pod's outputs. Show is not safe for
// concurrent use (the player's goroutine calls it); the rest is read-only.
type Outputs struct {
	l       Layout
	pixels  []apa102.Color
	duties  []float64
	written []float64 // the intensity last written to each place; NaN: none yet
	strip   bool      // a zone is on the strip
	pwm     bool      // a zone is on the PWM controller
	// The last Show's error of each zone and place (LastErrors).
	lightErr, placeErr []error
}

// New checks the layout: every zone within its device, no LED or channel in
// two zones, a device for every zone, no name twice.
func New(l Layout) (*Outputs, error) {
	o := &Outputs{l: l, pixels: make([]apa102.Color, l.LEDs), duties: make([]float64, PWMChannels), written: make([]float64, len(l.Places)),
		placeErr: make([]error, len(l.Places))}
	var errs []error
	names := map[string]bool{}
	owner := make([]string, l.LEDs)
	channel := make([]string, PWMChannels)
	for _, z := range l.Lights {
		if names[z.Name] {
			errs = append(errs, fmt.Errorf("zones: light zone %q named twice", z.Name))
		}
		names[z.Name] = true
		if z.PWM == nil {
			if l.Strip == nil {
				errs = append(errs, fmt.Errorf("zones: light zone %q is on the strip, and there is none", z.Name))
				continue
			}
			if z.First < 0 || z.Count < 1 || z.First+z.Count > l.LEDs {
				errs = append(errs, fmt.Errorf("zones: light zone %q: LEDs %d-%d are not within the strip's %d", z.Name, z.First, z.First+z.Count-1, l.LEDs))
				continue
			}
			for i := z.First; i < z.First+z.Count; i++ {
				if owner[i] != "" {
					errs = append(errs, fmt.Errorf("zones: light zone %q: LED %d is also in %q", z.Name, i, owner[i]))
					break
				}
				owner[i] = z.Name
			}
			o.strip = true
			continue
		}
		if l.PWM == nil {
			errs = append(errs, fmt.Errorf("zones: light zone %q is on PWM channels, and there is no PWM controller", z.Name))
			continue
		}
		if len(z.PWM) != 1 && len(z.PWM) != 3 {
			errs = append(errs, fmt.Errorf("zones: light zone %q: %d PWM channels, want 1 or 3", z.Name, len(z.PWM)))
			continue
		}
		for _, c := range z.PWM {
			if c < 0 || c >= PWMChannels {
				errs = append(errs, fmt.Errorf("zones: light zone %q: PWM channel %d is outside 0..%d", z.Name, c, PWMChannels-1))
			} else if channel[c] != "" {
				errs = append(errs, fmt.Errorf("zones: light zone %q: PWM channel %d is also in %q", z.Name, c, channel[c]))
			} else {
				channel[c] = z.Name
			}
		}
		o.pwm = true
	}
	if l.Strip != nil {
		var free []int
		for i, z := range owner {
			if z == "" {
				free = append(free, i)
			}
		}
		if len(free) > 0 {
			o.l.Lights = append(slices.Clone(l.Lights), Light{Name: Unzoned, Count: len(free), leds: free})
			o.strip = true
		}
	}
	places := map[string]bool{}
	for i, p := range l.Places {
		if places[p.Name] {
			errs = append(errs, fmt.Errorf("zones: haptic place %q named twice", p.Name))
		}
		places[p.Name] = true
		if p.Motor == nil {
			errs = append(errs, fmt.Errorf("zones: haptic place %q has no motor", p.Name))
		}
		o.written[i] = -1
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.lightErr = make([]error, len(o.l.Lights))
	return o, nil
}

// LightNames are the light zones' names, in frame order.
func (o *Outputs) LightNames() []string {
	n := make([]string, len(o.l.Lights))
	for i, z := range o.l.Lights {
		n[i] = z.Name
	}
	return n
}

// PlaceNames are the haptic places' names, in frame order.
func (o *Outputs) PlaceNames() []string {
	n := make([]string, len(o.l.Places))
	for i, p := range o.l.Places {
		n[i] = p.Name
	}
	return n
}

// Weights are the light zones' shares of the pod's light, for judging the
// whole pod's luminance (flashcheck): a strip zone weighs its LED count, a
// PWM zone as many LEDs as the largest strip zone (a fixture lighting as
// much of the view), or 1 with no strip zone.
func (o *Outputs) Weights() []float64 {
	w := make([]float64, len(o.l.Lights))
	largest := 1
	for _, z := range o.l.Lights {
		if z.PWM == nil {
			largest = max(largest, z.Count)
		}
	}
	for i, z := range o.l.Lights {
		if z.PWM == nil {
			w[i] = float64(z.Count)
		} else {
			w[i] = float64(largest)
		}
	}
	return w
}

// Show writes one frame: lights holds a colour per light zone and haptics
// an intensity per place, in the order of LightNames and PlaceNames. Every
// device is written even if one fails; the errors are joined. A frame of
// the wrong shape is refused and nothing is written.
func (o *Outputs) Show(lights []light.RGB, haptics []float64) error {
	if len(lights) != len(o.l.Lights) || len(haptics) != len(o.l.Places) {
		return fmt.Errorf("zones: a frame of %d colours and %d intensities for %d zones and %d places", len(lights), len(haptics), len(o.l.Lights), len(o.l.Places))
	}
	for i, z := range o.l.Lights {
		c := lights[i].Clamp()
		switch len(z.PWM) {
		case 0:
			if z.leds != nil {
				r, g, b := c.Bytes()
				for _, j := range z.leds {
					o.pixels[j] = apa102.Color{R: r, G: g, B: b}
				}
				continue
			}
			r, g, b := c.Bytes()
			px := apa102.Color{R: r, G: g, B: b}
			for j := z.First; j < z.First+z.Count; j++ {
				o.pixels[j] = px
			}
		case 1:
			o.duties[z.PWM[0]] = c.Luminance()
		case 3:
			o.duties[z.PWM[0]], o.duties[z.PWM[1]], o.duties[z.PWM[2]] = c.R, c.G, c.B
		}
	}
	var errs []error
	var stripErr, pwmErr error
	if o.strip {
		if stripErr = o.l.Strip.Write(o.pixels); stripErr != nil {
			errs = append(errs, stripErr)
		}
	}
	if o.pwm {
		if pwmErr = o.l.PWM.SetAll(o.duties); pwmErr != nil {
			errs = append(errs, pwmErr)
		}
	}
	for i, z := range o.l.Lights {
		o.lightErr[i] = stripErr
		if len(z.PWM) > 0 {
			o.lightErr[i] = pwmErr
		}
	}
	clear(o.placeErr)
	for i, p := range o.l.Places {
		x := min(max(haptics[i], 0), 1)
		if x != x { // NaN
			x = 0
		}
		if x == o.written[i] {
			continue
		}
		if err := p.Motor.SetIntensity(x); err != nil {
			errs = append(errs, err)
			o.placeErr[i] = err
			o.written[i] = -1 // written again next frame
			continue
		}
		o.written[i] = x
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// LastErrors returns the last Show's error of each light zone and each
// haptic place, in the layout's order, nil where its device took the
// frame: a zone has its device's error (the strip's or the PWM
// controller's), a place its motor's (nil also when its intensity was
// unchanged and not written). The slices are the Outputs' own, valid
// until the next Show.
func (o *Outputs) LastErrors() (lights, places []error) { return o.lightErr, o.placeErr }

// Motor returns place i's motor.
func (o *Outputs) Motor(i int) Motor { return o.l.Places[i].Motor }

// OnOff reports whether place i's motor only runs or stops.
func (o *Outputs) OnOff(i int) bool { return o.l.Places[i].OnOff }

// Forget makes the next Show write every motor again: after a safe state,
// which stopped them behind Show's back.
func (o *Outputs) Forget() {
	for i := range o.written {
		o.written[i] = -1
	}
}

// Zone returns the light zone named name.
func (o *Outputs) Zone(name string) (Light, bool) {
	i := slices.IndexFunc(o.l.Lights, func(z Light) bool { return z.Name == name })
	if i < 0 {
		return Light{}, false
	}
	return o.l.Lights[i], true
}
