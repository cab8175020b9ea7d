package drv2605_test

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	_ actuators.Haltable = (*drv2605.Dev)(nil)
	_ actuators.Resumer  = (*drv2605.Dev)(nil)
)

// newModel returns a simulated bus with a DRV2605L model at 0x5A.
func newModel(t *testing.T) (*sim.I2CBus, *sim.DRV2605) {
	t.Helper()
	bus := sim.NewI2CBus("sim-i2c")
	m := sim.NewDRV2605L(nil)
	if err := bus.Attach(drv2605.Addr, m); err != nil {
		t.Fatal(err)
	}
	return bus, m
}

// open is New on a fresh model with opts.
func open(t *testing.T, opts *drv2605.Opts) (*drv2605.Dev, *sim.I2CBus, *sim.DRV2605) {
	t.Helper()
	bus, m := newModel(t)
	d, err := drv2605.New(bus, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, bus, m
}

// registers reads the model's registers without side effects.
func registers(m *sim.DRV2605, regs ...byte) []byte {
	out := make([]byte, len(regs))
	for i, r := range regs {
		out[i] = m.Register(r)
	}
	return out
}

func TestNewStartUpSequence(t *testing.T) {
	bus, m := newModel(t)
	rec := &i2ctest.Record{Bus: bus}
	d, err := drv2605.New(rec, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := func(reg, v byte) i2ctest.IO { return i2ctest.IO{Addr: 0x5A, W: []byte{reg, v}, R: []byte{}} }
	r := func(reg, v byte) i2ctest.IO { return i2ctest.IO{Addr: 0x5A, W: []byte{reg}, R: []byte{v}} }
	// DefaultOpts: a 3 V ERM at MaxIntensity 1: OD_CLAMP floor(3 / 21.59 mV) = 138.
	want := []i2ctest.IO{
		r(0x00, 0xE0), // STATUS: DEVICE_ID 7, no fault
		w(0x01, 0x00), // out of standby
		w(0x03, 0x01), // LIBRARY A
		w(0x1A, 0x36), // FEEDBACK: ERM
		w(0x17, 0x8A), // OD_CLAMP 138
		w(0x1D, 0xA0), // CONTROL3: ERM open loop, signed RTP
		w(0x02, 0x00), // RTP_INPUT 0
		w(0x01, 0x05), // RTP mode
		r(0x03, 0x01), r(0x1A, 0x36), r(0x17, 0x8A), r(0x1D, 0xA0), r(0x02, 0x00), r(0x01, 0x05),
	}
	if len(rec.Ops) != len(want) {
		t.Fatalf("New made %d transactions, want %d: %v", len(rec.Ops), len(want), rec.Ops)
	}
	for i := range want {
		got := rec.Ops[i]
		if got.Addr != want[i].Addr || string(got.W) != string(want[i].W) || string(got.R) != string(want[i].R) {
			t.Errorf("transaction %d: W % X R % X, want W % X R % X", i, got.W, got.R, want[i].W, want[i].R)
		}
	}
	if got := registers(m, 0x01, 0x02, 0x03, 0x17, 0x1A, 0x1D); !reflect.DeepEqual(got, []byte{0x05, 0x00, 0x01, 0x8A, 0x36, 0xA0}) {
		t.Errorf("MODE, RTP_INPUT, LIBRARY, OD_CLAMP, FEEDBACK, CONTROL3 = % X", got)
	}
	if m.Standby() || m.Intensity() != 0 {
		t.Errorf("after New: Standby %v, Intensity %v; want false, 0", m.Standby(), m.Intensity())
	}
	if d.String() != "drv2605l at 0x5A on record" { // i2ctest.Record names itself "record"
		t.Errorf("String = %q", d.String())
	}
}

func TestNewConfiguresAnOpenLoopLRA(t *testing.T) {
	// 2.0 V RMS at 170 Hz: a step is 21.32 mV × sqrt(1 − 170 × 800 µs) =
	// 19.817 mV, OD_CLAMP floor(100.92) = 100; OL_LRA_PERIOD
	// round(1 / (170 Hz × 98.46 µs)) = round(59.74) = 60.
	opts := drv2605.Opts{Actuator: drv2605.LRA, Library: 6, RatedVoltage: 2.0, MaxIntensity: 1, LRAFrequency: 170}
	d, _, m := open(t, &opts)
	if got := registers(m, 0x01, 0x03, 0x17, 0x1A, 0x1D, 0x20); !reflect.DeepEqual(got, []byte{0x05, 0x06, 100, 0xB6, 0xA1, 60}) {
		t.Errorf("MODE, LIBRARY, OD_CLAMP, FEEDBACK, CONTROL3, OL_LRA_PERIOD = % X, want 05 06 64 B6 A1 3C", got)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if got := m.Intensity(); got != 100.0/255 {
		t.Errorf("Intensity at full scale = %v, want 100/255", got)
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	lra := drv2605.Opts{Actuator: drv2605.LRA, Library: 6, RatedVoltage: 2, MaxIntensity: 1, LRAFrequency: 170}
	tests := []struct {
		base   drv2605.Opts
		change func(*drv2605.Opts)
		want   string
	}{
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.Actuator = 0 }, "drv2605: Actuator 0 is neither ERM (1) nor LRA (2)"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.Library = 6 }, "drv2605: Library 6 is not an ERM library (want 1 to 5)"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.Library = 0 }, "drv2605: Library 0 is not an ERM library (want 1 to 5)"},
		{lra, func(o *drv2605.Opts) { o.Library = 1 }, "drv2605: Library 1 is not the LRA library (want 6)"},
		{lra, func(o *drv2605.Opts) { o.LRAFrequency = 79 }, "drv2605: LRAFrequency 79 Hz is outside 80 to 1000 Hz"},
		{lra, func(o *drv2605.Opts) { o.LRAFrequency = math.NaN() }, "drv2605: LRAFrequency NaN Hz is outside 80 to 1000 Hz"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.MaxIntensity = 0 }, "drv2605: MaxIntensity 0 is outside (0, 1]"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.MaxIntensity = 1.01 }, "drv2605: MaxIntensity 1.01 is outside (0, 1]"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.MaxIntensity = math.NaN() }, "drv2605: MaxIntensity NaN is outside (0, 1]"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.RatedVoltage = -3 }, "drv2605: RatedVoltage -3 V must be a positive number of volts"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.RatedVoltage = math.Inf(1) }, "drv2605: RatedVoltage +Inf V must be a positive number of volts"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.RatedVoltage = 6 }, "drv2605: MaxIntensity × RatedVoltage = 6 V is above the chip's full scale (OD_CLAMP 255, 5.505 V)"},
		{drv2605.DefaultOpts, func(o *drv2605.Opts) { o.RatedVoltage = 0.02 }, "drv2605: MaxIntensity × RatedVoltage = 0.02 V is below one OD_CLAMP step (0.02159 V)"},
	}
	for _, tt := range tests {
		opts := tt.base
		tt.change(&opts)
		bus, m := newModel(t)
		d, err := drv2605.New(bus, &opts)
		if err == nil || err.Error() != tt.want || d != nil {
			t.Errorf("New(%+v) = %v, %v;\nwant nil, %q", opts, d, err, tt.want)
		}
		if n := bus.Transactions(); n != 0 || !m.Standby() {
			t.Errorf("New(%+v): %d transactions, standby %v; want none, true", opts, n, m.Standby())
		}
	}
}

func TestNewChecksDeviceID(t *testing.T) {
	tests := []struct {
		id   uint8
		want string
	}{
		{3, "drv2605l at 0x5A on sim-i2c: DEVICE_ID 3 is a DRV2605, not the DRV2605L (7) this driver derives OD_CLAMP for: refused"},
		{4, "drv2605l at 0x5A on sim-i2c: DEVICE_ID 4, want 7 (DRV2605L): not a DRV2605L"},
		{6, "drv2605l at 0x5A on sim-i2c: DEVICE_ID 6, want 7 (DRV2605L): not a DRV2605L"},
		{0, "drv2605l at 0x5A on sim-i2c: DEVICE_ID 0, want 7 (DRV2605L): not a DRV2605L"},
	}
	for _, tt := range tests {
		bus, m := newModel(t)
		m.SetDeviceID(tt.id)
		d, err := drv2605.New(bus, nil)
		if err == nil || err.Error() != tt.want || d != nil {
			t.Errorf("DEVICE_ID %d: New = %v, %v;\nwant nil, %q", tt.id, d, err, tt.want)
		}
		if n := bus.Transactions(); n != 1 || !m.Standby() {
			t.Errorf("DEVICE_ID %d: %d transactions, standby %v; want 1 (the STATUS read), true", tt.id, n, m.Standby())
		}
	}
	// Nothing at the address.
	bus := sim.NewI2CBus("sim-i2c")
	if _, err := drv2605.New(bus, nil); !errors.Is(err, sim.ErrNACK) || !strings.HasPrefix(err.Error(), "drv2605l at 0x5A on sim-i2c: read STATUS: ") {
		t.Errorf("New on an empty bus = %v, want a wrapped NACK naming STATUS", err)
	}
}

func TestNewRefusesAFaultedChip(t *testing.T) {
	bus, m := newModel(t)
	m.SetOverTemp(true)
	m.SetOverCurrent(true)
	_, err := drv2605.New(bus, nil)
	if !errors.Is(err, drv2605.ErrOverTemp) || !errors.Is(err, drv2605.ErrOverCurrent) {
		t.Errorf("New = %v, want ErrOverTemp and ErrOverCurrent", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "drv2605l at 0x5A on sim-i2c: STATUS 0xE3 at start: ") {
		t.Errorf("New = %q, want it to name STATUS 0xE3", err)
	}
	if !m.Standby() {
		t.Error("the chip left standby")
	}
	// An overheating already over: refused once for the latched flag, which
	// that read clears; the next New succeeds.
	bus, m = newModel(t)
	m.SetOverTemp(true)
	m.SetOverTemp(false)
	if _, err := drv2605.New(bus, nil); !errors.Is(err, drv2605.ErrOverTemp) {
		t.Errorf("New with OVER_TEMP latched = %v, want ErrOverTemp", err)
	}
	if _, err := drv2605.New(bus, nil); err != nil {
		t.Errorf("New again = %v, want nil", err)
	}
}

func TestNewRefusesAChipThatDoesNotHoldItsConfiguration(t *testing.T) {
	bus, m := newModel(t)
	m.DropWrites(true)
	_, err := drv2605.New(bus, nil)
	want := "drv2605l at 0x5A on sim-i2c: LIBRARY read back 0x00, want 0x01: the chip does not hold its configuration"
	if err == nil || err.Error() != want {
		t.Errorf("New = %v,\nwant %q", err, want)
	}
	// A chip that holds all but OD_CLAMP: refused, and put back in
	// standby though it had entered RTP mode.
	bus, m = newModel(t)
	d, err := drv2605.New(&dropWrite{Bus: bus, reg: 0x17}, nil)
	want = "drv2605l at 0x5A on sim-i2c: OD_CLAMP read back 0x89, want 0x8A: the chip does not hold its configuration"
	if err == nil || err.Error() != want || d != nil {
		t.Errorf("New = %v, %v,\nwant nil, %q", d, err, want)
	}
	if m.Register(0x01) != 0x40 {
		t.Errorf("MODE 0x%02X after a refused start, want 0x40 (standby)", m.Register(0x01))
	}
}

// dropWrite passes every transaction to Bus except writes to reg, which it
// acknowledges and drops.
type dropWrite struct {
	i2c.Bus
	reg byte
}

func (b *dropWrite) Tx(addr uint16, w, r []byte) error {
	if len(w) > 1 && w[0] == b.reg {
		return nil
	}
	return b.Bus.Tx(addr, w, r)
}

// failWrite passes every transaction to Bus except writes to reg, which
// fail.
type failWrite struct {
	i2c.Bus
	reg byte
}

var errBus = errors.New("bus error")

func (b *failWrite) Tx(addr uint16, w, r []byte) error {
	if len(w) > 1 && w[0] == b.reg {
		return errBus
	}
	return b.Bus.Tx(addr, w, r)
}

func TestMaxIntensityCapsTheDriveWhateverRTPAsks(t *testing.T) {
	full, _, mFull := open(t, nil)
	opts := drv2605.DefaultOpts
	opts.MaxIntensity = 0.5
	half, bus, mHalf := open(t, &opts)
	// OD_CLAMP floor(1.5 V / 21.59 mV) = floor(69.48) = 69.
	if c := mHalf.Register(0x17); c != 69 {
		t.Fatalf("OD_CLAMP %d, want 69", c)
	}
	for _, d := range []*drv2605.Dev{full, half} {
		if err := d.SetIntensity(1); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := mFull.Intensity(), 138.0/255; got != want {
		t.Errorf("MaxIntensity 1: Intensity %v, want %v", got, want)
	}
	if got, want := mHalf.Intensity(), 69.0/255; got != want {
		t.Errorf("MaxIntensity 0.5: Intensity %v, want %v", got, want)
	}
	// Full scale written past the driver: the chip still holds the cap.
	if err := bus.Tx(0x5A, []byte{0x02, 0x7F}, nil); err != nil {
		t.Fatal(err)
	}
	if got := mHalf.Intensity(); got != 69.0/255 || got > mFull.Intensity()/2 {
		t.Errorf("RTP_INPUT 0x7F under the cap: Intensity %v, want 69/255, at most half of %v", got, mFull.Intensity())
	}
}

func TestSetIntensityMapsToRTPInput(t *testing.T) {
	d, _, m := open(t, nil)
	tests := []struct {
		x   float64
		rtp byte
	}{
		{0, 0}, {0.004, 1}, {0.1, 13}, {0.25, 32}, {0.5, 64}, {0.75, 95}, {1, 127}, {0, 0},
	}
	for _, tt := range tests {
		if err := d.SetIntensity(tt.x); err != nil {
			t.Fatalf("SetIntensity(%v): %v", tt.x, err)
		}
		if got := m.Register(0x02); got != tt.rtp {
			t.Errorf("SetIntensity(%v): RTP_INPUT %d, want %d", tt.x, got, tt.rtp)
		}
		if got, want := m.Intensity(), float64(tt.rtp)/127*138/255; math.Abs(got-want) > 1e-15 {
			t.Errorf("SetIntensity(%v): model Intensity %v, want %v", tt.x, got, want)
		}
	}
}

func TestSetIntensityRefusesBadInputAndWritesNothing(t *testing.T) {
	d, bus, m := open(t, nil)
	if err := d.SetIntensity(0.5); err != nil {
		t.Fatal(err)
	}
	before := bus.Transactions()
	for _, tt := range []struct {
		x    float64
		text string
	}{
		{math.NaN(), "NaN"}, {-0.001, "-0.001"}, {1.0001, "1.0001"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"},
	} {
		err := d.SetIntensity(tt.x)
		want := "drv2605l at 0x5A on sim-i2c: intensity " + tt.text + " is outside [0, 1]"
		if err == nil || err.Error() != want {
			t.Errorf("SetIntensity(%v) = %v, want %q", tt.x, err, want)
		}
	}
	if n := bus.Transactions(); n != before || m.Register(0x02) != 64 {
		t.Errorf("after bad input: %d transactions (want %d), RTP_INPUT %d (want 64)", n, before, m.Register(0x02))
	}
}

func TestHaltStopsTheMotorAndLatchesUntilResume(t *testing.T) {
	d, bus, m := open(t, nil)
	if err := d.SetIntensity(0.8); err != nil {
		t.Fatal(err)
	}
	if m.Intensity() == 0 {
		t.Fatal("the motor did not run")
	}
	for i := range 2 { // safe twice
		if err := d.Halt(); err != nil {
			t.Fatalf("Halt %d: %v", i, err)
		}
		if m.Intensity() != 0 || !m.Standby() || m.Register(0x02) != 0 || m.Register(0x01) != 0x40 {
			t.Errorf("after Halt %d: Intensity %v, MODE 0x%02X, RTP_INPUT %d; want 0, 0x40, 0", i, m.Intensity(), m.Register(0x01), m.Register(0x02))
		}
	}
	n := bus.Transactions()
	if err := d.SetIntensity(0.5); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after Halt = %v, want ErrHalted", err)
	}
	d.Resume()
	if got := bus.Transactions(); got != n || !m.Standby() {
		t.Errorf("Resume: %d transactions (want %d), standby %v (want true)", got, n, m.Standby())
	}
	if err := d.SetIntensity(0.5); err != nil {
		t.Fatalf("SetIntensity after Resume: %v", err)
	}
	if m.Standby() || m.Register(0x01) != 0x05 || m.Register(0x02) != 64 {
		t.Errorf("after Resume and SetIntensity(0.5): MODE 0x%02X, RTP_INPUT %d; want 0x05, 64", m.Register(0x01), m.Register(0x02))
	}
	if got, want := m.Intensity(), 64.0/127*138/255; math.Abs(got-want) > 1e-15 {
		t.Errorf("Intensity %v, want %v", got, want)
	}
}

func TestHaltTriesBothWritesWhenTheBusFails(t *testing.T) {
	// RTP_INPUT's write fails: the standby write still lands, and the
	// motor stops though RTP_INPUT still asks for full scale.
	bus, m := newModel(t)
	fw := &failWrite{Bus: bus}
	d, err := drv2605.New(fw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	fw.reg = 0x02
	err = d.Halt()
	if want := "drv2605l at 0x5A on sim-i2c: halt: write RTP_INPUT 0: bus error"; err == nil || err.Error() != want || !errors.Is(err, errBus) {
		t.Errorf("Halt = %v, want %q", err, want)
	}
	if m.Register(0x02) != 0x7F || !m.Standby() || m.Intensity() != 0 {
		t.Errorf("RTP_INPUT 0x%02X, standby %v, Intensity %v; want 0x7F, true, 0", m.Register(0x02), m.Standby(), m.Intensity())
	}
	if err := d.SetIntensity(0.5); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after a failed Halt = %v, want ErrHalted", err)
	}

	// The chip NACKs everything: both writes attempted, both errors.
	d, bus, _ = open(t, nil)
	bus.SetFault(0x5A, sim.FaultNACK)
	n := bus.Transactions()
	err = d.Halt()
	if !errors.Is(err, sim.ErrNACK) || !strings.Contains(err.Error(), "halt: write RTP_INPUT 0: ") || !strings.Contains(err.Error(), "halt: write MODE 0x40 (standby): ") {
		t.Errorf("Halt on a NACKing chip = %v, want both writes' errors", err)
	}
	if got := bus.Transactions() - n; got != 2 {
		t.Errorf("Halt made %d transactions, want 2", got)
	}
	// Retried once the bus is back, it succeeds.
	bus.SetFault(0x5A, sim.FaultNone)
	if err := d.Halt(); err != nil {
		t.Errorf("Halt again: %v", err)
	}
}

// gateBus holds the first non-zero RTP_INPUT write until release is closed
// and logs every write in the order it reaches the chip.
type gateBus struct {
	i2c.Bus
	entered, release chan struct{}
	once             sync.Once

	mu  sync.Mutex
	log []string
}

func (b *gateBus) Tx(addr uint16, w, r []byte) error {
	if len(w) == 2 && w[0] == 0x02 && w[1] != 0 {
		b.once.Do(func() {
			close(b.entered)
			<-b.release
		})
	}
	if len(w) == 2 {
		b.mu.Lock()
		b.log = append(b.log, string(w))
		b.mu.Unlock()
	}
	return b.Bus.Tx(addr, w, r)
}

func TestHaltDuringASetIntensityWinsAfterIt(t *testing.T) {
	bus, m := newModel(t)
	gb := &gateBus{Bus: bus, entered: make(chan struct{}), release: make(chan struct{})}
	d, err := drv2605.New(gb, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var setErr, haltErr error
	wg.Go(func() { setErr = d.SetIntensity(1) })
	<-gb.entered // SetIntensity holds the bus
	wg.Go(func() { haltErr = d.Halt() })
	for range 100 {
		runtime.Gosched() // give Halt the chance to overtake, which it must not
	}
	close(gb.release)
	wg.Wait()
	if setErr != nil || haltErr != nil {
		t.Fatalf("SetIntensity = %v, Halt = %v", setErr, haltErr)
	}
	gb.mu.Lock()
	tail := gb.log[len(gb.log)-3:]
	gb.mu.Unlock()
	if want := []string{"\x02\x7F", "\x02\x00", "\x01\x40"}; !reflect.DeepEqual(tail, want) {
		t.Errorf("last writes % X, want % X (the SetIntensity, then Halt's two)", tail, want)
	}
	if m.Intensity() != 0 || !m.Standby() {
		t.Errorf("Intensity %v, standby %v; want 0, true", m.Intensity(), m.Standby())
	}
	if err := d.SetIntensity(1); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after Halt = %v, want ErrHalted", err)
	}
}

func TestWakeAfterHaltRestoresTheCapOfAResetChip(t *testing.T) {
	opts := drv2605.DefaultOpts
	opts.MaxIntensity = 0.5
	d, _, m := open(t, &opts)
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	m.PowerCycle() // a brown-out in standby: OD_CLAMP back to 0x89 (137)
	d.Resume()
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if c, got := m.Register(0x17), m.Intensity(); c != 69 || got != 69.0/255 {
		t.Errorf("OD_CLAMP %d, Intensity %v; want 69, 69/255", c, got)
	}
}

func TestAFailedWakeLeavesTheChipInStandby(t *testing.T) {
	bus, m := newModel(t)
	fw := &failWrite{Bus: bus}
	d, err := drv2605.New(fw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	d.Resume()
	fw.reg = 0x17 // OD_CLAMP's write fails, after MODE 0x00 woke the chip
	err = d.SetIntensity(1)
	if want := "drv2605l at 0x5A on sim-i2c: write OD_CLAMP: bus error"; err == nil || err.Error() != want {
		t.Errorf("SetIntensity = %v, want %q", err, want)
	}
	if !m.Standby() || m.Register(0x02) != 0 {
		t.Errorf("after a failed wake: standby %v, RTP_INPUT %d; want true, 0", m.Standby(), m.Register(0x02))
	}
	fw.reg = 0 // STATUS, which the driver never writes
	if err := d.SetIntensity(1); err != nil || m.Intensity() != 138.0/255 {
		t.Errorf("SetIntensity once the bus works = %v, Intensity %v; want nil, 138/255", err, m.Intensity())
	}
}

func TestTheGateHaltsAndResumesTheMotor(t *testing.T) {
	d, _, m := open(t, nil)
	g := actuators.NewGate(d)
	if err := g.Do(func() error { return d.SetIntensity(1) }); err != nil {
		t.Fatal(err)
	}
	if err := g.SafeState(); err != nil {
		t.Fatal(err)
	}
	if m.Intensity() != 0 || !m.Standby() {
		t.Errorf("after SafeState: Intensity %v, standby %v; want 0, true", m.Intensity(), m.Standby())
	}
	// An action already past the gate cannot restart the motor.
	if err := d.SetIntensity(1); !errors.Is(err, drv2605.ErrHalted) {
		t.Errorf("SetIntensity after SafeState = %v, want ErrHalted", err)
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	if err := g.Do(func() error { return d.SetIntensity(0.5) }); err != nil {
		t.Fatalf("after Open: %v", err)
	}
	if m.Register(0x02) != 64 || m.Standby() {
		t.Errorf("after Open: RTP_INPUT %d, standby %v; want 64, false", m.Register(0x02), m.Standby())
	}
}
