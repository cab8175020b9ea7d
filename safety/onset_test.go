package safety

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// dated is a valid reading made now whose values describe the sleeper age
// before.
func dated(hr, spo2 float64, age time.Duration) vitals.Reading {
	r := reading(hr, spo2)
	r.Describes = r.At.Add(-age)
	return r
}

// feedEvery feeds r every 100 ms for d of fake time, the oximeter's pace
// at its fastest, each reading made (and dated) when it is fed.
func (h *harness) feedEvery(r func() vitals.Reading, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		h.w.Feed(r())
		time.Sleep(100 * time.Millisecond)
	}
	synctest.Wait()
}

// onsetCase is a rule on the pulse oximeter's vitals: a reading within
// its limit and one past it, for a given age.
type onsetCase struct {
	rule         string
	within, past func(age time.Duration) vitals.Reading
	delay        func(Limits) time.Duration
}

var onsetCases = []onsetCase{
	{RuleHeartRateHigh, func(a time.Duration) vitals.Reading { return dated(120, 97, a) }, func(a time.Duration) vitals.Reading { return dated(130.1, 97, a) },
		func(l Limits) time.Duration { return l.HeartRateDelay }},
	{RuleHeartRateLow, func(a time.Duration) vitals.Reading { return dated(50, 97, a) }, func(a time.Duration) vitals.Reading { return dated(39.9, 97, a) },
		func(l Limits) time.Duration { return l.HeartRateDelay }},
	{RuleSpO2Low, func(a time.Duration) vitals.Reading { return dated(60, 97, a) }, func(a time.Duration) vitals.Reading { return dated(60, 89.9, a) },
		func(l Limits) time.Duration { return l.SpO2Delay }},
	{RuleSpO2Critical, func(a time.Duration) vitals.Reading { return dated(60, 97, a) }, func(a time.Duration) vitals.Reading { return dated(60, 84.9, a) },
		func(l Limits) time.Duration { return l.SpO2CriticalDelay }},
}

// evalAfter is the first evaluation strictly after t of a watchdog
// started at start and fed every DefaultPeriod half way between its ticks:
// it evaluates at every tick and at every reading, so every half period.
func evalAfter(start, t time.Time) time.Time {
	const half = DefaultPeriod / 2
	k := t.Sub(start)/half + 1
	return start.Add(k * half)
}

// tripAt is when a rule whose condition was first seen at seen (the
// evaluation of the reading fed then), with its onset at onset, trips:
// at the first evaluation after onset plus the delay, and not before the
// condition has been seen for the floor.
func tripAt(start, seen, onset time.Time, delay time.Duration) time.Time {
	return later(evalAfter(start, onset.Add(delay)), evalAfter(start, seen.Add(min(MinConditionSeen, delay)-1)))
}

// A dated onset: readings within the limit for 2 s, then, 50 ms after a
// tick, readings past it whose values are age old, one every 100 ms. The
// first is evaluated as it is fed. The rule's delay runs from the time it
// describes, so it trips at the first evaluation after that time plus the
// delay, but not before its condition has been seen for MinConditionSeen
// (1 s) from that first evaluation: for the 10 s rules the age shortens
// the wait on the reports by the age; for spo2_critical (2 s) an age
// above 1 s leaves the floor. Began is the dated onset. Each rule also at
// a delay of 1 s, the shortest the bounds allow: the floor then equals
// the delay. A reading without a date (age 0) trips as before: a delay
// from the evaluation that saw it.
func TestADatedOnsetShortensTheDelayByTheAgeDownToTheFloor(t *testing.T) {
	for _, c := range onsetCases {
		for _, shortDelay := range []bool{false, true} {
			for _, age := range []time.Duration{0, 300 * time.Millisecond, 1500 * time.Millisecond, 2600 * time.Millisecond} {
				t.Run(fmt.Sprintf("%s/short=%v/age=%v", c.rule, shortDelay, age), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						l := DefaultLimits()
						if shortDelay {
							l.HeartRateDelay, l.SpO2Delay, l.SpO2CriticalDelay = time.Second, time.Second, time.Second
						}
						start := time.Now()
						h := newHarness(t, l)
						time.Sleep(50 * time.Millisecond)
						h.feedEvery(func() vitals.Reading { return c.within(age) }, 2*time.Second)
						fed := time.Now()
						onset := fed.Add(-age) // age 0: at the evaluation of the reading, as before
						want := tripAt(start, fed, onset, c.delay(l))
						h.w.Feed(c.past(age))
						// Step from evaluation to evaluation, feeding
						// between the ticks.
						for at := fed; at.Before(want); {
							synctest.Wait()
							if got := h.Aborts(); len(got) != 0 {
								t.Fatalf("tripped %v after the first reading past the limit, want at %v: %+v", got[0].At.Sub(fed), want.Sub(fed), got[0])
							}
							at = at.Add(DefaultPeriod / 2)
							time.Sleep(time.Until(at))
							if at.Sub(fed)%DefaultPeriod == 0 {
								h.w.Feed(c.past(age))
							}
						}
						synctest.Wait()
						got := h.Aborts()
						if len(got) != 1 || got[0].Rule != c.rule {
							t.Fatalf("aborts %+v, want %s", got, c.rule)
						}
						if a := got[0]; !a.At.Equal(want) || !a.Began.Equal(onset) {
							t.Errorf("tripped %v, began %v after the first reading past the limit; want %v, %v",
								a.At.Sub(fed), a.Began.Sub(fed), want.Sub(fed), onset.Sub(fed))
						}
					})
				})
			}
		}
	}
}

// The expected trip times above, worked out for the default delays: a
// 10 s rule whose value is 1.5 s old trips 8.55 s after the first reading
// past it (fed 50 ms before a tick: the onset 1.5 s before it, the delay
// ending 8.5 s after it, the next tick 50 ms on), 1.5 s sooner than an
// undated one (10.05 s: seen as it is fed, then 10 s and the next
// evaluation, the tick 50 ms on); spo2_critical with the same age waits
// out the floor: a second after the reading, where the 2 s delay from the
// dated onset alone would have ended 0.5 s after it.
func TestTheDatedTripTimesForTheDefaultDelays(t *testing.T) {
	start := time.Unix(1000, 0)
	fed := start.Add(2050 * time.Millisecond)
	for _, c := range []struct {
		delay, age, want time.Duration
	}{
		{10 * time.Second, 1500 * time.Millisecond, 8550 * time.Millisecond},
		{10 * time.Second, 0, 10050 * time.Millisecond},
		{2 * time.Second, 1500 * time.Millisecond, 1000 * time.Millisecond},
	} {
		got := tripAt(start, fed, fed.Add(-c.age), c.delay).Sub(fed)
		if got != c.want {
			t.Errorf("delay %v, age %v: trips %v after the reading, want %v", c.delay, c.age, got, c.want)
		}
	}
}

// A delay never reaches back over a reading that was within the limit: a
// reading past the limit whose values are older than those of the reading
// within it before dates the onset at the time the within reading
// describes. A reading in the deadband counts as within the limit for
// this, though it does not clear a running delay (hysteresis unchanged).
// After a reading that clears the condition, the next crossing is dated
// from its own values, never from the first episode's.
func TestADatedOnsetNeverReachesBackOverAReadingWithinTheLimit(t *testing.T) {
	t.Run("within, then older values past", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			time.Sleep(50 * time.Millisecond)
			h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
			h.w.Feed(dated(128, 97, 500*time.Millisecond)) // in the deadband: within the limit
			within := time.Now().Add(-500 * time.Millisecond)
			time.Sleep(100 * time.Millisecond)
			h.w.Feed(dated(131, 97, 3*time.Second)) // describes 2.4 s before the reading within
			h.feedEvery(func() vitals.Reading { return dated(131, 97, 3*time.Second) }, 10*time.Second)
			got := h.Aborts()
			if len(got) != 1 || got[0].Rule != RuleHeartRateHigh || !got[0].Began.Equal(within) {
				t.Fatalf("aborts %+v, want heart_rate_high begun %v (when the reading within the limit describes)", got, within)
			}
		})
	})
	t.Run("cleared, then past again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			time.Sleep(50 * time.Millisecond)
			h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
			h.feedEvery(func() vitals.Reading { return dated(60, 89, 1500*time.Millisecond) }, 5*time.Second)
			h.w.Feed(dated(60, 92, 500*time.Millisecond)) // past the deadband: clears spo2_low
			cleared := time.Now().Add(-500 * time.Millisecond)
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if st := h.w.Status(); len(st.Pending) != 0 {
				t.Fatalf("pending %v after 92 %%, want none", st.Pending)
			}
			h.feedEvery(func() vitals.Reading { return dated(60, 89, 2500*time.Millisecond) }, 9*time.Second)
			if got := h.Aborts(); len(got) != 0 {
				t.Fatalf("aborts %+v: the delay ran from before the reading that cleared it", got)
			}
			h.feedEvery(func() vitals.Reading { return dated(60, 89, 2500*time.Millisecond) }, 1200*time.Millisecond)
			got := h.Aborts()
			if len(got) != 1 || got[0].Rule != RuleSpO2Low || !got[0].Began.Equal(cleared) {
				t.Fatalf("aborts %+v, want spo2_low begun %v (when the clearing reading describes)", got, cleared)
			}
		})
	})
}

// A transient seen for less than MinConditionSeen never trips, however
// old its values: spo2_critical readings 3 s old (their dated delay long
// run) for 0.8 s, then back past the deadband, repeated for a minute.
// Seen for just over the floor, the same trips.
func TestATransientShorterThanTheFloorNeverTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		time.Sleep(50 * time.Millisecond)
		h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
		for range 30 {
			h.feedEvery(func() vitals.Reading { return dated(60, 80, 3*time.Second) }, 800*time.Millisecond)
			h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 1200*time.Millisecond)
		}
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("a transient of 0.8 s tripped: %+v", got)
		}
		h.feedEvery(func() vitals.Reading { return dated(60, 80, 3*time.Second) }, 1200*time.Millisecond)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleSpO2Critical {
			t.Fatalf("aborts %+v, want spo2_critical once seen past the floor", got)
		}
	})
}

// An age beyond the estimator's window counts as maxValueAge (8 s): the
// first valid reading, an hour old by its Describes, dates the onset 8 s
// back, not an hour. A Describes after At is no age.
func TestAnAgeIsBoundedByTheEstimatorsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		time.Sleep(50 * time.Millisecond)
		fed := time.Now()
		h.feedEvery(func() vitals.Reading { return dated(150, 97, time.Hour) }, 3*time.Second)
		got := h.Aborts()
		if len(got) != 1 || !got[0].Began.Equal(fed.Add(-maxValueAge)) {
			t.Fatalf("aborts %+v, want heart_rate_high begun %v before the reading", got, maxValueAge)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		time.Sleep(50 * time.Millisecond)
		fed := time.Now()
		h.feedEvery(func() vitals.Reading { return dated(150, 97, -time.Hour) }, 10500*time.Millisecond)
		got := h.Aborts()
		if len(got) != 1 || !got[0].Began.Equal(fed) {
			t.Fatalf("aborts %+v, want heart_rate_high begun at the evaluation of the reading, as it was fed", got)
		}
	})
}

// A reading is judged as it is fed, not at the next tick: with a period
// of an hour, a heart rate past its limit fed every 100 ms starts the
// delay at its first reading and trips at the reading after the delay
// ran, each evaluation the feed's.
func TestAReadingIsEvaluatedAsItIsFed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarnessWith(t, DefaultLimits(), Options{Period: time.Hour})
		time.Sleep(50 * time.Millisecond)
		h.feedEvery(func() vitals.Reading { return reading(60, 97) }, time.Second)
		fed := time.Now()
		h.feedEvery(func() vitals.Reading { return reading(150, 97) }, 10*time.Second)
		if st := h.w.Status(); len(h.Aborts()) != 0 || len(st.Pending) != 1 || st.Pending[0] != RuleHeartRateHigh {
			t.Fatalf("after 10 s: aborts %+v, status %+v; want heart_rate_high pending", h.Aborts(), st)
		}
		h.feedEvery(func() vitals.Reading { return reading(150, 97) }, 200*time.Millisecond)
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleHeartRateHigh || !got[0].Began.Equal(fed) || got[0].At.Sub(fed) != 10*time.Second+100*time.Millisecond {
			t.Fatalf("aborts %+v, want heart_rate_high begun at the first reading, tripped at the reading 10.1 s after it", got)
		}
	})
}

// heart_rate_rise dates its onset as the other rules on the heart rate
// do: during a merge with a baseline of 60 bpm, readings at the baseline,
// then at 100.1 bpm (40.1 above it and above the last minute's lowest),
// 1.5 s old, fed 50 ms after a tick: the 10 s delay runs from 1.5 s before
// the first of them, so the rule trips 8.55 s after it; 100 bpm (not past
// the rise) never trips it. The abort's Began is the dated onset.
func TestHeartRateRiseDatesItsOnset(t *testing.T) {
	for _, hr := range []float64{100, 100.1} {
		t.Run(fmt.Sprint(hr), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				h := newHarness(t, DefaultLimits())
				h.w.SetMerge(true)
				h.w.SetBaseline(Baseline{HeartRateBPM: 60, SpO2Pct: 97})
				time.Sleep(50 * time.Millisecond)
				h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
				fed := time.Now()
				onset := fed.Add(-1500 * time.Millisecond)
				want := tripAt(start, fed, onset, DefaultLimits().HeartRateDelay)
				h.feedEvery(func() vitals.Reading { return dated(hr, 97, 1500*time.Millisecond) }, want.Sub(fed)-50*time.Millisecond)
				if got := h.Aborts(); len(got) != 0 {
					t.Fatalf("aborts %+v before %v", got, want.Sub(fed))
				}
				h.feedEvery(func() vitals.Reading { return dated(hr, 97, 1500*time.Millisecond) }, 2*time.Second)
				got := h.Aborts()
				if hr == 100 {
					if len(got) != 0 {
						t.Fatalf("100 bpm, 40 above the baseline, tripped: %+v", got)
					}
					return
				}
				if len(got) != 1 || got[0].Rule != RuleHeartRateRise || !got[0].Began.Equal(onset) || !got[0].At.Equal(want) {
					t.Fatalf("aborts %+v, want heart_rate_rise begun %v and tripped %v after the first reading", got, onset.Sub(fed), want.Sub(fed))
				}
			})
		})
	}
}
