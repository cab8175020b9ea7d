package ads1299_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/sleegation/podd/sensors/ads1299"
)

// replayPort answers the driver's set-up as a chip that takes its
// configuration, then every 27-byte read with recorded frames in turn,
// without allocating, so that a benchmark measures the driver and not the
// bus.
type replayPort struct {
	regs   [0x18]byte
	frames [][]byte
	next   int
	reads  int
}

func (p *replayPort) String() string { return "replay" }
func (p *replayPort) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) {
	return p, nil
}
func (p *replayPort) Duplex() conn.Duplex          { return conn.Full }
func (p *replayPort) TxPackets([]spi.Packet) error { return nil }
func (p *replayPort) Tx(w, r []byte) error {
	switch {
	case len(r) == ads1299.FrameSize:
		copy(r, p.frames[p.next])
		p.next = (p.next + 1) % len(p.frames)
		p.reads++
	case len(w) > 2 && w[0]&0xE0 == 0x40:
		copy(p.regs[w[0]&0x1F:], w[2:])
	case len(w) > 2 && w[0]&0xE0 == 0x20:
		copy(r[2:], p.regs[w[0]&0x1F:])
	}
	return nil
}

// readyPin is a DRDY line that always has a conversion waiting.
type readyPin struct{}

func (readyPin) String() string                 { return "ready" }
func (readyPin) Halt() error                    { return nil }
func (readyPin) Name() string                   { return "ready" }
func (readyPin) Number() int                    { return 0 }
func (readyPin) Function() string               { return "In/Low" }
func (readyPin) In(gpio.Pull, gpio.Edge) error  { return nil }
func (readyPin) Read() gpio.Level               { return gpio.Low }
func (readyPin) WaitForEdge(time.Duration) bool { return true }
func (readyPin) Pull() gpio.Pull                { return gpio.Float }
func (readyPin) DefaultPull() gpio.Pull         { return gpio.Float }

// BenchmarkRead measures one frame: waiting (at once), the 27-byte
// transaction and decoding.
func BenchmarkRead(b *testing.B) {
	port := &replayPort{regs: [0x18]byte{0x3E}}
	for i := range 50 {
		f := ads1299.Frame{LeadOffP: byte(i)}
		for ch := range f.Raw {
			f.Raw[ch] = int32((i*1000 + ch*77777) % (1 << 23))
		}
		port.frames = append(port.frames, encode(&f))
	}
	d, err := ads1299.New(port, readyPin{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var f ads1299.Frame
	sum := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Read(&f, time.Second); err != nil {
			b.Fatal(err)
		}
		sum += int64(f.Raw[1])
	}
	if port.reads == 0 || sum == 0 {
		b.Fatal("no frame was decoded: the benchmark measured an early exit")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/ads1299.MaxChannels, "ns/sample")
}
