package safety

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensing"
)

// fakeSensor is a sensor whose health the test sets.
type fakeSensor struct {
	mu sync.Mutex
	h  sensing.Health
}

func (f *fakeSensor) Name() string { return f.h.Sensor }

func (f *fakeSensor) Health() sensing.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.h
}

func (f *fakeSensor) set(st sensing.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case st == sensing.OK:
		f.h.UnhealthySince = time.Time{}
	case f.h.State == sensing.OK:
		f.h.UnhealthySince = time.Now()
	}
	f.h.State, f.h.Since = st, time.Now()
}

func newSensor(name string) *fakeSensor {
	return &fakeSensor{h: sensing.Health{Sensor: name, State: sensing.OK, Since: time.Now()}}
}

// pastGrace feeds valid vitals until the start-up grace is over.
func pastGrace(h *harness) {
	h.feedFor(reading(60, 97), DefaultLimits().StartupGrace+time.Second)
}

func TestAnUnhealthySensorTripsDuringAMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		eeg, temp := newSensor("ads1299"), newSensor("tmp117")
		h.w.WatchSensors(eeg, temp)
		pastGrace(h)
		h.w.SetMerge(true)
		h.feedFor(reading(60, 97), 2*time.Second)
		eeg.set(sensing.LeadOff)
		start := time.Now()
		h.feedFor(reading(60, 97), 5*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted within stale_after: %+v", got)
		}
		if st := h.w.Status(); st.Level != LevelWarn || len(st.Pending) != 1 || st.Pending[0] != RuleSensorStale {
			t.Errorf("status while the delay runs = %+v, want warn with sensor_stale pending", st)
		}
		h.feedFor(reading(60, 97), 500*time.Millisecond)
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleSensorStale {
			t.Fatalf("aborts = %+v, want one sensor_stale", got)
		}
		if d := got[0].At.Sub(start); d <= 5*time.Second || d > 5100*time.Millisecond {
			t.Errorf("tripped %v after the electrodes came off, want one period past 5 s", d)
		}
		if want := "ads1299 lead_off for 5.1 s (limit 5.0 s)"; got[0].Detail != want {
			t.Errorf("detail %q, want %q", got[0].Detail, want)
		}
		if h.act.Calls() != 1 {
			t.Errorf("safe state applied %d times, want once", h.act.Calls())
		}
	})
}

func TestAnUnhealthySensorTripsNothingOutsideAMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		temp := newSensor("tmp117")
		h.w.WatchSensors(temp)
		temp.set(sensing.BusError)
		h.feedFor(reading(60, 97), DefaultLimits().StartupGrace+time.Minute)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborts = %+v outside a merge", got)
		}
		if st := h.w.Status(); st.Level != LevelOK || len(st.Pending) != 0 {
			t.Errorf("status = %+v, want ok", st)
		}
	})
}

// A merge that begins with a sensor long unhealthy gives it StaleAfter
// from the start of the merge, not none; one that recovers within it trips
// nothing.
func TestAMergeGrantsStaleAfterToASensor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		eda := newSensor("ads1115")
		h.w.WatchSensors(eda)
		eda.set(sensing.NoContact)
		pastGrace(h)
		h.w.SetMerge(true)
		h.feedFor(reading(60, 97), 4*time.Second)
		eda.set(sensing.OK)
		h.feedFor(reading(60, 97), 10*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborts = %+v, want none: the sensor recovered within 5 s of the merge", got)
		}
		eda.set(sensing.Stale)
		h.feedFor(reading(60, 97), 6*time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleSensorStale {
			t.Fatalf("aborts = %+v, want sensor_stale", got)
		}
	})
}

// Within the start-up grace a sensor still opening trips nothing, even
// during a merge restored at start.
func TestStartupGraceCoversTheSensors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := DefaultLimits()
		h := newHarness(t, l)
		s := newSensor("ads1299")
		s.set(sensing.Starting)
		h.w.WatchSensors(s)
		h.w.SetMerge(true)
		h.feedFor(reading(60, 97), l.StartupGrace+l.StaleAfter-500*time.Millisecond)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborts = %+v within grace + stale_after", got)
		}
		h.feedFor(reading(60, 97), time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleSensorStale {
			t.Fatalf("aborts = %+v, want sensor_stale once the grace and stale_after are over", got)
		}
	})
}
