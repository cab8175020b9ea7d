package tmp117_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// initOps is the transcript of New at addr: Device_ID, then cfg written and
// read back.
func initOps(addr uint16, cfg uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x0F}, R: []byte{0x01, 0x17}},
		{Addr: addr, W: []byte{0x01, byte(cfg >> 8), byte(cfg)}},
		{Addr: addr, W: []byte{0x01}, R: []byte{byte(cfg >> 8), byte(cfg)}},
	}
}

func TestNewWritesConfiguration(t *testing.T) {
	tests := []struct {
		name string
		opts *tmp117.Opts
		addr uint16
		cfg  uint16
		str  string
	}{
		{"nil is DefaultOpts, the reset value", nil, 0x48, 0x0220, "TMP117{playback(72)}"},
		{"no averaging, 15.5 ms", &tmp117.Opts{Addr: 0x49, Averaging: 1, ConversionCycle: 15500 * time.Microsecond}, 0x49, 0x0000, "TMP117{playback(73)}"},
		{"no averaging, 125 ms", &tmp117.Opts{Addr: 0x48, Averaging: 1, ConversionCycle: 125 * time.Millisecond}, 0x48, 0x0080, "TMP117{playback(72)}"},
		{"64, 16 s", &tmp117.Opts{Addr: 0x4B, Averaging: 64, ConversionCycle: 16 * time.Second}, 0x4B, 0x03E0, "TMP117{playback(75)}"},
		{"32, 500 ms", &tmp117.Opts{Addr: 0x4A, Averaging: 32, ConversionCycle: 500 * time.Millisecond}, 0x4A, 0x01C0, "TMP117{playback(74)}"},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: initOps(tt.addr, tt.cfg), DontPanic: true}
		d, err := tmp117.New(bus, tt.opts)
		if err != nil {
			t.Fatalf("%s: New: %v", tt.name, err)
		}
		if err := bus.Close(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		want := tmp117.DefaultOpts.ConversionCycle
		if tt.opts != nil {
			want = tt.opts.ConversionCycle
		}
		if d.String() != tt.str || d.ConversionCycle() != want {
			t.Errorf("%s: String %q, ConversionCycle %v; want %q, %v", tt.name, d.String(), d.ConversionCycle(), tt.str, want)
		}
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	tests := []struct {
		change func(*tmp117.Opts)
		want   string
	}{
		{func(o *tmp117.Opts) { o.Addr = 0x57 }, "tmp117: invalid Addr 0x57 (want 0x48, 0x49, 0x4A or 0x4B)"},
		{func(o *tmp117.Opts) { o.Averaging = 16 }, "tmp117: invalid Averaging 16 (want 1, 8, 32 or 64)"},
		{func(o *tmp117.Opts) { o.ConversionCycle = 2 * time.Second }, "tmp117: invalid ConversionCycle 2s (want 15.5ms, 125ms, 250ms, 500ms, 1s, 4s, 8s or 16s)"},
		{func(o *tmp117.Opts) { o.ConversionCycle = 0 }, "tmp117: invalid ConversionCycle 0s (want 15.5ms, 125ms, 250ms, 500ms, 1s, 4s, 8s or 16s)"},
		{func(o *tmp117.Opts) { o.Averaging, o.ConversionCycle = 64, 500*time.Millisecond }, "tmp117: ConversionCycle 500ms shorter than the 1s that Averaging 64 takes"},
		{func(o *tmp117.Opts) { o.ConversionCycle = 15500 * time.Microsecond }, "tmp117: ConversionCycle 15.5ms shorter than the 125ms that Averaging 8 takes"},
	}
	for _, tt := range tests {
		opts := tmp117.DefaultOpts
		tt.change(&opts)
		bus := &i2ctest.Playback{DontPanic: true} // refused before any I/O
		d, err := tmp117.New(bus, &opts)
		if err == nil || err.Error() != tt.want || d != nil {
			t.Errorf("New(%+v) = %v, %v; want nil, %q", opts, d, err, tt.want)
		}
	}
}

func TestNewChecksDeviceID(t *testing.T) {
	const clash = "; 0x8583, 0x8000 and 0x7FFF are an ADS1115's power-on register values: an ADS1115 is at this address (both default to 0x48: strap one to another address)"
	tests := []struct {
		id   uint16
		want string
	}{
		{0x1234, "tmp117 at 0x48: Device_ID 0x1234, want 0x0117: not a TMP117"},
		{0x0000, "tmp117 at 0x48: Device_ID 0x0000, want 0x0117: not a TMP117"},
		{0x8583, "tmp117 at 0x48: Device_ID 0x8583, want 0x0117: not a TMP117" + clash},
		{0x7FFF, "tmp117 at 0x48: Device_ID 0x7FFF, want 0x0117: not a TMP117" + clash},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: 0x48, W: []byte{0x0F}, R: []byte{byte(tt.id >> 8), byte(tt.id)}}}, DontPanic: true}
		if _, err := tmp117.New(bus, nil); err == nil || err.Error() != tt.want {
			t.Errorf("Device_ID %#04x: New = %v,\nwant %q", tt.id, err, tt.want)
		}
	}
	// A later revision (bits 15:12) is a TMP117.
	ops := initOps(0x48, 0x0220)
	ops[0].R = []byte{0x11, 0x17}
	if _, err := tmp117.New(&i2ctest.Playback{Ops: ops, DontPanic: true}, nil); err != nil {
		t.Errorf("Device_ID 0x1117: New = %v, want nil", err)
	}
	// The ADS1115 model at the TMP117's address, as a pod wired with both
	// at their default.
	synctest.Test(t, func(t *testing.T) {
		bus := sim.NewI2CBus("sim-i2c")
		if err := bus.Attach(0x48, sim.NewADS1115(func(time.Time) float64 { return 1 })); err != nil {
			t.Fatal(err)
		}
		if _, err := tmp117.New(bus, nil); err == nil || err.Error() != "tmp117 at 0x48: Device_ID 0x7FFF, want 0x0117: not a TMP117"+clash {
			t.Errorf("New on an ADS1115 = %v", err)
		}
	})
}

func newSim(t *testing.T, opts *tmp117.Opts, celsius func(time.Time) float64) (*tmp117.Dev, *sim.I2CBus, *sim.TMP117) {
	t.Helper()
	bus := sim.NewI2CBus("sim-i2c")
	m := sim.NewTMP117(celsius)
	addr := uint16(0x48)
	if opts != nil {
		addr = opts.Addr
	}
	if err := bus.Attach(addr, m); err != nil {
		t.Fatal(err)
	}
	d, err := tmp117.New(bus, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, bus, m
}

type reading struct {
	c     float64
	fresh bool
	err   error
}

func read(d *tmp117.Dev) reading {
	c, fresh, err := d.Read()
	return reading{c, fresh, err}
}

// From power-up: no conversion yet, then a fresh result once a cycle, each
// reported fresh once.
func TestReadOnSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		warming := func(t time.Time) float64 { return 36.6 + 0.01*t.Sub(t0).Seconds() }
		d, _, m := newSim(t, nil, warming)
		if got := m.Register(0x01); got != 0x0220 {
			t.Errorf("Configuration after New = %#04x, want 0x0220", got)
		}
		if r := read(d); !errors.Is(r.err, tmp117.ErrNoConversion) || r.c != 0 || r.fresh ||
			r.err.Error() != "tmp117 at 0x48: no conversion yet (Temp_Result 0x8000)" {
			t.Errorf("Read before the first conversion = %+v, want 0, false, ErrNoConversion", r)
		}
		time.Sleep(125 * time.Millisecond) // 8 averages
		// round((36.6 + 0.00125) × 128) / 128
		if r := read(d); r != (reading{4685 * tmp117.LSB, true, nil}) {
			t.Errorf("Read at 125 ms = %+v, want 36.6015625, fresh", r)
		}
		if r := read(d); r != (reading{4685 * tmp117.LSB, false, nil}) {
			t.Errorf("Read again = %+v, want 36.6015625, not fresh", r)
		}
		time.Sleep(time.Second - time.Nanosecond)
		if r := read(d); r.fresh || r.err != nil {
			t.Errorf("Read just before the next conversion = %+v, want not fresh", r)
		}
		time.Sleep(time.Nanosecond)
		// round((36.6 + 0.01125) × 128) / 128
		if r := read(d); r != (reading{4686 * tmp117.LSB, true, nil}) {
			t.Errorf("Read at 1.125 s = %+v, want 36.609375, fresh", r)
		}
		// Read after 10 s: the latest of 10 conversions, fresh once.
		time.Sleep(10 * time.Second)
		if r := read(d); r.c != math.Round((36.6+0.11125)*128)*tmp117.LSB || !r.fresh || r.err != nil {
			t.Errorf("Read 10 s later = %+v, want 36.7109375, fresh", r)
		}
	})
}

// A stalled chip never sets Data_Ready: its last value is never fresh again.
func TestReadStalledConversions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, m := newSim(t, nil, func(time.Time) float64 { return 37 })
		time.Sleep(125 * time.Millisecond)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Fatalf("Read = %+v, want 37, fresh", r)
		}
		m.StallConversions(true)
		for range 5 {
			time.Sleep(time.Second)
			if r := read(d); r != (reading{37, false, nil}) {
				t.Errorf("Read while stalled = %+v, want 37, not fresh", r)
			}
		}
		m.StallConversions(false)
		time.Sleep(time.Second)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Errorf("Read after the stall = %+v, want 37, fresh", r)
		}
	})
}

// A bus that replays its last answers (the simulator's stuck fault) never
// gives a fresh result: the re-read of Configuration after a fresh one
// found Data_Ready clear, and the bus replays that.
func TestReadDataReadyTooSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, bus, _ := newSim(t, nil, func(time.Time) float64 { return 37 })
		time.Sleep(125 * time.Millisecond)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Fatalf("Read = %+v, want 37, fresh", r)
		}
		bus.SetFault(0x48, sim.FaultStuck)
		for i := range 6 {
			time.Sleep(500 * time.Millisecond)
			if r := read(d); r.fresh {
				t.Errorf("Read %d on a stuck bus = %+v, want not fresh", i, r)
			}
		}
		bus.SetFault(0x48, sim.FaultNone)
		time.Sleep(time.Second)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Errorf("Read after the fault = %+v, want 37, fresh", r)
		}
	})
}

// A chip reset behind the driver's back (a brown-out, here a Soft_Reset)
// is an error until New runs again.
func TestReadNoticesAReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := &tmp117.Opts{Addr: 0x48, Averaging: 1, ConversionCycle: 125 * time.Millisecond}
		d, bus, _ := newSim(t, opts, func(time.Time) float64 { return 37 })
		if err := bus.Tx(0x48, []byte{0x01, 0x00, 0x02}, nil); err != nil {
			t.Fatal(err)
		}
		want := "tmp117 at 0x48: Configuration 0x0220, want 0x0080 in bits 11:2: the chip was reset or reconfigured"
		if r := read(d); r.err == nil || r.err.Error() != want {
			t.Errorf("Read after a reset = %+v, want %q", r, want)
		}
		d, err := tmp117.New(bus, opts)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(15500 * time.Microsecond)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Errorf("Read after New = %+v, want 37, fresh", r)
		}
	})
}

func TestBusFaultsNameTheChip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := sim.NewI2CBus("sim-i2c")
		if _, err := tmp117.New(bus, nil); !errors.Is(err, sim.ErrNACK) ||
			err.Error() != "tmp117 at 0x48: read Device_ID: sim: i2c: no device at 0x48: "+sim.ErrNACK.Error() {
			t.Errorf("New with no chip = %v", err)
		}
		d, bus, _ := newSim(t, nil, func(time.Time) float64 { return 37 })
		time.Sleep(125 * time.Millisecond)
		for _, f := range []sim.Fault{sim.FaultNACK, sim.FaultDisconnect} {
			bus.SetFault(0x48, f)
			r := read(d)
			if !errors.Is(r.err, sim.ErrNACK) || r.c != 0 || r.fresh || !strings.HasPrefix(r.err.Error(), "tmp117 at 0x48: read Configuration: sim: i2c: ") {
				t.Errorf("Read with %s = %+v, want 0, not fresh, a wrapped ErrNACK naming tmp117 at 0x48", f, r)
			}
		}
		bus.SetFault(0x48, sim.FaultNone)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Errorf("Read after the fault = %+v, want 37, fresh: the result waited", r)
		}
	})
}

func TestHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, bus, m := newSim(t, nil, func(time.Time) float64 { return 37 })
		time.Sleep(time.Second) // the second conversion, 1 s to 1.125 s, starts
		bus.SetFault(0x48, sim.FaultNACK)
		if err := d.Halt(); err == nil || !strings.HasPrefix(err.Error(), "tmp117 at 0x48: halt: ") {
			t.Errorf("Halt on a NACKing chip = %v", err)
		}
		bus.SetFault(0x48, sim.FaultNone)
		if err := d.Halt(); err != nil {
			t.Fatalf("Halt: %v", err)
		}
		// 1.0 s: inside the conversion that ends at 1.125 s; it ends, then
		// the chip stays in shutdown.
		if m.Shutdown() {
			t.Errorf("shut down at once, want the conversion in progress to end first")
		}
		time.Sleep(125 * time.Millisecond)
		n := m.Conversions()
		if got := m.Register(0x01) & 0x0FFC; !m.Shutdown() || got != 0x0620 || n != 2 {
			t.Errorf("after Halt: shutdown %v, Configuration %#04x, %d conversions; want true, 0x0620, 2", m.Shutdown(), got, n)
		}
		if err := d.Halt(); err != nil {
			t.Errorf("second Halt: %v", err)
		}
		if _, _, err := d.Read(); !errors.Is(err, tmp117.ErrHalted) {
			t.Errorf("Read after Halt = %v, want ErrHalted", err)
		}
		time.Sleep(time.Minute)
		if got := m.Conversions(); got != n {
			t.Errorf("%d conversions in the minute after Halt, want 0", got-n)
		}
	})
}

// fuzzBus answers as a TMP117 until live, then answers every read with the
// next bytes of data (zeros once it runs out).
type fuzzBus struct {
	cfg  [2]byte
	data []byte
	live bool
}

func (b *fuzzBus) String() string                  { return "fuzz" }
func (b *fuzzBus) SetSpeed(physic.Frequency) error { return nil }

func (b *fuzzBus) Tx(_ uint16, w, r []byte) error {
	if !b.live {
		switch {
		case len(w) == 3:
			b.cfg = [2]byte{w[1], w[2]}
		case w[0] == 0x0F:
			r[0], r[1] = 0x01, 0x17
		default:
			copy(r, b.cfg[:])
		}
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

// Any bytes from the bus give a temperature above −256 °C in whole LSBs, or
// an error with no temperature and nothing fresh, or a stale value: never
// a panic, never a fresh −256 °C, and fresh only with Data_Ready set.
func FuzzRead(f *testing.F) {
	f.Add([]byte{0x22, 0x20, 0x12, 0x50})
	f.Add([]byte{0x02, 0x20, 0x12, 0x50})
	f.Add([]byte{0x22, 0x20, 0x80, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x7F, 0xFF})
	f.Add([]byte{0x02, 0x20, 0x80, 0x01, 0x22, 0x20, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		bus := &fuzzBus{}
		d, err := tmp117.New(bus, nil)
		if err != nil {
			t.Fatal(err)
		}
		bus.data, bus.live = data, true
		for range 2 {
			in := append([]byte(nil), bus.data...)
			c, fresh, err := d.Read()
			switch {
			case err == nil:
				if c <= -256 || c >= 256 || math.Round(c/tmp117.LSB)*tmp117.LSB != c {
					t.Fatalf("Read of % X = %v, %v, nil", in, c, fresh)
				}
				if fresh && (len(in) < 1 || in[0]&0x20 == 0) {
					t.Fatalf("Read of % X = %v fresh without Data_Ready", in, c)
				}
			case errors.Is(err, tmp117.ErrDataReadyTooSoon):
				if fresh {
					t.Fatalf("Read of % X = %v, fresh, %v", in, c, err)
				}
			default:
				if c != 0 || fresh {
					t.Fatalf("Read of % X = %v, %v, %v", in, c, fresh, err)
				}
			}
		}
	})
}

// New accepts a chip only when the bytes it reads are a TMP117's Device_ID
// and its own configuration; any others are an error, never a panic.
func FuzzNew(f *testing.F) {
	f.Add([]byte{0x01, 0x17, 0x02, 0x20})
	f.Add([]byte{0x11, 0x17, 0x22, 0x20})
	f.Add([]byte{0x85, 0x83})
	f.Add([]byte{0x01, 0x17, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...)
		bus := &fuzzBus{data: data, live: true}
		d, err := tmp117.New(bus, nil)
		if err != nil {
			if d != nil || !strings.HasPrefix(err.Error(), "tmp117 at 0x48: ") {
				t.Fatalf("New on % X = %v, %v", in, d, err)
			}
			return
		}
		id, cfg := uint16(in[0])<<8|uint16(in[1]), uint16(in[2])<<8|uint16(in[3])
		if id&0x0FFF != 0x0117 || cfg&0x0FFC != 0x0220 {
			t.Fatalf("New accepted Device_ID %#04x, Configuration %#04x", id, cfg)
		}
	})
}

// Options other than the reset configuration reach the chip: the model
// converts at their averaging and cycle.
func TestNewConfiguresTheSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := &tmp117.Opts{Addr: 0x49, Averaging: 32, ConversionCycle: 4 * time.Second}
		d, _, m := newSim(t, opts, func(time.Time) float64 { return 36 })
		if got := m.Register(0x01); got != 0x02C0 {
			t.Errorf("Configuration after New = %#04x, want 0x02C0", got)
		}
		time.Sleep(500*time.Millisecond - time.Nanosecond)
		if r := read(d); !errors.Is(r.err, tmp117.ErrNoConversion) {
			t.Errorf("Read before 500 ms = %+v, want ErrNoConversion", r)
		}
		time.Sleep(time.Nanosecond)
		if r := read(d); r != (reading{36, true, nil}) {
			t.Errorf("Read at 500 ms = %+v, want 36, fresh", r)
		}
		time.Sleep(4*time.Second - time.Nanosecond)
		if r := read(d); r != (reading{36, false, nil}) {
			t.Errorf("Read just before the next result = %+v, want 36, not fresh", r)
		}
		time.Sleep(time.Nanosecond)
		if r := read(d); r != (reading{36, true, nil}) {
			t.Errorf("Read 4 s later = %+v, want 36, fresh", r)
		}
	})
}

// dataReadyStuck is a TMP117 behind a bus whose Configuration reads show
// Data_Ready set, every time, once armed: the chip's clearing on read
// never shows.
type dataReadyStuck struct {
	*sim.TMP117
	armed bool
}

func (s *dataReadyStuck) Tx(w, r []byte) error {
	if err := s.TMP117.Tx(w, r); err != nil {
		return err
	}
	if s.armed && len(w) == 1 && w[0] == 0x01 && len(r) == 2 {
		r[0] |= 0x20 // Data_Ready, bit 13
	}
	return nil
}

// Data_Ready that does not clear when read is a bus repeating itself: the
// result is not fresh, and Read says why.
func TestReadDataReadyThatDoesNotClear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := sim.NewI2CBus("sim-i2c")
		m := &dataReadyStuck{TMP117: sim.NewTMP117(func(time.Time) float64 { return 37 })}
		if err := bus.Attach(0x48, m); err != nil {
			t.Fatal(err)
		}
		d, err := tmp117.New(bus, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1125 * time.Millisecond)
		if r := read(d); r != (reading{37, true, nil}) {
			t.Fatalf("Read = %+v, want 37, fresh", r)
		}
		m.armed = true
		time.Sleep(time.Second)
		r := read(d)
		want := "tmp117 at 0x48: Data_Ready did not clear when read: the bus repeats its answers"
		if r.fresh || !errors.Is(r.err, tmp117.ErrNotCleared) || r.err.Error() != want {
			t.Errorf("Read = %+v, want not fresh, %q", r, want)
		}
	})
}
