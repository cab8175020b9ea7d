package max30102_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sim"
)

// initOps is the transcript of New: identify, reset (the chip still
// resetting at the first poll), configure, clear the FIFO, start.
func initOps(fifo, spo2, red, ir byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x57, W: []byte{0xFF}, R: []byte{0x15}},
		{Addr: 0x57, W: []byte{0x09, 0x40}},
		{Addr: 0x57, W: []byte{0x09}, R: []byte{0x40}},
		{Addr: 0x57, W: []byte{0x09}, R: []byte{0x00}},
		{Addr: 0x57, W: []byte{0x08, fifo}},
		{Addr: 0x57, W: []byte{0x0A, spo2}},
		{Addr: 0x57, W: []byte{0x0C, red, ir}},
		{Addr: 0x57, W: []byte{0x04, 0x00, 0x00, 0x00}},
		{Addr: 0x57, W: []byte{0x09, 0x03}},
	}
}

func newPlayback(t *testing.T, opts *max30102.Opts, ops ...i2ctest.IO) (*max30102.Dev, *i2ctest.Playback) {
	t.Helper()
	bus := &i2ctest.Playback{Ops: append(initOps(0x4F, 0x27, 0x24, 0x24), ops...), DontPanic: true}
	var d *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if d, err = max30102.New(bus, opts); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
	return d, bus
}

func TestNewWritesConfiguration(t *testing.T) {
	tests := []struct {
		name                string
		opts                *max30102.Opts
		fifo, spo2, red, ir byte
		rate                float64
	}{
		{"nil is DefaultOpts", nil, 0x4F, 0x27, 0x24, 0x24, 25},
		{"DefaultOpts", &max30102.DefaultOpts, 0x4F, 0x27, 0x24, 0x24, 25},
		{"fast, wide range, red off, IR full", &max30102.Opts{
			SampleRate: 1600 * physic.Hertz, Averaging: 1, PulseWidth: 69 * time.Microsecond,
			ADCRange: 16384 * physic.NanoAmpere, RedCurrent: 0, IRCurrent: 50 * physic.MilliAmpere,
		}, 0x0F, 0x78, 0x00, 0xFF, 1600},
		{"slow, narrow range", &max30102.Opts{
			SampleRate: 50 * physic.Hertz, Averaging: 32, PulseWidth: 215 * time.Microsecond,
			ADCRange: 2048 * physic.NanoAmpere, RedCurrent: 10 * physic.MilliAmpere, IRCurrent: 200 * physic.MicroAmpere,
		}, 0xAF, 0x02, 0x33, 0x01, 50.0 / 32},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			bus := &i2ctest.Playback{Ops: initOps(tt.fifo, tt.spo2, tt.red, tt.ir), DontPanic: true}
			d, err := max30102.New(bus, tt.opts)
			if err != nil {
				t.Fatalf("%s: New: %v", tt.name, err)
			}
			if err := bus.Close(); err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			if got := d.SampleRate(); got != tt.rate {
				t.Errorf("%s: SampleRate() = %v, want %v", tt.name, got, tt.rate)
			}
			if got, want := d.String(), "MAX30102{playback(87)}"; got != want {
				t.Errorf("%s: String() = %q, want %q", tt.name, got, want)
			}
		})
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	tests := []struct {
		change func(*max30102.Opts)
		want   string
	}{
		{func(o *max30102.Opts) { o.SampleRate = 150 * physic.Hertz }, "max30102: invalid SampleRate 150Hz (want 50, 100, 200, 400, 800, 1000, 1600 or 3200 Hz)"},
		{func(o *max30102.Opts) { o.Averaging = 3 }, "max30102: invalid Averaging 3 (want 1, 2, 4, 8, 16 or 32)"},
		{func(o *max30102.Opts) { o.Averaging = 0 }, "max30102: invalid Averaging 0 (want 1, 2, 4, 8, 16 or 32)"},
		{func(o *max30102.Opts) { o.PulseWidth = 400 * time.Microsecond }, "max30102: invalid PulseWidth 400µs (want 69µs, 118µs, 215µs or 411µs)"},
		{func(o *max30102.Opts) { o.SampleRate = 800 * physic.Hertz }, "max30102: SampleRate 800Hz too high for PulseWidth 411µs (at most 400Hz)"},
		{func(o *max30102.Opts) { o.SampleRate, o.PulseWidth = 3200*physic.Hertz, 69*time.Microsecond }, "max30102: SampleRate 3.200kHz too high for PulseWidth 69µs (at most 1.600kHz)"},
		{func(o *max30102.Opts) { o.ADCRange = 0 }, "max30102: invalid ADCRange 0A (want 2048, 4096, 8192 or 16384 nA)"},
		{func(o *max30102.Opts) { o.RedCurrent = 51 * physic.MilliAmpere }, "max30102: invalid RedCurrent 51mA (want 0 to 50mA)"},
		{func(o *max30102.Opts) { o.IRCurrent = -physic.MilliAmpere }, "max30102: invalid IRCurrent -1mA (want 0 to 50mA)"},
	}
	for _, tt := range tests {
		opts := max30102.DefaultOpts
		tt.change(&opts)
		// An empty transcript: invalid options are refused before any I/O.
		bus := &i2ctest.Playback{DontPanic: true}
		d, err := max30102.New(bus, &opts)
		if err == nil || err.Error() != tt.want || d != nil {
			t.Errorf("New(%+v) = %v, %v; want nil, %q", opts, d, err, tt.want)
		}
	}
}

func TestNewRejectsWrongChip(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: 0x57, W: []byte{0xFF}, R: []byte{0x11}}}, DontPanic: true}
	_, err := max30102.New(bus, nil)
	if want := "max30102: part ID 0x11, want 0x15: not a MAX30102"; err == nil || err.Error() != want {
		t.Errorf("New = %v, want %q", err, want)
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

var errNACK = errors.New("nack")

// failingBus plays back ops but answers its failAt-th transaction (counting
// from 0) with errNACK, as a chip that stops acknowledging would.
type failingBus struct {
	mu     sync.Mutex
	pb     i2ctest.Playback
	n      int
	failAt int
}

func newFailingBus(failAt int, ops ...i2ctest.IO) *failingBus {
	return &failingBus{pb: i2ctest.Playback{Ops: ops, DontPanic: true}, failAt: failAt}
}

func (b *failingBus) String() string                  { return "failing" }
func (b *failingBus) SetSpeed(physic.Frequency) error { return nil }

func (b *failingBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	i := b.n
	b.n++
	b.mu.Unlock()
	if i == b.failAt {
		return errNACK
	}
	return b.pb.Tx(addr, w, r)
}

func TestNewReportsBusErrors(t *testing.T) {
	ops := initOps(0x4F, 0x27, 0x24, 0x24)
	tests := []struct {
		failAt int
		want   string
	}{
		{0, "max30102: read part ID: nack"},
		{1, "max30102: reset: nack"},
		{2, "max30102: poll reset: nack"},
		{4, "max30102: write FIFO_CONFIG: nack"},
		{5, "max30102: write SPO2_CONFIG: nack"},
		{6, "max30102: write LED_PA: nack"},
		{7, "max30102: write FIFO pointers: nack"},
		{8, "max30102: write MODE_CONFIG: nack"},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			// The transcript without the failing transaction.
			bus := newFailingBus(tt.failAt, slices.Delete(slices.Clone(ops), tt.failAt, tt.failAt+1)...)
			d, err := max30102.New(bus, nil)
			if err == nil || err.Error() != tt.want || !errors.Is(err, errNACK) || d != nil {
				t.Errorf("failing at transaction %d: New = %v, %v; want nil, %q", tt.failAt, d, err, tt.want)
			}
		})
	}
}

// stuckInReset is a chip whose RESET bit never clears.
type stuckInReset struct{ polls int }

func (b *stuckInReset) String() string                  { return "stuck" }
func (b *stuckInReset) SetSpeed(physic.Frequency) error { return nil }

func (b *stuckInReset) Tx(_ uint16, w, r []byte) error {
	switch {
	case len(w) == 1 && w[0] == 0xFF:
		r[0] = 0x15
	case len(w) == 1 && w[0] == 0x09:
		b.polls++
		r[0] = 0x40
	}
	return nil
}

func TestNewGivesUpOnResetAfter100ms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &stuckInReset{}
		start := time.Now()
		_, err := max30102.New(bus, nil)
		if want := "max30102: reset not complete after 100ms"; err == nil || err.Error() != want {
			t.Errorf("New = %v, want %q", err, want)
		}
		// Polled every millisecond from 0 to 100 ms inclusive.
		if elapsed := time.Since(start); elapsed != 100*time.Millisecond || bus.polls != 101 {
			t.Errorf("gave up after %v and %d polls, want 100ms and 101", elapsed, bus.polls)
		}
	})
}

// frame encodes one FIFO sample as the chip sends it; junk fills the unused
// top 6 bits of each channel, which the driver must ignore.
func frame(red, ir uint32, junk byte) []byte {
	return []byte{byte(red>>16) | junk&^0x03, byte(red >> 8), byte(red), byte(ir>>16) | junk&^0x03, byte(ir >> 8), byte(ir)}
}

func frames(n int, junk byte) ([]byte, []max30102.Sample) {
	var b []byte
	var s []max30102.Sample
	for i := range n {
		red, ir := uint32(0x30000+i*0x0101), uint32(0x3FFFF-i*0x0203)
		b = append(b, frame(red, ir, junk)...)
		s = append(s, max30102.Sample{Red: red, IR: ir})
	}
	return b, s
}

func TestReadFIFO(t *testing.T) {
	tests := []struct {
		name     string
		status   byte   // INT_STATUS1 as read
		ptrs     []byte // WR, OVF, RD as read
		dst      int
		want     int
		wantLost int
	}{
		{"empty", 0x00, []byte{0x09, 0x00, 0x09}, 32, 0, 0},
		{"empty, PPG_RDY and PWR_RDY set", 0x41, []byte{0x09, 0x00, 0x09}, 32, 0, 0},
		{"wrap-around", 0x40, []byte{0x02, 0x00, 0x1D}, 32, 5, 0},
		// Equal pointers with A_FULL: 32 unread, none lost yet.
		{"full, no overflow yet", 0xC0, []byte{0x09, 0x00, 0x09}, 32, 32, 0},
		{"almost full", 0xC0, []byte{0x1A, 0x00, 0x09}, 32, 17, 0},
		{"full with overflow", 0xC0, []byte{0x07, 0x05, 0x07}, 32, 32, 5},
		{"full, counter saturated", 0x80, []byte{0x00, 0x1F, 0x00}, 32, 32, 31},
		{"dst shorter than the FIFO", 0x00, []byte{0x0A, 0x00, 0x00}, 4, 4, 0},
		{"dst shorter than a full FIFO", 0x80, []byte{0x03, 0x00, 0x03}, 4, 4, 0},
		{"junk in the pointers' top bits", 0x00, []byte{0xE3, 0xE0, 0xE1}, 32, 2, 0},
	}
	for _, tt := range tests {
		data, samples := frames(tt.want, 0xFC)
		regs := append([]byte{tt.status, 0x00, 0x00, 0x00}, tt.ptrs...)
		ops := []i2ctest.IO{{Addr: 0x57, W: []byte{0x00}, R: regs}}
		if tt.want > 0 {
			ops = append(ops, i2ctest.IO{Addr: 0x57, W: []byte{0x07}, R: data})
		}
		// The next read finds the FIFO empty, and reports what the full
		// FIFO dropped after the samples of the first: missing before its.
		ops = append(ops, i2ctest.IO{Addr: 0x57, W: []byte{0x00}, R: []byte{0, 0, 0, 0, 0x04, 0x00, 0x04}})
		d, bus := newPlayback(t, nil, ops...)
		dst := make([]max30102.Sample, tt.dst)
		n, lost, err := d.ReadFIFO(dst)
		if err != nil || n != tt.want || lost != 0 {
			t.Errorf("%s: ReadFIFO = %d, %d, %v; want %d, 0, nil", tt.name, n, lost, err, tt.want)
		}
		if !slices.Equal(dst[:n], samples) {
			t.Errorf("%s: samples = %X, want %X", tt.name, dst[:n], samples)
		}
		if n, lost, err := d.ReadFIFO(dst); err != nil || n != 0 || lost != tt.wantLost {
			t.Errorf("%s: the next ReadFIFO = %d, %d, %v; want 0, %d, nil", tt.name, n, lost, err, tt.wantLost)
		}
		if err := bus.Close(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestReadFIFOReportsBusErrors(t *testing.T) {
	data, _ := frames(3, 0)
	tests := []struct {
		failAt int
		want   string
	}{
		{0, "max30102: read FIFO pointers: nack"},
		{1, "max30102: read FIFO data: nack"}, // a NACK mid-read
	}
	for _, tt := range tests {
		ops := slices.Concat(initOps(0x4F, 0x27, 0x24, 0x24), []i2ctest.IO{
			{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00}},
			{Addr: 0x57, W: []byte{0x07}, R: data},
		})
		ops = slices.Delete(ops, len(ops)-2+tt.failAt, len(ops)-1+tt.failAt)
		bus := newFailingBus(9+tt.failAt, ops...)
		var d *max30102.Dev
		synctest.Test(t, func(t *testing.T) {
			var err error
			if d, err = max30102.New(bus, nil); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
		dst := []max30102.Sample{{1, 1}, {1, 1}, {1, 1}}
		n, lost, err := d.ReadFIFO(dst)
		if err == nil || err.Error() != tt.want || !errors.Is(err, errNACK) || n != 0 || lost != 0 {
			t.Errorf("ReadFIFO = %d, %d, %v; want 0, 0, %q", n, lost, err, tt.want)
		}
		if want := []max30102.Sample{{1, 1}, {1, 1}, {1, 1}}; !slices.Equal(dst, want) {
			t.Errorf("dst = %v after a failed read, want untouched %v", dst, want)
		}
	}
}

func TestHalt(t *testing.T) {
	d, bus := newPlayback(t, nil, i2ctest.IO{Addr: 0x57, W: []byte{0x09, 0x83}})
	if err := d.Halt(); err != nil {
		t.Fatalf("Halt: %v", err)
	}
	// A second Halt does nothing: the transcript has no second write.
	if err := d.Halt(); err != nil {
		t.Errorf("second Halt: %v", err)
	}
	if _, _, err := d.ReadFIFO(make([]max30102.Sample, 32)); !errors.Is(err, max30102.ErrHalted) {
		t.Errorf("ReadFIFO after Halt = %v, want ErrHalted", err)
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

func TestHaltRetriesAfterAnError(t *testing.T) {
	bus := newFailingBus(9, append(initOps(0x4F, 0x27, 0x24, 0x24), i2ctest.IO{Addr: 0x57, W: []byte{0x09, 0x83}})...)
	var d *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if d, err = max30102.New(bus, nil); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
	if err := d.Halt(); err == nil || err.Error() != "max30102: halt: nack" {
		t.Errorf("Halt = %v, want max30102: halt: nack", err)
	}
	if err := d.Halt(); err != nil {
		t.Errorf("Halt again = %v, want nil", err)
	}
	if err := bus.pb.Close(); err != nil {
		t.Error(err)
	}
}

// On the simulated bus the driver runs against the register model with its
// own clock.
func newSim(t *testing.T, hr func(time.Time) (float64, float64)) (*sim.I2CBus, *sim.MAX30102) {
	t.Helper()
	bus := sim.NewI2CBus("sim-i2c")
	m := sim.NewMAX30102(hr, 1)
	if err := bus.Attach(sim.MAX30102Addr, m); err != nil {
		t.Fatal(err)
	}
	return bus, m
}

func steady(time.Time) (float64, float64) { return 66, 97 }

func TestNewOnSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus, m := newSim(t, steady)
		d, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if m.Mode() != 0x03 || m.Shutdown() || m.SampleRate() != d.SampleRate() {
			t.Errorf("chip mode %#x, shutdown %v, rate %v; want 0x03, false, %v", m.Mode(), m.Shutdown(), m.SampleRate(), d.SampleRate())
		}
		if red, ir := m.Register(0x0C), m.Register(0x0D); red != 0x24 || ir != 0x24 {
			t.Errorf("LED1_PA, LED2_PA = %#x, %#x, want 0x24, 0x24", red, ir)
		}
		if err := d.Halt(); err != nil || !m.Shutdown() {
			t.Errorf("Halt = %v, chip shutdown %v; want nil, true", err, m.Shutdown())
		}
	})
}

func TestReadFIFOOnSimulator(t *testing.T) {
	tests := []struct {
		poll          time.Duration
		wantN, wantLo int // over 10 s
	}{
		{poll: 500 * time.Millisecond, wantN: 250, wantLo: 0}, // 12.5 samples a poll
		{poll: time.Second, wantN: 250, wantLo: 0},
		{poll: 2 * time.Second, wantN: 32 * 5, wantLo: 5 * 18}, // 50 made a poll, 32 kept
		// 32 made a poll: the FIFO is full, not empty, at each read.
		{poll: 1280 * time.Millisecond, wantN: 32 * 8, wantLo: 0},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			bus, m := newSim(t, steady)
			d, err := max30102.New(bus, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			buf := make([]max30102.Sample, max30102.FIFODepth)
			total, lostTotal := 0, 0
			for start := time.Now(); time.Since(start) < 10*time.Second; {
				time.Sleep(tt.poll)
				n, lost, err := d.ReadFIFO(buf)
				if err != nil {
					t.Fatalf("ReadFIFO: %v", err)
				}
				for _, s := range buf[:n] {
					if s.IR < 100000 || s.IR > 140000 || s.Red < 75000 || s.Red > 105000 {
						t.Fatalf("sample %+v: want IR near 120 000 and red near 90 000", s)
					}
				}
				total += n
				lostTotal += lost
			}
			// What the last poll's full FIFO dropped is reported by the
			// next read, before its samples.
			if _, lost, err := d.ReadFIFO(buf[:0]); err != nil {
				t.Fatalf("ReadFIFO: %v", err)
			} else {
				lostTotal += lost
			}
			if total != tt.wantN || lostTotal != tt.wantLo || m.LostSamples() != tt.wantLo {
				t.Errorf("polling every %v: %d samples, %d lost (chip: %d); want %d, %d", tt.poll, total, lostTotal, m.LostSamples(), tt.wantN, tt.wantLo)
			}
		})
	}
}

func TestDisconnectedSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus, _ := newSim(t, steady)
		bus.SetFault(sim.MAX30102Addr, sim.FaultDisconnect)
		if _, err := max30102.New(bus, nil); !errors.Is(err, sim.ErrNACK) ||
			err.Error() != "max30102: read part ID: sim: i2c: no device at 0x57: "+sim.ErrNACK.Error() {
			t.Errorf("New on a disconnected chip = %v, want a wrapped sim.ErrNACK", err)
		}

		bus.SetFault(sim.MAX30102Addr, sim.FaultNone)
		d, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		time.Sleep(time.Second)
		bus.SetFault(sim.MAX30102Addr, sim.FaultDisconnect)
		buf := make([]max30102.Sample, max30102.FIFODepth)
		if n, _, err := d.ReadFIFO(buf); !errors.Is(err, sim.ErrNACK) || n != 0 {
			t.Errorf("ReadFIFO on a disconnected chip = %d, %v; want 0, a wrapped sim.ErrNACK", n, err)
		}
		// Back on the bus, the chip kept its samples.
		bus.SetFault(sim.MAX30102Addr, sim.FaultNone)
		if n, lost, err := d.ReadFIFO(buf); n != 25 || lost != 0 || err != nil {
			t.Errorf("ReadFIFO after reconnecting = %d, %d, %v; want 25, 0, nil", n, lost, err)
		}
	})
}

var _ i2c.Bus = (*failingBus)(nil)

// A read of FIFO_DATA that fails may have popped samples that OVF_COUNTER
// never counts: the next read counts them from FIFO_RD_PTR, on top of the
// overflow, and when the failed read asked for all 32 and FIFO_RD_PTR has
// not moved (none or all of them popped) it reports MaxLost, unknown.
func TestReadFIFOCountsWhatAFailedDataReadPopped(t *testing.T) {
	tests := []struct {
		name           string
		before, after  []byte // INT_STATUS1..FIFO_RD_PTR read before and after the failed read
		wantN, wantLos int
	}{
		// The 2 dropped come after the 11 held, read now: the next read reports them.
		{"4 popped, 2 dropped", []byte{0x40, 0, 0, 0, 10, 0, 0}, []byte{0x40, 0, 0, 0, 15, 2, 4}, 11, 4},
		{"none popped", []byte{0x40, 0, 0, 0, 10, 0, 0}, []byte{0x40, 0, 0, 0, 12, 0, 0}, 12, 0},
		{"all 10 popped", []byte{0x40, 0, 0, 0, 10, 0, 0}, []byte{0x40, 0, 0, 0, 12, 0, 10}, 2, 10},
		{"a full FIFO, the pointer unmoved", []byte{0x80, 0, 0, 0, 5, 0, 5}, []byte{0x80, 0, 0, 0, 5, 3, 5}, 32, max30102.MaxLost},
	}
	for _, tt := range tests {
		data, samples := frames(tt.wantN, 0)
		ops := slices.Concat(initOps(0x4F, 0x27, 0x24, 0x24), []i2ctest.IO{
			{Addr: 0x57, W: []byte{0x00}, R: tt.before},
			// the read of FIFO_DATA fails here
			{Addr: 0x57, W: []byte{0x00}, R: tt.after},
			{Addr: 0x57, W: []byte{0x07}, R: data},
		})
		bus := newFailingBus(10, ops...)
		var d *max30102.Dev
		synctest.Test(t, func(t *testing.T) {
			var err error
			if d, err = max30102.New(bus, nil); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
		dst := make([]max30102.Sample, max30102.FIFODepth)
		if n, lost, err := d.ReadFIFO(dst); err == nil || n != 0 || lost != 0 {
			t.Fatalf("%s: the failing read = %d, %d, %v; want 0, 0, an error", tt.name, n, lost, err)
		}
		n, lost, err := d.ReadFIFO(dst)
		if err != nil || n != tt.wantN || lost != tt.wantLos || !slices.Equal(dst[:n], samples) {
			t.Errorf("%s: the next read = %d, %d, %v; want %d, %d, nil", tt.name, n, lost, err, tt.wantN, tt.wantLos)
		}
	}
}

// Temperature starts a conversion, waits for TEMP_EN to clear and reads
// TEMP_INT (two's complement) and TEMP_FRAC (1/16 °C).
func TestTemperature(t *testing.T) {
	tests := []struct {
		name     string
		int_     byte
		frac     byte
		want     physic.Temperature
		wantText string
	}{
		{"warm", 31, 4, physic.ZeroCelsius + 31250*physic.MilliKelvin, "31.250°C"},
		{"below zero", 0xF6, 8, physic.ZeroCelsius - 9500*physic.MilliKelvin, "-9.500°C"}, // -10 + 0.5
		{"reserved bits of TEMP_FRAC set", 25, 0xF1, physic.ZeroCelsius + 25062500*physic.MicroKelvin, "25.062°C"},
	}
	for _, tt := range tests {
		d, bus := newPlayback(t, nil,
			i2ctest.IO{Addr: 0x57, W: []byte{0x21, 0x01}},
			i2ctest.IO{Addr: 0x57, W: []byte{0x21}, R: []byte{0x01}}, // converting
			i2ctest.IO{Addr: 0x57, W: []byte{0x21}, R: []byte{0x00}}, // done
			i2ctest.IO{Addr: 0x57, W: []byte{0x1F}, R: []byte{tt.int_, tt.frac}},
		)
		var got physic.Temperature
		var err error
		synctest.Test(t, func(t *testing.T) { got, err = d.Temperature() })
		if err != nil || got != tt.want || got.String() != tt.wantText {
			t.Errorf("%s: Temperature = %v (%d), %v; want %s (%d)", tt.name, got, got, err, tt.wantText, tt.want)
		}
		if err := bus.Close(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// A conversion that never ends is an error after 100 ms, and a halted chip
// measures nothing.
func TestTemperatureTimesOutAndNeedsAWorkingChip(t *testing.T) {
	ops := []i2ctest.IO{{Addr: 0x57, W: []byte{0x21, 0x01}}}
	for range 51 { // every 2 ms for 100 ms, and the one at the deadline
		ops = append(ops, i2ctest.IO{Addr: 0x57, W: []byte{0x21}, R: []byte{0x01}})
	}
	d, _ := newPlayback(t, nil, ops...)
	synctest.Test(t, func(t *testing.T) {
		if _, err := d.Temperature(); err == nil || err.Error() != "max30102: temperature conversion not done after 100ms" {
			t.Errorf("Temperature with TEMP_EN stuck = %v", err)
		}
	})
	bus, _ := newSim(t, steady)
	var dev *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if dev, err = max30102.New(bus, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := dev.Temperature(); err != nil || got.String() != "31.250°C" {
			t.Errorf("Temperature on the simulator = %v, %v; want 31.250°C", got, err)
		}
		if err := dev.Halt(); err != nil {
			t.Fatal(err)
		}
		if _, err := dev.Temperature(); !errors.Is(err, max30102.ErrHalted) {
			t.Errorf("Temperature after Halt = %v, want ErrHalted", err)
		}
	})
}

// With SwapRedIR (a board whose LED1 is the IR LED) RedCurrent drives
// LED2, IRCurrent LED1, and each sample's channels are swapped back: Red is
// what LED2 lit, IR what LED1 lit.
func TestSwapRedIR(t *testing.T) {
	opts := max30102.DefaultOpts
	opts.RedCurrent, opts.IRCurrent, opts.SwapRedIR = 10*physic.MilliAmpere, 200*physic.MicroAmpere, true
	data, samples := frames(3, 0)
	ops := append(initOps(0x4F, 0x27, 0x01, 0x33), // LED1_PA = IR's 0.2 mA, LED2_PA = red's 10 mA
		i2ctest.IO{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 3, 0, 0}},
		i2ctest.IO{Addr: 0x57, W: []byte{0x07}, R: data})
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	var d *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if d, err = max30102.New(bus, &opts); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
	dst := make([]max30102.Sample, max30102.FIFODepth)
	n, lost, err := d.ReadFIFO(dst)
	if err != nil || n != 3 || lost != 0 {
		t.Fatalf("ReadFIFO = %d, %d, %v; want 3, 0, nil", n, lost, err)
	}
	for i, s := range samples {
		if want := (max30102.Sample{Red: s.IR, IR: s.Red}); dst[i] != want {
			t.Errorf("sample %d = %+v, want the channels swapped %+v", i, dst[i], want)
		}
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}
