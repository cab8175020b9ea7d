package sim

import (
	"slices"
	"testing"
)

func start() []byte { return []byte{0, 0, 0, 0} }

func ledFrame(brightness, r, g, b uint8) []byte {
	return []byte{0xE0 | brightness, b, g, r}
}

func stream(parts ...[]byte) []byte { return slices.Concat(parts...) }

func TestAPA102DecodesAFrameAndShowsItAtTheNextStartFrame(t *testing.T) {
	a := NewAPA102(2)
	frame := stream(start(), ledFrame(31, 1, 2, 3), ledFrame(7, 0xFF, 0, 0x80), []byte{0})
	if err := a.Tx(frame, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Shown(), []LED{{}, {}}; !slices.Equal(got, want) {
		t.Errorf("before the next start frame: shown %v; want %v (SK9822 latch)", got, want)
	}
	if a.Frames() != 0 {
		t.Errorf("Frames() = %d before the latch; want 0", a.Frames())
	}
	if err := a.Tx(start(), nil); err != nil {
		t.Fatal(err)
	}
	want := []LED{{R: 1, G: 2, B: 3, Brightness: 31}, {R: 0xFF, G: 0, B: 0x80, Brightness: 7}}
	if got := a.Shown(); !slices.Equal(got, want) {
		t.Errorf("shown %v; want %v", got, want)
	}
	if a.Frames() != 1 || a.ProtocolErrors() != 0 || a.Dark() {
		t.Errorf("Frames %d, ProtocolErrors %d, Dark %t; want 1, 0, false", a.Frames(), a.ProtocolErrors(), a.Dark())
	}
}

func TestAPA102DecodesTheStreamAcrossTransactionsOfAnySize(t *testing.T) {
	frame := stream(start(), ledFrame(31, 10, 20, 30), ledFrame(31, 40, 50, 60), ledFrame(1, 70, 80, 90), []byte{0}, start())
	want := []LED{{10, 20, 30, 31}, {40, 50, 60, 31}, {70, 80, 90, 1}}
	for chunk := 1; chunk <= len(frame); chunk++ {
		a := NewAPA102(3)
		for b := range slices.Chunk(frame, chunk) {
			if err := a.Tx(b, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := a.Shown(); !slices.Equal(got, want) || a.Frames() != 1 {
			t.Errorf("in chunks of %d bytes: shown %v, %d frames; want %v, 1", chunk, got, a.Frames(), want)
		}
	}
}

func TestAPA102DarkMeansNoLightFromAnyLED(t *testing.T) {
	for _, tc := range []struct {
		led  LED
		dark bool
	}{
		{LED{}, true},
		{LED{R: 255, G: 255, B: 255}, true}, // brightness 0
		{LED{Brightness: 31}, true},         // colour 0
		{LED{B: 1, Brightness: 1}, false},
	} {
		if got := tc.led.Dark(); got != tc.dark {
			t.Errorf("%+v.Dark() = %t; want %t", tc.led, got, tc.dark)
		}
	}
}

// Each LED sees the stream half a clock after the previous one, so LED i
// latches only ceil(i/2) clocks after the start frame left the host.
func TestAPA102LastLEDsNeedTheEndFrameToLatch(t *testing.T) {
	const n = 40 // LED 39 needs 20 clocks after the start frame: 3 bytes
	leds := make([][]byte, n)
	for i := range leds {
		leds[i] = ledFrame(31, 0, 0, 255)
	}
	a := NewAPA102(n)
	if err := a.Tx(stream(start(), stream(leds...), start()), nil); err != nil {
		t.Fatal(err)
	}
	shown := a.Shown()
	for i, l := range shown {
		// 0 bits after the start frame: only LED 0 (delay 0) has latched.
		if lit := !l.Dark(); lit != (i == 0) {
			t.Fatalf("without end frame LED %d lit %t; want only LED 0 lit", i, lit)
		}
	}
	if err := a.Tx([]byte{0, 0}, nil); err != nil { // 16 clocks: LEDs up to 32
		t.Fatal(err)
	}
	shown = a.Shown()
	if shown[32].Dark() || !shown[33].Dark() {
		t.Fatalf("after 16 clocks LED 32 dark %t, LED 33 dark %t; want lit, dark", shown[32].Dark(), shown[33].Dark())
	}
	if a.Frames() != 0 {
		t.Errorf("Frames() = %d before the last LED latched; want 0", a.Frames())
	}
	if err := a.Tx([]byte{0}, nil); err != nil {
		t.Fatal(err)
	}
	if a.Frames() != 1 || slices.ContainsFunc(a.Shown(), LED.Dark) {
		t.Errorf("after 24 clocks: %d frames, shown %v; want 1 frame, all lit", a.Frames(), a.Shown())
	}
}

func TestAPA102LEDFrameWithoutHeaderIsAProtocolError(t *testing.T) {
	a := NewAPA102(2)
	bad := stream(start(), ledFrame(31, 1, 1, 1), []byte{0x5F, 1, 1, 1}, []byte{0}, start())
	if err := a.Tx(bad, nil); err != nil {
		t.Fatal(err)
	}
	if a.ProtocolErrors() != 1 {
		t.Errorf("ProtocolErrors() = %d; want 1", a.ProtocolErrors())
	}
	if a.Frames() != 0 {
		t.Errorf("Frames() = %d after a broken frame; want 0", a.Frames())
	}
	good := stream(start(), ledFrame(31, 1, 1, 1), ledFrame(31, 2, 2, 2), []byte{0}, start())
	if err := a.Tx(good, nil); err != nil {
		t.Fatal(err)
	}
	if want := []LED{{1, 1, 1, 31}, {2, 2, 2, 31}}; !slices.Equal(a.Shown(), want) || a.Frames() != 1 {
		t.Errorf("after a good frame: shown %v, %d frames; want %v, 1", a.Shown(), a.Frames(), want)
	}
}

func TestAPA102OnesInTheEndFrameOnlyClockDataThrough(t *testing.T) {
	a := NewAPA102(1)
	if err := a.Tx(stream(start(), ledFrame(31, 9, 9, 9), []byte{0xFF, 0xFF, 0xFF, 0xFF}), nil); err != nil {
		t.Fatal(err)
	}
	if !a.Dark() {
		t.Fatalf("shown %v before a start frame; want dark", a.Shown())
	}
	if err := a.Tx(start(), nil); err != nil {
		t.Fatal(err)
	}
	if want := []LED{{9, 9, 9, 31}}; !slices.Equal(a.Shown(), want) || a.ProtocolErrors() != 0 {
		t.Errorf("shown %v, %d protocol errors; want %v, 0", a.Shown(), a.ProtocolErrors(), want)
	}
}

func TestAPA102ReadsAsZeros(t *testing.T) {
	a := NewAPA102(1)
	r := []byte{1, 2, 3}
	if err := a.Tx([]byte{0, 0, 0}, r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r, []byte{0, 0, 0}) {
		t.Errorf("read %v; want zeros", r)
	}
}

func TestAPA102BehindTheSimulatedSPIPort(t *testing.T) {
	a := NewAPA102(1)
	p := NewSPIPort("SPI0.0", a)
	c, err := p.Connect(1e6, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Tx(stream(start(), ledFrame(31, 0, 5, 0), []byte{0}, start()), nil); err != nil {
		t.Fatal(err)
	}
	if want := []LED{{0, 5, 0, 31}}; !slices.Equal(a.Shown(), want) {
		t.Errorf("shown %v; want %v", a.Shown(), want)
	}
}
