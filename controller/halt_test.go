package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// The tachycardia night, with the strip's SPI link failing for 10 s around
// the abort (a connector glitch): the abort's Halt fails, its dark frame
// never reaches the strip.
const tachycardiaStripGlitch = `
name: test-tachycardia-strip-glitch
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 20s, ramp: 30s, set: {heart_rate_bpm: 150}}
  - {at: 50s, fault: {device: apa102, kind: disconnect, for: 10s}}
  - {at: 80s, ramp: 30s, set: {heart_rate_bpm: 64}}
`

// An output whose Halt failed during the abort (SafeStateError is set) may
// still show its last frame: the safety core applies its safe state again
// until it succeeds, so the strip is dark once its bus is back.
func TestAFailedHaltIsRetriedWhileLatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardiaStripGlitch, &memStore{})
		defer r.stop()
		until(start, 45*time.Second)
		if r.hw.Strip.Dark() {
			t.Fatal("the strip is dark before the episode")
		}
		until(start, 100*time.Second)
		st := r.pod.Status()
		if st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("latched = %+v, want heart_rate_high", st.Safety.Latched)
		}
		if !r.hw.Strip.Dark() {
			t.Fatalf("the strip is lit at 100 s, %v after the abort (safe_state_error %q) and 40 s after its bus came back",
				time.Since(st.Safety.Latched.At).Round(time.Second), st.Safety.Latched.SafeStateError)
		}
	})
}
