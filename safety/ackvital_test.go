package safety

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// An abort of a rule on another sensor's vital is acknowledged only once
// a valid, fresh reading of that vital is back past the rule's deadband:
// a silent sensor refuses it (naming the vital), a reading inside the
// deadband refuses it, one past it accepts it.
func TestAckOfARuleOnAVitalNeedsThatVitalBack(t *testing.T) {
	t.Run("temperature_high", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedBodyFor(body{ox: reading(60, 97), tempC: 39, scr: -1}, 62*time.Second)
			a := wantAbort(t, h, RuleTempHigh, 38.5, map[string]float64{"body_temp_c": 39})
			h.feedFor(reading(60, 97), 6*time.Second) // the thermometer is silent
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "no valid body temperature") {
				t.Fatalf("Ack with the thermometer silent for 6 s: %v, want refused naming the body temperature", err)
			}
			h.feedBodyFor(body{ox: reading(60, 97), tempC: 38.3, scr: -1}, time.Second) // inside the 0.3 °C deadband
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "body_temp_c 38.30 is not below 38.2") {
				t.Fatalf("Ack at 38.3 °C: %v, want refused: inside the deadband", err)
			}
			h.feedBodyFor(body{ox: reading(60, 97), tempC: 38.1, scr: -1}, time.Second)
			if err := h.w.Ack(a); err != nil {
				t.Fatalf("Ack at 38.1 °C, past the deadband: %v", err)
			}
		})
	})
	t.Run("stress, after the merge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			storm := calmBody()
			storm.scr = 14
			storm.ox = reading(75, 97) // stress needs the heart 10 bpm above the baseline's 60
			h.feedBodyFor(storm, 2*time.Minute+2*time.Second)
			a := wantAbort(t, h, RuleStress, 12, map[string]float64{"scr_per_min": 14})
			h.w.SetMerge(false) // the controller ends the merge on an abort
			silent := calmBody()
			silent.scr = -1 // the skin conductance sensor says nothing
			h.feedBodyFor(silent, 6*time.Second)
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "no valid skin conductance") {
				t.Fatalf("Ack with the skin conductance silent for 6 s: %v, want refused naming it", err)
			}
			storm.scr = 10 // below the level, not past its deadband of 3
			h.feedBodyFor(storm, time.Second)
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "scr_per_min 10") {
				t.Fatalf("Ack at 10 responses a minute outside the merge: %v, want refused: inside the deadband", err)
			}
			h.feedBodyFor(calmBody(), time.Second)
			if err := h.w.Ack(a); err != nil {
				t.Fatalf("Ack at 1 response a minute: %v", err)
			}
		})
	})
}
