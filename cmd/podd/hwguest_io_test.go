//go:build hwtest

package main

// make hwtest: the outputs and inputs on SPI and GPIO: the LED strip's
// frames at the SPI controller, the buttons' and the EEG's DRDY edges made
// through gpio-sim.

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/ads1299"
)

// The LED strip's frames and its safe state reach the SPI controller as
// the APA102 protocol has them, in SPI mode 0, 8 bits, at 4 MHz: opened,
// and again at the safe state, the strip shows the configured safe light
// (lights.safe_color at lights.safe_level), never a dark frame.
func TestHWLEDStripFramesAndSafeStateReachTheController(t *testing.T) {
	cfg, hw := openGuest(t)
	n := cfg.Hardware.LEDCount
	before := spiLastMessage(t, 0).messages

	strip, err := openStrip(cfg, hw)
	if err != nil {
		t.Fatal(err)
	}
	got := spiLastMessage(t, 0)
	safe := safeFrame(t, cfg)
	if got.messages != before+1 || !slices.Equal(got.tx, safe) {
		t.Fatalf("after openStrip: %d messages (want %d), last %x, want the safe light's frame %x", got.messages, before+1, got.tx, safe)
	}
	if got.mode != 0 || got.bits != 8 || got.speedHz != 4_000_000 || got.cs != 0 {
		t.Errorf("mode %d, %d bits, %d Hz, chip select %d: want mode 0, 8 bits, 4000000 Hz, 0", got.mode, got.bits, got.speedHz, got.cs)
	}

	gate := actuators.NewGate(strip)
	if err := gate.Open(); err != nil {
		t.Fatal(err)
	}
	px := make([]apa102.Color, n)
	want := make([][3]byte, n)
	for i := range px {
		px[i] = apa102.Color{R: byte(i), G: byte(2 * i), B: byte(255 - i)}
		want[i] = [3]byte{byte(i), byte(2 * i), byte(255 - i)}
	}
	if err := gate.Do(func() error { return strip.Write(px) }); err != nil {
		t.Fatal(err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+2 || !slices.Equal(got.tx, frame(want)) {
		t.Fatalf("after Write: %d messages (want %d), last %x, want %x", got.messages, before+2, got.tx, frame(want))
	}

	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+3 || !slices.Equal(got.tx, safe) {
		t.Fatalf("after SafeState: %d messages (want %d), last %x, want the safe light's frame %x", got.messages, before+3, got.tx, safe)
	}
	// Safe, the strip sends nothing more.
	if err := strip.Write(px); !errors.Is(err, apa102.ErrHalted) {
		t.Fatalf("Write after SafeState: %v, want ErrHalted", err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+3 {
		t.Fatalf("a Write after SafeState reached the controller (%d messages)", got.messages)
	}
}

// The buttons see edges the test makes on gpio-sim's lines, debounced as
// configured (30 ms), each on its own line, and the acknowledgement button
// only when held for hardware.ack_hold.
func TestHWButtonsSeeRealEdgesDebounced(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, hw := openGuest(t, "PODD_HARDWARE_ACK_HOLD=1s")
	type press struct {
		button string
		at     time.Time
	}
	presses := make(chan press, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, b := range map[string]interface {
		Run(context.Context, func()) error
	}{"consent": hw.consentButton, "panic": hw.panicButton, "ack": hw.ackButton} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Run(ctx, func() { presses <- press{name, time.Now()} }); err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	// Buttons to ground: the pod's pull-up holds a line high until a
	// press pulls it down.
	quiet := func(d time.Duration) {
		t.Helper()
		select {
		case p := <-presses:
			t.Fatalf("unexpected press of %s", p.button)
		case <-time.After(d):
		}
	}
	hold := func(line simLine, d time.Duration) time.Time {
		start := time.Now()
		line.set("pull-down")
		time.Sleep(d)
		line.set("pull-up")
		return start
	}
	expect := func(button string, start time.Time, atLeast time.Duration) {
		t.Helper()
		select {
		case p := <-presses:
			if p.button != button {
				t.Fatalf("a press of %s, want %s", p.button, button)
			}
			if d := p.at.Sub(start); d < atLeast {
				t.Fatalf("%s's press came %s after the edge, sooner than %s", button, d, atLeast)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no press of %s", button)
		}
	}
	consent, panicL, ack := lineOf(t, 17), lineOf(t, 27), lineOf(t, 22)
	quiet(200 * time.Millisecond) // lines idle high: nothing at start

	expect("consent", hold(consent, 300*time.Millisecond), 30*time.Millisecond)
	quiet(200 * time.Millisecond) // held 300 ms: one press
	expect("panic", hold(panicL, 300*time.Millisecond), 30*time.Millisecond)
	quiet(200 * time.Millisecond)

	// A spike shorter than the debounce is no press.
	consent.set("pull-down")
	consent.set("pull-up")
	quiet(300 * time.Millisecond)

	// The acknowledgement: held less than ack_hold, nothing; held longer,
	// one press at debounce + hold.
	hold(ack, 500*time.Millisecond)
	quiet(1500 * time.Millisecond)
	expect("ack", hold(ack, 1500*time.Millisecond), time.Second+30*time.Millisecond)
	quiet(200 * time.Millisecond)
}

// The EEG's frames are read on DRDY's falling edges, made through
// gpio-sim, from the chip over spidev: frames whose status word has every
// electrode off make the sensor lead_off, a frame with no status word is
// refused, and without edges the sensor says DRDY does not fall.
func TestHWEEGFramesAreReadOnDRDYEdges(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	powerOn(t)
	_, hw := openGuest(t)
	dev, err := sensorNamed(t, hw, "ads1299").Open()
	if err != nil {
		t.Fatalf("ads1299: %v", err)
	}
	t.Cleanup(func() { _ = dev.Halt() })
	drdy := lineOf(t, 25)

	// DRDY pulses: high, then low (a conversion ready), every 2 ms.
	pulse := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				for _, level := range []string{"pull-up", "pull-down"} {
					if err := os.WriteFile(drdy.pull, []byte(level), 0); err != nil {
						t.Errorf("DRDY: %v", err)
						return
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		return func() { cancel(); <-done }
	}

	// Status 1100, LOFF_STATP 0xFF (every positive electrode off),
	// LOFF_STATN 0x00, GPIO 0; then 8 channels of 24 bits.
	off := append([]byte{0xCF, 0xF0, 0x00}, make([]byte, 24)...)
	for i := range 8 {
		off[3+3*i] = byte(i + 1)
	}
	setADSFrame(t, off)
	stop := pulse()
	p, err := dev.Poll(time.Now())
	stop()
	if err != nil || !p.Fresh || p.State != sensing.LeadOff {
		t.Fatalf("every electrode off: %+v, %v; want fresh lead_off", p, err)
	}

	setADSFrame(t, make([]byte, 27)) // MISO low: no status word
	stop = pulse()
	_, err = dev.Poll(time.Now())
	stop()
	if !errors.Is(err, ads1299.ErrBadStatus) {
		t.Fatalf("a frame of zeros: %v, want ErrBadStatus", err)
	}

	drdy.set("pull-up") // DRDY stays high: no conversion
	_, err = dev.Poll(time.Now())
	if !errors.Is(err, ads1299.ErrNoDRDY) || !strings.HasSuffix(err.Error(), " on GPIO25") {
		t.Fatalf("no DRDY edge: %v, want ErrNoDRDY on GPIO25", err)
	}
}
