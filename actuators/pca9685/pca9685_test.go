package pca9685

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a PCA9685 model at 0x40 on a simulated bus, its OE on a line.
type rig struct {
	bus  *sim.I2CBus
	chip *sim.PCA9685
	oe   *sim.Line
}

func newRig(t testing.TB) *rig {
	t.Helper()
	r := &rig{bus: sim.NewI2CBus("i2c-sim"), oe: sim.NewLine("GPIO17", 17)}
	r.chip = sim.NewPCA9685(r.oe)
	if err := r.bus.Attach(DefaultAddr, r.chip); err != nil {
		t.Fatal(err)
	}
	return r
}

// open runs New on the rig with opts (DefaultOpts and the rig's OE when
// nil).
func (r *rig) open(t testing.TB, opts *Opts) *Dev {
	t.Helper()
	if opts == nil {
		o := DefaultOpts
		o.OE = r.oe
		opts = &o
	}
	d, err := New(r.bus, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// channel returns channel n's four registers in the model.
func (r *rig) channel(n int) [4]byte {
	var b [4]byte
	for i := range b {
		b[i] = r.chip.Register(byte(regLED0 + 4*n + i))
	}
	return b
}

func repeat(v float64) []float64 { return slices.Repeat([]float64{v}, Channels) }

// The prescale of each frequency, worked out by hand from
// round(25 MHz / (4096 f)) − 1.
func TestPrescale(t *testing.T) {
	tests := []struct {
		f    physic.Frequency
		want byte
	}{
		{24 * physic.Hertz, 253},         // 254.313 → 254
		{50 * physic.Hertz, 121},         // 122.070 → 122
		{60 * physic.Hertz, 101},         // 101.725 → 102
		{100 * physic.Hertz, 60},         // 61.035 → 61
		{200 * physic.Hertz, 30},         // 30.518 → 31
		{400 * physic.Hertz, 14},         // 15.259 → 15
		{488281250, 12},                  // 488.28125 Hz: exactly 12.5, rounded up → 13
		{500 * physic.Hertz, 11},         // 12.207 → 12
		{physic.KiloHertz, 5},            // 6.104 → 6
		{1220703125, 4},                  // 1220.703125 Hz: exactly 5
		{1526 * physic.Hertz, 3},         // 3.9997 → 4
		{1500 * physic.Hertz, 3},         // 4.069 → 4
		{1360 * physic.Hertz, 3},         // 4.488 → 4
		{1356 * physic.Hertz, 4},         // 4.501 → 5
		{24414 * physic.MilliHertz, 249}, // 250.0006 → 250
	}
	for _, tt := range tests {
		if got, err := prescale(tt.f); got != tt.want || err != nil {
			t.Errorf("prescale(%s) = %d, %v; want %d, nil", tt.f, got, err, tt.want)
		}
	}
}

func TestNewRefusesAFrequencyOutOfRangeBeforeAnyTraffic(t *testing.T) {
	for _, f := range []physic.Frequency{0, -physic.KiloHertz, 24*physic.Hertz - 1, 23 * physic.Hertz, 1527 * physic.Hertz, 1526*physic.Hertz + 1, physic.MegaHertz} {
		r := newRig(t)
		_, err := New(r.bus, &Opts{Addr: DefaultAddr, Frequency: f, OE: r.oe})
		if err == nil || !strings.Contains(err.Error(), "outside 24Hz to 1.526kHz") {
			t.Errorf("New at %s: %v; want an error naming the range 24Hz to 1.526kHz", f, err)
		}
		if n := r.bus.Transactions(); n != 0 || r.oe.Function() != "In/Low" {
			t.Errorf("New at %s: %d transactions, OE %s; want none, untouched", f, n, r.oe.Function())
		}
	}
}

func TestNewRefusesAnInvalidAddress(t *testing.T) {
	for _, a := range []uint16{0, 0x3F, 0x70, 0x80} {
		r := newRig(t)
		_, err := New(r.bus, &Opts{Addr: a, Frequency: physic.KiloHertz})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("invalid Addr 0x%02X", a)) || r.bus.Transactions() != 0 {
			t.Errorf("New at 0x%02X: %v after %d transactions; want an invalid Addr error, none", a, err, r.bus.Transactions())
		}
	}
}

// New in a bubble, where time moves only when every goroutine waits: the
// model counts a RESTART written sooner than 500 µs after waking, so no
// protocol error proves the driver waited.
func TestNewConfiguresTheChip(t *testing.T) {
	tests := []struct {
		name            string
		invert, drain   bool
		f               physic.Frequency
		mode2, prescale byte
	}{
		{"default", false, false, physic.KiloHertz, 0x04, 5},
		{"inverted", true, false, 200 * physic.Hertz, 0x15, 30},
		{"open drain", false, true, 1526 * physic.Hertz, 0x00, 3},
		{"inverted open drain", true, true, 24 * physic.Hertz, 0x11, 253},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t)
			start := time.Now()
			d := r.open(t, &Opts{Addr: DefaultAddr, Frequency: tt.f, Invert: tt.invert, OpenDrain: tt.drain, OE: r.oe})
			if took := time.Since(start); took != oscillatorStart {
				t.Errorf("%s: New took %v; want 500µs (the oscillator's start)", tt.name, took)
			}
			got := []byte{r.chip.Register(regMode1), r.chip.Register(regMode2), r.chip.Register(regPreScale)}
			if want := []byte{0x20, tt.mode2, tt.prescale}; !slices.Equal(got, want) {
				t.Errorf("%s: MODE1, MODE2, PRE_SCALE = % X; want % X", tt.name, got, want)
			}
			if r.chip.ProtocolErrors() != 0 || r.chip.Asleep() {
				t.Errorf("%s: %d protocol errors, asleep %t; want 0, false", tt.name, r.chip.ProtocolErrors(), r.chip.Asleep())
			}
			if d.Frequency() != r.chip.Frequency() || r.oe.Read() != gpio.Low {
				t.Errorf("%s: Frequency() %s, the chip's %s, OE %s; want equal, OE low", tt.name, d.Frequency(), r.chip.Frequency(), r.oe.Read())
			}
			if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
				t.Errorf("%s: Duties() after New = %v; want all 0", tt.name, got)
			}
		})
	}
}

// logBus and logPin record, in one log, every I²C transaction and every
// OE level written, in the order they happen.
type logBus struct {
	i2c.Bus
	log *[]string
}

func (b logBus) Tx(addr uint16, w, r []byte) error {
	err := b.Bus.Tx(addr, w, r)
	*b.log = append(*b.log, fmt.Sprintf("w % X r %d", w, len(r)))
	return err
}

type logPin struct {
	*sim.Line
	log *[]string
}

func (p logPin) Out(l gpio.Level) error {
	*p.log = append(*p.log, "OE "+l.String())
	return p.Line.Out(l)
}

// A chip left by a previous run awake, every channel full on: New drives
// OE high, turns them off, sleeps, sets the prescale, wakes, restarts with
// AI, reads back, then lowers OE, in that order.
func TestNewTurnsOffWhatAPreviousRunLeftInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for _, w := range [][]byte{{regMode1, 0x20}, {0xFA, 0, 0x10, 0, 0}} {
			if err := r.bus.Tx(DefaultAddr, w, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := r.chip.Duties(); !slices.Equal(got, repeat(1)) {
			t.Fatalf("the previous run's chip: Duties() = %v; want all 1", got)
		}
		var log []string
		_, err := New(logBus{r.bus, &log}, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: logPin{r.oe, &log}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"OE High",
			"w FD 10 r 0", // ALL_LED_OFF_H full off
			"w 00 10 r 0", // sleep
			"w FE 05 r 0", // PRE_SCALE
			"w 01 04 r 0", // MODE2
			"w 00 00 r 0", // wake
			"w 00 A0 r 0", // RESTART and AI, 500 µs later
			"w 00 r 2",    // MODE1 and MODE2 back
			"w FE r 1",    // PRE_SCALE back
			"OE Low",
		}
		if !slices.Equal(log, want) {
			t.Errorf("New did\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
		}
		if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.chip.ProtocolErrors() != 0 {
			t.Errorf("after New: Duties() = %v, %d protocol errors; want all 0, none", got, r.chip.ProtocolErrors())
		}
	})
}

// answerAll is a device that takes every write and answers every read
// byte with b: a bus of pull-ups and a confused chip, or another chip.
type answerAll byte

func (a answerAll) Tx(w, r []byte) error {
	for i := range r {
		r[i] = byte(a)
	}
	return nil
}

// The chip has no identification register: the read-back is what refuses
// whatever else answers at the address, and OE stays high.
func TestNewRefusesAChipThatDoesNotHoldWhatWasWritten(t *testing.T) {
	tests := []struct {
		name string
		dev  func(r *rig) sim.Device
		want string
	}{
		{"all ones", func(*rig) sim.Device { return answerAll(0xFF) }, "read back MODE1 0xFF, MODE2 0xFF, PRE_SCALE 255"},
		{"all zeros", func(*rig) sim.Device { return answerAll(0x00) }, "read back MODE1 0x00, MODE2 0x00, PRE_SCALE 0"},
		{"a TMP117", func(*rig) sim.Device { return sim.NewTMP117(func(time.Time) float64 { return 20 }) }, "read back MODE1 0x80, MODE2 0x00, PRE_SCALE 0"},
		{"a stuck PCA9685", func(r *rig) sim.Device { r.chip.SetStuck(true); return r.chip }, "read back MODE1 0x11, MODE2 0x11, PRE_SCALE 30"},
		{"EXTCLK left set", func(r *rig) sim.Device {
			if err := r.chip.Tx([]byte{regMode1, 0x50}, nil); err != nil {
				panic(err)
			}
			return r.chip
		}, "read back MODE1 0x60, MODE2 0x04, PRE_SCALE 5; want 0x20, 0x04, 5: not a PCA9685 holding what was written; MODE1's EXTCLK is set"},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			r := &rig{bus: sim.NewI2CBus("i2c-sim"), oe: sim.NewLine("GPIO17", 17)}
			r.chip = sim.NewPCA9685(r.oe)
			if err := r.bus.Attach(DefaultAddr, tt.dev(r)); err != nil {
				t.Fatal(err)
			}
			_, err := New(r.bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: r.oe})
			if err == nil || !strings.Contains(err.Error(), "pca9685 at 0x40: "+tt.want) {
				t.Errorf("%s: New = %v; want an error with %q", tt.name, err, tt.want)
			}
			if r.oe.Read() != gpio.High {
				t.Errorf("%s: OE %s after the refusal; want High", tt.name, r.oe.Read())
			}
		})
	}
}

func TestNewReportsANACKNamingTheStep(t *testing.T) {
	r := newRig(t)
	r.bus.SetFault(DefaultAddr, sim.FaultNACK)
	_, err := New(r.bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: r.oe})
	if !errors.Is(err, sim.ErrNACK) || !strings.HasPrefix(err.Error(), "pca9685 at 0x40: ALL_LED_OFF_H full off: ") || r.oe.Read() != gpio.High {
		t.Errorf("New on a NACKing chip = %v, OE %s; want the full-off step's NACK, OE High", err, r.oe.Read())
	}
}

// FuzzNewReadBack answers New's read-back with any bytes: New succeeds
// exactly when they are what it wrote.
func FuzzNewReadBack(f *testing.F) {
	f.Add([]byte{0x20, 0x04, 0x05})
	f.Add([]byte{0x21, 0x04, 0x05})
	f.Add([]byte{0xFF})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, answers []byte) {
		synctest.Test(t, func(t *testing.T) {
			bus := sim.NewI2CBus("fuzz")
			if err := bus.Attach(DefaultAddr, &replay{answers: answers}); err != nil {
				t.Fatal(err)
			}
			_, err := New(bus, &DefaultOpts)
			want := len(answers) >= 3 && answers[0] == 0x20 && answers[1] == 0x04 && answers[2] == 0x05
			if (err == nil) != want {
				t.Fatalf("New with read-back % X = %v; want success %t", answers, err, want)
			}
		})
	})
}

// replay answers successive read bytes from answers, then 0xFF.
type replay struct {
	answers []byte
	i       int
}

func (p *replay) Tx(w, r []byte) error {
	for k := range r {
		r[k] = 0xFF
		if p.i < len(p.answers) {
			r[k] = p.answers[p.i]
		}
		p.i++
	}
	return nil
}
