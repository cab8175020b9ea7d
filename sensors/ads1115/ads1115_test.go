package ads1115_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// initOps is the transcript of New at addr: the identification probe
// (0x3F1D written, read back with OS set), then cfg written and read back.
func initOps(addr uint16, cfg uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x01, 0x3F, 0x1D}},
		{Addr: addr, W: []byte{0x01}, R: []byte{0xBF, 0x1D}},
		{Addr: addr, W: []byte{0x01, byte(cfg >> 8), byte(cfg)}},
		{Addr: addr, W: []byte{0x01}, R: []byte{byte(cfg>>8) | 0x80, byte(cfg)}},
	}
}

// readOps is the transcript of a Read whose conversion is still running at
// the first poll and over at the second.
func readOps(addr uint16, cfg uint16, code uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x01, byte(cfg>>8) | 0x80, byte(cfg)}},
		{Addr: addr, W: []byte{0x01}, R: []byte{byte(cfg >> 8), byte(cfg)}},
		{Addr: addr, W: []byte{0x01}, R: []byte{byte(cfg>>8) | 0x80, byte(cfg)}},
		{Addr: addr, W: []byte{0x00}, R: []byte{byte(code >> 8), byte(code)}},
	}
}

const defaultCfg = 0x4383 // AIN0, ±4.096 V, single shot, 128 sps, comparator off

func TestNewWritesConfiguration(t *testing.T) {
	tests := []struct {
		name string
		opts *ads1115.Opts
		addr uint16
		cfg  uint16
		lsb  float64
		conv time.Duration
		str  string
	}{
		{"nil is DefaultOpts", nil, 0x49, defaultCfg, 4.096 / 32768, 7812500 * time.Nanosecond, "ADS1115{playback(73)}"},
		{"AIN3, ±0.256 V, 860 sps at 0x4B", &ads1115.Opts{Addr: 0x4B, Channel: 3, FullScaleV: 0.256, RateSPS: 860},
			0x4B, 0x7BE3, 0.256 / 32768, time.Second / 860, "ADS1115{playback(75)}"},
		{"AIN1, ±6.144 V, 8 sps at 0x48", &ads1115.Opts{Addr: 0x48, Channel: 1, FullScaleV: 6.144, RateSPS: 8},
			0x48, 0x5103, 6.144 / 32768, 125 * time.Millisecond, "ADS1115{playback(72)}"},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: initOps(tt.addr, tt.cfg), DontPanic: true}
		d, err := ads1115.New(bus, tt.opts)
		if err != nil {
			t.Fatalf("%s: New: %v", tt.name, err)
		}
		if err := bus.Close(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if d.LSB() != tt.lsb || d.ConversionTime() != tt.conv || d.String() != tt.str {
			t.Errorf("%s: LSB %g, ConversionTime %v, String %q; want %g, %v, %q", tt.name, d.LSB(), d.ConversionTime(), d.String(), tt.lsb, tt.conv, tt.str)
		}
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	tests := []struct {
		change func(*ads1115.Opts)
		want   string
	}{
		{func(o *ads1115.Opts) { o.Addr = 0x47 }, "ads1115: invalid Addr 0x47 (want 0x48, 0x49, 0x4A or 0x4B)"},
		{func(o *ads1115.Opts) { o.Addr = 0x4C }, "ads1115: invalid Addr 0x4C (want 0x48, 0x49, 0x4A or 0x4B)"},
		{func(o *ads1115.Opts) { o.Channel = 4 }, "ads1115: invalid Channel 4 (want 0 to 3 for AIN0 to AIN3)"},
		{func(o *ads1115.Opts) { o.Channel = -1 }, "ads1115: invalid Channel -1 (want 0 to 3 for AIN0 to AIN3)"},
		{func(o *ads1115.Opts) { o.FullScaleV = 5 }, "ads1115: invalid FullScaleV 5 (want 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 V)"},
		{func(o *ads1115.Opts) { o.FullScaleV = math.NaN() }, "ads1115: invalid FullScaleV NaN (want 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 V)"},
		{func(o *ads1115.Opts) { o.RateSPS = 100 }, "ads1115: invalid RateSPS 100 (want 8, 16, 32, 64, 128, 250, 475 or 860)"},
		{func(o *ads1115.Opts) { o.RateSPS = 0 }, "ads1115: invalid RateSPS 0 (want 8, 16, 32, 64, 128, 250, 475 or 860)"},
	}
	for _, tt := range tests {
		opts := ads1115.DefaultOpts
		tt.change(&opts)
		bus := &i2ctest.Playback{DontPanic: true} // refused before any I/O
		d, err := ads1115.New(bus, &opts)
		if err == nil || err.Error() != tt.want || d != nil {
			t.Errorf("New(%+v) = %v, %v; want nil, %q", opts, d, err, tt.want)
		}
	}
}

func TestNewRejectsAnotherChip(t *testing.T) {
	// A register that does not keep what was written, and no TMP117 behind it.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x49, W: []byte{0x01, 0x3F, 0x1D}},
		{Addr: 0x49, W: []byte{0x01}, R: []byte{0x00, 0x00}},
		{Addr: 0x49, W: []byte{0x0F}, R: []byte{0x12, 0x34}},
	}, DontPanic: true}
	_, err := ads1115.New(bus, nil)
	if want := "ads1115 at 0x49: Config read back 0x0000 after writing 0x3F1D (OS aside): not an ADS1115"; err == nil || err.Error() != want {
		t.Errorf("New = %v, want %q", err, want)
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

// A TMP117 at the ADS1115's address is named, with the fix.
func TestNewNamesATMP117(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := sim.NewI2CBus("sim-i2c")
		if err := bus.Attach(0x49, sim.NewTMP117(func(time.Time) float64 { return 36.6 })); err != nil {
			t.Fatal(err)
		}
		_, err := ads1115.New(bus, nil)
		want := "ads1115 at 0x49: Config read back 0x0F1C after writing 0x3F1D (OS aside): not an ADS1115 but a TMP117 (Device_ID 0x0117); both default to 0x48: strap one to another address"
		if err == nil || err.Error() != want {
			t.Errorf("New = %v,\nwant %q", err, want)
		}
	})
}

// newSim returns a driver with opts on a simulated bus, its chip at
// opts.Addr with ain as every input.
func newSim(t *testing.T, opts *ads1115.Opts, ain func(time.Time) float64) (*ads1115.Dev, *sim.I2CBus, *sim.ADS1115) {
	t.Helper()
	bus := sim.NewI2CBus("sim-i2c")
	m := sim.NewADS1115(ain)
	for ch := 1; ch < 4; ch++ {
		m.SetInput(ch, func(t time.Time) float64 { return ain(t) + float64(ch)*0.1 })
	}
	if opts == nil {
		opts = &ads1115.DefaultOpts
	}
	if err := bus.Attach(opts.Addr, m); err != nil {
		t.Fatal(err)
	}
	d, err := ads1115.New(bus, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, bus, m
}

// On the model, the configuration New writes reads back, and a Read takes one
// conversion time and gives the input within one LSB.
func TestReadOnSimulator(t *testing.T) {
	tests := []struct {
		opts ads1115.Opts
		in   float64 // volts at AIN0; AINn reads in + n × 0.1 V
		want float64 // the input of opts.Channel
		cfg  uint16
	}{
		{ads1115.DefaultOpts, 1.65, 1.65, 0xC383},
		{ads1115.DefaultOpts, 0.000061, 0.000061, 0xC383}, // half an LSB: code 0 or 1
		{ads1115.Opts{Addr: 0x48, Channel: 2, FullScaleV: 0.512, RateSPS: 8}, 0.1234567, 0.3234567, 0xE903},
		{ads1115.Opts{Addr: 0x4A, Channel: 3, FullScaleV: 6.144, RateSPS: 860}, 2.9, 3.2, 0xF1E3},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			d, _, m := newSim(t, &tt.opts, func(time.Time) float64 { return tt.in })
			if got := m.Register(0x01); got != tt.cfg {
				t.Errorf("%+v: Config after New = 0x%04X, want 0x%04X", tt.opts, got, tt.cfg)
			}
			start := time.Now()
			v, err := d.Read()
			if err != nil {
				t.Fatalf("%+v: Read: %v", tt.opts, err)
			}
			if lsb := tt.opts.FullScaleV / 32768; math.Abs(v-tt.want) > lsb {
				t.Errorf("%+v: Read = %.7f V, want %.7f ± %.7f V (one LSB)", tt.opts, v, tt.want, lsb)
			}
			if got := time.Since(start); got != d.ConversionTime() {
				t.Errorf("%+v: Read took %v, want one conversion, %v", tt.opts, got, d.ConversionTime())
			}
			if got := m.Conversions(); got != 1 || !m.PoweredDown() {
				t.Errorf("%+v: %d conversions, powered down %v; want 1, true", tt.opts, got, m.PoweredDown())
			}
		})
	}
}

// A time-varying input is read as it is at the end of each conversion.
func TestReadFollowsTheInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		ramp := func(t time.Time) float64 { return 0.5 * t.Sub(t0).Seconds() } // 0.5 V/s
		d, _, _ := newSim(t, nil, ramp)
		for i := range 5 {
			time.Sleep(time.Second - d.ConversionTime())
			v, err := d.Read()
			if want := 0.5 * float64(i+1); err != nil || math.Abs(v-want) > d.LSB() {
				t.Errorf("Read %d = %.5f, %v; want %.5f", i, v, err, want)
			}
		}
	})
}

func TestReadPollsUntilTheConversionEnds(t *testing.T) {
	ops := slices.Concat(initOps(0x49, defaultCfg), readOps(0x49, defaultCfg, 0x3000))
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	var d *ads1115.Dev
	var err error
	if d, err = ads1115.New(bus, nil); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		v, err := d.Read()
		if err != nil || v != 1.536 { // 0x3000 = 12288 × 125 µV
			t.Errorf("Read = %v, %v; want 1.536, nil", v, err)
		}
		if got := time.Since(start); got != 7812500*time.Nanosecond {
			t.Errorf("Read took %v, want 7.8125ms", got)
		}
	})
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

func TestReadTimesOut(t *testing.T) {
	ops := initOps(0x49, defaultCfg)
	ops = append(ops, i2ctest.IO{Addr: 0x49, W: []byte{0x01, 0xC3, 0x83}})
	// Polls at 0, at 7.8125 ms, every 976.562 µs 8 times more, and at
	// the deadline, 15.625 ms.
	for range 11 {
		ops = append(ops, i2ctest.IO{Addr: 0x49, W: []byte{0x01}, R: []byte{0x43, 0x83}})
	}
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	d, err := ads1115.New(bus, nil)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, err := d.Read()
		if want := "ads1115 at 0x49: conversion not done after 15.625ms (Config 0x4383)"; err == nil || err.Error() != want {
			t.Errorf("Read = %v, want %q", err, want)
		}
		if got := time.Since(start); got != 15625*time.Microsecond {
			t.Errorf("gave up after %v, want 15.625ms", got)
		}
	})
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

func TestReadSaturated(t *testing.T) {
	tests := []struct {
		code  uint16
		volts float64
		msg   string
	}{
		{0x7FFF, 4.096 * 32767 / 32768, "ads1115 at 0x49: saturated at full scale: code 32767 (4.095875 V)"},
		{0x8000, -4.096, "ads1115 at 0x49: saturated at full scale: code -32768 (-4.096 V)"},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: slices.Concat(initOps(0x49, defaultCfg), readOps(0x49, defaultCfg, tt.code)), DontPanic: true}
		d, err := ads1115.New(bus, nil)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Test(t, func(t *testing.T) {
			v, err := d.Read()
			if !errors.Is(err, ads1115.ErrSaturated) || err.Error() != tt.msg || v != tt.volts {
				t.Errorf("Read of code %#x = %v, %v; want %v, %q", tt.code, v, err, tt.volts, tt.msg)
			}
		})
	}
	// The model's saturation fault, and its end.
	synctest.Test(t, func(t *testing.T) {
		d, _, m := newSim(t, nil, func(time.Time) float64 { return 1 })
		m.Saturate(true)
		if v, err := d.Read(); !errors.Is(err, ads1115.ErrSaturated) || v != 4.096*32767/32768 {
			t.Errorf("Read while saturated = %v, %v; want 4.095875, ErrSaturated", v, err)
		}
		m.Saturate(false)
		if v, err := d.Read(); err != nil || v != 1 {
			t.Errorf("Read after = %v, %v; want 1, nil", v, err)
		}
	})
}

// A bus replaying old answers (the simulator's stuck fault) shows the
// conversion done at the first poll: no old result is read as new.
func TestReadDoneTooSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := 1.0
		d, bus, m := newSim(t, nil, func(time.Time) float64 { return v })
		if got, err := d.Read(); err != nil || got != 1 {
			t.Fatalf("Read = %v, %v; want 1, nil", got, err)
		}
		bus.SetFault(0x49, sim.FaultStuck)
		v = 2
		got, err := d.Read()
		want := "ads1115 at 0x49: conversion done too soon: 0s after it was started, the conversion takes 7.8125ms (a chip or bus repeating itself)"
		if !errors.Is(err, ads1115.ErrDoneTooSoon) || err.Error() != want || got != 0 {
			t.Errorf("Read on a stuck bus = %v, %v; want 0, %q", got, err, want)
		}
		// The chip did convert behind the replayed answers.
		time.Sleep(d.ConversionTime())
		if n := m.Conversions(); n != 2 {
			t.Errorf("%d conversions, want 2", n)
		}
		bus.SetFault(0x49, sim.FaultNone)
		if got, err := d.Read(); err != nil || got != 2 {
			t.Errorf("Read after the fault = %v, %v; want 2, nil", got, err)
		}
	})
}

func TestBusFaultsNameTheChip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := sim.NewI2CBus("sim-i2c")
		if _, err := ads1115.New(bus, nil); !errors.Is(err, sim.ErrNACK) ||
			err.Error() != "ads1115 at 0x49: write Config: sim: i2c: no device at 0x49: "+sim.ErrNACK.Error() {
			t.Errorf("New with no chip = %v", err)
		}
		d, bus, _ := newSim(t, nil, func(time.Time) float64 { return 1 })
		for _, f := range []sim.Fault{sim.FaultNACK, sim.FaultDisconnect} {
			bus.SetFault(0x49, f)
			v, err := d.Read()
			if !errors.Is(err, sim.ErrNACK) || v != 0 || !strings.HasPrefix(err.Error(), "ads1115 at 0x49: start a conversion: sim: i2c: ") {
				t.Errorf("Read with %s = %v, %v; want 0, a wrapped ErrNACK naming ads1115 at 0x49", f, v, err)
			}
		}
		bus.SetFault(0x49, sim.FaultNone)
		if v, err := d.Read(); err != nil || v != 1 {
			t.Errorf("Read after the fault = %v, %v; want 1, nil", v, err)
		}
	})
}

func TestHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, bus, m := newSim(t, nil, func(time.Time) float64 { return 1 })
		// A chip left converting continuously by someone else.
		if err := bus.Tx(0x49, []byte{0x01, 0x42, 0x83}, nil); err != nil {
			t.Fatal(err)
		}
		bus.SetFault(0x49, sim.FaultNACK)
		if err := d.Halt(); err == nil || !strings.HasPrefix(err.Error(), "ads1115 at 0x49: halt: ") {
			t.Errorf("Halt on a NACKing chip = %v", err)
		}
		bus.SetFault(0x49, sim.FaultNone)
		if err := d.Halt(); err != nil {
			t.Fatalf("Halt: %v", err)
		}
		time.Sleep(d.ConversionTime()) // the conversion in progress ends
		if got := m.Register(0x01); !m.PoweredDown() || got != 0xC383 {
			t.Errorf("after Halt: powered down %v, Config 0x%04X; want true, 0xC383", m.PoweredDown(), got)
		}
		n := m.Conversions()
		if err := d.Halt(); err != nil {
			t.Errorf("second Halt: %v", err)
		}
		if _, err := d.Read(); !errors.Is(err, ads1115.ErrHalted) {
			t.Errorf("Read after Halt = %v, want ErrHalted", err)
		}
		time.Sleep(time.Second)
		if got := m.Conversions(); got != n {
			t.Errorf("%d conversions in the second after Halt, want 0", got-n)
		}
	})
}

// fuzzBus answers as an ADS1115 until live, then answers every read with
// the next bytes of data (zeros once it runs out).
type fuzzBus struct {
	cfg  [2]byte
	data []byte
	live bool
}

func (b *fuzzBus) String() string                  { return "fuzz" }
func (b *fuzzBus) SetSpeed(physic.Frequency) error { return nil }

func (b *fuzzBus) Tx(_ uint16, w, r []byte) error {
	if !b.live {
		if len(w) == 3 {
			b.cfg = [2]byte{w[1] | 0x80, w[2]}
		}
		copy(r, b.cfg[:])
		return nil
	}
	for i := range r {
		r[i] = 0
		if len(b.data) > 0 {
			r[i], b.data = b.data[0], b.data[1:]
		}
	}
	return nil
}

// Any bytes from the bus give either a value under full scale and no error,
// a saturation with the value at full scale, a conversion done too soon or a
// timeout: never a panic.
func FuzzRead(f *testing.F) {
	f.Add([]byte{0x43, 0x83, 0xC3, 0x83, 0x30, 0x00})
	f.Add([]byte{0xC3, 0x83, 0x7F, 0xFF})
	f.Add([]byte{0xFF, 0xFF, 0x80, 0x00})
	f.Add([]byte{0x00})
	f.Add([]byte{0xC3, 0x83, 0x80, 0x01}) // -32767: one code above full scale
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			bus := &fuzzBus{}
			d, err := ads1115.New(bus, nil)
			if err != nil {
				t.Fatal(err)
			}
			bus.data, bus.live = data, true
			v, err := d.Read()
			switch {
			case err == nil:
				if v <= -4.096 || v >= 4.096-d.LSB() || math.Round(v/d.LSB())*d.LSB() != v {
					t.Fatalf("Read = %v with no error: at full scale or not a whole code", v)
				}
			case errors.Is(err, ads1115.ErrSaturated):
				if v != 4.096-d.LSB() && v != -4.096 {
					t.Fatalf("Read = %v, %v", v, err)
				}
			case strings.HasPrefix(err.Error(), "ads1115 at 0x49: conversion not done after 15.625ms"),
				errors.Is(err, ads1115.ErrDoneTooSoon):
				if v != 0 {
					t.Fatalf("Read = %v, %v", v, err)
				}
			default:
				t.Fatalf("Read = %v, %v", v, err)
			}
		})
	})
}

// New accepts a chip only when both read-backs are the configurations it
// wrote (OS aside); any other bytes are an error, never a panic.
func FuzzNew(f *testing.F) {
	f.Add([]byte{0xBF, 0x1D, 0xC3, 0x83})
	f.Add([]byte{0x3F, 0x1D, 0x43, 0x83})
	f.Add([]byte{0x0F, 0x1C, 0x01, 0x17})
	f.Add([]byte{0xBF})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...)
		d, err := ads1115.New(&fuzzBus{data: data, live: true}, nil)
		if err != nil {
			if d != nil || !strings.HasPrefix(err.Error(), "ads1115 at 0x49: ") {
				t.Fatalf("New on % X = %v, %v", in, d, err)
			}
			return
		}
		probe, cfg := uint16(in[0])<<8|uint16(in[1]), uint16(in[2])<<8|uint16(in[3])
		if probe&0x7FFF != 0x3F1D || cfg&0x7FFF != defaultCfg {
			t.Fatalf("New accepted read-backs %#04x, %#04x", probe, cfg)
		}
	})
}

// FullScaleFor picks the narrowest range strictly above the divider's
// supply, and 6.144 V above 4.096 V.
func TestFullScaleForPicksTheNarrowestRangeAboveTheSupply(t *testing.T) {
	for _, c := range []struct{ v, want float64 }{
		{0.2, 0.256}, {0.256, 0.512}, {1.8, 2.048}, {2.048, 4.096}, {3.3, 4.096}, {4.096, 6.144}, {5, 6.144}, {12, 6.144},
	} {
		if got := ads1115.FullScaleFor(c.v); got != c.want {
			t.Errorf("ads1115.FullScaleFor(%g) = %g, want %g", c.v, got, c.want)
		}
	}
}
