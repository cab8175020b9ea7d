package max30102_test

import (
	"slices"
	"testing"
	"testing/synctest"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/sleegation/podd/sensors/max30102"
)

// ReadFIFO's doc: "lost is how many samples are missing just before
// dst[0] ... those [a full FIFO dropped] are missing after the samples of
// the read that saw the count, so the next read reports them", and "On an
// error ... the next read that succeeds returns what it kept and counts
// what is missing". A read that saw OVF_COUNTER 5 leaves 5 samples to be
// reported; when the read after it fails at FIFO_DATA (popping nothing),
// those 5 must still be reported by the next read that succeeds. They
// are not: the failing read had already taken them from the Dev and
// returns lost 0 with its error, so the gap vanishes and the estimator
// joins the signal across 0.2 s as if it were continuous.
func TestReadFIFOKeepsTheOverflowCountAcrossAFailedDataRead(t *testing.T) {
	full, _ := frames(32, 0)
	data, samples := frames(5, 0)
	ops := slices.Concat(initOps(0x4F, 0x27, 0x24, 0x24), []i2ctest.IO{
		// A full FIFO that dropped 5 samples after the 32 it holds.
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0xC0, 0, 0, 0, 0x07, 0x05, 0x07}},
		{Addr: 0x57, W: []byte{0x07}, R: full},
		// 3 new samples; the read of FIFO_DATA fails here (transaction 12).
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 0x0A, 0, 0x07}},
		// FIFO_RD_PTR unmoved: the failed read popped nothing.
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 0x0C, 0, 0x07}},
		{Addr: 0x57, W: []byte{0x07}, R: data},
	})
	bus := newFailingBus(12, ops...)
	var d *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if d, err = max30102.New(bus, nil); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
	dst := make([]max30102.Sample, max30102.FIFODepth)
	if n, lost, err := d.ReadFIFO(dst); err != nil || n != 32 || lost != 0 {
		t.Fatalf("the first read = %d, %d, %v; want 32, 0, nil", n, lost, err)
	}
	if n, lost, err := d.ReadFIFO(dst); err == nil || n != 0 || lost != 0 {
		t.Fatalf("the failing read = %d, %d, %v; want 0, 0, an error", n, lost, err)
	}
	n, lost, err := d.ReadFIFO(dst)
	if err != nil || n != 5 || !slices.Equal(dst[:n], samples) {
		t.Fatalf("the next read = %d, %d, %v; want 5 samples", n, lost, err)
	}
	if lost != 5 {
		t.Errorf("the next read reports %d lost; want the 5 the full FIFO dropped before them", lost)
	}
}

// The same for samples a failed read of FIFO_DATA popped ("Samples a
// failed read of FIFO_DATA popped ... are missing before the next read's
// too"): when the next read fails at FIFO_DATA as well (a noisy bus fails
// the long burst reads far more often than the 7-byte status reads), the
// 4 samples the first one popped must still be reported by the read that
// succeeds. They are not: the second failing read took the count and
// returned it nowhere.
func TestReadFIFOKeepsThePoppedCountAcrossASecondFailedDataRead(t *testing.T) {
	data, samples := frames(6, 0)
	ops := slices.Concat(initOps(0x4F, 0x27, 0x24, 0x24), []i2ctest.IO{
		// 10 unread; the read of FIFO_DATA fails (transaction 10) after popping 4.
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 10, 0, 0}},
		// 8 unread after the 4 popped; FIFO_DATA fails again (transaction 12), popping none.
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 12, 0, 4}},
		{Addr: 0x57, W: []byte{0x00}, R: []byte{0x40, 0, 0, 0, 10, 0, 4}},
		{Addr: 0x57, W: []byte{0x07}, R: data},
	})
	bus := &failingTwice{failingBus: newFailingBus(10, ops...), second: 12}
	var d *max30102.Dev
	synctest.Test(t, func(t *testing.T) {
		var err error
		if d, err = max30102.New(bus, nil); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
	dst := make([]max30102.Sample, max30102.FIFODepth)
	for i := range 2 {
		if n, lost, err := d.ReadFIFO(dst); err == nil || n != 0 || lost != 0 {
			t.Fatalf("failing read %d = %d, %d, %v; want 0, 0, an error", i+1, n, lost, err)
		}
	}
	n, lost, err := d.ReadFIFO(dst)
	if err != nil || n != 6 || !slices.Equal(dst[:n], samples) {
		t.Fatalf("the next read = %d, %d, %v; want 6 samples", n, lost, err)
	}
	if lost != 4 {
		t.Errorf("the next read reports %d lost; want the 4 the first failed read popped", lost)
	}
}

// failingTwice fails its failAt-th and its second-th transactions.
type failingTwice struct {
	*failingBus
	second int
}

func (b *failingTwice) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	i := b.n
	b.mu.Unlock()
	if i == b.second {
		b.mu.Lock()
		b.n++
		b.mu.Unlock()
		return errNACK
	}
	return b.failingBus.Tx(addr, w, r)
}
