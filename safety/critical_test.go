package safety

import (
	"testing"
	"testing/synctest"
	"time"
)

// spo2_critical at its boundaries: 84.9 % for just over 2 s trips it, with
// the value and the limit; 85.0 % never does (spo2_low acts on it after
// its own 10 s); 84 % for just under 2 s does not, and a reading back at
// 87 % (the limit and the 2-point deadband) clears the running delay,
// while 86.9 % does not.
func TestSpO2CriticalAtItsBoundaries(t *testing.T) {
	t.Run("just over the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedFor(reading(60, 97), 2*time.Second)
			h.w.Feed(reading(60, 84.9))
			start := time.Now()
			time.Sleep(2*time.Second + 50*time.Millisecond)
			synctest.Wait()
			if got := h.Aborts(); len(got) != 0 {
				t.Fatalf("aborted within the 2 s delay: %+v", got)
			}
			time.Sleep(250 * time.Millisecond)
			synctest.Wait()
			got := h.Aborts()
			if len(got) != 1 || got[0].Rule != RuleSpO2Critical || got[0].Limit != 85 || got[0].Values["spo2_pct"] != 84.9 {
				t.Fatalf("aborts %+v, want one spo2_critical at 84.9 (limit 85)", got)
			}
			// The crossing is seen at the next evaluation (within a
			// period), and the delay runs from there.
			if d := got[0].At.Sub(start); d <= 2*time.Second || d > 2*time.Second+2*DefaultPeriod {
				t.Errorf("tripped %v after the crossing, want within two periods past 2 s", d)
			}
		})
	})
	t.Run("at the threshold", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedFor(reading(60, 97), 2*time.Second)
			h.feedFor(reading(60, 85), 9*time.Second)
			if got := h.Aborts(); len(got) != 0 {
				t.Fatalf("85.0 %% tripped: %+v", got)
			}
			h.feedFor(reading(60, 85), 2*time.Second)
			if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleSpO2Low {
				t.Fatalf("aborts %+v, want spo2_low after its 10 s, not spo2_critical", got)
			}
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedFor(reading(60, 97), 2*time.Second)
			h.feedFor(reading(60, 84), 1500*time.Millisecond)
			h.feedFor(reading(60, 86.9), time.Second) // inside the deadband: the delay runs on
			if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleSpO2Critical {
				t.Fatalf("aborts %+v, want spo2_critical: 86.9 %% is inside the deadband and does not clear it", got)
			}
		})
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedFor(reading(60, 97), 2*time.Second)
			h.feedFor(reading(60, 84), 1500*time.Millisecond)
			h.feedFor(reading(60, 87), time.Second) // clears it
			h.feedFor(reading(60, 84), 1500*time.Millisecond)
			if got := h.Aborts(); len(got) != 0 {
				t.Fatalf("aborts %+v: 87 %% cleared the delay, and 84 %% since has lasted 1.5 s", got)
			}
		})
	})
}

// The critical limit must stay below spo2_low's.
func TestSpO2CriticalBelowLow(t *testing.T) {
	l := DefaultLimits()
	l.SpO2LowPct, l.SpO2CriticalPct = 86, 87
	err := l.Validate()
	if err == nil || err.Error() != "safety.spo2_critical_pct: 87 must be below safety.spo2_low_pct 86" {
		t.Fatalf("Validate = %v", err)
	}
}
