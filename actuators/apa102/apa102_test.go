package apa102

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/sleegation/podd/sim"
)

// connectRecorder records the arguments of Connect and hands out conn.
type connectRecorder struct {
	spi.PortCloser
	f     physic.Frequency
	mode  spi.Mode
	bits  int
	calls int
}

func (p *connectRecorder) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	p.f, p.mode, p.bits = f, mode, bits
	p.calls++
	return p.PortCloser.Connect(f, mode, bits)
}

func playback(ops ...[]byte) *spitest.Playback {
	p := &spitest.Playback{Playback: conntest.Playback{DontPanic: true}}
	for _, w := range ops {
		p.Ops = append(p.Ops, conntest.IO{W: w})
	}
	return p
}

// The frames of a 3-LED strip: start frame, 3 LED frames, 1 byte of end
// frame (3/2 clocks rounded up to bytes), start frame.
var (
	dark3 = []byte{
		0, 0, 0, 0,
		0xE0, 0, 0, 0,
		0xE0, 0, 0, 0,
		0xE0, 0, 0, 0,
		0,
		0, 0, 0, 0,
	}
	colours3 = []byte{
		0, 0, 0, 0,
		0xFF, 0x03, 0x02, 0x01, // brightness 31, B, G, R
		0xFF, 0x00, 0x80, 0xFF,
		0xFF, 0x10, 0x20, 0x30,
		0,
		0, 0, 0, 0,
	}
	pixels3 = []Color{{R: 1, G: 2, B: 3}, {R: 0xFF, G: 0x80, B: 0}, {R: 0x30, G: 0x20, B: 0x10}}
)

func TestNewConnectsMode0EightBitsAndTurnsTheStripDark(t *testing.T) {
	pb := playback(dark3)
	p := &connectRecorder{PortCloser: pb}
	d, err := New(p, &Opts{NumPixels: 3, Speed: 2 * physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	if p.calls != 1 || p.f != 2*physic.MegaHertz || p.mode != spi.Mode0 || p.bits != 8 {
		t.Errorf("Connect called %d times with (%s, %v, %d); want once with (2MHz, Mode0, 8)", p.calls, p.f, p.mode, p.bits)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
	if got, want := d.String(), "apa102(playback, 3 LEDs)"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestWriteSendsOneFrameAtFullBrightnessThenALatchingStartFrame(t *testing.T) {
	pb := playback(dark3, colours3)
	d, err := New(pb, &Opts{NumPixels: 3, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(pixels3); err != nil {
		t.Fatal(err)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
}

func TestHaltSendsTheDarkFrameEveryTimeAndBlocksWritesUntilResume(t *testing.T) {
	pb := playback(dark3, colours3, dark3, dark3, colours3)
	d, err := New(pb, &Opts{NumPixels: 3, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(pixels3); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.Halt(); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Write(pixels3); !errors.Is(err, ErrHalted) {
		t.Fatalf("Write after Halt = %v; want ErrHalted", err)
	}
	d.Resume()
	if err := d.Write(pixels3); err != nil {
		t.Fatal(err)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
}

func TestEndFrameIsHalfAClockPerLEDRoundedUpToBytes(t *testing.T) {
	for _, tc := range []struct{ n, endBytes int }{
		{1, 1}, {16, 1}, {17, 2}, {32, 2}, {33, 3}, {60, 4}, {150, 10}, {1024, 64},
	} {
		if got, want := frameSize(tc.n), 4+4*tc.n+tc.endBytes+4; got != want {
			t.Errorf("frameSize(%d) = %d; want %d", tc.n, got, want)
		}
	}
}

func TestNewRejectsInvalidOpts(t *testing.T) {
	for _, tc := range []struct {
		opts Opts
		want string
	}{
		{Opts{NumPixels: 0, Speed: physic.MegaHertz}, "apa102: NumPixels 0 is outside 1..1024"},
		{Opts{NumPixels: 1025, Speed: physic.MegaHertz}, "apa102: NumPixels 1025 is outside 1..1024"},
		{Opts{NumPixels: 3, Speed: 0}, "apa102: Speed 0Hz must be positive"},
	} {
		pb := playback()
		_, err := New(pb, &tc.opts)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v; want %q", tc.opts, err, tc.want)
		}
		if pb.Initialized {
			t.Errorf("New(%+v) connected to the port", tc.opts)
		}
	}
}

// chunkPort is a port whose connections have spidev's transfer limit and
// record the length of every transfer.
type chunkPort struct {
	spi.Port
	max   int
	sizes []int
}

type chunkConn struct {
	spi.Conn
	p *chunkPort
}

func (c chunkConn) MaxTxSize() int { return c.p.max }

func (c chunkConn) Tx(w, r []byte) error {
	if len(w) > c.p.max {
		return fmt.Errorf("transfer of %d bytes over the %d-byte limit", len(w), c.p.max)
	}
	c.p.sizes = append(c.p.sizes, len(w))
	return c.Conn.Tx(w, r)
}

func (p *chunkPort) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	c, err := p.Port.Connect(f, mode, bits)
	return chunkConn{c, p}, err
}

var _ conn.Limits = chunkConn{}

// A frame longer than the port's transfer limit (from 1007 LEDs on a stock
// spidev's 4096 bytes) goes out in chunks of the limit and is shown whole;
// a frame within the limit is still one transfer.
func TestAFrameLongerThanTheTransferLimitIsSentInChunks(t *testing.T) {
	for _, c := range []struct {
		n     int
		sizes []int
	}{
		{1006, []int{4095}},     // 4 + 4024 + 63 + 4
		{1007, []int{4096, 3}},  // 4 + 4028 + 63 + 4 = 4099
		{1024, []int{4096, 72}}, // 4 + 4096 + 64 + 4 = 4168
	} {
		leds := sim.NewAPA102(c.n)
		p := &chunkPort{Port: sim.NewSPIPort("SPI0.0", leds), max: 4096}
		d, err := New(p, &Opts{NumPixels: c.n, Speed: physic.MegaHertz})
		if err != nil {
			t.Fatalf("%d LEDs: %v", c.n, err)
		}
		p.sizes = nil
		colours := rainbow(c.n)
		if err := d.Write(colours); err != nil {
			t.Fatalf("%d LEDs: Write: %v", c.n, err)
		}
		if !slices.Equal(p.sizes, c.sizes) {
			t.Errorf("%d LEDs: transfers of %v bytes, want %v", c.n, p.sizes, c.sizes)
		}
		if got, want := leds.Shown(), shownAs(colours); !slices.Equal(got, want) {
			t.Errorf("%d LEDs: the strip does not show the frame", c.n)
		}
		if leds.ProtocolErrors() != 0 {
			t.Errorf("%d LEDs: %d protocol errors", c.n, leds.ProtocolErrors())
		}
	}
}

func TestWriteRejectsAWrongNumberOfColours(t *testing.T) {
	pb := playback(dark3)
	d, err := New(pb, &Opts{NumPixels: 3, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Write(pixels3[:2])
	if want := "apa102: Write of 2 colours to a strip of 3 LEDs"; err == nil || err.Error() != want {
		t.Errorf("Write = %v; want %q", err, want)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
}

func TestWriteAndHaltReportBusErrors(t *testing.T) {
	port := sim.NewSPIPort("SPI0.0", sim.NewAPA102(3))
	d, err := New(port, &Opts{NumPixels: 3, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	port.SetFault(sim.FaultDisconnect)
	if err := d.Write(pixels3); err == nil {
		t.Error("Write on a disconnected port succeeded")
	}
	if err := d.Halt(); err == nil {
		t.Error("Halt on a disconnected port succeeded")
	}
}

// strip returns a driver on a simulated SK9822-latching strip of n LEDs.
func strip(t *testing.T, n int) (*Dev, *sim.APA102) {
	t.Helper()
	leds := sim.NewAPA102(n)
	d, err := New(sim.NewSPIPort("SPI0.0", leds), &Opts{NumPixels: n, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	return d, leds
}

func rainbow(n int) []Color {
	c := make([]Color, n)
	for i := range c {
		c[i] = Color{R: uint8(i), G: uint8(255 - i), B: uint8(3 * i)}
	}
	return c
}

func shownAs(c []Color) []sim.LED {
	l := make([]sim.LED, len(c))
	for i, p := range c {
		l[i] = sim.LED{R: p.R, G: p.G, B: p.B, Brightness: 31}
	}
	return l
}

func TestWriteIsShownAtOnceEvenBySK9822(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 60, 150, 1024} {
		d, leds := strip(t, n)
		c := rainbow(n)
		if err := d.Write(c); err != nil {
			t.Fatal(err)
		}
		if got := leds.Shown(); !slices.Equal(got, shownAs(c)) {
			t.Errorf("%d LEDs: strip shows %v; want %v", n, got, shownAs(c))
		}
		if got := leds.Frames(); got != 2 { // New's dark frame, then this one
			t.Errorf("%d LEDs: %d frames latched; want 2", n, got)
		}
		if got := leds.ProtocolErrors(); got != 0 {
			t.Errorf("%d LEDs: %d protocol errors", n, got)
		}
	}
}

func TestHaltLeavesSK9822Dark(t *testing.T) {
	d, leds := strip(t, 60)
	if err := d.Write(rainbow(60)); err != nil {
		t.Fatal(err)
	}
	if leds.Dark() {
		t.Fatal("strip dark after writing colours")
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if !leds.Dark() {
		t.Errorf("strip shows %v after Halt; want dark", leds.Shown())
	}
}

// A dark frame that ends with the end frame, as the datasheet describes it,
// is not latched by SK9822 clones: only the first LED, which the end frame's
// 32 zero bits reach as a start frame, goes dark.
func TestDarkFrameWithoutTrailingStartFrameLeavesSK9822Lit(t *testing.T) {
	const n = 60
	d, leds := strip(t, n)
	c := rainbow(n)
	if err := d.Write(c); err != nil {
		t.Fatal(err)
	}
	plain := bytes.Clone(d.safe[:len(d.safe)-4])
	if err := leds.Tx(plain, nil); err != nil {
		t.Fatal(err)
	}
	want := shownAs(c)
	want[0] = sim.LED{}
	if got := leds.Shown(); !slices.Equal(got, want) {
		t.Errorf("after a plain dark frame the strip shows %v; want %v", got, want)
	}
	if leds.Dark() {
		t.Error("strip dark without the trailing start frame")
	}
	if err := leds.Tx(make([]byte, 4), nil); err != nil { // the start frame Halt adds
		t.Fatal(err)
	}
	if !leds.Dark() {
		t.Errorf("strip shows %v after the start frame; want dark", leds.Shown())
	}
}

// blockingConn holds the first Write's transfer until release is closed and
// records whether a transfer ever started while another was in progress.
type blockingConn struct {
	spi.Conn
	entered chan struct{}
	release chan struct{}

	mu      sync.Mutex
	txs     [][]byte
	busy    bool
	overlap bool
}

func (c *blockingConn) Tx(w, r []byte) error {
	c.mu.Lock()
	c.overlap = c.overlap || c.busy
	c.busy = true
	c.txs = append(c.txs, bytes.Clone(w))
	n := len(c.txs)
	c.mu.Unlock()
	if n == 2 { // the first Write after New's dark frame
		close(c.entered)
		<-c.release
	}
	c.mu.Lock()
	c.busy = false
	c.mu.Unlock()
	return nil
}

type blockingPort struct {
	spitest.Playback
	c *blockingConn
}

func (p *blockingPort) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) { return p.c, nil }

// Halt called while a Write is on the bus sends its dark frame after that
// Write, never interleaved with it and never before it, so the last frame
// on the strip is dark.
func TestHaltCalledDuringAWriteSendsTheDarkFrameAfterIt(t *testing.T) {
	bc := &blockingConn{entered: make(chan struct{}), release: make(chan struct{})}
	d, err := New(&blockingPort{c: bc}, &Opts{NumPixels: 3, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	writeDone := make(chan error)
	go func() { writeDone <- d.Write(pixels3) }()
	<-bc.entered
	haltDone := make(chan error)
	go func() { haltDone <- d.Halt() }()
	runtime.Gosched()
	close(bc.release)
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	if err := <-haltDone; err != nil {
		t.Fatal(err)
	}
	want := [][]byte{dark3, colours3, dark3}
	if !slices.EqualFunc(bc.txs, want, bytes.Equal) || bc.overlap {
		t.Errorf("bus carried %x (overlapping: %t); want %x in turn", bc.txs, bc.overlap, want)
	}
	if err := d.Write(pixels3); !errors.Is(err, ErrHalted) {
		t.Errorf("Write after Halt = %v; want ErrHalted", err)
	}
}

// lastFrameConn keeps the last transfer in a buffer sized once, so that
// recording it allocates nothing.
type lastFrameConn struct {
	spi.Conn
	last []byte
	txs  int
}

func (c *lastFrameConn) Tx(w, r []byte) error {
	c.last = append(c.last[:0], w...)
	c.txs++
	return nil
}

type lastFramePort struct {
	spitest.Playback
	c *lastFrameConn
}

func (p *lastFramePort) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) { return p.c, nil }

// Every Write measured returns nil and puts its frame on the bus: a Write
// that returns early (ErrHalted, a wrong length) allocates nothing either.
func TestWriteDoesNotAllocate(t *testing.T) {
	const n, runs = 150, 100
	bus := &lastFrameConn{last: make([]byte, 0, frameSize(n))}
	d, err := New(&lastFramePort{c: bus}, &Opts{NumPixels: n, Speed: physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	c := rainbow(n)
	want := []byte{0, 0, 0, 0}
	for _, p := range c {
		want = append(want, 0xFF, p.B, p.G, p.R)
	}
	want = append(want, make([]byte, 10+4)...) // end frame of 75 clocks, latching start frame

	if err := d.Write(c); err != nil {
		t.Fatalf("Write = %v; want nil", err)
	}
	if bus.txs != 2 || !bytes.Equal(bus.last, want) { // New's dark frame, then this one
		t.Fatalf("after Write the bus carried %d transfers, the last %x; want 2, the last %x", bus.txs, bus.last, want)
	}
	var werr error
	failed := 0
	a := testing.AllocsPerRun(runs, func() {
		if werr = d.Write(c); werr != nil {
			failed++
		}
	})
	if failed != 0 {
		t.Fatalf("%d of the Writes measured failed, the last with %v; want none", failed, werr)
	}
	// AllocsPerRun calls once more than runs, to warm up.
	if wantTxs := 2 + 1 + runs; bus.txs != wantTxs || !bytes.Equal(bus.last, want) {
		t.Fatalf("after the Writes measured the bus carried %d transfers, the last %x; want %d, the last %x", bus.txs, bus.last, wantTxs, want)
	}
	if a != 0 {
		t.Errorf("Write allocates %v times per call; want 0", a)
	}
}

type nopConn struct{ spi.Conn }

func (nopConn) Tx(w, r []byte) error { return nil }

type nopPort struct{ spitest.Playback }

func (*nopPort) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) { return nopConn{}, nil }

func BenchmarkWrite150(b *testing.B) {
	d, err := New(&nopPort{}, &Opts{NumPixels: 150, Speed: 8 * physic.MegaHertz})
	if err != nil {
		b.Fatal(err)
	}
	c := rainbow(150)
	b.ReportAllocs()
	b.SetBytes(int64(frameSize(150)))
	for b.Loop() {
		if err := d.Write(c); err != nil {
			b.Fatal(err)
		}
	}
}

// The safe state shows Opts.Safe on every LED (a warm, dim light for the
// pod), and SetSafe moves it while the strip is halted without lifting the
// halt; while the strip is not halted SetSafe writes nothing.
func TestSafeColourAndSetSafe(t *testing.T) {
	const n = 17
	warm := Color{R: 40, G: 16, B: 3}
	leds := sim.NewAPA102(n)
	d, err := New(sim.NewSPIPort("SPI0.0", leds), &Opts{NumPixels: n, Speed: physic.MegaHertz, Safe: warm})
	if err != nil {
		t.Fatal(err)
	}
	uniform := func(c Color) []sim.LED {
		l := make([]sim.LED, n)
		for i := range l {
			l[i] = sim.LED{R: c.R, G: c.G, B: c.B, Brightness: 31}
		}
		return l
	}
	if got := leds.Shown(); !slices.Equal(got, uniform(warm)) {
		t.Fatalf("after New the strip shows %v, want the safe colour", got[0])
	}
	c := rainbow(n)
	if err := d.Write(c); err != nil {
		t.Fatal(err)
	}
	frames := leds.Frames()
	brighter := Color{R: 60, G: 24, B: 5}
	if err := d.SetSafe(brighter); err != nil {
		t.Fatal(err)
	}
	if leds.Frames() != frames || !slices.Equal(leds.Shown(), shownAs(c)) {
		t.Fatal("SetSafe wrote to a strip that is not halted")
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := leds.Shown(); !slices.Equal(got, uniform(brighter)) {
		t.Fatalf("after Halt the strip shows %v, want %v", got[0], brighter)
	}
	if err := d.SetSafe(warm); err != nil {
		t.Fatal(err)
	}
	if got := leds.Shown(); !slices.Equal(got, uniform(warm)) {
		t.Fatalf("after SetSafe while halted the strip shows %v, want %v", got[0], warm)
	}
	if err := d.Write(c); !errors.Is(err, ErrHalted) {
		t.Fatalf("Write after SetSafe = %v, want ErrHalted", err)
	}
}
