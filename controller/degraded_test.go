package controller

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/sleegation/podd/internal/mqtttest"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/uplink"
)

// failingPart fails at once every time it is started, as an API whose
// socket path is taken by a regular file does.
func failingPart(name string, err error) Part {
	return Part{Name: name, Run: func(context.Context, func()) error { return err }}
}

func TestFailingPartsNeverStopTheWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		apiErr := errors.New("api: /run/podd/podd.sock exists and is not a socket")
		panicking := Part{Name: "metrics", Run: func(context.Context, func()) error { panic("listener bug") }}
		// The store part fails until 12 s (a lock held by another process),
		// then opens.
		late := Part{Name: "store", Run: func(ctx context.Context, up func()) error {
			if time.Since(start) < 12*time.Second {
				return errors.New("journal.Open: locked")
			}
			up()
			<-ctx.Done()
			return nil
		}}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{services: []Part{failingPart("api", apiErr), panicking, late}})
		defer r.stop()

		until(start, 70*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh || !r.hw.Strip.Dark() {
			t.Fatalf("status = %+v, want the tachycardia aborted with the strip dark", st)
		}
		// Failures at 0, 1, 3, 7, 15, 31 and 61 s: the backoff doubles from 1 s to its 30 s cap.
		want := map[string]PartStatus{
			"uplink":  {State: PartUp},
			"sim":     {State: PartUp},
			"api":     {State: PartFailed, Error: apiErr.Error(), Failures: 7},
			"metrics": {State: PartFailed, Error: "panic: listener bug", Failures: 7},
			"store":   {State: PartUp, Failures: 4}, // at 0, 1, 3 and 7 s; up at 15 s
		}
		if len(st.Parts) != len(want) {
			t.Fatalf("parts = %+v, want %d", st.Parts, len(want))
		}
		for _, ps := range st.Parts {
			w := want[ps.Name]
			if ps.State != w.State || ps.Error != w.Error || ps.Failures != w.Failures {
				t.Errorf("part %s = %+v, want %+v", ps.Name, ps, w)
			}
		}
		var faults []string
		for _, e := range r.up.Events("fault") {
			faults = append(faults, e.Fields["part"].(string)+"="+jsonOf(e.Fields["active"]))
		}
		// One event when a part starts failing and one when it is up again;
		// none per retry. The parts start together, so only each part's own
		// events are in order.
		slices.Sort(faults)
		if got := strings.Join(faults, " "); got != "api=true metrics=true store=false store=true" {
			t.Fatalf("fault events = %q", got)
		}
		err := r.pod.Healthy()
		if err == nil || err.Error() != "api failed: "+apiErr.Error()+"; metrics failed: panic: listener bug" {
			t.Fatalf("Healthy = %v", err)
		}
		r.up.mu.Lock()
		degraded := r.up.degraded
		r.up.mu.Unlock()
		if !slices.Equal(degraded, []string{"api", "metrics"}) {
			t.Fatalf("degraded parts in the retained status = %v, want [api metrics]", degraded)
		}
	})
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAStoreThatCannotOpenHoldsTheOutputsAndStillAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{ready: make(chan struct{})}
		r := newRig(t, tachycardia, store)
		defer r.stop()

		until(start, 30*time.Second)
		st := r.pod.Status()
		if st.State != StateStarting || st.Safety.Latch != LatchUnknown || !st.Outputs.Safe ||
			strings.Join(st.Outputs.Holds, ",") != HoldLatchUnknown || !r.hw.Strip.Dark() {
			t.Fatalf("status with the store unread = %+v, want starting, latch unknown, outputs held dark for it alone", st)
		}

		until(start, 70*time.Second)
		st = r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh || !r.hw.Strip.Dark() {
			t.Fatalf("status = %+v, want heart_rate_high with the strip dark", st)
		}
		if got := r.up.Events("abort"); len(got) != 0 || st.Uplink.Unstored != 4 {
			t.Fatalf("abort events %v, unstored %d; want the start's config event, heart_rate_high's warning, the abort and its state change kept in memory", got, st.Uplink.Unstored)
		}
		if _, err := r.pod.Ack(context.Background(), techAck); !errors.Is(err, ErrRefused) {
			t.Fatalf("Ack with the store unread = %v, want refused", err)
		}

		close(store.ready)
		synctest.Wait()
		aborts := r.up.Events("abort")
		if len(aborts) != 1 || aborts[0].Fields["rule"] != safety.RuleHeartRateHigh {
			t.Fatalf("abort events once the store opened = %+v", aborts)
		}
		if got := strings.Join(stateEvents(r.up), " "); got != "offline>aborted" {
			t.Fatalf("state events = %q", got)
		}
		// The start's config event first, heart_rate_high's warning, then
		// the abort.
		if r.up.events[0].Type != "config" || r.up.events[1].Type != "warning" || r.up.events[2].Type != "abort" || r.up.times[2] != st.Safety.Latched.At {
			t.Fatalf("events %+v, the third stored with time %v; want config, a warning, then the abort with the detection time %v", r.up.events, r.up.times[2], st.Safety.Latched.At)
		}
		var stored safety.Abort
		if b, ok, _ := store.Latch(); !ok || json.Unmarshal(b, &stored) != nil || !stored.At.Equal(st.Safety.Latched.At) {
			t.Fatalf("stored latch = %s", b)
		}
		if st := r.pod.Status(); st.Safety.Latch != LatchStored || st.Uplink.Unstored != 0 {
			t.Fatalf("status once stored = %+v", st)
		}
	})
}

// hr150 is a sleeper whose heart rate is at 150 bpm from the start.
const hr150 = `
name: test-hr150
baseline: {heart_rate_bpm: 150, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
`

// The latch of an abort is lost (every write of it failed) and the daemon is
// killed; the sleeper's heart rate is still 150 bpm when it starts again.
// The strip must stay dark throughout.
func TestARestartAfterAnUnsavedLatchNeverRelightsOverTheDanger(t *testing.T) {
	store := &memStore{setErr: syscall.EIO}
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, hr150, store)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latch != LatchUnsaved {
			t.Fatalf("status = %+v, want aborted with the latch unsaved", st)
		}
		if tm := r.up.LastTelemetry(); tm.LatchStored == nil || *tm.LatchStored {
			t.Fatalf("telemetry latch_stored = %v, want false", tm.LatchStored)
		}
		r.stop()
	})
	if _, ok, _ := store.Latch(); ok {
		t.Fatal("the latch was stored although every write failed")
	}
	store.mu.Lock()
	store.setErr = nil
	store.mu.Unlock()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, hr150, store)
		defer r.stop()
		for time.Since(start) < 40*time.Second {
			if !r.hw.Strip.Dark() {
				t.Fatalf("the strip lit %v after the restart, with the heart rate at 150 bpm", time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched.Rule != safety.RuleHeartRateHigh || st.Safety.Latch != LatchStored {
			t.Fatalf("status = %+v, want heart_rate_high latched and stored", st)
		}
	})
}

func TestEventsOfADiskFullEpisodeAreStoredInOrderOnceItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &disk{}
		store := &memStore{disk: d}
		r := newRigWith(t, tachycardia, store, rigOpts{up: &fakeUplink{disk: d}})
		defer r.stop()
		until(start, 30500*time.Millisecond)
		before := len(r.up.events)
		d.fail(syscall.ENOSPC)

		until(start, 90500*time.Millisecond)
		st := r.pod.Status()
		if st.State != StateAborted || !r.hw.Strip.Dark() || st.Safety.Latch != LatchUnsaved || st.Uplink.Unstored != 3 {
			t.Fatalf("status during the episode = %+v", st)
		}
		d.fail(nil)
		time.Sleep(storeRetry)
		synctest.Wait()

		r.up.mu.Lock()
		var got []string
		for i, e := range r.up.events[before:] {
			got = append(got, e.Type)
			if e.Type == "abort" && !r.up.times[before+i].Equal(st.Safety.Latched.At) {
				t.Errorf("abort stored with time %v, want its detection at %v", r.up.times[before+i], st.Safety.Latched.At)
			}
			if e.Type == "dropped" && (e.Fields["count"] != 60 || e.Fields["reason"] != "store_refused") {
				t.Errorf("dropped event = %+v, want the 60 telemetry records of 31..90 s", e.Fields)
			}
		}
		r.up.mu.Unlock()
		if strings.Join(got, " ") != "warning abort state dropped" {
			t.Fatalf("events stored after the episode = %v, want heart_rate_high's warning, the abort, its state, then the telemetry loss", got)
		}
		if st := r.pod.Status(); st.Safety.Latch != LatchStored || st.Uplink.Unstored != 0 {
			t.Fatalf("status after the episode = %+v", st)
		}
	})
}

func TestTheUnstoredQueueLetsGoTheOldestNonAbortAndSaysSo(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	q := newEventQueue(4)
	for i, typ := range []string{"fault", "state", "fault", "abort", "fault", "fault"} {
		q.push(uplink.Event{Type: typ, Fields: map[string]any{"i": i}}, t0.Add(time.Duration(i)*time.Second))
	}
	if q.len() != 5 {
		t.Fatalf("len = %d, want 4 events and the loss report", q.len())
	}
	var got []string
	for {
		e, ok := q.head()
		if !ok {
			break
		}
		q.pop()
		if e.e.Type == "dropped" {
			got = append(got, "dropped:"+jsonOf(e.e.Fields))
			continue
		}
		got = append(got, e.e.Type+jsonOf(e.e.Fields["i"]))
	}
	want := []string{
		`dropped:{"count":2,"first_at":"2026-11-29T03:00:00.000000000Z","last_at":"2026-11-29T03:00:01.000000000Z","reason":"unstored_overflow","types":{"fault":1,"state":1}}`,
		"fault2", "abort3", "fault4", "fault5",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("queue gave\n%v\nwant\n%v", got, want)
	}

	// A queue holding nothing but aborts lets the oldest abort go.
	q = newEventQueue(2)
	for i := range 3 {
		q.push(uplink.Event{Type: "abort", Fields: map[string]any{"i": i}}, t0)
	}
	if e, _ := q.head(); e.e.Type != "dropped" || e.e.Fields["count"] != 1 {
		t.Fatalf("head = %+v, want the report of one abort let go", e)
	}
	q.pop()
	if e, _ := q.head(); e.e.Fields["i"] != 1 {
		t.Fatalf("head = %+v, want abort 1", e)
	}
}

// An ack on a store hung in its transaction: the caller gives up at its
// deadline and is told the ack is not confirmed, while the pod stays
// aborted and dark. When the store completes the transaction (the latch
// deleted with the ack's audited event), the ack takes effect: the
// watchdog's latch follows the disk's, so a restart can never find the
// two disagreeing.
func TestAnAckOnAHungStoreGivesUpAndTakesEffectWhenTheStoreCompletesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{}
		r := newRig(t, tachycardia, store)
		defer r.stop()
		until(start, 125*time.Second)
		hung := make(chan struct{})
		store.mu.Lock()
		store.clearStuck = hung
		store.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := r.pod.Ack(ctx, techAck)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not confirmed") || time.Since(start) != 128*time.Second {
			t.Fatalf("Ack on a hung store = %v after %v, want the deadline after 3 s, not confirmed", err, time.Since(start)-125*time.Second)
		}
		if st := r.pod.Status(); st.State != StateAborted || !r.hw.Strip.Dark() {
			t.Fatalf("status = %+v, want still aborted", st)
		}
		// The store completes the transaction.
		store.mu.Lock()
		store.clearStuck = nil
		store.mu.Unlock()
		close(hung)
		synctest.Wait()
		if _, ok, _ := store.Latch(); ok {
			t.Fatal("the stored latch is still there after the ack's transaction committed")
		}
		st := r.pod.Status()
		if st.Safety.Latched != nil || st.State == StateAborted {
			t.Fatalf("status = %+v: the disk holds no latch, want the watchdog unlatched too", st)
		}
		if l := r.pod.LastAck(); l == nil || l.Rule != "heart_rate_high" {
			t.Fatalf("last ack %+v, want the heart_rate_high abort", l)
		}
	})
}

// frozenUplink is an uplink whose broker stopped answering: its Run ignores
// the end of its context until released.
type frozenUplink struct {
	fakeUplink
	release chan struct{}
}

func (u *frozenUplink) Run(ctx context.Context) error {
	<-ctx.Done()
	<-u.release
	return nil
}

func TestTheStopIsBoundedWhateverThePartsDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stuck := Part{Name: "api", Run: func(ctx context.Context, up func()) error {
			up()
			<-ctx.Done()
			<-release // a shutdown that hangs
			return nil
		}}
		up := &frozenUplink{release: release}
		store := &memStore{}
		gate, pod, done := runBare(t, store, up, stuck)
		time.Sleep(5 * time.Second)
		synctest.Wait()

		stopAt := time.Now()
		done.cancel()
		err := <-done.err
		if took := time.Since(stopAt); took != stopGrace+uplinkGrace || took > stopBudget {
			t.Fatalf("Run took %v to stop, want %v (the grace for the parts and for the uplink)", took, stopGrace+uplinkGrace)
		}
		if err == nil || !strings.Contains(err.Error(), "parts still running") || !strings.Contains(err.Error(), "uplink still running") {
			t.Fatalf("Run = %v, want both stuck parts named", err)
		}
		if !gate.Safe() || !errors.Is(gate.OpenSince(gate.Generation()), actuators.ErrSealed) {
			t.Fatal("the gate can open after the stop")
		}
		if st := pod.Status(); !st.Outputs.Safe {
			t.Fatalf("outputs after the stop = %+v", st.Outputs)
		}
		close(release)
		synctest.Wait()
	})
}

type bareRun struct {
	cancel context.CancelFunc
	err    chan error
}

// runBare runs a pod whose oximeter is absent, with the given uplink and
// parts, for the tests that are about the pod's frame, not its sensing.
func runBare(t *testing.T, store Store, up Uplink, services ...Part) (*actuators.Gate, *Pod, bareRun) {
	t.Helper()
	strip := &countingStrip{}
	gate := actuators.NewGate(strip)
	pod, err := New(Config{Pod: "pod-1", TelemetryInterval: time.Second, Limits: safety.DefaultLimits()}, Parts{
		OpenOximeter: func() (Oximeter, error) { return nil, errors.New("max30102: no device") },
		Strip:        strip, Gate: gate, Store: store, Uplink: up, Services: services,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := bareRun{cancel: cancel, err: make(chan error, 1)}
	go func() { r.err <- pod.Run(ctx) }()
	return gate, pod, r
}

type countingStrip struct {
	mu           sync.Mutex
	writes, halt int
}

func (s *countingStrip) Write([]apa102.Color) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return nil
}
func (s *countingStrip) Halt() error    { s.mu.Lock(); s.halt++; s.mu.Unlock(); return nil }
func (s *countingStrip) String() string { return "strip" }

// overflowingOximeter reports a lost sample on every read inside its window,
// as a chip whose FIFO overflows on every poll does.
type overflowingOximeter struct {
	Oximeter
	from, to time.Time
}

func (o overflowingOximeter) ReadFIFO(dst []max30102.Sample) (int, int, error) {
	n, lost, err := o.Oximeter.ReadFIFO(dst)
	if now := time.Now(); now.After(o.from) && !now.After(o.to) {
		lost = 1
	}
	return n, lost, err
}

func TestARepeatingFIFOOverflowIsReportedByEpisodeNotByPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var buf mqtttest.LockedBuffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{logger: logger, wrap: func(o Oximeter) Oximeter {
			return overflowingOximeter{Oximeter: o, from: start.Add(20 * time.Second), to: start.Add(150 * time.Second)}
		}})
		defer r.stop()
		until(start, 170*time.Second)

		var lines []string
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, "FIFO overflow") {
				lines = append(lines, l)
			}
		}
		// Polls every 200 ms from 20.2 s to 150.0 s: 650 polls, reported at
		// the start, at 80.2 and 140.2 s, and when 10 s passed without one.
		want := []string{
			`level=WARN msg="oximeter FIFO overflow" device=max30102 lost=1`,
			`level=WARN msg="oximeter FIFO overflow continues" device=max30102 polls=301 lost=301 for=1m0s`,
			`level=WARN msg="oximeter FIFO overflow continues" device=max30102 polls=601 lost=601 for=2m0s`,
			`level=INFO msg="oximeter FIFO overflow ended" device=max30102 polls=650 lost=650 for=2m10s`,
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		var events []string
		for _, e := range r.up.Events("fault") {
			if e.Fields["fault"] == "fifo_overflow" {
				events = append(events, jsonOf(e.Fields))
			}
		}
		wantEvents := []string{
			`{"active":true,"device":"max30102","fault":"fifo_overflow"}`,
			`{"active":false,"device":"max30102","fault":"fifo_overflow","lost_samples":650,"polls":650}`,
		}
		if strings.Join(events, " ") != strings.Join(wantEvents, " ") {
			t.Fatalf("fault events = %v, want %v", events, wantEvents)
		}
	})
}

func TestPartBackoffDoublesWithJitterAndNeverPassesItsCap(t *testing.T) {
	tests := []struct {
		n    int
		u    float64
		want time.Duration
	}{
		{1, 0, 800 * time.Millisecond},
		{1, 0.5, time.Second},
		{2, 0.5, 2 * time.Second},
		{5, 0.5, 16 * time.Second},
		{5, 0.999, 19194 * time.Millisecond},
		{6, 0, 25600 * time.Millisecond},
		{6, 0.999, partBackoffMax},
		{40, 0.999, partBackoffMax},
	}
	for _, tt := range tests {
		if got := partBackoff(tt.n, tt.u).Round(time.Millisecond); got != tt.want {
			t.Errorf("partBackoff(%d, %v) = %v, want %v", tt.n, tt.u, got, tt.want)
		}
	}
}

func TestAnotherPodWithThisIDIsReportedOnceWhenItStartsAndWhenItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		time.Sleep(time.Second)
		synctest.Wait()
		dup := errors.New("uplink: another pod with id pod-1 is online (boot 7f3a): publishing nothing as this pod")
		r.up.mu.Lock()
		r.up.duplicate = dup
		r.up.mu.Unlock()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if st := r.pod.Status(); st.Uplink.Duplicate != dup.Error() {
			t.Fatalf("status uplink.duplicate = %q", st.Uplink.Duplicate)
		}
		if err := r.pod.Healthy(); err == nil || err.Error() != dup.Error() {
			t.Fatalf("Healthy = %v, want the duplicate named", err)
		}
		r.up.mu.Lock()
		r.up.duplicate = nil
		r.up.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		var got []string
		for _, e := range r.up.Events("fault") {
			if e.Fields["fault"] == "duplicate_pod" {
				got = append(got, jsonOf(e.Fields))
			}
		}
		want := []string{
			`{"active":true,"error":"` + dup.Error() + `","fault":"duplicate_pod","part":"uplink"}`,
			`{"active":false,"fault":"duplicate_pod","part":"uplink"}`,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("duplicate faults:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
