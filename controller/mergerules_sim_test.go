package controller

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

// The whole-daemon scenarios of the merge-only rules: a scenario of
// sim/scenarios/ played on the simulated pod with every sensor read by its
// real driver and sensing loop (allSimSensors), the sleeper's consent and
// merge/start at 20 s and the baseline's minute to 80 s (mergedRigWith),
// on testing/synctest's fake clock. The helpers below read what the pod
// reported and derive, from the scenario's own values, when a rule's
// condition can begin: the windows the tests assert.

// mergeScenario plays sim/scenarios/name.yaml through a merge started at
// 20 s and returns the rig and the scenario.
func mergeScenario(t *testing.T, start time.Time, name string) (*rig, *scenario.Scenario) {
	t.Helper()
	file := "../sim/scenarios/" + name + ".yaml"
	sc, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return mergedRigWith(t, start, "", rigOpts{simSensors: allSimSensors, scenarioFile: file}), sc
}

// eventTime is an event's time field (uplink.TimeFormat) as a duration
// since start.
func eventTime(t *testing.T, e uplink.Event, field string, start time.Time) time.Duration {
	t.Helper()
	s, ok := e.Fields[field].(string)
	if !ok {
		t.Fatalf("%s event without %s: %+v", e.Type, field, e.Fields)
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s event's %s %q: %v", e.Type, field, s, err)
	}
	return at.Sub(start)
}

// within fails the test unless lo <= d <= hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s at %v, want within [%v, %v]", what, d, lo, hi)
	}
}

// sessionBaseline is the baseline the pod captured, from its merged state
// event.
func sessionBaseline(t *testing.T, up *fakeUplink) Baseline {
	t.Helper()
	for _, e := range up.Events("state") {
		if b, ok := e.Fields["baseline"].(Baseline); ok {
			return b
		}
	}
	t.Fatal("no state event with the baseline")
	return Baseline{}
}

// abortedMerge checks what every aborted merge shows, whatever its rule:
// one abort, of rule, with its IEC 60601-1-8 priority and the time its
// condition began; the pod aborted from merged for that rule; the merge
// over (no session, the uplink left the merge's topic, consent withdrawn
// by the abort). It returns the abort event, when its condition began and
// when it was detected (since start).
func abortedMerge(t *testing.T, r *rig, start time.Time, rule, priority string) (ev uplink.Event, began, detected time.Duration) {
	t.Helper()
	aborts := r.up.Events("abort")
	if len(aborts) != 1 || aborts[0].Fields["rule"] != rule {
		t.Fatalf("aborts %+v, want one of %s", aborts, rule)
	}
	ev = aborts[0]
	if ev.Fields["priority"] != priority || safety.Priority(rule) != priority {
		t.Errorf("priority %v, want %s", ev.Fields["priority"], priority)
	}
	if _, ok := ev.Fields["latency_ms"]; !ok {
		t.Errorf("abort without its latency: %+v", ev.Fields)
	}
	began, detected = eventTime(t, ev, "began_at", start), eventTime(t, ev, "detected_at", start)
	states := stateEvents(r.up)
	if want := []string{"offline>idle", "idle>baseline", "baseline>merged", "merged>aborted"}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if last := r.up.Events("state"); last[len(last)-1].Fields["reason"] != rule {
		t.Errorf("the pod aborted for %v, want %s", last[len(last)-1].Fields["reason"], rule)
	}
	st := r.pod.Status()
	if st.State != StateAborted || st.Session != nil {
		t.Errorf("state %s, session %+v: want aborted, the merge over", st.State, st.Session)
	}
	r.up.mu.Lock()
	session := r.up.session
	r.up.mu.Unlock()
	if session != "" {
		t.Errorf("the uplink still in merge %q", session)
	}
	c := r.up.Events("consent")
	if len(c) != 2 || c[1].Fields["action"] != "withdrawn" || c[1].Fields["source"] != "abort" {
		t.Errorf("consent events %+v, want the grant and its withdrawal by the abort", c)
	}
	return ev, began, detected
}

// warnedFirst checks that rule warned, once, when its condition was seen
// and before the abort was posted: detected_at at the abort's began_at
// for a rule whose onset is the evaluation that saw it, up to seenBy after
// it for a rule whose onset is dated back to the time its values
// describe.
func warnedFirst(t *testing.T, up *fakeUplink, rule string, began, seenBy time.Duration, start time.Time) uplink.Event {
	t.Helper()
	up.mu.Lock()
	events := slices.Clone(up.events)
	up.mu.Unlock()
	var warning *uplink.Event
	for i, e := range events {
		if e.Type == "abort" {
			break
		}
		if e.Type == "warning" && e.Fields["rule"] == rule {
			if warning != nil {
				t.Errorf("%s warned twice: %+v", rule, events[i].Fields)
			}
			warning = &events[i]
		}
	}
	if warning == nil {
		t.Fatalf("no %s warning before the abort: %+v", rule, up.Events("warning"))
	}
	if at := eventTime(t, *warning, "detected_at", start); at < began || at > began+seenBy {
		t.Errorf("%s warned at %v, its condition began at %v: want within %v of it", rule, at, began, seenBy)
	}
	if warning.Fields["priority"] != safety.Priority(rule) {
		t.Errorf("warning %+v, want priority %s", warning.Fields, safety.Priority(rule))
	}
	return *warning
}

// noHighWarnings fails the test on a warning of a high-priority rule.
func noHighWarnings(t *testing.T, up *fakeUplink) {
	t.Helper()
	for _, w := range up.Events("warning") {
		if w.Fields["priority"] == safety.PriorityHigh {
			t.Errorf("warning of a high-priority rule: %+v", w.Fields)
		}
	}
}

// tripAfter checks that the abort came one alarm delay after its condition
// began, within one evaluation (safety.DefaultPeriod) past it.
func tripAfter(t *testing.T, began, detected, delay time.Duration) {
	t.Helper()
	if lasted := detected - began; lasted < delay || lasted > delay+safety.DefaultPeriod+time.Millisecond {
		t.Errorf("aborted %v after its condition began, want its delay %v and at most one evaluation more", lasted, delay)
	}
}

// firstWhen is the first time from from to to, by 100 ms, at which cond
// holds; it fails the test if it never does.
func firstWhen(t *testing.T, from, to time.Duration, cond func(time.Duration) bool) time.Duration {
	t.Helper()
	for d := from; d <= to; d += 100 * time.Millisecond {
		if cond(d) {
			return d
		}
	}
	t.Fatalf("the condition never holds from %v to %v", from, to)
	return 0
}

// scrStormMeanUS is the mean conductance a train of skin responses adds
// over its span, µS: each response is the simulator's Bateman shape
// (rise 1 s, recovery 3.75 s, scaled to its amplitude at the peak), whose
// integral is (3.75 − 1) s / its peak value; the tonic level's low-pass
// filter passes that mean.
func scrStormMeanUS(sc *scenario.Scenario, from, to time.Duration) float64 {
	const tauRise, tauDecay = 1.0, 3.75
	tPeak := math.Log(tauDecay/tauRise) * tauRise * tauDecay / (tauDecay - tauRise)
	peak := math.Exp(-tPeak/tauDecay) - math.Exp(-tPeak/tauRise)
	var sum float64
	for e := range sc.EventsBetween(from, to).All() {
		if e.Kind == scenario.EventSCR {
			sum += e.AmplitudeUS * (tauDecay - tauRise) / peak
		}
	}
	return sum / (to - from).Seconds()
}

// hasKeys fails the test unless values has exactly the keys given.
func hasKeys(t *testing.T, values map[string]float64, keys ...string) {
	t.Helper()
	var got []string
	for k := range values {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("values %v, want the keys %s", values, strings.Join(keys, ", "))
	}
}
