package safety

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A rule warns when its alarm delay starts, once per episode: a value
// back inside the deadband is the same episode, one past it ends the
// episode, and the next crossing warns again. The warning carries the
// rule, its priority, the value, the limit and the delay.
func TestAWarningOncePerEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []Warning
		h := newHarnessWith(t, DefaultLimits(), Options{OnWarning: func(w Warning) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, w)
		}})
		warnings := func() []Warning {
			mu.Lock()
			defer mu.Unlock()
			return append([]Warning(nil), got...)
		}
		h.feedFor(reading(60, 97), 2*time.Second)
		crossed := time.Now()
		h.feedFor(reading(135, 97), 3*time.Second)
		w := warnings()
		want := Warning{Rule: RuleHeartRateHigh, Priority: PriorityHigh, Name: "heart_rate_bpm", Value: 135, Limit: 130, Delay: 10 * time.Second}
		if len(w) != 1 {
			t.Fatalf("warnings %+v, want one", w)
		}
		if at := w[0].At; at.Before(crossed) || at.After(crossed.Add(DefaultPeriod)) {
			t.Fatalf("warned at %v, %v after the crossing", at, at.Sub(crossed))
		}
		w[0].At = time.Time{}
		if w[0] != want {
			t.Fatalf("warning %+v, want %+v", w[0], want)
		}
		h.feedFor(reading(128, 97), 2*time.Second) // inside the deadband
		h.feedFor(reading(135, 97), 2*time.Second)
		if w := warnings(); len(w) != 1 {
			t.Fatalf("warnings %+v: the deadband is the same episode", w)
		}
		h.feedFor(reading(125, 97), time.Second) // clears
		h.feedFor(reading(135, 97), time.Second)
		if w := warnings(); len(w) != 2 || w[1].Rule != RuleHeartRateHigh || w[1].Value != 135 {
			t.Fatalf("warnings %+v, want a second episode's", w)
		}
		// Two rules at once warn each; no abort meanwhile.
		h.feedFor(reading(125, 89), time.Second)
		if w := warnings(); len(w) != 3 || w[2].Rule != RuleSpO2Low || w[2].Priority != PriorityMedium || w[2].Name != "spo2_pct" || w[2].Limit != 90 {
			t.Fatalf("warnings %+v, want spo2_low's", w)
		}
		wantNoAbort(t, h, "warnings")
	})
}
