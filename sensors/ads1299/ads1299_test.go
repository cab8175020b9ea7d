package ads1299_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a driver on the simulator's ADS1299, with the model's clock running.
type rig struct {
	dev   *ads1299.Dev
	chip  *sim.ADS1299
	port  *sim.SPIPort
	drdy  *sim.Line
	stop  context.CancelFunc
	wg    sync.WaitGroup
	start time.Time
}

// newRig starts a model measuring signal and a driver on it with o; call
// it inside a synctest bubble and stop the rig before the bubble ends.
func newRig(t *testing.T, signal func(time.Time, int) float64, o *ads1299.Opts) *rig {
	t.Helper()
	r := &rig{drdy: sim.NewLine("DRDY", 25), start: time.Now()}
	r.chip = sim.NewADS1299(signal, r.drdy)
	r.port = sim.NewSPIPort("sim-spi", r.chip)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = func() { cancel(); r.wg.Wait() }
	r.wg.Go(func() { _ = r.chip.Run(ctx) })
	d, err := ads1299.New(r.port, r.drdy, o)
	if err != nil {
		r.stop()
		t.Fatalf("New: %v", err)
	}
	r.dev = d
	return r
}

func zero(time.Time, int) float64 { return 0 }

func TestNewWritesConfiguration(t *testing.T) {
	tests := []struct {
		name                  string
		opts                  *ads1299.Opts
		config1               byte
		chset                 [8]byte
		loffP, loffN, config4 byte
		rate, channels        int
	}{
		{"nil is DefaultOpts", nil, 0x95,
			[8]byte{0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60}, 0xFF, 0xFF, 0x02, 500, 8},
		{"250 sps, gain 1, 3 channels, no lead-off", &ads1299.Opts{RateHz: 250, Gain: 1, Channels: 3, Speed: 1 * physic.MegaHertz},
			0x96, [8]byte{0x00, 0x00, 0x00, 0x81, 0x81, 0x81, 0x81, 0x81}, 0x00, 0x00, 0x00, 250, 3},
		{"500 sps, gain 6, 5 channels, lead-off", &ads1299.Opts{RateHz: 500, Gain: 6, Channels: 5, Speed: 4 * physic.MegaHertz, LeadOff: true},
			0x95, [8]byte{0x30, 0x30, 0x30, 0x30, 0x30, 0x81, 0x81, 0x81}, 0x1F, 0x1F, 0x02, 500, 5},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, zero, tt.opts)
			defer r.stop()
			m := r.chip
			if got := m.Register(0x01); got != tt.config1 {
				t.Errorf("%s: CONFIG1 = %#02x, want %#02x", tt.name, got, tt.config1)
			}
			if got := [3]byte{m.Register(0x02), m.Register(0x03), m.Register(0x04)}; got != [3]byte{0xC0, 0xEC, 0x00} {
				t.Errorf("%s: CONFIG2, CONFIG3, LOFF = % X, want C0 EC 00", tt.name, got)
			}
			for i, want := range tt.chset {
				if got := m.Register(byte(0x05 + i)); got != want {
					t.Errorf("%s: CH%dSET = %#02x, want %#02x", tt.name, i+1, got, want)
				}
			}
			if got := [3]byte{m.Register(0x0F), m.Register(0x10), m.Register(0x17)}; got != [3]byte{tt.loffP, tt.loffN, tt.config4} {
				t.Errorf("%s: LOFF_SENSP, LOFF_SENSN, CONFIG4 = % X, want % X", tt.name, got, [3]byte{tt.loffP, tt.loffN, tt.config4})
			}
			if !m.Converting() || !m.ReadingContinuously() || m.Standby() {
				t.Errorf("%s: converting %v, RDATAC %v, standby %v; want true, true, false", tt.name, m.Converting(), m.ReadingContinuously(), m.Standby())
			}
			if got := r.port.Mode(); got != spi.Mode1 {
				t.Errorf("%s: SPI mode %v, want Mode1", tt.name, got)
			}
			if r.dev.Rate() != tt.rate || r.dev.Channels() != tt.channels {
				t.Errorf("%s: Rate() = %d, Channels() = %d, want %d, %d", tt.name, r.dev.Rate(), r.dev.Channels(), tt.rate, tt.channels)
			}
			if got, want := r.dev.String(), "ADS1299{sim-spi, DRDY DRDY(25)}"; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	def := ads1299.DefaultOpts()
	with := func(f func(*ads1299.Opts)) *ads1299.Opts { o := def; f(&o); return &o }
	tests := []struct {
		opts *ads1299.Opts
		want string
	}{
		{with(func(o *ads1299.Opts) { o.RateHz = 1000 }), "ads1299: invalid RateHz 1000 (want 250 or 500)"},
		{with(func(o *ads1299.Opts) { o.Gain = 3 }), "ads1299: invalid Gain 3 (want 1, 2, 4, 6, 8, 12 or 24)"},
		{with(func(o *ads1299.Opts) { o.Channels = 0 }), "ads1299: invalid Channels 0 (want 1 to 8)"},
		{with(func(o *ads1299.Opts) { o.Channels = 9 }), "ads1299: invalid Channels 9 (want 1 to 8)"},
		{with(func(o *ads1299.Opts) { o.Speed = 8 * physic.MegaHertz }), "ads1299: invalid Speed 8MHz (want 108.106kHz to 4MHz at 500 sps)"},
		{with(func(o *ads1299.Opts) { o.Speed = 100 * physic.KiloHertz }), "ads1299: invalid Speed 100kHz (want 108.106kHz to 4MHz at 500 sps)"},
		{with(func(o *ads1299.Opts) { o.RateHz, o.Speed = 250, 50*physic.KiloHertz }), "ads1299: invalid Speed 50kHz (want 54.027kHz to 4MHz at 250 sps)"},
	}
	for _, tt := range tests {
		chip := sim.NewADS1299(zero, sim.NewLine("DRDY", 25))
		port := sim.NewSPIPort("sim-spi", chip)
		_, err := ads1299.New(port, sim.NewLine("DRDY", 25), tt.opts)
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%+v) = %v, want %q", *tt.opts, err, tt.want)
		}
		// Nothing was sent: the port is not connected and the chip keeps
		// its reset values.
		if port.Mode() != 0 || port.Speed() != 0 || chip.Register(0x01) != 0x96 {
			t.Errorf("New(%+v) touched the port: mode %v, speed %v, CONFIG1 %#x", *tt.opts, port.Mode(), port.Speed(), chip.Register(0x01))
		}
	}
}

// idChip answers RREG ID with id and nothing else.
type idChip struct{ id byte }

func (c idChip) Tx(w, r []byte) error {
	if len(w) > 1 && w[0] == 0x20 && len(r) > 2 {
		r[2] = c.id
	}
	return nil
}

func TestNewChecksID(t *testing.T) {
	tests := []struct {
		id   byte
		want string
	}{
		{0x3C, "ads1299: ID 0x3C, want 0x3E (ID & 0x1F == 0x1E): an ADS1299-4, a 4-channel part"},
		{0x3D, "ads1299: ID 0x3D, want 0x3E (ID & 0x1F == 0x1E): an ADS1299-6, a 6-channel part"},
		{0x92, "ads1299: ID 0x92, want 0x3E (ID & 0x1F == 0x1E): not an ADS1299"},
		{0x00, "ads1299: ID 0x00, want 0x3E (ID & 0x1F == 0x1E): no chip answers (MISO held low)"},
		{0xFF, "ads1299: ID 0xFF, want 0x3E (ID & 0x1F == 0x1E): no chip answers (MISO held high)"},
	}
	for _, tt := range tests {
		_, err := ads1299.New(sim.NewSPIPort("sim-spi", idChip{tt.id}), sim.NewLine("DRDY", 25), nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ID %#02x: New = %v, want %q", tt.id, err, tt.want)
		}
	}
}

// dropWrite is a chip that loses WREG writes to one register, as a chip
// with a flaky MOSI would.
type dropWrite struct {
	*sim.ADS1299
	reg byte
}

func (c dropWrite) Tx(w, r []byte) error {
	if len(w) > 2 && w[0]&0xE0 == 0x40 {
		start, n := w[0]&0x1F, int(w[1])+1
		if c.reg >= start && int(c.reg) < int(start)+n {
			// Split the write around the register.
			k := int(c.reg - start)
			if k > 0 {
				if err := c.ADS1299.Tx(append([]byte{w[0], byte(k - 1)}, w[2:2+k]...), nil); err != nil {
					return err
				}
			}
			if rest := n - k - 1; rest > 0 {
				return c.ADS1299.Tx(append([]byte{0x40 | (c.reg + 1), byte(rest - 1)}, w[3+k:2+n]...), nil)
			}
			return nil
		}
	}
	return c.ADS1299.Tx(w, r)
}

func TestNewFailsWhenConfigurationDoesNotTake(t *testing.T) {
	tests := []struct {
		reg  byte
		want string
	}{
		{0x07, "ads1299: CH3SET reads 0x61 after writing 0x60: the chip did not take its configuration"},
		{0x01, "ads1299: CONFIG1 reads 0x96 after writing 0x95: the chip did not take its configuration"},
		{0x17, "ads1299: CONFIG4 reads 0x00 after writing 0x02: the chip did not take its configuration"},
	}
	for _, tt := range tests {
		drdy := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(zero, drdy)
		_, err := ads1299.New(sim.NewSPIPort("sim-spi", dropWrite{chip, tt.reg}), drdy, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("dropping writes to %#02x: New = %v, want %q", tt.reg, err, tt.want)
		}
		if chip.Converting() {
			t.Errorf("dropping writes to %#02x: the chip was started after a failed configuration", tt.reg)
		}
	}
}

// signals gives each channel its own waveform, positive and negative, some
// near the full scale at gain 24 (±187 500 µV).
func signals(t0 time.Time) func(time.Time, int) float64 {
	return func(t time.Time, ch int) float64 {
		s := t.Sub(t0).Seconds()
		switch ch {
		case 1:
			return 50 * math.Sin(2*math.Pi*10*s)
		case 2:
			return -1234.5678
		case 3:
			return 187000 * math.Sin(2*math.Pi*3*s)
		case 4:
			return 0.01 // below one LSB
		}
		return float64(ch) * 100 * math.Cos(2*math.Pi*float64(ch)*s)
	}
}

func TestReadDecodesTheModelsMicrovolts(t *testing.T) {
	for _, gain := range []int{1, 24} {
		synctest.Test(t, func(t *testing.T) {
			o := ads1299.DefaultOpts()
			o.Gain = gain
			sig := signals(time.Now())
			r := newRig(t, sig, &o)
			defer r.stop()
			lsb := 2 * 4.5 / float64(gain) / (1 << 24) * 1e6
			var f ads1299.Frame
			prev := time.Time{}
			for i := range 200 {
				if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
					t.Fatalf("gain %d: Read %d: %v", gain, i, err)
				}
				// In the bubble, Read returns at the conversion's instant.
				now := time.Now()
				if _, at := r.chip.Conversions(); !at.Equal(now) {
					t.Fatalf("gain %d: frame %d read at %v, newest conversion at %v", gain, i, now, at)
				}
				if !prev.IsZero() && now.Sub(prev) != 2*time.Millisecond {
					t.Errorf("gain %d: frame %d %v after the previous, want 2ms", gain, i, now.Sub(prev))
				}
				prev = now
				if f.Skipped != 0 || f.LeadOffP != 0 || f.LeadOffN != 0 {
					t.Errorf("gain %d: frame %d: Skipped %d, lead-off %#x %#x, want 0", gain, i, f.Skipped, f.LeadOffP, f.LeadOffN)
				}
				for ch := 1; ch <= 8; ch++ {
					want := min(max(sig(now, ch), -4.5e6/float64(gain)), 4.5e6/float64(gain)-lsb)
					if got := r.dev.Microvolts(f.Raw[ch-1]); math.Abs(got-want) > lsb/2+1e-9 {
						t.Errorf("gain %d: frame %d channel %d = %.6f µV, want %.6f ± %.6f", gain, i, ch, got, want, lsb/2)
					}
				}
			}
		})
	}
}

func TestMicrovoltsScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, zero, nil)
		defer r.stop()
		// The datasheet's full scale at gain 24: ±187.5 mV over ±2^23 counts.
		if got, want := r.dev.Microvolts(1<<23-1), 187500*(1-1.0/(1<<23)); math.Abs(got-want) > 1e-6 {
			t.Errorf("Microvolts(0x7FFFFF) = %v, want %v", got, want)
		}
		if got := r.dev.Microvolts(-1 << 23); got != -187500 {
			t.Errorf("Microvolts(-0x800000) = %v, want -187500", got)
		}
		if got := r.dev.Microvolts(1); math.Abs(got-0.02235174) > 1e-8 {
			t.Errorf("Microvolts(1) = %v, want 0.02235174", got)
		}
	})
}

func TestReadLeadOff(t *testing.T) {
	tests := []struct {
		name     string
		leadOff  bool
		channels int
		off      []int
		statP    uint8
		devMask  uint8
	}{
		{"detection on", true, 8, []int{3}, 0x04, 0x04},
		{"two channels", true, 8, []int{1, 8}, 0x81, 0x81},
		{"powered-down channel not reported", true, 4, []int{2, 6}, 0x02, 0x02},
		{"detection off", false, 8, []int{3}, 0x00, 0x00},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			o := ads1299.DefaultOpts()
			o.LeadOff, o.Channels = tt.leadOff, tt.channels
			r := newRig(t, func(time.Time, int) float64 { return 10 }, &o)
			defer r.stop()
			var f ads1299.Frame
			if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if f.LeadOffP != 0 || r.dev.LeadOff(&f) != 0 {
				t.Errorf("%s: with every electrode on: LeadOffP %#x, LeadOff() %#x, want 0", tt.name, f.LeadOffP, r.dev.LeadOff(&f))
			}
			for _, ch := range tt.off {
				if err := r.chip.SetLeadOff(ch, true); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if f.LeadOffP != tt.statP || f.LeadOffN != 0 || r.dev.LeadOff(&f) != tt.devMask {
				t.Errorf("%s: LeadOffP %#x, LeadOffN %#x, LeadOff() %#x; want %#x, 0, %#x", tt.name, f.LeadOffP, f.LeadOffN, r.dev.LeadOff(&f), tt.statP, tt.devMask)
			}
			for _, ch := range tt.off {
				want := int32(0x7FFFFF)
				if ch > tt.channels {
					want = 0 // powered down
				}
				if f.Raw[ch-1] != want {
					t.Errorf("%s: channel %d with its electrode off reads %#x, want %#x", tt.name, ch, f.Raw[ch-1], want)
				}
			}
			for _, ch := range tt.off {
				_ = r.chip.SetLeadOff(ch, false)
			}
			if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if f.LeadOffP != 0 || ads1299.Saturated(f.Raw[0]) {
				t.Errorf("%s: electrodes back on: LeadOffP %#x, channel 1 %#x", tt.name, f.LeadOffP, f.Raw[0])
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, zero, nil)
		defer r.stop()
		if err := r.chip.SetLeadOff(9, true); err == nil || err.Error() != "sim: ads1299: channel 9, want 1 to 8" {
			t.Errorf("SetLeadOff(9) = %v", err)
		}
	})
}

func TestReadSaturation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sig := func(_ time.Time, ch int) float64 {
			switch ch {
			case 1:
				return 200000 // past +187.5 mV
			case 2:
				return -200000
			case 3:
				return 187000
			}
			return 0
		}
		r := newRig(t, sig, nil)
		defer r.stop()
		if err := r.chip.SetSaturated(4, true); err != nil {
			t.Fatal(err)
		}
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		want := [4]int32{0x7FFFFF, -0x800000, int32(math.Round(187000 / (9e6 / 24 / (1 << 24)))), 0x7FFFFF}
		sat := [4]bool{true, true, false, true}
		for i := range want {
			if f.Raw[i] != want[i] || ads1299.Saturated(f.Raw[i]) != sat[i] {
				t.Errorf("channel %d = %d (saturated %v), want %d (%v)", i+1, f.Raw[i], ads1299.Saturated(f.Raw[i]), want[i], sat[i])
			}
		}
		if f.LeadOffP != 0 {
			t.Errorf("a saturated channel set lead-off bits %#x", f.LeadOffP)
		}
	})
}

func TestReadLateGetsTheNewestConversion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		// The signal tells the conversion's instant: 1 µV per ms.
		r := newRig(t, func(t time.Time, _ int) float64 { return float64(t.Sub(t0).Milliseconds()) }, nil)
		defer r.stop()
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		first := math.Round(r.dev.Microvolts(f.Raw[0]))
		time.Sleep(7*time.Millisecond + 500*time.Microsecond) // 3 conversions come meanwhile
		if got := r.chip.Unread(); got != 3 {
			t.Errorf("%d conversions unread after 7.5 ms, want 3", got)
		}
		before := time.Now()
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if time.Since(before) != 0 {
			t.Errorf("a Read with a conversion waiting took %v, want 0", time.Since(before))
		}
		if got := math.Round(r.dev.Microvolts(f.Raw[0])); got != first+6 || f.Skipped != 2 {
			// The newest conversion, 3 periods after the one read
			// before: the 2 between were overwritten.
			t.Errorf("late read: conversion at %v ms (skipped %d), want %v ms (skipped 2)", got, f.Skipped, first+6)
		}
		// The queued edges of the overwritten conversions are not frames:
		// the next Read waits for the next conversion.
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got := math.Round(r.dev.Microvolts(f.Raw[0])); got != first+8 || f.Skipped != 0 {
			t.Errorf("next read: conversion at %v ms (skipped %d), want %v ms (skipped 0)", got, f.Skipped, first+8)
		}
		if waited := time.Since(before); waited != 500*time.Microsecond {
			t.Errorf("the next Read returned after %v, want 500µs (at the next conversion)", waited)
		}
	})
}

func TestReadSkippedCountsOverwrittenConversions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		r := newRig(t, func(t time.Time, _ int) float64 { return float64(t.Sub(t0).Milliseconds()) }, nil)
		defer r.stop()
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		prev := math.Round(r.dev.Microvolts(f.Raw[0]))
		// A reader busy for k periods and a little more: it reads the
		// newest conversion 0.1 ms after it came, k−1 were overwritten.
		for _, k := range []int{1, 2, 5, 16, 40} {
			time.Sleep(time.Duration(k)*2*time.Millisecond + 100*time.Microsecond)
			if err := r.dev.Read(&f, 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			got := math.Round(r.dev.Microvolts(f.Raw[0]))
			if got-prev != float64(2*k) || f.Skipped != k-1 {
				t.Errorf("busy for %d periods: frame %v ms after the previous, Skipped %d; want %d ms, %d", k, got-prev, f.Skipped, 2*k, k-1)
			}
			prev = got
		}
	})
}

func TestReadFaults(t *testing.T) {
	tests := []struct {
		fault   sim.Fault
		badStat bool
		want    string
	}{
		{sim.FaultNACK, false, "ads1299: read frame: sim: spi: sim-spi: device nack"},
		{sim.FaultDisconnect, false, "ads1299: read frame: sim: spi: sim-spi: device disconnect"},
		{sim.FaultStuck, true, "ads1299: bad status word 0x000000 (want 0xC in its top 4 bits)"},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, func(time.Time, int) float64 { return 100 }, nil)
			defer r.stop()
			f := ads1299.Frame{Raw: [8]int32{42}}
			r.port.SetFault(tt.fault)
			err := r.dev.Read(&f, 10*time.Millisecond)
			if err == nil || err.Error() != tt.want || errors.Is(err, ads1299.ErrBadStatus) != tt.badStat {
				t.Errorf("%s: Read = %v, want %q (ErrBadStatus %v)", tt.fault, err, tt.want, tt.badStat)
			}
			if f.Raw[0] != 42 {
				t.Errorf("%s: a failed Read changed the frame", tt.fault)
			}
			r.port.SetFault(sim.FaultNone)
			if err := r.dev.Read(&f, 10*time.Millisecond); err != nil || r.dev.Microvolts(f.Raw[0]) < 99.9 {
				t.Errorf("%s cleared: Read = %v, channel 1 %v µV, want 100", tt.fault, err, r.dev.Microvolts(f.Raw[0]))
			}
		})
	}
}

// floatable is a chip whose MISO can float high (every byte reads 0xFF),
// as when its supply fails but the pull-up on MISO does not.
type floatable struct {
	*sim.ADS1299
	float *atomic.Bool
}

func (c floatable) Tx(w, r []byte) error {
	if c.float.Load() {
		for i := range r {
			r[i] = 0xFF
		}
		return nil
	}
	return c.ADS1299.Tx(w, r)
}

func TestReadFloatingMISO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drdy := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(zero, drdy)
		var float atomic.Bool
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = chip.Run(ctx) })
		defer func() { cancel(); wg.Wait() }()
		d, err := ads1299.New(sim.NewSPIPort("sim-spi", floatable{chip, &float}), drdy, nil)
		if err != nil {
			t.Fatal(err)
		}
		float.Store(true)
		var f ads1299.Frame
		err = d.Read(&f, 10*time.Millisecond)
		if want := "ads1299: bad status word 0xFFFFFF (want 0xC in its top 4 bits)"; err == nil || err.Error() != want || !errors.Is(err, ads1299.ErrBadStatus) {
			t.Errorf("MISO floating high: Read = %v, want %q", err, want)
		}
		float.Store(false)
		if err := d.Read(&f, 10*time.Millisecond); err != nil {
			t.Errorf("MISO back: Read = %v", err)
		}
	})
}

func TestReadNoDRDY(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, zero, nil)
		defer r.stop()
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		r.chip.SetPowered(false)
		before := time.Now()
		err := r.dev.Read(&f, 50*time.Millisecond)
		if want := "ads1299: no DRDY falling edge: the chip is not converting within 50ms on DRDY(25)"; err == nil || err.Error() != want || !errors.Is(err, ads1299.ErrNoDRDY) {
			t.Errorf("unpowered: Read = %v, want %q", err, want)
		}
		if waited := time.Since(before); waited != 50*time.Millisecond {
			t.Errorf("Read gave up after %v, want 50ms", waited)
		}
		// Power comes back: the chip is reset and not converting until
		// configured again.
		r.chip.SetPowered(true)
		if err := r.dev.Read(&f, 50*time.Millisecond); !errors.Is(err, ads1299.ErrNoDRDY) {
			t.Errorf("after a power-on reset: Read = %v, want ErrNoDRDY", err)
		}
		// Restart configures it again and the stream resumes.
		if err := r.dev.Restart(); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		if got := r.chip.Register(0x01); got != 0x95 || !r.chip.Converting() {
			t.Errorf("after Restart: CONFIG1 %#x, converting %v; want 0x95, true", got, r.chip.Converting())
		}
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil || f.Skipped != 0 {
			t.Errorf("after Restart: Read = %v, Skipped %d; want nil, 0", err, f.Skipped)
		}
		if err := r.dev.Read(&f, 0); err == nil || err.Error() != "ads1299: Read timeout 0s, want > 0" {
			t.Errorf("Read(timeout 0) = %v", err)
		}
	})
}

func TestHaltTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, zero, nil)
		defer r.stop()
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := r.dev.Halt(); err != nil {
			t.Fatalf("Halt: %v", err)
		}
		if r.chip.Converting() || r.chip.ReadingContinuously() || !r.chip.Standby() {
			t.Errorf("after Halt: converting %v, RDATAC %v, standby %v; want false, false, true", r.chip.Converting(), r.chip.ReadingContinuously(), r.chip.Standby())
		}
		// A second Halt sends nothing: it succeeds on a dead bus.
		r.port.SetFault(sim.FaultNACK)
		if err := r.dev.Halt(); err != nil {
			t.Errorf("second Halt: %v", err)
		}
		if err := r.dev.Read(&f, 10*time.Millisecond); !errors.Is(err, ads1299.ErrHalted) {
			t.Errorf("Read after Halt = %v, want ErrHalted", err)
		}
		// A Restart that fails leaves it halted; one that succeeds streams.
		if err := r.dev.Restart(); err == nil || !strings.HasPrefix(err.Error(), "ads1299: WAKEUP: ") {
			t.Errorf("Restart on a NACKing bus = %v, want a WAKEUP error", err)
		}
		if err := r.dev.Read(&f, 10*time.Millisecond); !errors.Is(err, ads1299.ErrHalted) {
			t.Errorf("Read after a failed Restart = %v, want ErrHalted", err)
		}
		r.port.SetFault(sim.FaultNone)
		if err := r.dev.Restart(); err != nil || r.chip.Standby() || !r.chip.Converting() {
			t.Errorf("Restart = %v, standby %v, converting %v", err, r.chip.Standby(), r.chip.Converting())
		}
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Errorf("Read after Restart = %v", err)
		}
	})
}

func TestHaltFailureCanBeRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, zero, nil)
		defer r.stop()
		r.port.SetFault(sim.FaultNACK)
		if err := r.dev.Halt(); err == nil || !strings.HasPrefix(err.Error(), "ads1299: halt: SDATAC: ") {
			t.Errorf("Halt on a NACKing bus = %v, want an SDATAC error", err)
		}
		r.port.SetFault(sim.FaultNone)
		if err := r.dev.Halt(); err != nil || !r.chip.Standby() {
			t.Errorf("Halt retried = %v, standby %v", err, r.chip.Standby())
		}
	})
}
