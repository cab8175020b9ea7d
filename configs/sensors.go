package configs

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sleegation/podd/safety"
)

// SensorsConfig is the pod's sensor inventory (sensors.*): which biometric
// chips it has and how each is wired. A pod has at most one of each chip.
type SensorsConfig struct {
	MAX30102 MAX30102Config
	ADS1299  ADS1299Config
	ADS1115  ADS1115Config
	TMP117   TMP117Config
}

// MAX30102Config is the pulse oximeter (sensors.max30102.*), at its fixed
// address 0x57.
type MAX30102Config struct {
	Enabled bool   // sensors.max30102.enabled: true (a pod without one is refused)
	I2CBus  string // sensors.max30102.i2c_bus: empty for hardware.i2c_bus
}

// ADS1299Config is the EEG front end (sensors.ads1299.*) on its own SPI
// chip select, with its DRDY line.
type ADS1299Config struct {
	Enabled  bool   // sensors.ads1299.enabled
	SPIPort  string // sensors.ads1299.spi_port: a periph spireg name, on another bus than the LED strip's
	DRDY     string // sensors.ads1299.drdy: the DRDY line's gpioreg name
	RateHz   int    // sensors.ads1299.rate_hz: 250 or 500 samples per second
	Gain     int    // sensors.ads1299.gain: the PGA gain, 1, 2, 4, 6, 8, 12 or 24
	Channels int    // sensors.ads1299.channels: 1..8 channels wired, from CH1
}

// ADS1115Config is the skin conductance ADC (sensors.ads1115.*) and its
// measuring circuit: a supply of SupplyV through a reference resistor of
// RefOhms in series with the skin, the ADC reading the voltage across the
// skin on Channel.
type ADS1115Config struct {
	Enabled bool    // sensors.ads1115.enabled
	I2CBus  string  // sensors.ads1115.i2c_bus: empty for hardware.i2c_bus
	Address int     // sensors.ads1115.address: 0x48..0x4B (ADDR strapping)
	Channel int     // sensors.ads1115.channel: AIN0..AIN3, single-ended
	RateHz  int     // sensors.ads1115.rate_hz: conversions a second, 1..100
	SupplyV float64 // sensors.ads1115.supply_v: the circuit's supply, volts
	RefOhms float64 // sensors.ads1115.ref_ohms: the reference resistor, ohms
}

// TMP117Config is the body temperature sensor (sensors.tmp117.*).
type TMP117Config struct {
	Enabled bool   // sensors.tmp117.enabled
	I2CBus  string // sensors.tmp117.i2c_bus: empty for hardware.i2c_bus
	Address int    // sensors.tmp117.address: 0x48..0x4B (ADD0 strapping)
	RateHz  int    // sensors.tmp117.rate_hz: conversions a second, 1, 2 or 4
	// CoreOffsetC is sensors.tmp117.core_offset_c: the core temperature
	// less the reading at the sensor's site, °C, in
	// safety.MinCoreOffsetC..safety.MaxCoreOffsetC (0 for a site that
	// reads the core's level). The temperature rules judge the reading
	// plus it; telemetry's body_temp_c stays the reading.
	CoreOffsetC float64
}

// Choices of the sensor keys.
var (
	ads1299Rates = []int{250, 500}
	ads1299Gains = []int{1, 2, 4, 6, 8, 12, 24}
	tmp117Rates  = []int{1, 2, 4}
)

// MinSensorAddress and MaxSensorAddress bound the ADS1115's and the
// TMP117's I²C address: both strap to 0x48..0x4B and both default to
// 0x48 (FACTS.md: "strap one to 0x49").
const (
	MinSensorAddress = 0x48
	MaxSensorAddress = 0x4B
)

func sensorKeys() []key {
	return []key{
		{"sensors.max30102.enabled", true, boolean(func(c *Config, b bool) { c.Sensors.MAX30102.Enabled = b })},
		{"sensors.max30102.i2c_bus", "", str(func(c *Config, s string) { c.Sensors.MAX30102.I2CBus = s })},
		{"sensors.ads1299.enabled", false, boolean(func(c *Config, b bool) { c.Sensors.ADS1299.Enabled = b })},
		{"sensors.ads1299.spi_port", "SPI1.0", str(func(c *Config, s string) { c.Sensors.ADS1299.SPIPort = s })},
		{"sensors.ads1299.drdy", "GPIO25", str(func(c *Config, s string) { c.Sensors.ADS1299.DRDY = s })},
		{"sensors.ads1299.rate_hz", 250, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.ADS1299.RateHz = n })},
		{"sensors.ads1299.gain", 24, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.ADS1299.Gain = n })},
		{"sensors.ads1299.channels", 8, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.ADS1299.Channels = n })},
		{"sensors.ads1115.enabled", false, boolean(func(c *Config, b bool) { c.Sensors.ADS1115.Enabled = b })},
		{"sensors.ads1115.i2c_bus", "", str(func(c *Config, s string) { c.Sensors.ADS1115.I2CBus = s })},
		{"sensors.ads1115.address", 0x49, address(func(c *Config, n int) { c.Sensors.ADS1115.Address = n })},
		{"sensors.ads1115.channel", 0, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.ADS1115.Channel = n })},
		{"sensors.ads1115.rate_hz", 4, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.ADS1115.RateHz = n })},
		{"sensors.ads1115.supply_v", 3.3, float(func(c *Config, v float64) { c.Sensors.ADS1115.SupplyV = v })},
		{"sensors.ads1115.ref_ohms", 200000.0, float(func(c *Config, v float64) { c.Sensors.ADS1115.RefOhms = v })},
		{"sensors.tmp117.enabled", false, boolean(func(c *Config, b bool) { c.Sensors.TMP117.Enabled = b })},
		{"sensors.tmp117.i2c_bus", "", str(func(c *Config, s string) { c.Sensors.TMP117.I2CBus = s })},
		{"sensors.tmp117.address", 0x48, address(func(c *Config, n int) { c.Sensors.TMP117.Address = n })},
		{"sensors.tmp117.rate_hz", 1, integer(math.MinInt, math.MaxInt, func(c *Config, n int) { c.Sensors.TMP117.RateHz = n })},
		{"sensors.tmp117.core_offset_c", 0.0, float(func(c *Config, v float64) { c.Sensors.TMP117.CoreOffsetC = v })},
	}
}

// address reads a 7-bit I²C address: an integer, or a string in decimal
// or 0x hex (an environment variable says "0x49"). Its range is checked
// with the other problems.
func address(store func(*Config, int)) func(*Config, any) error {
	asInt := integer(0, math.MaxInt, store)
	return func(c *Config, raw any) error {
		s, ok := raw.(string)
		if !ok {
			return asInt(c, raw)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(s), 0, 7)
		if err != nil {
			return errors.New(`is not a 7-bit I2C address (e.g. 0x49)`)
		}
		store(c, int(n))
		return nil
	}
}

// Bus returns the I²C bus a sensor is on: its own i2c_bus, or
// hardware.i2c_bus when that is empty.
func (c *Config) Bus(sensorBus string) string {
	if sensorBus != "" {
		return sensorBus
	}
	return c.Hardware.I2CBus
}

// sensorSettings are the sensors.* keys of Settings.
func (c *Config) sensorSettings(m map[string]any) {
	s := c.Sensors
	m["sensors.max30102.enabled"] = s.MAX30102.Enabled
	m["sensors.max30102.i2c_bus"] = s.MAX30102.I2CBus
	m["sensors.ads1299.enabled"] = s.ADS1299.Enabled
	m["sensors.ads1299.spi_port"] = s.ADS1299.SPIPort
	m["sensors.ads1299.drdy"] = s.ADS1299.DRDY
	m["sensors.ads1299.rate_hz"] = s.ADS1299.RateHz
	m["sensors.ads1299.gain"] = s.ADS1299.Gain
	m["sensors.ads1299.channels"] = s.ADS1299.Channels
	m["sensors.ads1115.enabled"] = s.ADS1115.Enabled
	m["sensors.ads1115.i2c_bus"] = s.ADS1115.I2CBus
	m["sensors.ads1115.address"] = s.ADS1115.Address
	m["sensors.ads1115.channel"] = s.ADS1115.Channel
	m["sensors.ads1115.rate_hz"] = s.ADS1115.RateHz
	m["sensors.ads1115.supply_v"] = s.ADS1115.SupplyV
	m["sensors.ads1115.ref_ohms"] = s.ADS1115.RefOhms
	m["sensors.tmp117.enabled"] = s.TMP117.Enabled
	m["sensors.tmp117.i2c_bus"] = s.TMP117.I2CBus
	m["sensors.tmp117.address"] = s.TMP117.Address
	m["sensors.tmp117.rate_hz"] = s.TMP117.RateHz
	m["sensors.tmp117.core_offset_c"] = s.TMP117.CoreOffsetC
}

// sensorProblems checks the inventory: choices, ranges, and two chips at
// one address of one bus.
func (c *Config) sensorProblems(add func(key, format string, args ...any), addWith func(with []string, key, format string, args ...any)) {
	s := c.Sensors
	if !s.MAX30102.Enabled {
		add("sensors.max30102.enabled", "false: the pulse oximeter is required (the safety watchdog's heart rate and SpO2 come from it)")
	}
	oneOf := func(key string, v int, choices []int) {
		if !slices.Contains(choices, v) {
			add(key, "%d is not one of %s", v, ints(choices))
		}
	}
	oneOf("sensors.ads1299.rate_hz", s.ADS1299.RateHz, ads1299Rates)
	oneOf("sensors.ads1299.gain", s.ADS1299.Gain, ads1299Gains)
	inRange := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			add(key, "%d is outside %d..%d", v, lo, hi)
		}
	}
	inRange("sensors.ads1299.channels", s.ADS1299.Channels, 1, 8)
	inRange("sensors.ads1115.channel", s.ADS1115.Channel, 0, 3)
	inRange("sensors.ads1115.rate_hz", s.ADS1115.RateHz, 1, 100)
	oneOf("sensors.tmp117.rate_hz", s.TMP117.RateHz, tmp117Rates)
	if v := s.TMP117.CoreOffsetC; !(v >= safety.MinCoreOffsetC && v <= safety.MaxCoreOffsetC) {
		add("sensors.tmp117.core_offset_c", "%g °C is outside %d..%d °C: the core less the reading at the sensor's site", v, safety.MinCoreOffsetC, safety.MaxCoreOffsetC)
	} else if lowInBounds(c.Safety) {
		// Within their bounds, the two together must leave
		// temperature_low able to see a cold sleeper.
		if err := safety.CoreOffsetProblem(c.Safety, v); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ")
			addWith([]string{"safety.temperature_low_c"}, "sensors.tmp117.core_offset_c", "%s", msg)
		}
	}
	if s.ADS1299.Enabled {
		if s.ADS1299.SPIPort == "" {
			add("sensors.ads1299.spi_port", `"" is not an SPI port name (e.g. "SPI0.1")`)
		} else if spiBus(s.ADS1299.SPIPort) == spiBus(c.Hardware.SPIPort) {
			other := "SPI1.0"
			if spiBus(c.Hardware.SPIPort) == "1" {
				other = "SPI0.0"
			}
			addWith([]string{"hardware.spi_port"}, "sensors.ads1299.spi_port", "%q is on the LED strip's SPI bus (hardware.spi_port %q): an APA102 strip has no chip select and takes every transfer on its bus as LED data; put the EEG front end on another bus (e.g. %s)", s.ADS1299.SPIPort, c.Hardware.SPIPort, other)
		}
		if s.ADS1299.DRDY == "" {
			add("sensors.ads1299.drdy", `"" is not a GPIO line: the ADS1299 says when a frame is ready on its DRDY line (e.g. "GPIO25")`)
		} else if bus := c.busOfLine(s.ADS1299.DRDY); bus != "" {
			add("sensors.ads1299.drdy", "%q is a line of %s on a Raspberry Pi: DRDY needs a free GPIO line (e.g. GPIO25)", s.ADS1299.DRDY, bus)
		} else {
			for _, b := range []struct{ key, line string }{{"hardware.consent_button", c.Hardware.ConsentButton}, {"hardware.panic_button", c.Hardware.PanicButton}, {"hardware.ack_button", c.Hardware.AckButton}} {
				if b.line != "" && lineNumber(b.line) == lineNumber(s.ADS1299.DRDY) {
					addWith([]string{b.key}, "sensors.ads1299.drdy", "%q is also %s: DRDY needs its own line", s.ADS1299.DRDY, b.key)
				}
			}
		}
	}
	if s.ADS1115.Enabled {
		if !(s.ADS1115.SupplyV > 0 && s.ADS1115.SupplyV <= 5.5) {
			add("sensors.ads1115.supply_v", "%g is outside (0, 5.5] V: the ADS1115's supply range", s.ADS1115.SupplyV)
		}
		if !(s.ADS1115.RefOhms >= 1000 && s.ADS1115.RefOhms <= 100e6) {
			add("sensors.ads1115.ref_ohms", "%g is outside 1 kΩ..100 MΩ", s.ADS1115.RefOhms)
		}
	}
	type placed struct {
		key  string
		bus  string
		addr int
	}
	var at []placed
	if s.MAX30102.Enabled {
		at = append(at, placed{"sensors.max30102", c.Bus(s.MAX30102.I2CBus), 0x57})
	}
	for _, d := range []struct {
		on   bool
		key  string
		bus  string
		addr int
	}{
		{s.ADS1115.Enabled, "sensors.ads1115", s.ADS1115.I2CBus, s.ADS1115.Address},
		{s.TMP117.Enabled, "sensors.tmp117", s.TMP117.I2CBus, s.TMP117.Address},
	} {
		if !d.on {
			continue
		}
		if d.addr < MinSensorAddress || d.addr > MaxSensorAddress {
			add(d.key+".address", "0x%02X is outside 0x48..0x4B, the addresses the chip's address pin selects", d.addr)
			continue
		}
		for _, o := range at {
			if i2cBus(o.bus) == i2cBus(c.Bus(d.bus)) && o.addr == d.addr {
				addWith([]string{o.key + ".address"}, d.key+".address", "0x%02X is also %s's address on I2C bus %q: strap one of them to another address (the ADS1115 and the TMP117 both default to 0x48)", d.addr, o.key, o.bus)
			}
		}
		at = append(at, placed{d.key, c.Bus(d.bus), d.addr})
	}
}

// spiBus is the bus number of a periph SPI port name, whichever of its
// names it is: periph registers chip select M of bus N as "/dev/spidevN.M",
// alias "SPIN.M", and chip select 0 also by its number N (host/sysfs). A
// name of another form is returned as it is.
func spiBus(port string) string {
	p := strings.ToUpper(strings.TrimSpace(port))
	switch {
	case strings.HasPrefix(p, "/DEV/SPIDEV"):
		p = p[len("/DEV/SPIDEV"):]
	case strings.HasPrefix(p, "SPI"):
		p = p[len("SPI"):]
	default:
		return p // a bus number (chip select 0 of it), or a name of another form
	}
	bus, _, _ := strings.Cut(p, ".")
	return bus
}

// i2cBus is the bus number of a periph I²C bus name, whichever of its
// names it is: periph registers bus N as "/dev/i2c-N", alias "I2CN", and
// by its number N (host/sysfs). A name of another form is returned as it
// is.
func i2cBus(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, prefix := range []string{"/DEV/I2C-", "I2C"} {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			if _, err := strconv.Atoi(rest); err == nil {
				return rest
			}
		}
	}
	return n
}

// piBusLines are the GPIO lines of a Raspberry Pi's buses (BCM numbers):
// I²C bus 1 on GPIO2-3, SPI0 on GPIO7-11 (CE1, CE0, MISO, MOSI, SCLK),
// SPI1 on GPIO16-21 (CE2, CE1, CE0, MISO, MOSI, SCLK).
var piBusLines = []struct {
	bus        string
	kind       string // "i2c" or "spi"
	num        string
	first, end int // GPIO first..end-1
}{
	{"I2C bus 1", "i2c", "1", 2, 4},
	{"SPI0", "spi", "0", 7, 12},
	{"SPI1", "spi", "1", 16, 22},
}

// busOfLine names the configured bus (the pod's I²C buses, the strip's and
// the EEG's SPI buses) whose pins include the GPIO line named, on a
// Raspberry Pi; "" when none does.
func (c *Config) busOfLine(line string) string {
	n, err := strconv.Atoi(lineNumber(line))
	if err != nil {
		return ""
	}
	used := map[string]bool{
		"i2c" + i2cBus(c.Hardware.I2CBus):         true,
		"spi" + spiBus(c.Hardware.SPIPort):        true,
		"spi" + spiBus(c.Sensors.ADS1299.SPIPort): true,
	}
	for _, b := range []string{c.Sensors.MAX30102.I2CBus, c.Sensors.ADS1115.I2CBus, c.Sensors.TMP117.I2CBus} {
		if b != "" {
			used["i2c"+i2cBus(b)] = true
		}
	}
	for _, b := range piBusLines {
		if used[b.kind+b.num] && n >= b.first && n < b.end {
			return b.bus
		}
	}
	return ""
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// Enabled names the sensors the inventory enables, in a fixed order.
func (s SensorsConfig) Enabled() []string {
	var out []string
	for _, e := range []struct {
		on   bool
		name string
	}{{s.MAX30102.Enabled, "max30102"}, {s.ADS1299.Enabled, "ads1299"}, {s.ADS1115.Enabled, "ads1115"}, {s.TMP117.Enabled, "tmp117"}} {
		if e.on {
			out = append(out, e.name)
		}
	}
	return out
}

// lowInBounds reports whether safety.temperature_low_c is within its hard
// bounds (a value outside them is reported on its own).
func lowInBounds(l safety.Limits) bool {
	for _, err := range l.Problems() {
		if strings.HasPrefix(err.Error(), "safety.temperature_low_c:") {
			return false
		}
	}
	return true
}
