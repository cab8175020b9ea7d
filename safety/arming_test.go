package safety

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// empty is what the sensor says of an empty pod: it answers, sees no
// finger, and so has no vitals.
func empty() vitals.Reading { return vitals.Reading{At: time.Now(), Contact: vitals.ContactNone} }

// noAnswer is what the pod feeds when the sensor does not answer.
func noAnswer() vitals.Reading { return vitals.Reading{At: time.Now()} }

func occupied(hr, spo2 float64) vitals.Reading {
	r := reading(hr, spo2)
	r.Contact = vitals.ContactSkin
	return r
}

// alwaysArmed are the rules armed whoever lies in the pod; merged those
// armed at the start of a merge, before its baseline is captured.
var (
	alwaysArmed = []string{RuleHeartRateHigh, RuleHeartRateLow, RuleSpO2Low, RuleSpO2Critical, RuleTempLow, RuleTempHigh}
	merged      = append(append([]string(nil), alwaysArmed...), RuleVitalsStale, RulePipeline)
)

// An empty pod never latches: a sensor that answers and sees no one
// disarms vitals_stale outside a merge, however long it lasts, from the
// start on.
func TestAnEmptyPodNeverLatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(empty(), time.Hour)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("an empty pod latched: %+v", got)
		}
		st := h.w.Status()
		if st.Level != LevelOK || !slices.Equal(st.Armed, alwaysArmed) {
			t.Fatalf("status %+v, want level ok and armed %v", st, alwaysArmed)
		}
	})
}

// A sensor that stops answering says nothing about the sleeper: outside a
// merge too, vitals_stale stays armed and trips StaleAfter after the last
// valid reading (the loss is treated as unsafe).
func TestASilentSensorKeepsVitalsStaleArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 20*time.Second)
		// The last valid reading was fed at 19.5 s.
		h.feedFor(noAnswer(), 4500*time.Millisecond)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted within StaleAfter: %+v", got)
		}
		h.feedFor(noAnswer(), time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleVitalsStale {
			t.Fatalf("aborts %+v, want one vitals_stale", got)
		}
	})
}

// A reading of "no one" that stops being refreshed does not keep the rule
// disarmed: a stalled sensor loop is caught StaleAfter after its last
// reading, when vitals_stale and pipeline_stalled are armed anew, and
// PipelineStallAfter after that.
func TestAStalledVacantReadingRearmsVitalsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(empty(), time.Minute)
		start := time.Now()
		for h.w.Status().Latched == nil {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		// The last vacant reading was fed 500 ms before start. It stops
		// disarming the rules at the first evaluation more than StaleAfter
		// later (4.6 s after start), and pipeline_stalled, armed anew,
		// trips at the first evaluation more than PipelineStallAfter after
		// that.
		if got, want := time.Since(start), 5700*time.Millisecond; got != want {
			t.Fatalf("latched %v after the feed stopped, want %v", got, want)
		}
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RulePipeline {
			t.Fatalf("aborts %+v, want one pipeline_stalled", got)
		}
	})
}

// During a merge every rule is armed whatever the sensor says: a sleeper
// who leaves the pod mid-merge, and a sensor that falls off, are the same
// to the pod, and both trip vitals_stale StaleAfter after the last valid
// reading. Arming anew (a merge begun on an empty sensor) grants StaleAfter
// from that moment.
func TestAMergeArmsEveryRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(empty(), time.Minute)
		h.w.SetMerge(true)
		if st := h.w.Status(); !st.Merge || !slices.Equal(st.Armed, merged) {
			t.Fatalf("status %+v, want merge and armed %v", st, merged)
		}
		h.w.SetBaseline(Baseline{HeartRateBPM: 60, SpO2Pct: 97})
		want := append(append([]string(nil), merged...), RuleStress, RuleHeartRateRise, RuleEEGArousal, RuleStabilityLow)
		if st := h.w.Status(); !slices.Equal(st.Armed, want) {
			t.Fatalf("armed %v with a baseline, want %v", st.Armed, want)
		}
		h.feedFor(empty(), 5*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted within StaleAfter of arming: %+v", got)
		}
		h.feedFor(empty(), time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleVitalsStale {
			t.Fatalf("aborts %+v, want one vitals_stale", got)
		}
	})
}

// The sleeper leaves the pod outside a merge: vitals_stale is disarmed as
// soon as the sensor sees no one, and armed again, with StaleAfter from
// then, when they come back; the heart-rate rules act on their vitals as
// soon as they are valid.
func TestTheSleeperLeavesAndComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 30*time.Second)
		h.feedFor(empty(), 10*time.Minute)
		// Back: contact, but the estimator needs seconds before it is valid.
		back := vitals.Reading{At: time.Now(), Contact: vitals.ContactSkin}
		h.feedFor(back, 5*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted within StaleAfter of the return: %+v", got)
		}
		h.feedFor(occupied(150, 97), 11*time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleHeartRateHigh {
			t.Fatalf("aborts %+v, want one heart_rate_high", got)
		}
	})
}

// An abort latched on an occupied pod can be acknowledged once the sleeper
// has left (outside a merge nothing contradicts it) and the sensor has
// seen no one for StaleAfter, but not while the sensor is silent, nor
// during a merge, nor before StaleAfter without contact.
func TestAckOnAVacantPod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 5*time.Second)
		h.feedFor(occupied(150, 97), 11*time.Second)
		a := h.w.Status().Latched
		if a == nil {
			t.Fatal("not latched")
		}
		h.feedFor(noAnswer(), time.Second)
		if err := h.w.Ack(*a); err == nil || !strings.Contains(err.Error(), "vitals are not valid") {
			t.Fatalf("Ack with a silent sensor: %v, want refused for invalid vitals", err)
		}
		h.w.SetMerge(true)
		h.feedFor(empty(), time.Second)
		if err := h.w.Ack(*a); err == nil {
			t.Fatal("Ack of a vacant pod during a merge succeeded")
		}
		h.w.SetMerge(false)
		h.feedFor(empty(), 3500*time.Millisecond) // 4.5 s without contact
		if err := h.w.CanAck(); err == nil {
			t.Fatal("CanAck 4.5 s after the sensor last saw someone: want refused")
		}
		h.feedFor(empty(), 500*time.Millisecond) // 5 s: StaleAfter
		if err := h.w.CanAck(); err != nil {
			t.Fatalf("CanAck on a vacant pod: %v", err)
		}
		if err := h.w.Ack(*a); err != nil {
			t.Fatalf("Ack on a vacant pod: %v", err)
		}
		if sf := h.w.SafeFor(); sf != 0 {
			t.Fatalf("SafeFor %v on a vacant pod, want 0: emptiness is no evidence of safety", sf)
		}
	})
}

// A start-up grace and a stale delay too short for the first valid reading
// would latch every pod at every start: the limits refuse them, naming
// both keys.
func TestLimitsRefuseAGraceTooShortForTheFirstReading(t *testing.T) {
	l := DefaultLimits()
	l.StartupGrace, l.StaleAfter = 2*time.Second, 2*time.Second
	errs := l.Problems()
	want := "safety.startup_grace: 2 s with safety.stale_after 2 s gives the first valid reading 4 s, less than the 5 s it takes (the estimator's first 4 s of signal and the sensor's start): the pod would latch vitals_stale at every start"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Fatalf("Problems = %v, want [%s]", errs, want)
	}
	l.StartupGrace = 4 * time.Second
	if errs := l.Problems(); len(errs) != 0 {
		t.Fatalf("Problems with 4 s + 2 s = %v, want none", errs)
	}
}
