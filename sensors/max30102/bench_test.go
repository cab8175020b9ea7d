package max30102_test

import (
	"math"
	"testing"

	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
)

// replayBus answers every poll with a full FIFO (WR == RD, one sample lost)
// and hands out recorded 32-sample bursts in turn, without allocating, so
// that a benchmark measures the driver and not the bus.
type replayBus struct {
	bursts [][]byte
	next   int
}

func (b *replayBus) String() string                  { return "replay" }
func (b *replayBus) SetSpeed(physic.Frequency) error { return nil }

func (b *replayBus) Tx(_ uint16, w, r []byte) error {
	switch {
	case len(w) == 1 && w[0] == 0xFF:
		r[0] = 0x15
	case len(w) == 1 && w[0] == 0x00:
		r[4], r[5], r[6] = 5, 1, 5
	case len(w) == 1 && w[0] == 0x07:
		copy(r, b.bursts[b.next])
		b.next = (b.next + 1) % len(b.bursts)
	}
	return nil
}

// newReplay returns a driver on a bus that replays 20 s of a 70 bpm pulse at
// 25 Hz, as the chip encodes it, in 32-sample bursts.
func newReplay(b *testing.B) *max30102.Dev {
	const fs, hr = 25.0, 70.0
	bus := &replayBus{}
	for i := 0; i < 20*fs; i += max30102.FIFODepth {
		var burst []byte
		for j := range max30102.FIFODepth {
			phase := math.Mod(float64(i+j)*hr/60/fs, 1)
			p := math.Exp(-0.5 * math.Pow((phase-0.2)/0.08, 2))
			burst = append(burst, frame(uint32(90000*(1-0.01*p)), uint32(120000*(1-0.02*p)), 0)...)
		}
		bus.bursts = append(bus.bursts, burst)
	}
	d, err := max30102.New(bus, nil)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkPoll measures one poll of a full FIFO: decode alone, then decode
// plus feeding the estimator and one estimate, the daemon's per-poll work.
func BenchmarkPoll(b *testing.B) {
	b.Run("decode", func(b *testing.B) {
		d := newReplay(b)
		buf := make([]max30102.Sample, max30102.FIFODepth)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := d.ReadFIFO(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*max30102.FIFODepth), "ns/sample")
	})
	b.Run("decode+vitals", func(b *testing.B) {
		d := newReplay(b)
		est := vitals.NewEstimator(d.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)
		valid := 0
		b.ReportAllocs()
		for b.Loop() {
			n, _, err := d.ReadFIFO(buf)
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range buf[:n] {
				est.Add(s.Red, s.IR)
			}
			if est.Estimate().Valid() {
				valid++
			}
		}
		if b.N > 10 && valid == 0 {
			b.Fatal("the estimator never produced a valid reading: the benchmark measured the early exit")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*max30102.FIFODepth), "ns/sample")
	})
}
