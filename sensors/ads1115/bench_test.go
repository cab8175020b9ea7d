package ads1115_test

import (
	"testing"

	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
)

// doneBus is an ADS1115 whose conversions are over by the second poll, with
// a code for 1.65 V at ±4.096 V, so that a benchmark measures the driver and
// the conversion time, not the bus.
type doneBus struct {
	cfg   [2]byte
	polls int
}

func (b *doneBus) String() string                  { return "done" }
func (b *doneBus) SetSpeed(physic.Frequency) error { return nil }

func (b *doneBus) Tx(_ uint16, w, r []byte) error {
	switch {
	case len(w) == 3:
		b.cfg, b.polls = [2]byte{w[1], w[2]}, 0
	case len(w) == 1 && w[0] == 0x01:
		b.polls++
		copy(r, b.cfg[:])
		r[0] |= 0x80
		if b.polls == 1 && b.cfg[0]&0x80 != 0 { // converting at the first poll after a start
			r[0] &^= 0x80
		}
	case len(w) == 1 && w[0] == 0x00:
		r[0], r[1] = 0x33, 0x90 // 13200 × 125 µV
	}
	return nil
}

// BenchmarkRead measures one Read at 860 sps, then the same with the skin
// conductance computed from it. Read sleeps through the conversion: ns/op is
// its 1.163 ms plus the timer's slack, not CPU time; allocs/op is the
// driver's.
func BenchmarkRead(b *testing.B) {
	opts := ads1115.DefaultOpts
	opts.RateSPS = 860
	d, err := ads1115.New(&doneBus{}, &opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("volts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := d.Read(); err != nil || v != 13200*d.LSB() {
				b.Fatalf("Read = %v, %v; want 1.65", v, err)
			}
		}
	})
	b.Run("microsiemens", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := d.Read()
			if err != nil {
				b.Fatal(err)
			}
			if us, err := eda.DefaultDivider.Conductance(v); err != nil || us < 4.99 || us > 5.01 {
				b.Fatalf("Conductance(%v) = %v, %v; want 5 µS", v, us, err)
			}
		}
	})
}
