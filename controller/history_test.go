package controller

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

func historyPoints(t *testing.T, h History) []HistoryPoint {
	t.Helper()
	p, err := h.History(journal.HistoryVitals, journal.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var out []HistoryPoint
	for _, e := range p.Entries {
		var pt HistoryPoint
		if err := json.Unmarshal(e.Data, &pt); err != nil {
			t.Fatalf("point %d: %v", e.Seq, err)
		}
		if e.Type != HistoryPointType || !e.At.Equal(pt.From) {
			t.Fatalf("point %d: type %q at %v, from %v", e.Seq, e.Type, e.At, pt.From)
		}
		out = append(out, pt)
	}
	return out
}

// A night with an abort, in the real bbolt file: one point per 10 s of
// wall clock (aligned to it) from the 1 Hz telemetry, the heart rate's
// climb in the points' spans, the abort in the worst safety level, and a
// copy of every event the pod stored, in its order.
func TestTheHistoryKeepsTenSecondPointsAndEveryEventOfANightWithAnAbort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, closeAll := journalRig(t, path, tachycardia, rigOpts{keepHistory: true})
		until(start, 125*time.Second)
		if err := slot.Commit(); err != nil {
			t.Fatal(err)
		}
		pts := historyPoints(t, slot)
		// Samples at 1 s..125 s: windows [0,10) .. [110,120) closed.
		if len(pts) != 12 {
			t.Fatalf("%d points, want 12", len(pts))
		}
		for i, pt := range pts {
			want := 10
			if i == 0 {
				want = 9
			}
			if !pt.From.Equal(start.Add(time.Duration(i)*10*time.Second)) || pt.Samples != want {
				t.Fatalf("point %d: from +%v, %d samples; want +%ds, %d", i, pt.From.Sub(start), pt.Samples, 10*i, want)
			}
		}
		a := r.pod.Status().Safety.Latched
		if a == nil {
			t.Fatal("no abort")
		}
		var maxHR float64
		abortAt := -1
		for i, pt := range pts {
			if pt.HeartRateBPM != nil && pt.HeartRateBPM.Max > maxHR {
				maxHR = pt.HeartRateBPM.Max
			}
			if pt.Safety == safety.LevelAbort && abortAt < 0 {
				abortAt = i
			}
		}
		if maxHR <= 130 {
			t.Fatalf("greatest heart rate in the points %.1f, want above the 130 limit", maxHR)
		}
		// The first point at abort holds the first telemetry after a.At.
		if want := int(a.At.Sub(start) / (10 * time.Second)); abortAt != want && abortAt != want+1 {
			t.Fatalf("first point at abort %d, abort at +%v", abortAt, a.At.Sub(start))
		}
		if pt := pts[len(pts)-1]; pt.State != StateAborted || pt.OutputsSafe != 1 {
			t.Fatalf("last point %+v, want aborted with outputs safe", pt)
		}
		if pt := pts[2]; pt.SpO2Pct == nil || pt.SpO2Pct.N == 0 || pt.SpO2Pct.Min > pt.SpO2Pct.Mean || pt.SpO2Pct.Mean > pt.SpO2Pct.Max {
			t.Fatalf("point 2's SpO2 %+v", pt.SpO2Pct)
		}

		ev, err := slot.History(journal.HistoryEvents, journal.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, e := range ev.Entries {
			kept = append(kept, e.Type)
			if e.Type == "abort" {
				var body map[string]any
				if err := json.Unmarshal(e.Data, &body); err != nil || body["rule"] != safety.RuleHeartRateHigh || !e.At.Equal(a.At) {
					t.Fatalf("abort entry %s at %v (%v), want heart_rate_high at %v", e.Data, e.At, err, a.At)
				}
			}
		}
		var sent []string
		for _, e := range r.up.allEvents() {
			sent = append(sent, e.Type)
		}
		if !slices.Equal(kept, sent) || !slices.Contains(kept, "abort") {
			t.Fatalf("history events %v, want those stored %v", kept, sent)
		}
		closeAll()
	})
}

// blockingHistory is a history whose appends hang, as a broken one might.
type blockingHistory struct {
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (b *blockingHistory) AppendHistory(journal.HistoryKind, journal.HistoryEntry) bool {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	<-b.release
	return false
}

func (b *blockingHistory) History(journal.HistoryKind, journal.HistoryQuery) (journal.HistoryPage, error) {
	return journal.HistoryPage{}, nil
}

func (b *blockingHistory) HistoryStats() journal.HistoryStats { return journal.HistoryStats{} }

func (b *blockingHistory) HistorySessions(journal.HistoryKind) ([]journal.HistorySession, error) {
	return nil, nil
}

// Neither a store that never commits (its history queue full, then
// dropping) nor a history that hangs moves the abort by a nanosecond or
// keeps the outputs lit: the watchdog and the safe state never touch the
// history. The points let go are counted as dropped. (Runs of the same
// scenario may differ by one watchdog period: which of the sensor's poll
// and the evaluation at the same instant runs first is the scheduler's
// choice.)
func TestASlowOrHungHistoryDelaysNoAbort(t *testing.T) {
	abortAfter := func(t *testing.T, opts rigOpts) (time.Duration, *rig, *journal.Slot) {
		start := time.Now()
		r, slot, _ := journalRig(t, filepath.Join(t.TempDir(), "podd.db"), tachycardia, opts)
		until(start, 70*time.Second)
		a := r.pod.Status().Safety.Latched
		if a == nil || !r.hw.Strip.Dark() {
			t.Fatalf("at 70 s: latched %v, strip dark %v; want an abort and the safe state", a, r.hw.Strip.Dark())
		}
		return a.At.Sub(start), r, slot
	}
	var ref time.Duration
	synctest.Test(t, func(t *testing.T) {
		d, r, slot := abortAfter(t, rigOpts{})
		ref = d
		r.stop()
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Nothing is committed within the test; two entries wait.
		d, r, slot := abortAfter(t, rigOpts{keepHistory: true, journal: &journal.Options{CommitInterval: time.Hour, MaxHistoryQueue: 2}})
		if d > ref+safety.DefaultPeriod {
			t.Errorf("abort %v after start with the store not committing, %v with it committing", d, ref)
		}
		// 6 points closed by 70 s and the events stored: all but 2 dropped.
		if st := r.pod.Status().History; st == nil || st.Queued != 2 || st.DroppedFull < 4 || st.Stored != 0 {
			t.Errorf("the status's history %+v, want 2 queued and the rest dropped and counted", st)
		}
		r.stop()
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		h := &blockingHistory{release: make(chan struct{})}
		d, r, slot := abortAfter(t, rigOpts{history: h})
		if d > ref+safety.DefaultPeriod {
			t.Errorf("abort %v after start with the history hung, %v without", d, ref)
		}
		h.mu.Lock()
		calls := h.calls
		h.mu.Unlock()
		if calls == 0 {
			t.Error("the hung history was never called")
		}
		close(h.release)
		r.stop()
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// allEvents is every event the fake recorded, in order.
func (u *fakeUplink) allEvents() []uplink.Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.events)
}
