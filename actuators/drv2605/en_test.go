package drv2605_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/sim"
)

// failSoon bounds a wait that only a defect makes long: the tests wait on
// channels, and this turns a hang into a failure.
const failSoon = 10 * time.Second

// newModelEN returns a simulated bus with a DRV2605L model at 0x5A whose EN
// pin is the returned line.
func newModelEN(t *testing.T) (*sim.I2CBus, *sim.DRV2605, *sim.Line) {
	t.Helper()
	bus := sim.NewI2CBus("sim-i2c")
	en := sim.NewLine("SIM_DRV2605_EN", 13)
	m := sim.NewDRV2605L(en)
	if err := bus.Attach(drv2605.Addr, m); err != nil {
		t.Fatal(err)
	}
	return bus, m, en
}

// openEN is New with opts (DefaultOpts if nil) and the model's EN line.
func openEN(t *testing.T, opts *drv2605.Opts) (*drv2605.Dev, *sim.I2CBus, *sim.DRV2605, *sim.Line) {
	t.Helper()
	bus, m, en := newModelEN(t)
	o := drv2605.DefaultOpts
	if opts != nil {
		o = *opts
	}
	o.EN = en
	d, err := drv2605.New(bus, &o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, bus, m, en
}

// The bus NACKs from the moment of the abort: EN alone stops the motor, the
// chip's registers are lost with it, and Halt returns nil (the motor is
// still). Once the bus answers, SetIntensity raises EN and plays again
// under the cap.
func TestHaltOnANACKingBusStopsTheMotorThroughEN(t *testing.T) {
	opts := drv2605.DefaultOpts
	opts.MaxIntensity = 0.5
	d, bus, m, en := openEN(t, &opts)
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if got := m.Drive(); got != 69.0/255 {
		t.Fatalf("Drive before the halt = %v; want 69/255", got)
	}
	bus.SetFault(drv2605.Addr, sim.FaultNACK)
	n := bus.Transactions()
	if err := d.Halt(); err != nil {
		t.Errorf("Halt on a NACKing bus with EN = %v; want nil (EN low: the motor is still)", err)
	}
	if m.Drive() != 0 || en.Read() != gpio.Low || m.Enabled() || bus.Transactions()-n != 2 {
		t.Errorf("after Halt: Drive %v, EN %s, enabled %v, %d transactions; want 0, Low, false, 2 (both writes tried)", m.Drive(), en.Read(), m.Enabled(), bus.Transactions()-n)
	}
	if err := d.SetIntensity(1); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after Halt = %v; want ErrHalted", err)
	}
	d.Resume()
	err := d.SetIntensity(1)
	if !errors.Is(err, sim.ErrNACK) || en.Read() != gpio.Low || m.Drive() != 0 {
		t.Errorf("SetIntensity on the NACKing bus after Resume = %v, EN %s, Drive %v; want a NACK, Low (shut down again), 0", err, en.Read(), m.Drive())
	}
	bus.SetFault(drv2605.Addr, sim.FaultNone)
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if c, got := m.Register(0x17), m.Drive(); c != 69 || got != 69.0/255 || en.Read() != gpio.High {
		t.Errorf("once the bus answers: OD_CLAMP %d, Drive %v, EN %s; want 69, 69/255, High", c, got, en.Read())
	}
}

// Without EN the same NACKing bus leaves Halt with both writes' errors.
func TestHaltWithoutENOnANACKingBusReturnsTheBusErrors(t *testing.T) {
	d, bus, _ := open(t, nil)
	bus.SetFault(drv2605.Addr, sim.FaultNACK)
	err := d.Halt()
	if !errors.Is(err, sim.ErrNACK) || !strings.Contains(err.Error(), "halt: write RTP_INPUT 0: ") || !strings.Contains(err.Error(), "halt: write MODE 0x40 (standby): ") {
		t.Errorf("Halt without EN on a NACKing bus = %v; want both writes' NACKs", err)
	}
}

var errPin = errors.New("gpio: line busy")

// togglePin fails its writes while fail is set.
type togglePin struct {
	*sim.Line
	mu   sync.Mutex
	fail bool
}

func (p *togglePin) set(fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

func (p *togglePin) Out(l gpio.Level) error {
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail {
		return errPin
	}
	return p.Line.Out(l)
}

// EN cannot be driven: Halt stops the motor by the bus and reports the EN
// error; with the bus failing too, it reports every error.
func TestHaltWithENFailingReportsItAndUsesTheBus(t *testing.T) {
	bus, m, en := newModelEN(t)
	pin := &togglePin{Line: en}
	opts := drv2605.DefaultOpts
	opts.EN = pin
	d, err := drv2605.New(bus, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	pin.set(true)
	err = d.Halt()
	if !errors.Is(err, errPin) || strings.Contains(err.Error(), "RTP_INPUT") {
		t.Errorf("Halt with EN failing = %v; want the EN error alone", err)
	}
	if m.Drive() != 0 || !m.Standby() || en.Read() != gpio.High {
		t.Errorf("Drive %v, standby %v, EN %s; want 0, true (by the bus), High (never moved)", m.Drive(), m.Standby(), en.Read())
	}
	bus.SetFault(drv2605.Addr, sim.FaultNACK)
	err = d.Halt()
	if !errors.Is(err, errPin) || !errors.Is(err, sim.ErrNACK) {
		t.Errorf("Halt with EN and the bus failing = %v; want both", err)
	}
	bus.SetFault(drv2605.Addr, sim.FaultNone)
	pin.set(false)
	d.Resume()
	if err := d.SetIntensity(0.5); err != nil || m.Register(0x02) != 64 || en.Read() != gpio.High {
		t.Errorf("SetIntensity once both work = %v, RTP_INPUT %d, EN %s; want nil, 64, High", err, m.Register(0x02), en.Read())
	}
}

// hangingBus holds the first transaction after arm until release is
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

// signalPin tells low each time it is driven low.
type signalPin struct {
	*sim.Line
	low chan struct{}
}

func (p signalPin) Out(l gpio.Level) error {
	err := p.Line.Out(l)
	if l == gpio.Low {
		p.low <- struct{}{}
	}
	return err
}

// With a SetIntensity hung on the bus (holding the bus mutex), Halt drives
// EN low at once and returns nil at once: the motor stops while the
// SetIntensity is still hung, and the gate sees the motor safe without
// waiting for the bus (the next SetIntensity configures the chip anew).
func TestHaltWithASetIntensityHungOnTheBusDrivesENAtOnce(t *testing.T) {
	bus, m, en := newModelEN(t)
	hb := newHangingBus(bus)
	pin := signalPin{Line: en, low: make(chan struct{}, 1)}
	opts := drv2605.DefaultOpts
	opts.EN = pin
	d, err := drv2605.New(hb, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	hb.arm()
	setDone := make(chan error, 1)
	go func() { setDone <- d.SetIntensity(0.5) }()
	<-hb.entered
	haltDone := make(chan error, 1)
	go func() { haltDone <- d.Halt() }()
	select {
	case <-pin.low:
	case <-time.After(failSoon):
		close(hb.release)
		<-setDone
		<-haltDone
		t.Fatalf("EN not driven low within %v while a SetIntensity hangs on the bus", failSoon)
	}
	if got := m.Drive(); got != 0 {
		t.Errorf("Drive while the SetIntensity hangs = %v; want 0 (EN low)", got)
	}
	select {
	case err := <-haltDone:
		if err != nil {
			t.Errorf("Halt while the bus hangs = %v; want nil (EN is low)", err)
		}
	case <-time.After(failSoon):
		close(hb.release)
		<-setDone
		t.Fatalf("Halt still waits on the hung bus after %v; want it to return once EN is low", failSoon)
	}
	close(hb.release)
	if err := <-setDone; err != nil {
		t.Errorf("the hung SetIntensity = %v; want nil (it was past the latch; the chip, shut down, acknowledged)", err)
	}
	if m.Drive() != 0 || en.Read() != gpio.Low {
		t.Errorf("after Halt: Drive %v, EN %s; want 0, Low", m.Drive(), en.Read())
	}
	if err := d.SetIntensity(1); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after Halt = %v; want ErrHalted", err)
	}
}

// Resume touches neither EN nor the bus; the next SetIntensity raises EN,
// waits the chip's start-up and configures it before it plays, so the cap
// lost with EN low is back.
func TestResumeThenSetIntensityPlaysAgainWithTheCapRestored(t *testing.T) {
	opts := drv2605.DefaultOpts
	opts.MaxIntensity = 0.5
	d, bus, m, en := openEN(t, &opts)
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if m.Register(0x17) != 0x89 || en.Read() != gpio.Low {
		t.Fatalf("after Halt: OD_CLAMP 0x%02X, EN %s; want 0x89 (lost with EN low), Low", m.Register(0x17), en.Read())
	}
	n := bus.Transactions()
	d.Resume()
	if en.Read() != gpio.Low || bus.Transactions() != n {
		t.Errorf("after Resume: EN %s, %d transactions; want Low, none", en.Read(), bus.Transactions()-n)
	}
	if st, err := d.Status(); err != nil || st != (drv2605.Status{}) || bus.Transactions() != n {
		t.Errorf("Status with EN low = %+v, %v after %d transactions; want zero, nil, none", st, err, bus.Transactions()-n)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if c, got := m.Register(0x17), m.Drive(); c != 69 || got != 69.0/255 || en.Read() != gpio.High {
		t.Errorf("after SetIntensity(1): OD_CLAMP %d, Drive %v, EN %s; want 69, 69/255, High", c, got, en.Read())
	}
	if st, err := d.Status(); err != nil || st.DeviceID != drv2605.DeviceID {
		t.Errorf("Status once playing = %+v, %v; want DEVICE_ID 7, nil", st, err)
	}
}

// event is one step New took, on the bubble's clock.
type event struct {
	what string
	at   time.Duration
}

// eventLog records GPIO and I²C steps with their time since start.
type eventLog struct {
	start time.Time
	mu    sync.Mutex
	evs   []event
}

func (l *eventLog) add(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, event{what, time.Since(l.start)})
}

type loggedPin struct {
	*sim.Line
	log *eventLog
}

func (p loggedPin) Out(v gpio.Level) error {
	p.log.add("EN " + v.String())
	return p.Line.Out(v)
}

type loggedBus struct {
	i2c.Bus
	log *eventLog
}

func (b loggedBus) Tx(addr uint16, w, r []byte) error {
	b.log.add("i2c")
	return b.Bus.Tx(addr, w, r)
}

// New drives EN high before any I²C transfer and waits the chip's 250 µs
// start-up; the model NACKs any transfer sooner, so New succeeding also
// shows the wait.
func TestNewDrivesENHighAndWaitsStartupBeforeAnyI2C(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus, m, en := newModelEN(t)
		log := &eventLog{start: time.Now()}
		opts := drv2605.DefaultOpts
		opts.EN = loggedPin{en, log}
		if _, err := drv2605.New(loggedBus{bus, log}, &opts); err != nil {
			t.Fatal(err)
		}
		if len(log.evs) < 2 || log.evs[0] != (event{"EN High", 0}) || log.evs[1] != (event{"i2c", drv2605.Startup}) {
			t.Errorf("New's first steps = %v; want EN High at 0, then I²C at %v", log.evs, drv2605.Startup)
		}
		if drv2605.Startup != 250*time.Microsecond || !m.Enabled() {
			t.Errorf("Startup %v, enabled %v; want 250µs, true", drv2605.Startup, m.Enabled())
		}
	})
}

// failingPin fails every write of its level.
type failingPin struct{ *sim.Line }

func (failingPin) Out(gpio.Level) error { return errPin }

// An EN that cannot be driven refuses New before any bus traffic; a chip
// refused after EN rose is shut down again.
func TestNewWithENRefusesAndShutsTheChipDown(t *testing.T) {
	bus, _, en := newModelEN(t)
	opts := drv2605.DefaultOpts
	opts.EN = failingPin{en}
	if _, err := drv2605.New(bus, &opts); !errors.Is(err, errPin) || bus.Transactions() != 0 {
		t.Errorf("New with EN failing = %v after %d transactions; want the EN error, none", err, bus.Transactions())
	}

	bus, m, en := newModelEN(t)
	m.SetDeviceID(3)
	opts.EN = en
	_, err := drv2605.New(bus, &opts)
	if err == nil || !strings.Contains(err.Error(), "DEVICE_ID 3") || en.Read() != gpio.Low {
		t.Errorf("New on a DRV2605 = %v, EN %s; want DEVICE_ID 3 refused, Low", err, en.Read())
	}
}

// A wake whose configuration fails leaves EN low: a chip not known
// configured must not play.
func TestAFailedWakeShutsTheChipDownByEN(t *testing.T) {
	bus, m, en := newModelEN(t)
	fw := &failWrite{Bus: bus}
	opts := drv2605.DefaultOpts
	opts.EN = en
	d, err := drv2605.New(fw, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	d.Resume()
	fw.reg = 0x17
	if err := d.SetIntensity(1); err == nil || !strings.Contains(err.Error(), "write OD_CLAMP: bus error") {
		t.Errorf("SetIntensity = %v; want OD_CLAMP's write error", err)
	}
	if en.Read() != gpio.Low || m.Drive() != 0 {
		t.Errorf("after a failed wake: EN %s, Drive %v; want Low, 0", en.Read(), m.Drive())
	}
	fw.reg = 0
	if err := d.SetIntensity(1); err != nil || m.Drive() != 138.0/255 || en.Read() != gpio.High {
		t.Errorf("SetIntensity once the bus works = %v, Drive %v, EN %s; want nil, 138/255, High", err, m.Drive(), en.Read())
	}
}

// Through the pod's real gate, the bus NACKing: SafeState returns nil and
// the gate holds nothing unsafe (the motor is still by EN), so it does not
// retry forever; Open and a SetIntensity play again.
func TestThroughTheGateAHaltByENOnANACKingBusIsSafe(t *testing.T) {
	d, bus, m, en := openEN(t, nil)
	g := actuators.NewGate(d)
	if err := g.Do(func() error { return d.SetIntensity(1) }); err != nil {
		t.Fatal(err)
	}
	bus.SetFault(drv2605.Addr, sim.FaultNACK)
	if err := g.SafeState(); err != nil {
		t.Errorf("SafeState on a NACKing bus = %v; want nil", err)
	}
	if u := g.Unsafe(); len(u) != 0 || m.Drive() != 0 || en.Read() != gpio.Low {
		t.Errorf("after SafeState: Unsafe %v, Drive %v, EN %s; want none, 0, Low", u, m.Drive(), en.Read())
	}
	bus.SetFault(drv2605.Addr, sim.FaultNone)
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	if err := g.Do(func() error { return d.SetIntensity(0.5) }); err != nil || m.Register(0x02) != 64 || en.Read() != gpio.High {
		t.Errorf("after Open: SetIntensity = %v, RTP_INPUT %d, EN %s; want nil, 64, High", err, m.Register(0x02), en.Read())
	}
}
