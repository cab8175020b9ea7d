package controller

import (
	"errors"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/button"
	"github.com/sleegation/podd/safety"
)

const calm = `
name: test-calm
baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
`

// connectedRig is a rig whose uplink is connected to the city.
func connectedRig(t *testing.T, scenarioYAML string) *rig {
	t.Helper()
	up := &fakeUplink{}
	up.connected.Store(true)
	return newRigWith(t, scenarioYAML, &memStore{}, rigOpts{up: up})
}

var merge1 = MergeRequest{Session: "m-1", Dreamscape: "tide", MaxDuration: time.Hour}

// mergedRig grants consent at 20 s, starts merge1 at 20 s and checks that
// it is merged after the baseline.
func mergedRig(t *testing.T, start time.Time, scenarioYAML string) *rig {
	t.Helper()
	return mergedRigWith(t, start, scenarioYAML, rigOpts{})
}

// mergedRigWith is mergedRig with opts (its uplink is always a connected
// fake).
func mergedRigWith(t *testing.T, start time.Time, scenarioYAML string, opts rigOpts) *rig {
	t.Helper()
	opts.up = &fakeUplink{}
	opts.up.connected.Store(true)
	r := newRigWith(t, scenarioYAML, &memStore{}, opts)
	until(start, 20*time.Second)
	if _, err := r.pod.GrantConsent("api", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.pod.StartMerge(merge1); err != nil {
		t.Fatalf("StartMerge: %v", err)
	}
	until(start, 81*time.Second)
	if st := r.pod.Status(); st.State != StateMerged {
		t.Fatalf("state %s 61 s after merge/start, want merged", st.State)
	}
	return r
}

func refusal(t *testing.T, err error) []string {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want a *RefusedError", err)
	}
	return re.Reasons
}

// An empty pod, through the real drivers and estimator on the simulated
// oximeter, never latches: the sensor sees no one, vitals_stale is
// disarmed, and the night passes without an abort.
func TestAnEmptyPodNeverLatches(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+"occupied: false\n", &memStore{})
		defer r.stop()
		until(start, 2*time.Hour)
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("aborts on an empty pod: %+v", a)
		}
		st := r.pod.Status()
		if st.State != StateIdle || st.Vitals.Contact != "none" || slices.Contains(st.Safety.Armed, safety.RuleVitalsStale) {
			t.Fatalf("status %+v: want idle, contact none, vitals_stale disarmed", st)
		}
	})
}

// The sleeper leaves the pod outside a merge and comes back: no abort, and
// when they are back every rule is armed again and acts on their vitals.
func TestTheSleeperLeavesAndComesBackOutsideAMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+`timeline:
  - {at: 1m, occupied: false}
  - {at: 10m, occupied: true}
  - {at: 15m, ramp: 10s, set: {heart_rate_bpm: 150}}
`, &memStore{})
		defer r.stop()
		until(start, 5*time.Minute)
		if st := r.pod.Status(); st.Vitals.Contact != "none" || len(r.up.Events("abort")) != 0 {
			t.Fatalf("after leaving: contact %s, aborts %+v", st.Vitals.Contact, r.up.Events("abort"))
		}
		until(start, 12*time.Minute)
		if st := r.pod.Status(); st.Vitals.Contact != "skin" || !slices.Contains(st.Safety.Armed, safety.RuleVitalsStale) || len(r.up.Events("abort")) != 0 {
			t.Fatalf("back: %+v, aborts %+v", st, r.up.Events("abort"))
		}
		until(start, 16*time.Minute)
		if a := r.up.Events("abort"); len(a) != 1 || a[0].Fields["rule"] != safety.RuleHeartRateHigh {
			t.Fatalf("aborts %+v, want one heart_rate_high", a)
		}
	})
}

// merge/start is refused, naming every condition, without consent, while
// starting, and without valid vitals; it changes nothing.
func TestMergeStartIsRefusedWithoutItsConditions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, calm)
		defer r.stop()
		until(start, time.Second)
		got := refusal(t, r.pod.StartMerge(merge1))
		if want := []string{RefuseNoConsent, RefuseSensors}; !slices.Equal(got, want) {
			t.Fatalf("refused for %v at 1 s, want %v", got, want)
		}
		until(start, 20*time.Second)
		got = refusal(t, r.pod.StartMerge(merge1))
		if want := []string{RefuseNoConsent}; !slices.Equal(got, want) {
			t.Fatalf("refused for %v, want %v", got, want)
		}
		for _, bad := range []MergeRequest{
			{Session: "m/1", MaxDuration: time.Hour},
			{Session: "m+1", MaxDuration: time.Hour},
			{Session: "", MaxDuration: time.Hour},
			{Session: "m-1", MaxDuration: 0},
			{Session: "m-1", MaxDuration: 13 * time.Hour},
			{Session: "m-1", MaxDuration: time.Hour, StartAt: time.Now().Add(2 * time.Hour)},
		} {
			if got := refusal(t, r.pod.StartMerge(bad)); !slices.Equal(got, []string{RefuseBadRequest}) {
				t.Errorf("StartMerge(%+v) refused for %v, want bad_request", bad, got)
			}
		}
		if st := r.pod.Status(); st.State != StateIdle || st.Session != nil || st.Safety.Armed == nil {
			t.Fatalf("status after refusals %+v", st)
		}
		if _, err := r.pod.GrantConsent("api", time.Second); err == nil {
			t.Fatal("consent for 1 s accepted")
		}
		if err := r.pod.EndMerge("m-1", "test"); !slices.Equal(refusal(t, err), []string{RefuseNoSession}) {
			t.Fatalf("EndMerge outside a merge: %v", err)
		}
	})
}

// With consent, a merge goes through baseline (the sleeper's vitals
// captured) to merged, with every rule armed and the session in telemetry
// and status; a second merge/start is refused as busy.
func TestAMergeGoesThroughBaselineToMerged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, calm)
		defer r.stop()
		until(start, 20*time.Second)
		c, err := r.pod.GrantConsent("button", 0)
		if err != nil || !c.Granted || c.ExpiresAt == nil || time.Until(*c.ExpiresAt) != DefaultConsentDuration {
			t.Fatalf("GrantConsent = %+v, %v", c, err)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatalf("StartMerge: %v", err)
		}
		st := r.pod.Status()
		if st.State != StateBaseline || st.Session == nil || st.Session.ID != "m-1" || !slices.Contains(st.Safety.Armed, safety.RuleVitalsStale) {
			t.Fatalf("status after merge/start %+v", st)
		}
		if got := refusal(t, r.pod.StartMerge(merge1)); !slices.Equal(got, []string{RefuseBusy}) {
			t.Fatalf("second StartMerge refused for %v, want busy", got)
		}
		until(start, 79*time.Second)
		if st := r.pod.Status(); st.State != StateBaseline {
			t.Fatalf("state %s before the baseline's minute, want baseline", st.State)
		}
		until(start, 81*time.Second)
		st = r.pod.Status()
		if st.State != StateMerged || st.Session.Baseline == nil {
			t.Fatalf("status after the baseline %+v", st)
		}
		if b := st.Session.Baseline; b.HeartRateBPM < 56 || b.HeartRateBPM > 60 || b.SpO2Pct < 95 || b.SpO2Pct > 99 || b.Readings < 150 || b.Readings > 301 {
			t.Fatalf("baseline %+v, want 58 ± 2 bpm, 97 ± 2 %% over the minute's readings, each once", b)
		}
		until(start, 83*time.Second)
		if tm := r.up.LastTelemetry(); tm.State != StateMerged || tm.Session == nil || *tm.Session != "m-1" {
			t.Fatalf("telemetry %+v, want merged in m-1", tm)
		}
		if got, want := stateEvents(r.up), []string{"offline>idle", "idle>baseline", "baseline>merged"}; !slices.Equal(got, want) {
			t.Fatalf("state events %v, want %v", got, want)
		}
	})
}

// A merge whose start time lies far ahead joins with the baseline of the
// minute before it, not the mean of the whole wait: the sleeper's heart
// rate settles from 80 to 60 bpm during the wait, and the baseline says 60.
func TestABaselineIsTheLastMinuteBeforeAFarStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, `
name: test-settling
baseline: {heart_rate_bpm: 80, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 4m, ramp: 30s, set: {heart_rate_bpm: 60}}
`)
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		req := merge1
		req.StartAt = start.Add(10 * time.Minute)
		if err := r.pod.StartMerge(req); err != nil {
			t.Fatalf("StartMerge: %v", err)
		}
		until(start, 10*time.Minute-time.Second)
		if st := r.pod.Status(); st.State != StateBaseline {
			t.Fatalf("state %s before the start time, want baseline", st.State)
		}
		until(start, 10*time.Minute+time.Second)
		st := r.pod.Status()
		if st.State != StateMerged || st.Session.Baseline == nil {
			t.Fatalf("status after the start time %+v", st)
		}
		if b := st.Session.Baseline; b.HeartRateBPM < 58 || b.HeartRateBPM > 62 || b.Readings < 150 || b.Readings > 301 {
			t.Fatalf("baseline %+v, want 60 ± 2 bpm over the last minute's readings (the mean since acceptance would be about 69)", b)
		}
	})
}

// During a merge every rule is armed: the sleeper leaving the pod (or the
// sensor falling off) trips vitals_stale, the merge is left and consent is
// withdrawn (a new merge needs it again).
func TestLeavingThePodDuringAMergeAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm+"timeline:\n  - {at: 2m, occupied: false}\n")
		defer r.stop()
		until(start, 2*time.Minute+10*time.Second)
		if a := r.up.Events("abort"); len(a) != 1 || a[0].Fields["rule"] != safety.RuleVitalsStale {
			t.Fatalf("aborts %+v, want one vitals_stale", a)
		}
		until(start, 2*time.Minute+11*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Session != nil || st.Consent.Granted || !r.hw.Strip.Dark() {
			t.Fatalf("status %+v (strip dark %v): want aborted, no session, no consent, dark", st, r.hw.Strip.Dark())
		}
	})
}

// A tachycardia during a merge aborts: a sudden one as a rise above the
// session's baseline (58 bpm) by more than 40 bpm, before it reaches
// heart_rate_high's 130, with the baseline and the last minute's lowest
// rate among its values.
func TestATachycardiaDuringAMergeAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm+"timeline:\n  - {at: 2m, ramp: 10s, set: {heart_rate_bpm: 150}}\n")
		defer r.stop()
		until(start, 3*time.Minute)
		a := r.up.Events("abort")
		if len(a) != 1 || a[0].Fields["rule"] != safety.RuleHeartRateRise {
			t.Fatalf("aborts %+v, want one heart_rate_rise", a)
		}
		v, _ := a[0].Fields["values"].(map[string]float64)
		if b := v["baseline_heart_rate_bpm"]; math.Abs(b-58) > 1 || v["heart_rate_bpm"] <= b+40 || math.Abs(v["lowest_heart_rate_bpm"]-58) > 2 {
			t.Fatalf("values %v: want a baseline and a lowest rate near 58 bpm, the rate more than 40 above", a[0].Fields["values"])
		}
		if st := r.pod.Status(); st.State != StateAborted || st.Session != nil {
			t.Fatalf("status %+v", st)
		}
	})
}

// The panic button ends a merge at once: the outputs' safe state by the
// direct path before Panic returns, the merge left for idle, consent
// withdrawn, a panic event, and nothing latched.
func TestPanicEndsAMergeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm)
		defer r.stop()
		if r.hw.Strip.Dark() {
			t.Fatal("dark before the panic")
		}
		gen := r.pod.parts.Gate.Generation()
		r.pod.Panic("button")
		if r.pod.parts.Gate.Generation() == gen || !r.hw.Strip.Dark() {
			t.Fatal("Panic returned before the outputs' safe state was applied")
		}
		st := r.pod.Status()
		if st.State != StateIdle || st.Session != nil || st.Consent.Granted || st.Safety.Latched != nil {
			t.Fatalf("status after panic %+v", st)
		}
		synctest.Wait()
		if p := r.up.Events("panic"); len(p) != 1 || p[0].Fields["session"] != "m-1" || p[0].Fields["source"] != "button" {
			t.Fatalf("panic events %+v", p)
		}
		if c := r.up.Events("consent"); len(c) != 2 || c[1].Fields["action"] != "withdrawn" || c[1].Fields["source"] != "panic" {
			t.Fatalf("consent events %+v", c)
		}
		if got := stateEvents(r.up); got[len(got)-1] != "merged>idle" {
			t.Fatalf("state events %v", got)
		}
		if got := refusal(t, r.pod.StartMerge(merge1)); !slices.Equal(got, []string{RefuseNoConsent}) {
			t.Fatalf("merge after panic refused for %v, want no_consent", got)
		}
	})
}

// Withdrawing consent and a hub's merge/abort end a merge at once, with the
// outputs' safe state applied first and nothing latched.
func TestWithdrawalAndMergeAbortEndAMergeAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(p *Pod) error
	}{
		{"withdrawal", func(p *Pod) error { p.WithdrawConsent("api"); return nil }},
		{"merge/abort", func(p *Pod) error { return p.AbortMerge("m-1", "hub") }},
		{"merge-wide abort", func(p *Pod) error { return p.AbortMerge("", "merge-wide") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				r := mergedRig(t, start, calm)
				defer r.stop()
				gen := r.pod.parts.Gate.Generation()
				if err := tt.end(r.pod); err != nil {
					t.Fatal(err)
				}
				if r.pod.parts.Gate.Generation() == gen {
					t.Fatal("the merge ended without the outputs' safe state")
				}
				if st := r.pod.Status(); st.State != StateIdle || st.Session != nil || st.Safety.Latched != nil {
					t.Fatalf("status %+v", st)
				}
			})
		})
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm)
		defer r.stop()
		if got := refusal(t, r.pod.AbortMerge("m-2", "hub")); !slices.Equal(got, []string{RefuseNoSession}) {
			t.Fatalf("abort of another merge refused for %v, want no_session", got)
		}
		if st := r.pod.Status(); st.State != StateMerged {
			t.Fatalf("abort of another merge changed the state to %s", st.State)
		}
	})
}

// The graceful ends: merge/end, the maximum duration, consent expiring and
// the city link lost for more than 30 s each go through ending (rules still
// armed) to idle after EndingDuration, without a latch.
func TestGracefulEnds(t *testing.T) {
	for _, tt := range []struct {
		name   string
		act    func(r *rig)
		reason string
		at     time.Duration // when ending begins, from the start
	}{
		{"merge/end", func(r *rig) { _ = r.pod.EndMerge("m-1", "merge/end") }, "merge/end", 81 * time.Second},
		{"link lost", func(r *rig) { r.up.connected.Store(false) }, "city link lost", 81*time.Second + LinkLossLimit + 200*time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				r := mergedRig(t, start, calm)
				defer r.stop()
				tt.act(r)
				until(start, tt.at+sessionTick)
				st := r.pod.Status()
				if st.State != StateEnding || !slices.Contains(st.Safety.Armed, safety.RuleVitalsStale) {
					t.Fatalf("status %+v, want ending with every rule armed", st)
				}
				until(start, tt.at+DefaultEndingDuration+2*sessionTick)
				if st := r.pod.Status(); st.State != StateIdle || st.Session != nil || st.Safety.Latched != nil {
					t.Fatalf("status %+v, want idle", st)
				}
				states := r.up.Events("state")
				if e := states[len(states)-2]; e.Fields["to"] != StateEnding || e.Fields["reason"] != tt.reason {
					t.Fatalf("state event %+v, want to ending for %q", e, tt.reason)
				}
			})
		})
	}
}

// The pod ends a merge itself at its maximum duration, and when consent
// expires.
func TestAMergeEndsAtItsMaximumAndWithConsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, calm)
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(MergeRequest{Session: "m-2", MaxDuration: 5 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		until(start, 81*time.Second+5*time.Minute+sessionTick)
		if st := r.pod.Status(); st.State != StateEnding {
			t.Fatalf("state %s after the maximum duration, want ending", st.State)
		}
		until(start, 8*time.Minute)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(MergeRequest{Session: "m-3", MaxDuration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		// Consent was renewed at 8 min for 12 h; take it back to a short
		// grant to see it lapse.
		if _, err := r.pod.GrantConsent("api", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		until(start, 11*time.Minute+sessionTick)
		st := r.pod.Status()
		if st.State != StateEnding || st.Consent.Granted {
			t.Fatalf("status %+v after consent lapsed, want ending without consent", st)
		}
		if c := r.up.Events("consent"); c[len(c)-1].Fields["action"] != "expired" {
			t.Fatalf("consent events %+v", c)
		}
	})
}

// The scenario's presses reach the pod through the simulated GPIO lines and
// the button driver: the consent button grants consent for
// ConsentDuration, and the panic button, pressed during a merge, ends it at
// once with the strip dark.
func TestButtonsThroughTheirLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, calm+`timeline:
  - {at: 15s, press: consent}
  - {at: 150s, press: panic}
`)
		defer r.stop()
		until(start, 16*time.Second)
		c := r.pod.Consent()
		if !c.Granted || c.Source != "button" || c.ExpiresAt.Sub(start) != 15*time.Second+button.DefaultOpts.Debounce+DefaultConsentDuration {
			t.Fatalf("consent after the press %+v", c)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatal(err)
		}
		until(start, 149*time.Second)
		if st := r.pod.Status(); st.State != StateMerged || r.hw.Strip.Dark() {
			t.Fatalf("state %s, strip dark %v before the panic", st.State, r.hw.Strip.Dark())
		}
		until(start, 151*time.Second)
		st := r.pod.Status()
		if st.State != StateIdle || st.Consent.Granted || len(r.up.Events("panic")) != 1 || st.Safety.Latched != nil {
			t.Fatalf("after the panic press: %+v, panic events %+v", st, r.up.Events("panic"))
		}
	})
}
