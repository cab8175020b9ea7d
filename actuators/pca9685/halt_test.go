package pca9685

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/sim"
)

var _ actuators.Resumer = (*Dev)(nil)
var _ actuators.Haltable = (*Dev)(nil)

// failSoon bounds a wait that only a defect makes long: the tests wait on
// channels, and this turns a hang into a failure.
const failSoon = 10 * time.Second

func TestHaltDarkensByBothPathsAndResumeLowersOE(t *testing.T) {
	r := newRig(t)
	d := r.open(t, nil)
	if err := d.SetAll(repeat(1)); err != nil {
		t.Fatal(err)
	}
	before := r.bus.Transactions()
	if err := d.Halt(); err != nil {
		t.Fatalf("Halt = %v", err)
	}
	if r.oe.Read() != gpio.High || r.chip.Register(regLED0+4*6+3) != fullBit || r.bus.Transactions()-before != 1 {
		t.Errorf("after Halt: OE %s, LED6_OFF_H %#02x, %d transactions; want High, 0x10, 1", r.oe.Read(), r.chip.Register(regLED0+4*6+3), r.bus.Transactions()-before)
	}
	if err := d.Halt(); err != nil {
		t.Errorf("Halt again = %v; want nil", err)
	}
	if err, err2 := d.Set(0, 1), d.SetAll(repeat(1)); !errors.Is(err, ErrHalted) || !errors.Is(err2, ErrHalted) {
		t.Errorf("Set, SetAll after Halt = %v, %v; want ErrHalted", err, err2)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
		t.Errorf("Duties() after Halt = %v; want all 0", got)
	}
	before = r.bus.Transactions()
	d.Resume()
	if r.oe.Read() != gpio.Low || r.bus.Transactions() != before {
		t.Errorf("after Resume: OE %s, %d transactions; want Low at once (the channels are known off), none", r.oe.Read(), r.bus.Transactions()-before)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
		t.Errorf("Duties() after Resume = %v; want all 0 (nothing relit)", got)
	}
	if err := d.Set(2, 0.5); err != nil || r.bus.Transactions()-before != 1 {
		t.Errorf("Set after Resume = %v after %d transactions; want nil, 1", err, r.bus.Transactions()-before)
	}
}

// With the I²C bus NACKing, Halt still darkens every output through OE and
// returns the bus error; Resume keeps OE high, since the channels are not
// known off, until a Set has turned them all off again.
func TestHaltWithTheBusNACKingDarkensThroughOE(t *testing.T) {
	r := newRig(t)
	d := r.open(t, nil)
	if err := d.SetAll(repeat(0.75)); err != nil {
		t.Fatal(err)
	}
	r.bus.SetFault(DefaultAddr, sim.FaultNACK)
	err := d.Halt()
	if !errors.Is(err, sim.ErrNACK) || !strings.HasPrefix(err.Error(), "pca9685 at 0x40: halt: ALL_LED_OFF_H full off: ") {
		t.Errorf("Halt on a NACKing bus = %v; want the full-off write's NACK", err)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.oe.Read() != gpio.High {
		t.Errorf("after Halt: Duties() = %v, OE %s; want all 0, High", got, r.oe.Read())
	}
	if r.chip.Register(regLED0+3) != 0x0C {
		t.Fatalf("LED0_OFF_H = %#02x; want 0x0C still (the full-off write never reached the chip)", r.chip.Register(regLED0+3))
	}
	d.Resume()
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.oe.Read() != gpio.High {
		t.Errorf("after Resume: Duties() = %v, OE %s; want all 0, still High (the channels still hold 0.75)", got, r.oe.Read())
	}
	if err := d.Set(4, 0.5); !errors.Is(err, sim.ErrNACK) || r.oe.Read() != gpio.High {
		t.Errorf("Set on the NACKing bus after Resume = %v, OE %s; want a NACK, High", err, r.oe.Read())
	}
	r.bus.SetFault(DefaultAddr, sim.FaultNone)
	if err := d.Set(4, 0.5); err != nil {
		t.Fatal(err)
	}
	want := repeat(0)
	want[4] = 0.5
	if got := r.chip.Duties(); !slices.Equal(got, want) || r.oe.Read() != gpio.Low {
		t.Errorf("Set once the bus answers: Duties() = %v, OE %s; want channel 4 at 0.5 and the rest off, Low", got, r.oe.Read())
	}
}

// A chip latched up (stuck) ignores the full-off write: OE alone darkens it,
// and Halt reports no error since the bus acknowledged.
func TestHaltDarkensAStuckChipThroughOE(t *testing.T) {
	r := newRig(t)
	d := r.open(t, nil)
	if err := d.SetAll(repeat(1)); err != nil {
		t.Fatal(err)
	}
	r.chip.SetStuck(true)
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.chip.Register(regLED0+1) != fullBit {
		t.Errorf("Duties() = %v, LED0_ON_H %#02x; want all 0 (by OE), 0x10 (full on held by the stuck chip)", got, r.chip.Register(regLED0+1))
	}
}

var errPin = errors.New("gpio: line busy")

// failingPin fails every write of its level.
type failingPin struct{ *sim.Line }

func (failingPin) Out(gpio.Level) error { return errPin }

func TestHaltAttemptsBothPathsAndJoinsTheirErrors(t *testing.T) {
	r := newRig(t)
	pin := &togglePin{Line: r.oe}
	d := r.open(t, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: pin})
	if err := d.SetAll(repeat(1)); err != nil {
		t.Fatal(err)
	}
	pin.fail = true
	err := d.Halt()
	if !errors.Is(err, errPin) || err == nil || strings.Contains(err.Error(), "ALL_LED_OFF_H") {
		t.Errorf("Halt with OE failing = %v; want the OE error alone", err)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
		t.Errorf("Duties() with OE failed = %v; want all 0 by the full-off write", got)
	}
	r.bus.SetFault(DefaultAddr, sim.FaultNACK)
	err = d.Halt()
	if !errors.Is(err, errPin) || !errors.Is(err, sim.ErrNACK) {
		t.Errorf("Halt with both failing = %v; want both errors joined", err)
	}
	// Resume could not lower OE: Set tries again, after full off.
	d.Resume()
	r.bus.SetFault(DefaultAddr, sim.FaultNone)
	pin.fail = false
	if err := d.Set(1, 1); err != nil || r.oe.Read() != gpio.Low {
		t.Errorf("Set once both work = %v, OE %s; want nil, Low", err, r.oe.Read())
	}
}

// togglePin fails its writes while fail is set.
type togglePin struct {
	*sim.Line
	fail bool
}

func (p *togglePin) Out(l gpio.Level) error {
	if p.fail {
		return errPin
	}
	return p.Line.Out(l)
}

func TestNewReportsAnOEThatCannotBeDriven(t *testing.T) {
	r := newRig(t)
	_, err := New(r.bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: failingPin{r.oe}})
	if !errors.Is(err, errPin) || r.bus.Transactions() != 0 {
		t.Errorf("New with OE failing = %v after %d transactions; want the OE error, none", err, r.bus.Transactions())
	}
}

func TestWithoutOEHaltUsesTheBusAlone(t *testing.T) {
	r := newRig(t)
	d := r.open(t, &DefaultOpts)
	if err := d.SetAll(repeat(1)); err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.oe.Function() != "In/Low" {
		t.Errorf("Duties() = %v, OE line %s; want all 0, untouched", got, r.oe.Function())
	}
	d.Resume()
	if err := d.Set(0, 1); err != nil || r.chip.Duties()[0] != 1 {
		t.Errorf("Set after Resume = %v, channel 0 at %v; want nil, 1", err, r.chip.Duties()[0])
	}
}

// hangingBus holds the first transaction after armed until release is
// closed, telling entered when it starts: a bus hung by a stretched clock.
type hangingBus struct {
	i2c.Bus
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func newHangingBus(b i2c.Bus) *hangingBus {
	return &hangingBus{Bus: b, entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *hangingBus) arm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = true
}

func (b *hangingBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	hang := b.armed
	b.armed = false
	b.mu.Unlock()
	if hang {
		close(b.entered)
		<-b.release
	}
	return b.Bus.Tx(addr, w, r)
}

// signalPin tells high each time it is driven high.
type signalPin struct {
	*sim.Line
	high chan struct{}
}

func (p signalPin) Out(l gpio.Level) error {
	err := p.Line.Out(l)
	if l == gpio.High {
		p.high <- struct{}{}
	}
	return err
}

// With a SetAll hung on the bus (holding the bus mutex), Halt drives OE at
// once: every output goes dark while the SetAll is still hung, and the
// full-off write follows when the bus returns.
func TestHaltWithASetHungOnTheBusDrivesOEAtOnce(t *testing.T) {
	r := newRig(t)
	bus := newHangingBus(r.bus)
	pin := signalPin{Line: r.oe, high: make(chan struct{}, 1)}
	d, err := New(bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: pin})
	if err != nil {
		t.Fatal(err)
	}
	<-pin.high // New's
	if err := d.SetAll(repeat(1)); err != nil {
		t.Fatal(err)
	}
	bus.arm()
	setDone := make(chan error, 1)
	go func() { setDone <- d.SetAll(repeat(0.5)) }()
	<-bus.entered
	haltDone := make(chan error, 1)
	go func() { haltDone <- d.Halt() }()
	select {
	case <-pin.high:
	case <-time.After(failSoon):
		close(bus.release)
		t.Fatalf("OE not driven high within %v while a SetAll hangs on the bus", failSoon)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
		t.Errorf("Duties() while the SetAll hangs = %v; want all 0 (OE high)", got)
	}
	select {
	case err := <-haltDone:
		t.Errorf("Halt returned %v while the bus hangs; want it to wait for the bus to write full off", err)
	default:
	}
	close(bus.release)
	if err := <-setDone; err != nil {
		t.Errorf("the hung SetAll = %v; want nil (it was past the latch)", err)
	}
	if err := <-haltDone; err != nil {
		t.Errorf("Halt = %v", err)
	}
	if got := r.channel(3); got[3] != fullBit {
		t.Errorf("LED3 after Halt = % X; want full off, written after the hung SetAll", got)
	}
	if err := d.SetAll(repeat(1)); !errors.Is(err, ErrHalted) {
		t.Errorf("SetAll after Halt = %v; want ErrHalted", err)
	}
}

// Resume returns at once while a Halt's full-off write hangs on the bus.
func TestResumeDoesNotWaitForTheBus(t *testing.T) {
	r := newRig(t)
	bus := newHangingBus(r.bus)
	d, err := New(bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: r.oe})
	if err != nil {
		t.Fatal(err)
	}
	bus.arm()
	haltDone := make(chan error, 1)
	go func() { haltDone <- d.Halt() }()
	<-bus.entered
	resumed := make(chan struct{})
	go func() { d.Resume(); close(resumed) }()
	select {
	case <-resumed:
	case <-time.After(failSoon):
		t.Errorf("Resume still blocked after %v while Halt's write hangs", failSoon)
	}
	close(bus.release)
	if err := <-haltDone; err != nil {
		t.Fatal(err)
	}
	<-resumed
}

// Halt racing SetAll from another goroutine (run with -race): whatever the
// interleaving, every output ends off and the last write is full off.
func TestHaltConcurrentWithSetAllLeavesEveryOutputOff(t *testing.T) {
	for range 20 {
		r := newRig(t)
		d := r.open(t, nil)
		done := make(chan error)
		go func() {
			for {
				if err := d.SetAll(repeat(1)); err != nil {
					done <- err
					return
				}
			}
		}()
		if err := d.Halt(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrHalted) {
			t.Fatalf("SetAll ended with %v; want ErrHalted", err)
		}
		for n := range Channels {
			if got := r.channel(n); got[3] != fullBit {
				t.Fatalf("LED%d = % X after Halt; want full off", n, got)
			}
		}
		r.oe.Set(gpio.Low) // an output line ignores Set: OE stays as driven
		if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.oe.Read() != gpio.High {
			t.Fatalf("Duties() = %v, OE %s; want all 0, High", got, r.oe.Read())
		}
	}
}

// Through the pod's real gate: an abort while a SetAll hangs on the bus
// darkens every output by OE before the gate gives up waiting; the gate
// refuses to reopen until the Halt has written full off, then reopening
// resumes the chip with OE low.
func TestThroughTheGateAnAbortDarkensAHungChipAndOpenResumesIt(t *testing.T) {
	r := newRig(t)
	bus := newHangingBus(r.bus)
	pin := signalPin{Line: r.oe, high: make(chan struct{}, 1)}
	d, err := New(bus, &Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz, OE: pin})
	if err != nil {
		t.Fatal(err)
	}
	<-pin.high // New's
	g := actuators.NewGate(d)
	if err := g.Do(func() error { return d.SetAll(repeat(1)) }); err != nil {
		t.Fatal(err)
	}
	bus.arm()
	setDone := make(chan error, 1)
	go func() { setDone <- g.Do(func() error { return d.SetAll(repeat(0.5)) }) }()
	<-bus.entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the gate gives up waiting at once
	err = g.SafeStateContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "halt still in progress: pca9685 at 0x40") {
		t.Errorf("SafeStateContext = %v; want the chip's halt named as in progress", err)
	}
	select {
	case <-pin.high:
	case <-time.After(failSoon):
		close(bus.release)
		t.Fatalf("OE not driven high within %v while a SetAll hangs on the bus", failSoon)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) {
		t.Errorf("Duties() after the abort, the bus still hung = %v; want all 0", got)
	}
	if err := g.Open(); err == nil {
		t.Error("Open while the Halt waits for the bus = nil; want a refusal")
	}
	close(bus.release)
	if err := <-setDone; err != nil {
		t.Errorf("the hung SetAll = %v; want nil", err)
	}
	if err := g.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Do(func() error { return d.SetAll(repeat(1)) }); !errors.Is(err, actuators.ErrSafeState) {
		t.Errorf("Do after the abort = %v; want ErrSafeState", err)
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0)) || r.oe.Read() != gpio.Low {
		t.Errorf("after Open: Duties() = %v, OE %s; want all 0, Low", got, r.oe.Read())
	}
	if err := g.Do(func() error { return d.Set(5, 0.25) }); err != nil || r.chip.Duties()[5] != 0.25 {
		t.Errorf("Set through the open gate = %v, channel 5 at %v; want nil, 0.25", err, r.chip.Duties()[5])
	}
}
