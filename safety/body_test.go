package safety

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// body is what the sensor loops feed the watchdog at once: the pulse
// oximeter's reading and the other sensors' estimates. A zero tempC,
// tonicUS or betaAlpha feeds no estimate of that sensor; scr < 0 feeds
// none of the skin conductance.
type body struct {
	ox        vitals.Reading
	tempC     float64
	tonicUS   float64
	scr       int
	betaAlpha float64
}

// calmBody is a sleeper at the baseline of mergeBaseline.
func calmBody() body {
	return body{ox: reading(60, 97), tempC: 36, tonicUS: 2, scr: 1, betaAlpha: 0.5}
}

// mergeBaseline is the baseline calmBody matches.
var mergeBaseline = Baseline{
	HeartRateBPM: 60, SpO2Pct: 97,
	SkinConductanceUS: 2, SkinConductanceValid: true,
	BodyTempC: 36, BodyTempCValid: true,
	BetaAlpha: 0.5, BetaAlphaValid: true,
}

// feed hands w the body's readings, the oximeter's last: Feed wakes the
// watchdog, whose evaluation then sees all of them.
func (b body) feed(w *Watchdog) {
	now := time.Now()
	if b.tempC != 0 {
		w.FeedBodyTemp(temp.Reading{At: now, Celsius: b.tempC, Valid: true})
	}
	if b.tonicUS != 0 && b.scr >= 0 {
		w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: b.tonicUS, SCRPerMinute: b.scr, Valid: true})
	}
	if b.betaAlpha != 0 {
		w.FeedEEG(now, eeg.Channel{BetaAlpha: b.betaAlpha, RecentBetaAlpha: b.betaAlpha, RecentValid: true, Valid: true})
	}
	b.ox.At = now
	w.Feed(b.ox)
}

// feedBodyFor feeds b every 500 ms for d of fake time.
func (h *harness) feedBodyFor(b body, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		b.feed(h.w)
		time.Sleep(500 * time.Millisecond)
	}
	synctest.Wait()
}

// newMergeHarness is a watchdog past its start-up grace, in a merge
// with mergeBaseline.
func newMergeHarness(t *testing.T, l Limits) *harness {
	h := newHarness(t, l)
	h.feedBodyFor(calmBody(), 2*time.Second)
	h.w.SetMerge(true)
	h.w.SetBaseline(mergeBaseline)
	return h
}

// wantAbort fails unless exactly one abort of rule was reported, with
// limit and every value of values; it returns it.
func wantAbort(t *testing.T, h *harness, rule string, limit float64, values map[string]float64) Abort {
	t.Helper()
	got := h.Aborts()
	if len(got) != 1 || got[0].Rule != rule || got[0].Limit != limit {
		t.Fatalf("aborts %+v, want one %s at limit %g", got, rule, limit)
	}
	for k, v := range values {
		if got[0].Values[k] != v {
			t.Fatalf("%s values %v, want %s = %g", rule, got[0].Values, k, v)
		}
	}
	return got[0]
}

func wantNoAbort(t *testing.T, h *harness, why string) {
	t.Helper()
	if got := h.Aborts(); len(got) != 0 {
		t.Fatalf("%s: aborts %+v", why, got)
	}
}

// temperature_low and temperature_high judge the core: the reading plus
// the core offset. Just over 60 s beyond a limit trips, just under does
// not; the limit itself never does; a reading back inside the 0.3 °C
// deadband (35.2) keeps the delay running, one past it (35.4) clears it,
// and Ack is refused until then; an invalid
// estimate neither starts nor clears it.
func TestTemperatureRulesAtTheirBoundaries(t *testing.T) {
	withOffset := func(t *testing.T) *harness { return newHarnessWith(t, DefaultLimits(), Options{CoreOffsetC: 4}) }
	at := func(c float64) body { return body{ox: reading(60, 97), tempC: c, scr: -1} }
	t.Run("low just over and under the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(32), 2*time.Second)
			h.feedBodyFor(at(30.9), 59500*time.Millisecond) // core 34.9
			wantNoAbort(t, h, "34.9 °C for 59.5 s")
			h.feedBodyFor(at(30.9), time.Second)
			a := wantAbort(t, h, RuleTempLow, 35, map[string]float64{"body_temp_c": 34.9, "sensor_temp_c": 30.9, "core_offset_c": 4})
			if !strings.HasPrefix(a.Detail, "body_temp_c 34.9 below 35 for 60.") {
				t.Errorf("detail %q", a.Detail)
			}
			// Ack is refused while the core stays inside the deadband.
			h.feedBodyFor(at(31.2), time.Second)
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "body_temp_c 35.20 is not above 35.3") {
				t.Fatalf("Ack at 35.2 °C = %v, want refused naming the temperature", err)
			}
			h.feedBodyFor(at(31.4), time.Second)
			if err := h.w.Ack(a); err != nil {
				t.Fatalf("Ack at 35.4 °C = %v", err)
			}
		})
	})
	t.Run("at the limits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(31), 5*time.Minute) // core 35.0
			h.feedBodyFor(at(34.5), 5*time.Minute)
			wantNoAbort(t, h, "35.0 and 38.5 °C")
		})
	})
	t.Run("high", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(34.6), 59500*time.Millisecond) // core 38.6
			wantNoAbort(t, h, "38.6 °C for 59.5 s")
			h.feedBodyFor(at(34.6), time.Second)
			wantAbort(t, h, RuleTempHigh, 38.5, map[string]float64{"body_temp_c": 38.6})
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(30.9), 40*time.Second)
			h.feedBodyFor(at(31.2), 10*time.Second) // 35.2: inside the deadband
			h.feedBodyFor(at(30.9), 10500*time.Millisecond)
			wantAbort(t, h, RuleTempLow, 35, nil)
		})
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(30.9), 40*time.Second)
			h.feedBodyFor(at(31.4), time.Second) // 35.4: past the deadband, clears
			h.feedBodyFor(at(30.9), 59*time.Second)
			wantNoAbort(t, h, "the delay restarted at 35.4 °C")
		})
	})
	t.Run("invalid estimates", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := withOffset(t)
			h.feedBodyFor(at(30.9), 40*time.Second)
			for range 20 { // 10 s of invalid estimates
				h.w.Feed(reading(60, 97))
				h.w.FeedBodyTemp(temp.Reading{At: time.Now(), Reason: temp.ReasonChangingFast})
				time.Sleep(500 * time.Millisecond)
			}
			h.feedBodyFor(at(30.9), 10500*time.Millisecond)
			wantAbort(t, h, RuleTempLow, 35, nil)
		})
	})
}

// The thermometer's reading describes the core Age before it was fed (the
// midpoint of its estimator's mean): temperature_low and temperature_high
// date their onsets there, so the 60 s delay runs from that time, never
// from before the time the last reading within the limit described, and
// an age beyond the estimator's span counts as the span. Began is the
// dated onset.
func TestTemperatureRulesDateTheirOnsets(t *testing.T) {
	for _, tt := range []struct {
		name               string
		withinAge, pastAge time.Duration
		wantAge            time.Duration // how far before the first past reading's feed the onset lies
	}{
		{"the reading's age", 4500 * time.Millisecond, 4500 * time.Millisecond, 4500 * time.Millisecond},
		{"bounded by the last reading within the limit", 0, 4500 * time.Millisecond, 100 * time.Millisecond},
		{"an age beyond the estimator's span", 30 * time.Second, 30 * time.Second, 10 * time.Second},
		{"no age", 0, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarnessWith(t, DefaultLimits(), Options{CoreOffsetC: 4})
				feed := func(c float64, age time.Duration, d time.Duration) {
					for end := time.Now().Add(d); time.Now().Before(end); {
						// The oximeter's last: Feed wakes the watchdog.
						h.w.FeedBodyTemp(temp.Reading{At: time.Now(), Celsius: c, Age: age, Valid: true})
						h.w.Feed(reading(60, 97))
						time.Sleep(100 * time.Millisecond)
					}
					synctest.Wait()
				}
				feed(32, tt.withinAge, 20*time.Second) // core 36
				first := time.Now()
				onset := first.Add(-tt.wantAge)
				// The abort comes at the first evaluation past onset + 60 s.
				// Fed every 100 ms until the end of the delay from the
				// onset, which is on that grid: the evaluation there
				// does not trip, the next one does.
				feed(30.9, tt.pastAge, time.Until(onset.Add(60*time.Second)))
				wantNoAbort(t, h, "34.9 °C until 60 s after the dated onset")
				feed(30.9, tt.pastAge, time.Second)
				a := wantAbort(t, h, RuleTempLow, 35, map[string]float64{"body_temp_c": 34.9})
				if !a.Began.Equal(onset) {
					t.Errorf("began %v after the first reading past the limit, want %v", a.Began.Sub(first), -tt.wantAge)
				}
			})
		})
	}
}

// aroused is calmBody with the heart rate just over ArousalHeartRateBPM
// above the baseline's 60 bpm: the concurrent sign stress and
// eeg_arousal need.
func aroused() body {
	b := calmBody()
	b.ox = reading(71, 97)
	return b
}

// stress: during a merge with a baseline (heart rate 60 bpm), at least 12
// responses a minute with the heart rate above 70 bpm for just over 2 min
// trips; just under does not; 11 never does, nor any count with the heart
// at 70 bpm; 10 (inside the deadband) or 66 bpm (inside the heart rate's)
// keeps the delay running, 9 or 65 bpm clears it; outside a merge and
// before the baseline it is not armed.
func TestStressAtItsBoundaries(t *testing.T) {
	scr := func(n int, bpm float64) body { b := aroused(); b.scr = n; b.ox = reading(bpm, 97); return b }
	t.Run("just under and over the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(scr(12, 71), 119500*time.Millisecond)
			wantNoAbort(t, h, "12 a minute for 119.5 s")
			h.feedBodyFor(scr(12, 71), time.Second)
			a := wantAbort(t, h, RuleStress, 12, map[string]float64{"scr_per_min": 12, "skin_conductance_us": 2})
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "scr_per_min 12") {
				t.Fatalf("Ack during the merge at 12 a minute = %v, want refused", err)
			}
		})
	})
	t.Run("below the level, with a calm heart, outside a merge, before the baseline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedBodyFor(scr(30, 71), 5*time.Minute)
			h.w.SetMerge(true)
			h.feedBodyFor(scr(30, 71), 5*time.Minute)
			if st := h.w.Status(); slices.Contains(st.Armed, RuleStress) {
				t.Fatalf("stress armed before the baseline: %+v", st)
			}
			h.w.SetBaseline(mergeBaseline)
			h.feedBodyFor(scr(11, 71), 10*time.Minute)
			h.feedBodyFor(scr(30, 70), 10*time.Minute)
			wantNoAbort(t, h, "30 a minute outside a merge and before the baseline, 11 during one, 30 at 70 bpm")
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(scr(12, 71), 90*time.Second)
			h.feedBodyFor(scr(10, 71), 10*time.Second)
			h.feedBodyFor(scr(12, 66), 10*time.Second)
			h.feedBodyFor(scr(12, 71), 10500*time.Millisecond)
			wantAbort(t, h, RuleStress, 12, nil)
		})
		for _, clear := range []body{scr(9, 71), scr(12, 65)} {
			synctest.Test(t, func(t *testing.T) {
				h := newMergeHarness(t, DefaultLimits())
				h.feedBodyFor(scr(12, 71), 100*time.Second)
				h.feedBodyFor(clear, time.Second)
				h.feedBodyFor(scr(12, 71), 119*time.Second)
				wantNoAbort(t, h, fmt.Sprintf("%d a minute at %g bpm cleared the delay", clear.scr, clear.ox.HeartRateBPM))
			})
		}
	})
}

// stress dates its onset at the later of the times its two signs began:
// the onset of the newest response the skin's count holds
// (eda.Reading.SCROnsetAge) and the time the first heart rate reading of
// the heart's current rise described (its age), never before the time the
// last evaluation within the limit described. Its 120 s delay runs from
// there; Began is that onset. A heart raised long before the 12th
// response does not date it back; a heart that rises after it does date
// it later.
func TestStressDatesItsOnset(t *testing.T) {
	for _, tt := range []struct {
		name      string
		before    int     // responses a minute before the first reading of 12 with the heart raised
		beforeBPM float64 // the heart rate then
		wantAge   time.Duration
	}{
		{"the newest response's onset", 11, 71, 1800 * time.Millisecond},
		{"the heart's rise, later", 12, 60, 500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newMergeHarness(t, DefaultLimits())
				feed := func(n int, bpm float64, onsetAge, d time.Duration) {
					for end := time.Now().Add(d); time.Now().Before(end); {
						h.w.FeedSkinConductance(eda.Reading{At: time.Now(), TonicMicrosiemens: 2, SCRPerMinute: n, SCROnsetAge: onsetAge, Valid: true})
						h.w.Feed(dated(bpm, 97, 500*time.Millisecond)) // wakes the watchdog
						time.Sleep(100 * time.Millisecond)
					}
					synctest.Wait()
				}
				// The newest response counted then 20 s old (11 a
				// minute), or 1.8 s (12).
				age := 20 * time.Second
				if tt.before == 12 {
					age = 1800 * time.Millisecond
				}
				feed(tt.before, tt.beforeBPM, age, 10*time.Second)
				first := time.Now()
				onset := first.Add(-tt.wantAge)
				// Fed every 100 ms until the end of the delay from the
				// onset, which is on that grid: the evaluation there
				// does not trip, the next one does.
				feed(12, 71, 1800*time.Millisecond, time.Until(onset.Add(120*time.Second)))
				wantNoAbort(t, h, "12 a minute until 120 s after the dated onset")
				feed(12, 71, 1800*time.Millisecond, time.Second)
				a := wantAbort(t, h, RuleStress, 12, map[string]float64{"scr_per_min": 12})
				if !a.Began.Equal(onset) {
					t.Errorf("began %v after the first reading of 12 a minute with the heart raised, want %v", a.Began.Sub(first), -tt.wantAge)
				}
			})
		})
	}
}

// eeg_arousal judges the EEG's recent ratio (eeg.Channel.RecentBetaAlpha,
// its newest 8 s), not the span's, and dates its onset at the later of the
// time that ratio describes (RecentAge) and the heart rate reading's, never
// before the time the last evaluation within the limit described; its
// 30 s delay runs from there. A summary whose recent ratio is not valid (a
// blink in the newest segments) neither starts nor clears it.
func TestEEGArousalJudgesTheRecentRatioAndDatesItsOnset(t *testing.T) {
	feeder := func(h *harness) func(bpm, span, recent float64, recentOK bool, d time.Duration) {
		return func(bpm, span, recent float64, recentOK bool, d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				c := eeg.Channel{BetaAlpha: span, Valid: true}
				if recentOK {
					c.RecentBetaAlpha, c.RecentValid, c.RecentAge = recent, true, 4*time.Second
				}
				h.w.FeedEEG(time.Now(), c)
				h.w.Feed(dated(bpm, 97, 500*time.Millisecond)) // wakes the watchdog
				time.Sleep(100 * time.Millisecond)
			}
			synctest.Wait()
		}
	}
	for _, tt := range []struct {
		name                 string
		beforeBPM, beforeRec float64 // the heart rate and recent ratio before the first reading with both past
		wantAge              time.Duration
	}{
		{"the recent ratio's age", 71, 1, 4 * time.Second},
		{"the heart's rise, later", 60, 1.6, 500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newMergeHarness(t, DefaultLimits())
				feed := feeder(h)
				// The span's ratio past 3 times the baseline's (0.5)
				// counts for nothing: the recent one is judged.
				feed(tt.beforeBPM, 2, tt.beforeRec, true, 10*time.Second)
				first := time.Now()
				onset := first.Add(-tt.wantAge)
				feed(71, 1, 1.6, true, time.Until(onset.Add(30*time.Second)))
				wantNoAbort(t, h, "3.2 times the baseline until 30 s after the dated onset")
				feed(71, 1, 1.6, true, time.Second)
				a := wantAbort(t, h, RuleEEGArousal, 3, map[string]float64{"beta_alpha": 1.6, "beta_alpha_ratio_to_baseline": 3.2})
				if !a.Began.Equal(onset) {
					t.Errorf("began %v after the first reading with both signs past, want %v", a.Began.Sub(first), -tt.wantAge)
				}
			})
		})
	}
	t.Run("no valid recent ratio", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			feed := feeder(h)
			feed(71, 1, 1, true, 10*time.Second)
			began := time.Now().Add(-4 * time.Second) // the recent ratio's age
			feed(71, 1, 1.6, true, 10*time.Second)
			// 10 s without a valid recent ratio neither clears the
			// delay nor starts one anew.
			feed(71, 1, 0, false, 10*time.Second)
			wantNoAbort(t, h, "10 s past the limit, 10 s unknown")
			feed(71, 1, 1.6, true, 10*time.Second+2*DefaultPeriod)
			if a := wantAbort(t, h, RuleEEGArousal, 3, nil); !a.Began.Equal(began) {
				t.Errorf("began %v after the time the first ratio past the limit describes, want at it", a.Began.Sub(began))
			}
		})
	})
}

// eeg_arousal: beta/alpha above 3 times the baseline's (0.5) with the
// heart rate above 70 bpm (the baseline's 60 and ArousalHeartRateBPM) for
// just over 30 s trips; exactly 3 times never does, nor 5 times with the
// heart at 70 bpm (REM); 2.6 times (inside the 0.5 deadband) or 66 bpm
// keeps the delay running, 2.5 times or 65 bpm clears it; without a
// baseline it is not armed.
func TestEEGArousalAtItsBoundaries(t *testing.T) {
	ba := func(x, bpm float64) body { b := aroused(); b.betaAlpha = x; b.ox = reading(bpm, 97); return b }
	t.Run("just under and over the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(ba(1.51, 71), 29500*time.Millisecond)
			wantNoAbort(t, h, "3.02 times for 29.5 s")
			h.feedBodyFor(ba(1.51, 71), time.Second)
			a := wantAbort(t, h, RuleEEGArousal, 3, map[string]float64{"beta_alpha": 1.51, "baseline_beta_alpha": 0.5, "beta_alpha_ratio_to_baseline": 3.02})
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "beta/alpha 3.02 times") {
				t.Fatalf("Ack = %v, want refused while aroused", err)
			}
		})
	})
	t.Run("at the factor, with a calm heart, and without a baseline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(ba(1.5, 71), 5*time.Minute)
			h.feedBodyFor(ba(2.5, 70), 5*time.Minute)
			wantNoAbort(t, h, "3.0 times, and 5 times at 70 bpm")
		})
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedBodyFor(calmBody(), 2*time.Second)
			h.w.SetMerge(true)
			h.feedBodyFor(ba(5, 71), 5*time.Minute)
			wantNoAbort(t, h, "no baseline")
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(ba(1.6, 71), 15*time.Second)
			h.feedBodyFor(ba(1.3, 71), 5*time.Second) // 2.6 times: inside the deadband
			h.feedBodyFor(ba(1.6, 66), 5*time.Second) // 6 bpm up: inside the heart rate's
			h.feedBodyFor(ba(1.6, 71), 5500*time.Millisecond)
			wantAbort(t, h, RuleEEGArousal, 3, nil)
		})
		for _, clear := range []body{ba(1.25, 71), ba(1.6, 65)} { // 2.5 times; 5 bpm up
			synctest.Test(t, func(t *testing.T) {
				h := newMergeHarness(t, DefaultLimits())
				h.feedBodyFor(ba(1.6, 71), 20*time.Second)
				h.feedBodyFor(clear, time.Second)
				h.feedBodyFor(ba(1.6, 71), 29*time.Second)
				wantNoAbort(t, h, fmt.Sprintf("beta/alpha %g at %g bpm cleared the delay", clear.betaAlpha, clear.ox.HeartRateBPM))
			})
		}
	})
}

// heart_rate_rise: during a merge with a baseline of 60 bpm, 101 bpm
// (more than 40 above both the baseline and the last minute's lowest)
// for just over 10 s trips; 100 never does; a slow climb to 110 (never
// 40 within a minute) does not; 96 (inside the 5 bpm deadband) keeps the
// delay running, 95 clears it.
func TestHeartRateRiseAtItsBoundaries(t *testing.T) {
	hr := func(x float64) body { b := calmBody(); b.ox = reading(x, 97); return b }
	t.Run("just under and over the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(hr(60), 30*time.Second)
			h.feedBodyFor(hr(101), 9500*time.Millisecond)
			wantNoAbort(t, h, "101 bpm for 9.5 s")
			h.feedBodyFor(hr(101), time.Second)
			a := wantAbort(t, h, RuleHeartRateRise, 100, map[string]float64{"heart_rate_bpm": 101, "baseline_heart_rate_bpm": 60, "lowest_heart_rate_bpm": 60})
			if err := h.w.Ack(a); err == nil || !strings.Contains(err.Error(), "heart_rate_bpm 101.0 is not below 95") {
				t.Fatalf("Ack = %v, want refused during the rise", err)
			}
		})
	})
	t.Run("at the rise, and a slow climb", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(hr(60), 30*time.Second)
			h.feedBodyFor(hr(100), 2*time.Minute)
			wantNoAbort(t, h, "100 bpm")
		})
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			for x := 60.0; x <= 110; x += 0.25 { // 30 bpm a minute
				h.feedBodyFor(hr(x), 500*time.Millisecond)
			}
			h.feedBodyFor(hr(110), time.Minute)
			wantNoAbort(t, h, "a climb of 30 bpm a minute to 110")
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(hr(60), 30*time.Second)
			h.feedBodyFor(hr(105), 6*time.Second)
			h.feedBodyFor(hr(96), 3*time.Second)
			h.feedBodyFor(hr(105), 1500*time.Millisecond)
			wantAbort(t, h, RuleHeartRateRise, 100, nil)
		})
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(hr(60), 30*time.Second)
			h.feedBodyFor(hr(105), 6*time.Second)
			h.feedBodyFor(hr(95), time.Second)
			h.feedBodyFor(hr(105), 9*time.Second)
			wantNoAbort(t, h, "95 bpm cleared the delay")
		})
	})
	t.Run("outside a merge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, DefaultLimits())
			h.feedBodyFor(hr(60), 30*time.Second)
			h.feedBodyFor(hr(125), time.Minute)
			wantNoAbort(t, h, "a rise outside a merge")
		})
	})
}

// stability_low: during a merge with a baseline, the index just under
// 0.3 for just over 10 s trips, with the index and its deviations; just
// above 0.3 never does; an index inside the 0.05 deadband keeps the
// delay running, one past it clears it.
func TestStabilityLowAtItsBoundaries(t *testing.T) {
	// Heart rate 40 bpm above the baseline and SpO2 5 % below it: D² = 2
	// (0.333); the skin conductance's ratio brings D² to 2.4 or 2.2.
	dev := func(tonic float64) body {
		b := calmBody()
		b.ox = reading(100, 92)
		b.tonicUS = tonic
		return b
	}
	under, over, inside := dev(3.1), dev(2.728), dev(2)
	for _, c := range []struct {
		b      body
		lo, hi float64
	}{{under, 0.29, 0.3}, {over, 0.3, 0.32}, {inside, 0.3, 0.35}} {
		s := Stability(Deviations{HeartRateBPM: c.b.ox.HeartRateBPM - 60, SpO2Pct: c.b.ox.SpO2Pct - 97, SkinConductanceRatio: c.b.tonicUS / 2})
		if !(s > c.lo && s < c.hi) {
			t.Fatalf("the test's vitals give %g, want in (%g, %g)", s, c.lo, c.hi)
		}
	}
	t.Run("just under and over the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(under, 9500*time.Millisecond)
			wantNoAbort(t, h, "0.294 for 9.5 s")
			if st := h.w.Status(); st.Stability == nil || *st.Stability >= 0.3 || st.Level != LevelWarn {
				t.Fatalf("status %+v, want the index below 0.3 and warn", st)
			}
			h.feedBodyFor(under, time.Second)
			a := wantAbort(t, h, RuleStabilityLow, 0.3, map[string]float64{"heart_rate_deviation_bpm": 40, "body_temp_deviation_c": 0, "skin_conductance_ratio": 1.55, "beta_alpha_ratio": 1})
			if s := a.Values["stability"]; s >= 0.3 || s < 0.29 {
				t.Fatalf("stability %g in the abort", s)
			}
			if !strings.HasPrefix(a.Detail, "stability 0.294 below 0.3 for 10.") {
				t.Fatalf("detail %q", a.Detail)
			}
		})
	})
	t.Run("just above the limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(over, 2*time.Minute)
			wantNoAbort(t, h, "0.3125")
		})
	})
	t.Run("hysteresis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(under, 6*time.Second)
			h.feedBodyFor(inside, 2*time.Second) // 0.333: inside the deadband
			h.feedBodyFor(under, 2500*time.Millisecond)
			wantAbort(t, h, RuleStabilityLow, 0.3, nil)
		})
		synctest.Test(t, func(t *testing.T) {
			h := newMergeHarness(t, DefaultLimits())
			h.feedBodyFor(under, 6*time.Second)
			h.feedBodyFor(calmBody(), time.Second) // 1: clears
			h.feedBodyFor(under, 9*time.Second)
			wantNoAbort(t, h, "the baseline cleared the delay")
		})
	})
}

// pipeline_stalled: a gap of just over PipelineStallAfter (1 s) with no
// reading at all trips it; a gap of 0.9 s does not; invalid readings
// keep the pipeline alive (vitals_stale is what judges them).
func TestPipelineStalledAtItsBoundaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(60, 97), 20*time.Second)
		for range 10 {
			h.w.Feed(reading(60, 97))
			time.Sleep(900 * time.Millisecond)
		}
		synctest.Wait()
		wantNoAbort(t, h, "gaps of 0.9 s")
		h.feedFor(noAnswer(), 4*time.Second)
		wantNoAbort(t, h, "invalid readings for 4 s")
		h.w.Feed(reading(60, 97))
		fed := time.Now()
		time.Sleep(time.Second)
		synctest.Wait()
		wantNoAbort(t, h, "1.0 s without a reading")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		a := wantAbort(t, h, RulePipeline, 1, nil)
		if d := a.At.Sub(fed); d <= time.Second || d > time.Second+2*DefaultPeriod {
			t.Fatalf("tripped %v after the last reading, want just over 1 s", d)
		}
	})
}

// temperature_low's onset from a reading that carries its samples: the
// time its mean describes, but not before its newest sample within the
// limit (the core 35 °C, the sensor 31 °C with a 4 °C offset); every
// sample past it, the midpoint; the newest within it, the feed.
func TestTemperatureOnsetNotBeforeTheNewestSampleWithin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarnessWith(t, DefaultLimits(), Options{CoreOffsetC: 4})
		for _, tt := range []struct {
			name    string
			samples []float64 // newest first, 1 s apart
			want    time.Duration
		}{
			{"the newest within 2 s back", []float64{30.9, 30.95, 31.05, 31.1, 31.2}, 2 * time.Second},
			{"all past: the midpoint", []float64{30.9, 30.9, 30.9, 30.9}, 4500 * time.Millisecond},
			{"within 6 s back: the midpoint", []float64{30.9, 30.9, 30.9, 30.9, 30.9, 30.9, 31.1}, 4500 * time.Millisecond},
			{"the newest within", []float64{31.1, 30.9, 30.9}, 0},
		} {
			r := temp.Reading{At: time.Now(), Celsius: 30.95, Age: 4500 * time.Millisecond, Valid: true, RecentStep: time.Second}
			r.NumRecent = copy(r.Recent[:], tt.samples)
			h.w.FeedBodyTemp(r)
			fed := time.Now()
			h.w.mu.Lock()
			got := h.w.tempOnsetLocked(35, true)
			h.w.mu.Unlock()
			if d := fed.Sub(got); d != tt.want {
				t.Errorf("%s: onset %v before the feed, want %v", tt.name, d, tt.want)
			}
			time.Sleep(time.Second)
		}
	})
}
