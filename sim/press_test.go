package sim

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim/scenario"
)

// A scenario's press holds its button's line Low: the consent and panic
// buttons for PressHold, the acknowledgement button for AckPressHold
// (DefaultAckPressHold when not given), each from the first tick at or
// after the press's time.
func TestAPressHoldsItsLineForItsButtonsHold(t *testing.T) {
	sc, err := scenario.Parse([]byte(`
name: presses
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 1s, press: ack}
  - {at: 1s, press: consent}
  - {at: 20s, press: panic}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts HardwareOpts
		hold time.Duration
	}{{HardwareOpts{}, DefaultAckPressHold}, {HardwareOpts{AckPressHold: 7 * time.Second}, 7 * time.Second}} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			h, err := NewHardwareWith(sc, 1, start, nil, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []*Line{h.AckLine, h.ConsentLine, h.PanicLine} {
				if err := l.In(gpio.PullUp, gpio.BothEdges); err != nil { // as package button configures them
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- h.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			at := func(d time.Duration, ack, consent, panicL gpio.Level) {
				t.Helper()
				time.Sleep(time.Until(start.Add(d)))
				synctest.Wait()
				if a, c, p := h.AckLine.Read(), h.ConsentLine.Read(), h.PanicLine.Read(); a != ack || c != consent || p != panicL {
					t.Fatalf("at %v: ack %s, consent %s, panic %s; want %s, %s, %s", d, a, c, p, ack, consent, panicL)
				}
			}
			at(999*time.Millisecond, gpio.High, gpio.High, gpio.High)
			at(time.Second, gpio.Low, gpio.Low, gpio.High)
			at(time.Second+PressHold, gpio.Low, gpio.High, gpio.High)
			at(time.Second+tc.hold-time.Millisecond, gpio.Low, gpio.High, gpio.High)
			at(time.Second+tc.hold, gpio.High, gpio.High, gpio.High)
			at(20*time.Second, gpio.High, gpio.High, gpio.Low)
		})
	}
}
