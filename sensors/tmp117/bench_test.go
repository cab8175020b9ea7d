package tmp117_test

import (
	"testing"

	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/tmp117"
)

// readyBus is a TMP117 whose Temp_Result is 36.6 °C and whose Data_Ready
// is clear, so that a benchmark measures the driver and not the bus.
type readyBus struct{}

func (readyBus) String() string                  { return "ready" }
func (readyBus) SetSpeed(physic.Frequency) error { return nil }

func (readyBus) Tx(_ uint16, w, r []byte) error {
	switch {
	case len(r) == 2 && w[0] == 0x0F:
		r[0], r[1] = 0x01, 0x17
	case len(r) == 2 && w[0] == 0x01:
		r[0], r[1] = 0x02, 0x20
	case len(r) == 2 && w[0] == 0x00:
		r[0], r[1] = 0x12, 0x4D // 4685 × 7.8125 m°C
	}
	return nil
}

// BenchmarkRead measures one Read: two register reads and the decoding, on
// the path of a result already read (a fresh one only adds a comparison of
// times; with Data_Ready set at every read of a tight loop the driver would
// take the chip for one repeating itself, an error path).
func BenchmarkRead(b *testing.B) {
	d, err := tmp117.New(readyBus{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, fresh, err := d.Read()
		if c != 4685*tmp117.LSB || fresh || err != nil {
			b.Fatalf("Read = %v, %v, %v; want 36.6015625, not fresh, nil", c, fresh, err)
		}
	}
}
