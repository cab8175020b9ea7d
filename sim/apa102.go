package sim

import "sync"

// LED is what one APA102 LED displays: its colour and its 5-bit global
// brightness (0..31).
type LED struct {
	R, G, B    uint8
	Brightness uint8
}

// Dark reports whether the LED emits no light.
func (l LED) Dark() bool {
	return l.Brightness == 0 || (l.R == 0 && l.G == 0 && l.B == 0)
}

// APA102 is a model of a strip of APA102-compatible LEDs behind an SPI port.
// It implements Device.
//
// The strip has no chip select: its clock and data lines see every byte the
// host sends, so the model decodes one continuous bit stream across
// transactions, as the chips do:
//
//   - A start frame is 32 zero bits seen while the strip is not inside an
//     LED frame. A longer run of zeros is still one start frame.
//   - LED frames follow back to back, 32 bits each: 0b111 and a 5-bit global
//     brightness, then blue, green, red. LED i takes the i-th frame after the
//     start frame. A frame whose first byte does not carry 0b111 is a protocol
//     error: the strip ignores data until the next start frame.
//   - Once every LED has its frame, further bits (the end frame) only clock
//     data through the strip.
//
// Each LED forwards data to the next half a clock cycle late, so LED i sees
// the host's stream ceil(i/2) clocks after the host sent it; that is why the
// host must send at least n/2 clocks after the last LED frame.
//
// The model latches like the SK9822, the stricter of the two chips: an LED
// shows its received colour only when the next start frame reaches it. An
// APA102 shows a frame as soon as it arrives, so a host that satisfies this
// model satisfies both. LEDs start dark.
type APA102 struct {
	mu sync.Mutex

	rx    []LED // the colour each LED has received (its shift register)
	shown []LED // the colour each LED displays (its PWM register)

	pos   int64 // bits clocked since power-on
	state apaState
	zeros int     // consecutive zero bytes outside LED frames
	idx   int     // index of the LED whose frame comes next
	cur   [4]byte // the LED frame being received
	got   int     // bytes of cur received

	// The last start frame, completed at bit position startAt, latches LED i
	// once pos reaches startAt+delay(i); LEDs below latched are done.
	startAt  int64
	latched  int
	complete bool // every LED received a frame between the previous start frame and startAt

	frames int
	errors int

	name string          // the device's name in the output record
	rec  *OutputRecorder // nil: none
}

type apaState int

const (
	apaIdle     apaState = iota // waiting for a start frame (power-on, after an error, or in the end frame)
	apaStart                    // inside a start frame: more zeros or the first LED frame
	apaBoundary                 // between two LED frames
	apaFrame                    // inside an LED frame
)

// NewAPA102 returns a dark strip of n LEDs.
func NewAPA102(n int) *APA102 {
	return &APA102{
		rx:      make([]LED, n),
		shown:   make([]LED, n),
		latched: n,
	}
}

// Tx implements Device. The strip drives no MISO line, so r reads as zeros.
func (a *APA102) Tx(w, r []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range w {
		a.clock(b)
	}
	clear(r)
	if a.rec != nil {
		leds := make([][4]uint8, len(a.shown))
		for i, l := range a.shown {
			leds[i] = [4]uint8{l.R, l.G, l.B, l.Brightness}
		}
		a.rec.record(OutputFrame{Device: a.name, LEDs: leds})
	}
	return nil
}

// Record sends what the strip shows after each transfer that changed it
// to rec, as device name.
func (a *APA102) Record(rec *OutputRecorder, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rec, a.name = rec, name
}

// delay is how many clocks after the host LED i sees a bit.
func delay(i int) int64 { return int64(i+1) / 2 }

func (a *APA102) clock(b byte) {
	a.pos += 8
	switch a.state {
	case apaIdle:
		a.countZero(b)
	case apaStart:
		switch {
		case b == 0:
		case b&0xE0 == 0xE0:
			a.beginFrame(b)
		default:
			a.protocolError()
		}
	case apaBoundary:
		switch {
		case b == 0:
			a.countZero(b)
		case b&0xE0 == 0xE0 && a.zeros == 0:
			a.beginFrame(b)
		default:
			a.protocolError()
		}
	case apaFrame:
		a.cur[a.got] = b
		a.got++
		if a.got == len(a.cur) {
			a.endFrame()
		}
	}
	a.latch()
}

func (a *APA102) countZero(b byte) {
	if b != 0 {
		a.zeros = 0
		return
	}
	a.zeros++
	if a.zeros < 4 {
		return
	}
	a.zeros = 0
	// LEDs the previous start frame has not reached yet have received
	// nothing since (see latch), so the new start frame latches the same
	// colours into them; only the frame count must carry over.
	a.complete = a.idx == len(a.rx) || (a.complete && a.latched < len(a.rx))
	a.startAt = a.pos
	a.latched = 0
	a.idx = 0
	a.state = apaStart
	if len(a.rx) == 0 {
		a.state = apaIdle
	}
}

func (a *APA102) beginFrame(b byte) {
	a.cur[0] = b
	a.got = 1
	a.state = apaFrame
}

func (a *APA102) endFrame() {
	a.rx[a.idx] = LED{B: a.cur[1], G: a.cur[2], R: a.cur[3], Brightness: a.cur[0] & 0x1F}
	a.idx++
	a.zeros = 0
	if a.idx == len(a.rx) {
		a.state = apaIdle
	} else {
		a.state = apaBoundary
	}
}

func (a *APA102) protocolError() {
	a.errors++
	a.zeros = 0
	a.idx = 0
	a.state = apaIdle
}

// latch applies the last start frame to every LED it has reached by now.
// A new frame for LED i cannot arrive before the start frame reached it:
// the frame ends at least 32(i+1) clocks after the start frame, and the
// start frame reaches LED i after delay(i) < 32(i+1) clocks.
func (a *APA102) latch() {
	for a.latched < len(a.rx) && a.startAt+delay(a.latched) <= a.pos {
		a.shown[a.latched] = a.rx[a.latched]
		a.latched++
		if a.latched == len(a.rx) && a.complete {
			a.frames++
		}
	}
}

// Shown returns what each LED displays now.
func (a *APA102) Shown() []LED {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]LED(nil), a.shown...)
}

// Frames reports how many complete frames the strip has latched: start
// frames that reached every LED after every LED had received a new frame.
func (a *APA102) Frames() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.frames
}

// ProtocolErrors reports how many LED frames lacked their 0b111 header,
// which on a real strip shows as garbage colours.
func (a *APA102) ProtocolErrors() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errors
}

// Dark reports whether no LED of the strip emits light.
func (a *APA102) Dark() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range a.shown {
		if !l.Dark() {
			return false
		}
	}
	return true
}
