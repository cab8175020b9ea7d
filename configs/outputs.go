package configs

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sleegation/podd/actuators/hapticguard"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/lightguard"
)

// LightsConfig is the pod's light (lights.*): its named zones, the safe
// state's light and wake ramp, and the photosensitivity guard's slew limit.
type LightsConfig struct {
	// Zones is lights.zones: a map from a zone's name to the LEDs of the
	// strip it covers ({leds: "first-last"}) or the PCA9685 channels that
	// drive it ({pwm: [c]} for a one-colour channel, {pwm: [r, g, b]} for
	// an RGB fixture). Kept in name order. Default: one zone, canopy, the
	// whole strip.
	Zones []ZoneConfig
	// SafeColor is lights.safe_color, an sRGB "#rrggbb": the colour of the
	// safe state's steady light, shown on the strip at SafeLevel.
	SafeColor string
	// SafeLevel is lights.safe_level (MinSafeLevel..MaxSafeLevel): the
	// safe state's light, a fraction of SafeColor's full linear light. It
	// is never 0: an abort must not leave the sleeper in the dark.
	SafeLevel float64
	// WakeLevel is lights.wake_level (SafeLevel..MaxWakeLevel): where the
	// wake ramp ends.
	WakeLevel float64
	// WakeRamp is lights.wake_ramp: how long the light takes to rise from
	// SafeLevel to WakeLevel after an abort; 0 for no ramp, else
	// MinWakeRamp..MaxWakeRamp.
	WakeRamp time.Duration
	// MaxSlew is lights.max_slew: the photosensitivity guard's limit on
	// the change of each colour channel, full scale per second, in
	// MinMaxSlew..MaxMaxSlew (configuration can slow it, not speed it up).
	MaxSlew float64
	// PCA9685 is the PWM controller driving the pwm zones.
	PCA9685 PCA9685Config

	problems []string // the zones' wiring as written, where it cannot be read
}

// ZoneConfig is one light zone: LEDs First..First+Count-1 of the strip, or
// the PCA9685 channels PWM (one, or three: red, green, blue).
type ZoneConfig struct {
	Name         string
	First, Count int
	PWM          []int
}

// PCA9685Config is lights.pca9685.*: the 16-channel PWM controller.
type PCA9685Config struct {
	Enabled     bool   // lights.pca9685.enabled
	I2CBus      string // lights.pca9685.i2c_bus: empty for hardware.i2c_bus
	Address     int    // lights.pca9685.address: 0x40..0x7F, not 0x70 (the all-call address)
	FrequencyHz int    // lights.pca9685.frequency_hz: MinPWMHz..MaxPWMHz
	// OE is lights.pca9685.oe: the GPIO line wired to the chip's active-low
	// output enable, the hardware kill line the safe state drives; empty
	// for none.
	OE string
}

// HapticsConfig is the pod's haptics (haptics.*): named places, each a
// motor, and the haptic guard's limits.
type HapticsConfig struct {
	// Places is haptics.places: a map from a place's name to its motor,
	// {driver: drv2605} (the DRV2605L haptic driver, one per pod: its
	// address is fixed) or {driver: gpio, line: GPIOn} (a vibration motor
	// switched by a GPIO line). Kept in name order. Default: none.
	Places []PlaceConfig
	// DRV2605 is haptics.drv2605.*.
	DRV2605 DRV2605Config
	// MaxIntensity is haptics.max_intensity: the intensity cap, a fraction
	// of full scale (MinHapticCap..MaxHapticCap).
	MaxIntensity float64
	// DutyBudget is haptics.duty_budget: the most of DutyWindow a motor
	// may spend driven, intensity-weighted (MinDutyBudget..MaxDutyBudget).
	DutyBudget float64
	// DutyWindow is haptics.duty_window: the sliding window of the budget
	// (MinDutyWindow..MaxDutyWindow).
	DutyWindow time.Duration

	problems []string // the places' wiring as written, where it cannot be read
}

// PlaceConfig is one haptic place.
type PlaceConfig struct {
	Name   string
	Driver string // "drv2605" or "gpio"
	Line   string // the GPIO line of a gpio motor
}

// DRV2605Config is haptics.drv2605.*.
type DRV2605Config struct {
	I2CBus   string // haptics.drv2605.i2c_bus: empty for hardware.i2c_bus
	Actuator string // haptics.drv2605.actuator: erm or lra
	// EN is haptics.drv2605.en: the GPIO line wired to the chip's EN pin
	// (active high), the hardware kill line the safe state drives low
	// without the I²C bus; empty for EN tied to VDD.
	EN string
}

// DreamscapeConfig is dreamscape.*: what the pod plays.
type DreamscapeConfig struct {
	// Program is dreamscape.program: the dreamscape file played while the
	// outputs are open; empty: the strip shows a steady ambient light.
	Program string
	// RateHz is dreamscape.rate_hz: frames a second (MinFrameRate..MaxFrameRate).
	RateHz int
}

// Bounds of the output keys. The slew bound is the photosensitivity
// guard's (lightguard.HardMaxSlew); the haptic bounds are the haptic
// guard's (hapticguard). The PWM frequency's: a PCA9685 channel between
// full off and full on is a square wave of 100 % modulation at the PWM
// frequency, which IEEE 1789-2015 rates low-risk only above 1250 Hz
// (modulation % below 0.08 × frequency); the chip's prescaler makes at
// most 1526 Hz (prescale 3).
const (
	MinSafeLevel  = 0.005
	MaxSafeLevel  = 0.2
	MaxWakeLevel  = 0.6
	MinWakeRamp   = time.Minute
	MaxWakeRamp   = time.Hour
	MinMaxSlew    = 0.01
	MaxMaxSlew    = lightguard.HardMaxSlew
	MinPWMHz      = 1250
	MaxPWMHz      = 1526
	MinFrameRate  = 10
	MaxFrameRate  = 100
	MinHapticCap  = 0.05
	MaxHapticCap  = hapticguard.HardMaxCap
	MinDutyBudget = 0.01
	MaxDutyBudget = hapticguard.HardMaxDuty
	MinDutyWindow = hapticguard.MinWindow
	MaxDutyWindow = hapticguard.MaxWindow
)

// outputName is a zone's or a place's name.
var outputName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

func outputKeys() []key {
	return []key{
		{"lights.zones", "", zones},
		{"lights.safe_color", "#ff8a3d", str(func(c *Config, s string) { c.Lights.SafeColor = s })},
		{"lights.safe_level", 0.04, float(func(c *Config, v float64) { c.Lights.SafeLevel = v })},
		{"lights.wake_level", 0.3, float(func(c *Config, v float64) { c.Lights.WakeLevel = v })},
		{"lights.wake_ramp", 10 * time.Minute, duration(func(c *Config, v time.Duration) { c.Lights.WakeRamp = v })},
		{"lights.max_slew", MaxMaxSlew, float(func(c *Config, v float64) { c.Lights.MaxSlew = v })},
		{"lights.pca9685.enabled", false, boolean(func(c *Config, b bool) { c.Lights.PCA9685.Enabled = b })},
		{"lights.pca9685.i2c_bus", "", str(func(c *Config, s string) { c.Lights.PCA9685.I2CBus = s })},
		{"lights.pca9685.address", 0x40, address(func(c *Config, n int) { c.Lights.PCA9685.Address = n })},
		{"lights.pca9685.frequency_hz", MaxPWMHz, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Lights.PCA9685.FrequencyHz = n })},
		{"lights.pca9685.oe", "", str(func(c *Config, s string) { c.Lights.PCA9685.OE = s })},
		{"haptics.places", "", places},
		{"haptics.drv2605.i2c_bus", "", str(func(c *Config, s string) { c.Haptics.DRV2605.I2CBus = s })},
		{"haptics.drv2605.actuator", "erm", str(func(c *Config, s string) { c.Haptics.DRV2605.Actuator = s })},
		{"haptics.drv2605.en", "", str(func(c *Config, s string) { c.Haptics.DRV2605.EN = s })},
		{"haptics.max_intensity", hapticguard.DefaultCap, float(func(c *Config, v float64) { c.Haptics.MaxIntensity = v })},
		{"haptics.duty_budget", hapticguard.DefaultDuty, float(func(c *Config, v float64) { c.Haptics.DutyBudget = v })},
		{"haptics.duty_window", hapticguard.DefaultWindow, duration(func(c *Config, v time.Duration) { c.Haptics.DutyWindow = v })},
		{"dreamscape.program", "", str(func(c *Config, s string) { c.Dreamscape.Program = s })},
		{"dreamscape.rate_hz", 50, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Dreamscape.RateHz = n })},
		{"sim.record_outputs", "", str(func(c *Config, s string) { c.Sim.RecordOutputs = s })},
	}
}

var example = map[string]string{
	"zone":  `"{canopy: {leds: 0-29}, floor: {pwm: [0, 1, 2]}}"`,
	"place": `"{back: {driver: drv2605}, feet: {driver: gpio, line: GPIO5}}"`,
}

// sortedEntries reads a mapping of named entries (zones, places) in name
// order; "" (the default, or an empty section) is none.
func sortedEntries(raw any, what string) ([]string, map[string]map[string]any, []string, error) {
	if s, ok := raw.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, nil, nil, nil
		}
		// From the environment: the map in YAML's flow style.
		var m map[string]any
		if err := yaml.Unmarshal([]byte(s), &m); err != nil || m == nil {
			return nil, nil, nil, fmt.Errorf("is not a map of %s names to their wiring (in the environment, YAML such as %s)", what, example[what])
		}
		raw = m
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, nil, fmt.Errorf("is not a map of %s names to their wiring", what)
	}
	names := make([]string, 0, len(m))
	out := map[string]map[string]any{}
	var problems []string
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		e, ok := m[name].(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %q: %s is not a map", what, name, quote(m[name])))
			continue
		}
		out[name] = e
	}
	return names, out, problems, nil
}

func zones(c *Config, raw any) error {
	names, m, problems, err := sortedEntries(raw, "zone")
	if err != nil {
		return err
	}
	errs := func(e error) { problems = append(problems, e.Error()) }
	defer func() { c.Lights.problems = problems }()
	for _, name := range names {
		z := ZoneConfig{Name: name}
		e, ok := m[name]
		if !ok {
			continue
		}
		leds, hasLEDs := e["leds"]
		pwm, hasPWM := e["pwm"]
		for k := range e {
			if k != "leds" && k != "pwm" {
				errs(fmt.Errorf("zone %q: unknown key %q (a zone has leds or pwm)", name, k))
			}
		}
		switch {
		case hasLEDs == hasPWM:
			errs(fmt.Errorf(`zone %q: give either leds ("first-last" of the strip) or pwm (PCA9685 channels)`, name))
			continue
		case hasLEDs:
			first, last, err := ledRange(leds)
			if err != nil {
				errs(fmt.Errorf("zone %q: leds %s %v", name, quote(leds), err))
				continue
			}
			z.First, z.Count = first, last-first+1
		default:
			list, ok := pwm.([]any)
			if !ok {
				errs(fmt.Errorf("zone %q: pwm %s is not a list of channels", name, quote(pwm)))
				continue
			}
			for _, x := range list {
				n, ok := x.(int)
				if !ok {
					errs(fmt.Errorf("zone %q: pwm channel %s is not an integer", name, quote(x)))
					continue
				}
				z.PWM = append(z.PWM, n)
			}
		}
		c.Lights.Zones = append(c.Lights.Zones, z)
	}
	return nil
}

// ledRange reads "first-last" (or one LED number) of the strip.
func ledRange(raw any) (first, last int, err error) {
	if n, ok := raw.(int); ok {
		if n < 0 || n >= MaxLEDCount {
			return 0, 0, fmt.Errorf("is outside 0..%d, the LEDs a strip may have", MaxLEDCount-1)
		}
		return n, n, nil
	}
	s, ok := raw.(string)
	if !ok {
		return 0, 0, errors.New(`is not "first-last"`)
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New(`is not "first-last" (e.g. "0-29")`)
	}
	if first < 0 || last < 0 || first >= MaxLEDCount || last >= MaxLEDCount {
		return 0, 0, fmt.Errorf("is outside 0..%d, the LEDs a strip may have", MaxLEDCount-1)
	}
	return first, last, nil
}

func places(c *Config, raw any) error {
	names, m, problems, err := sortedEntries(raw, "place")
	if err != nil {
		return err
	}
	errs := func(e error) { problems = append(problems, e.Error()) }
	defer func() { c.Haptics.problems = problems }()
	for _, name := range names {
		e, ok := m[name]
		if !ok {
			continue
		}
		p := PlaceConfig{Name: name}
		for k, v := range e {
			s, ok := v.(string)
			switch {
			case k != "driver" && k != "line":
				errs(fmt.Errorf("place %q: unknown key %q (a place has driver and, for gpio, line)", name, k))
			case !ok:
				errs(fmt.Errorf("place %q: %s %s is not a string", name, k, quote(v)))
			case k == "driver":
				p.Driver = s
			default:
				p.Line = s
			}
		}
		c.Haptics.Places = append(c.Haptics.Places, p)
	}
	return nil
}

// defaultZones gives a pod that names no zone one: canopy, the whole strip.
func (c *Config) defaultZones() {
	if len(c.Lights.Zones) == 0 {
		c.Lights.Zones = []ZoneConfig{{Name: "canopy", First: 0, Count: c.Hardware.LEDCount}}
	}
}

// outputProblems checks the zones, places and output limits.
func (c *Config) outputProblems(add func(key, format string, args ...any), addWith func(with []string, key, format string, args ...any)) {
	l := c.Lights
	for _, p := range l.problems {
		add("lights.zones", "%s", p)
	}
	for _, p := range c.Haptics.problems {
		add("haptics.places", "%s", p)
	}
	ledsKnown := c.Hardware.LEDCount >= MinLEDCount && c.Hardware.LEDCount <= MaxLEDCount
	var owner []string
	if ledsKnown {
		owner = make([]string, c.Hardware.LEDCount)
	}
	channel := map[int]string{}
	for _, z := range l.Zones {
		if !outputName.MatchString(z.Name) {
			add("lights.zones", "%q is not a zone name: 1 to 32 characters of a-z, 0-9, _ and -, starting with a letter", z.Name)
		}
		if z.PWM == nil {
			if !ledsKnown {
				continue // hardware.led_count has its own problem
			}
			if z.First < 0 || z.Count < 1 || z.First+z.Count > c.Hardware.LEDCount {
				addWith([]string{"hardware.led_count"}, "lights.zones", "zone %q: LEDs %d-%d are not within the strip's 0-%d (hardware.led_count %d)", z.Name, z.First, z.First+z.Count-1, c.Hardware.LEDCount-1, c.Hardware.LEDCount)
				continue
			}
			for i := z.First; i < z.First+z.Count; i++ {
				if owner[i] != "" {
					add("lights.zones", "zone %q: LED %d is also in zone %q: a LED belongs to one zone", z.Name, i, owner[i])
					break
				}
				owner[i] = z.Name
			}
			continue
		}
		if !l.PCA9685.Enabled {
			addWith([]string{"lights.pca9685.enabled"}, "lights.zones", "zone %q: pwm channels need the PCA9685 (lights.pca9685.enabled: true)", z.Name)
		}
		if len(z.PWM) != 1 && len(z.PWM) != 3 {
			add("lights.zones", "zone %q: pwm has %d channels: give one (a one-colour light) or three (red, green, blue)", z.Name, len(z.PWM))
		}
		for _, ch := range z.PWM {
			switch {
			case ch < 0 || ch > 15:
				add("lights.zones", "zone %q: pwm channel %d is outside 0..15", z.Name, ch)
			case channel[ch] != "":
				add("lights.zones", "zone %q: pwm channel %d is also in zone %q", z.Name, ch, channel[ch])
			default:
				channel[ch] = z.Name
			}
		}
	}
	if c, err := light.ParseHex(l.SafeColor); err != nil {
		add("lights.safe_color", "%v", err)
	} else if c == (light.RGB{}) {
		add("lights.safe_color", "%q is black: the safe state's light must never be dark (e.g. #ff8a3d, a warm amber)", l.SafeColor)
	}
	if !(l.SafeLevel >= MinSafeLevel && l.SafeLevel <= MaxSafeLevel) {
		add("lights.safe_level", "%g is outside %g..%g: the safe state's light is dim, never dark", l.SafeLevel, MinSafeLevel, MaxSafeLevel)
	} else if !(l.WakeLevel >= l.SafeLevel && l.WakeLevel <= MaxWakeLevel) {
		addWith([]string{"lights.safe_level"}, "lights.wake_level", "%g is outside lights.safe_level..%g (%g..%g)", l.WakeLevel, MaxWakeLevel, l.SafeLevel, MaxWakeLevel)
	}
	if r := l.WakeRamp; r != 0 && (r < MinWakeRamp || r > MaxWakeRamp) {
		add("lights.wake_ramp", "%s is outside %s..%s (or 0 for none)", r, MinWakeRamp, MaxWakeRamp)
	}
	if !(l.MaxSlew >= MinMaxSlew && l.MaxSlew <= MaxMaxSlew) {
		add("lights.max_slew", "%g is outside %g..%g per second: faster changes can make flashes and flicker", l.MaxSlew, MinMaxSlew, MaxMaxSlew)
	}
	p := l.PCA9685
	if p.Address < 0x40 || p.Address > 0x7F || p.Address == 0x70 {
		add("lights.pca9685.address", "0x%02X is outside 0x40..0x7F or is 0x70 (the all-call address)", p.Address)
	} else if p.Enabled {
		c.pwmAddressProblem(addWith)
	}
	if p.FrequencyHz < MinPWMHz || p.FrequencyHz > MaxPWMHz {
		add("lights.pca9685.frequency_hz", "%d is outside %d..%d Hz: the PCA9685 switches a lit channel fully on and off at this frequency, a flicker risk below %d Hz (IEEE 1789-2015), and its prescaler goes no higher than %d Hz", p.FrequencyHz, MinPWMHz, MaxPWMHz, MinPWMHz, MaxPWMHz)
	}
	if p.Enabled {
		c.lineProblem(add, "lights.pca9685.oe", p.OE)
	}

	h := c.Haptics
	drv := 0
	lines := map[string]string{}
	for _, p := range h.Places {
		if !outputName.MatchString(p.Name) {
			add("haptics.places", "%q is not a place name: 1 to 32 characters of a-z, 0-9, _ and -, starting with a letter", p.Name)
		}
		switch p.Driver {
		case "drv2605":
			if drv++; drv == 2 {
				add("haptics.places", "place %q: a second drv2605: the DRV2605L has one fixed address (0x5A), so a pod has one", p.Name)
			}
			if p.Line != "" {
				add("haptics.places", "place %q: a drv2605 place has no line", p.Name)
			}
		case "gpio":
			if p.Line == "" {
				add("haptics.places", "place %q: a gpio motor needs its line (e.g. line: GPIO5)", p.Name)
			} else if o := lines[lineNumber(p.Line)]; o != "" {
				add("haptics.places", "place %q: line %s is also place %q's", p.Name, p.Line, o)
			} else {
				lines[lineNumber(p.Line)] = p.Name
				c.lineProblem(add, "haptics.places", p.Line)
			}
		default:
			add("haptics.places", "place %q: driver %q is not drv2605 or gpio", p.Name, p.Driver)
		}
	}
	if en := h.DRV2605.EN; drv > 0 && en != "" {
		c.lineProblem(add, "haptics.drv2605.en", en)
		if oe := c.Lights.PCA9685.OE; c.Lights.PCA9685.Enabled && oe != "" && lineNumber(oe) == lineNumber(en) {
			add("haptics.drv2605.en", "%q is also lights.pca9685.oe", en)
		}
		if o := lines[lineNumber(en)]; o != "" {
			add("haptics.drv2605.en", "%q is also place %q's motor line", en, o)
		}
	}
	if a := h.DRV2605.Actuator; a != "erm" && a != "lra" {
		add("haptics.drv2605.actuator", "%q is not erm (eccentric rotating mass) or lra (linear resonant actuator)", a)
	}
	if !(h.MaxIntensity >= MinHapticCap && h.MaxIntensity <= MaxHapticCap) {
		add("haptics.max_intensity", "%g is outside %g..%g of full scale", h.MaxIntensity, MinHapticCap, MaxHapticCap)
	}
	if !(h.DutyBudget >= MinDutyBudget && h.DutyBudget <= MaxDutyBudget) {
		add("haptics.duty_budget", "%g is outside %g..%g of the window", h.DutyBudget, MinDutyBudget, MaxDutyBudget)
	}
	if w := h.DutyWindow; w < MinDutyWindow || w > MaxDutyWindow {
		add("haptics.duty_window", "%s is outside %s..%s", w, MinDutyWindow, MaxDutyWindow)
	}
	c.lineProblem(add, "hardware.indicator_led", c.Hardware.IndicatorLED)
	for _, o := range []struct{ key, line string }{{"lights.pca9685.oe", c.Lights.PCA9685.OE}, {"haptics.drv2605.en", c.Haptics.DRV2605.EN}} {
		if o.line != "" && c.Hardware.IndicatorLED != "" && lineNumber(o.line) == lineNumber(c.Hardware.IndicatorLED) {
			add("hardware.indicator_led", "%q is also %s", c.Hardware.IndicatorLED, o.key)
		}
	}
	for _, p := range h.Places {
		if p.Line != "" && c.Hardware.IndicatorLED != "" && lineNumber(p.Line) == lineNumber(c.Hardware.IndicatorLED) {
			add("hardware.indicator_led", "%q is also place %q's motor line", c.Hardware.IndicatorLED, p.Name)
		}
	}
	if r := c.Dreamscape.RateHz; r < MinFrameRate || r > MaxFrameRate {
		add("dreamscape.rate_hz", "%d is outside %d..%d frames a second", r, MinFrameRate, MaxFrameRate)
	}
}

// pwmAddressProblem reports the PCA9685 at the address of another chip on
// its bus.
func (c *Config) pwmAddressProblem(addWith func(with []string, key, format string, args ...any)) {
	s := c.Sensors
	bus := i2cBus(c.Bus(c.Lights.PCA9685.I2CBus))
	for _, o := range []struct {
		on   bool
		key  string
		bus  string
		addr int
	}{
		{s.MAX30102.Enabled, "sensors.max30102", s.MAX30102.I2CBus, 0x57},
		{s.ADS1115.Enabled, "sensors.ads1115", s.ADS1115.I2CBus, s.ADS1115.Address},
		{s.TMP117.Enabled, "sensors.tmp117", s.TMP117.I2CBus, s.TMP117.Address},
		{slices.ContainsFunc(c.Haptics.Places, func(p PlaceConfig) bool { return p.Driver == "drv2605" }), "haptics.drv2605", c.Haptics.DRV2605.I2CBus, 0x5A},
	} {
		if o.on && o.addr == c.Lights.PCA9685.Address && i2cBus(c.Bus(o.bus)) == bus {
			addWith([]string{o.key + ".address"}, "lights.pca9685.address", "0x%02X is also %s's address on I2C bus %q: strap the PCA9685 to another address (A0-A5)", o.addr, o.key, c.Bus(o.bus))
		}
	}
}

// lineProblem reports an output line that is a bus's pin or another
// configured input's line.
func (c *Config) lineProblem(add func(key, format string, args ...any), key, line string) {
	if line == "" {
		return
	}
	if bus := c.busOfLine(line); bus != "" {
		add(key, "%q is a line of %s on a Raspberry Pi: an output needs a free GPIO line", line, bus)
		return
	}
	for _, b := range []struct{ key, line string }{{"hardware.consent_button", c.Hardware.ConsentButton}, {"hardware.panic_button", c.Hardware.PanicButton}, {"hardware.ack_button", c.Hardware.AckButton}, {"sensors.ads1299.drdy", c.drdyLine()}} {
		if b.line != "" && lineNumber(b.line) == lineNumber(line) {
			add(key, "%q is also %s", line, b.key)
		}
	}
}

func (c *Config) drdyLine() string {
	if c.Sensors.ADS1299.Enabled {
		return c.Sensors.ADS1299.DRDY
	}
	return ""
}

// outputSettings are the output keys of Settings.
func (c *Config) outputSettings(m map[string]any) {
	zs := map[string]any{}
	for _, z := range c.Lights.Zones {
		if z.PWM != nil {
			zs[z.Name] = map[string]any{"pwm": slices.Clone(z.PWM)}
		} else {
			zs[z.Name] = map[string]any{"leds": fmt.Sprintf("%d-%d", z.First, z.First+z.Count-1)}
		}
	}
	ps := map[string]any{}
	for _, p := range c.Haptics.Places {
		e := map[string]any{"driver": p.Driver}
		if p.Line != "" {
			e["line"] = p.Line
		}
		ps[p.Name] = e
	}
	l, h := c.Lights, c.Haptics
	m["lights.zones"] = zs
	m["lights.safe_color"] = l.SafeColor
	m["lights.safe_level"] = l.SafeLevel
	m["lights.wake_level"] = l.WakeLevel
	m["lights.wake_ramp"] = l.WakeRamp.String()
	m["lights.max_slew"] = l.MaxSlew
	m["lights.pca9685.enabled"] = l.PCA9685.Enabled
	m["lights.pca9685.i2c_bus"] = l.PCA9685.I2CBus
	m["lights.pca9685.address"] = l.PCA9685.Address
	m["lights.pca9685.frequency_hz"] = l.PCA9685.FrequencyHz
	m["lights.pca9685.oe"] = l.PCA9685.OE
	m["haptics.places"] = ps
	m["haptics.drv2605.i2c_bus"] = h.DRV2605.I2CBus
	m["haptics.drv2605.actuator"] = h.DRV2605.Actuator
	m["haptics.drv2605.en"] = h.DRV2605.EN
	m["haptics.max_intensity"] = h.MaxIntensity
	m["haptics.duty_budget"] = h.DutyBudget
	m["haptics.duty_window"] = h.DutyWindow.String()
	m["dreamscape.program"] = c.Dreamscape.Program
	m["dreamscape.rate_hz"] = c.Dreamscape.RateHz
	m["sim.record_outputs"] = c.Sim.RecordOutputs
}
