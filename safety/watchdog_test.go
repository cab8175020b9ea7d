package safety

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/sensors/vitals"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeActuators records SafeState calls and what the watchdog had reported
// when each happened, so tests can check the order of the abort path.
type fakeActuators struct {
	mu      sync.Mutex
	calls   int
	err     error
	reports *[]Abort
	seenAt  []int // number of aborts reported when SafeState ran
}

func (f *fakeActuators) SafeStateContext(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.reports != nil {
		f.seenAt = append(f.seenAt, len(*f.reports))
	}
	return f.err
}

func (f *fakeActuators) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

type harness struct {
	t   *testing.T
	w   *Watchdog
	act *fakeActuators

	mu      sync.Mutex
	aborts  []Abort
	cancel  context.CancelFunc
	stopped chan struct{}
}

func newHarness(t *testing.T, l Limits) *harness {
	t.Helper()
	return newHarnessWith(t, l, Options{})
}

// newHarnessWith is newHarness with opts (OnAbort is the harness's).
func newHarnessWith(t *testing.T, l Limits, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, stopped: make(chan struct{})}
	h.act = &fakeActuators{reports: &h.aborts}
	opts.OnAbort = func(a Abort) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.aborts = append(h.aborts, a)
	}
	w, err := New(l, h.act, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.stopped)
		_ = w.Run(ctx)
	}()
	t.Cleanup(func() {
		h.cancel()
		<-h.stopped
	})
	return h
}

func (h *harness) Aborts() []Abort {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Abort(nil), h.aborts...)
}

// feedFor feeds r every 500 ms for d of fake time.
func (h *harness) feedFor(r vitals.Reading, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		h.w.Feed(r)
		time.Sleep(500 * time.Millisecond)
	}
	synctest.Wait()
}

func reading(hr, spo2 float64) vitals.Reading {
	return vitals.Reading{At: time.Now(), HeartRateBPM: hr, HeartRateValid: true, SpO2Pct: spo2, SpO2Valid: true}
}

func TestRulesTripAfterTheirAlarmDelay(t *testing.T) {
	tests := []struct {
		name     string
		r        vitals.Reading
		rule     string
		values   map[string]float64
		limit    float64
		priority string
	}{
		{"heart rate high", reading(150, 97), RuleHeartRateHigh, map[string]float64{"heart_rate_bpm": 150}, 130, PriorityHigh},
		{"heart rate low", reading(35, 97), RuleHeartRateLow, map[string]float64{"heart_rate_bpm": 35}, 40, PriorityHigh},
		{"spo2 low", reading(60, 85), RuleSpO2Low, map[string]float64{"spo2_pct": 85}, 90, PriorityMedium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, DefaultLimits())
				h.feedFor(reading(60, 97), 2*time.Second)
				began := time.Now()
				h.feedFor(tt.r, 10*time.Second)
				if got := h.Aborts(); len(got) != 0 {
					t.Fatalf("aborted before the 10 s delay: %+v", got)
				}
				if st := h.w.Status(); st.Level != LevelWarn || len(st.Pending) != 1 || st.Pending[0] != tt.rule {
					t.Fatalf("status during the delay = %+v, want warn with %s pending", st, tt.rule)
				}
				h.feedFor(tt.r, 500*time.Millisecond)
				got := h.Aborts()
				if len(got) != 1 {
					t.Fatalf("aborts = %+v, want exactly one", got)
				}
				a := got[0]
				if a.Rule != tt.rule || a.Limit != tt.limit || len(a.Values) != 1 {
					t.Fatalf("abort = %+v, want rule %s limit %g", a, tt.rule, tt.limit)
				}
				// The condition began at the evaluation the reading woke as
				// it was fed (Feed evaluates at once; before, the next
				// tick, a period later); it was detected at the first
				// evaluation past the 10 s delay, the tick after the feed
				// at 10 s.
				if a.Priority != tt.priority || !a.Began.Equal(began) || a.At.Sub(a.Began) != 10*time.Second+DefaultPeriod {
					t.Errorf("priority %q, began %v after the reading, detected %v after it began; want %q, %v, %v",
						a.Priority, a.Began.Sub(began), a.At.Sub(a.Began), tt.priority, time.Duration(0), 10*time.Second+DefaultPeriod)
				}
				for k, v := range tt.values {
					if a.Values[k] != v {
						t.Errorf("abort value %s = %g, want %g", k, a.Values[k], v)
					}
				}
				if h.act.Calls() != 1 {
					t.Errorf("SafeState calls = %d, want 1", h.act.Calls())
				}
				if h.act.seenAt[0] != 0 {
					t.Errorf("the abort was reported before the safe state was applied")
				}
				if st := h.w.Status(); st.Level != LevelAbort || st.Latched == nil || st.Latched.Rule != tt.rule {
					t.Errorf("status after abort = %+v", st)
				}
			})
		})
	}
}

func TestHysteresisKeepsTheDelayRunningInsideTheDeadband(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(135, 97), 6*time.Second)
		// 128 is below the limit but inside the 5 bpm deadband: the condition stays.
		h.feedFor(reading(128, 97), 5*time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleHeartRateHigh {
			t.Fatalf("aborts = %+v, want heart_rate_high after 10 s across the deadband", got)
		}
	})
}

func TestLeavingTheDeadbandClearsTheCondition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(135, 97), 6*time.Second)
		h.feedFor(reading(120, 97), 1*time.Second)
		if st := h.w.Status(); st.Level != LevelOK {
			t.Fatalf("status after clearing = %+v, want ok", st)
		}
		h.feedFor(reading(135, 97), 9*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborts = %+v: the delay must restart after the condition cleared", got)
		}
	})
}

func TestInvalidReadingsDoNotResetARunningDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(150, 97), 6*time.Second)
		flicker := reading(0, 97)
		flicker.HeartRateValid = false
		h.w.Feed(flicker)
		time.Sleep(time.Second)
		h.feedFor(reading(150, 97), 4*time.Second)
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleHeartRateHigh {
			t.Fatalf("aborts = %+v, want heart_rate_high 10 s after the first high reading", got)
		}
	})
}

func TestStaleVitalsAbortAfterStartupGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := DefaultLimits()
		h := newHarness(t, l)
		// The sensor loop feeds what it has, nothing valid.
		h.feedFor(noAnswer(), l.StartupGrace+l.StaleAfter)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted within grace + stale_after: %+v", got)
		}
		h.w.Feed(noAnswer())
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleVitalsStale {
			t.Fatalf("aborts = %+v, want one vitals_stale", got)
		}
	})
}

func TestStaleVitalsAfterTheSensorStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(60, 97), 3*time.Second)
		h.w.Feed(reading(60, 97))
		start := time.Now()
		invalid := vitals.Reading{At: time.Now()}
		h.feedFor(invalid, 5*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborted before stale_after: %+v", got)
		}
		h.feedFor(invalid, time.Second)
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleVitalsStale {
			t.Fatalf("aborts = %+v, want vitals_stale", got)
		}
		if d := got[0].At.Sub(start); d <= 5*time.Second || d > 6*time.Second {
			t.Errorf("detected %s after the last valid reading, want just over 5 s", d)
		}
	})
}

func TestLatchedAbortIgnoresFurtherTripsAndRequiresAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(150, 97), 11*time.Second)
		h.feedFor(reading(150, 80), 15*time.Second)
		got := h.Aborts()
		if len(got) != 1 {
			t.Fatalf("aborts = %+v, want exactly one while latched", got)
		}
		err := h.w.Ack(got[0])
		if err == nil || !strings.Contains(err.Error(), "heart_rate_bpm 150.0 is not below 125") || !strings.Contains(err.Error(), "spo2_pct 80.0 is not above 92") {
			t.Fatalf("Ack while unsafe = %v, want refusal naming both conditions", err)
		}
		h.feedFor(reading(70, 97), time.Second)
		if err := h.w.Ack(Abort{Rule: RuleSpO2Low, At: got[0].At}); err == nil {
			t.Fatal("Ack of a different abort succeeded")
		}
		if err := h.w.Ack(got[0]); err != nil {
			t.Fatalf("Ack once safe: %v", err)
		}
		if st := h.w.Status(); st.Level != LevelOK || st.Latched != nil {
			t.Fatalf("status after ack = %+v", st)
		}
		if err := h.w.Ack(got[0]); !errors.Is(err, ErrNotLatched) {
			t.Fatalf("second Ack = %v, want ErrNotLatched", err)
		}
		h.feedFor(reading(150, 97), 11*time.Second)
		if got := h.Aborts(); len(got) != 2 {
			t.Fatalf("aborts after ack and a new episode = %d, want 2", len(got))
		}
	})
}

func TestRestoreLatchesAndAppliesSafeState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		stored := Abort{Rule: RuleHeartRateHigh, At: time.Now().Add(-time.Hour), Values: map[string]float64{"heart_rate_bpm": 150}}
		if err := h.w.Restore(stored); err != nil {
			t.Fatal(err)
		}
		if h.act.Calls() != 1 {
			t.Fatalf("SafeState calls = %d, want 1", h.act.Calls())
		}
		st := h.w.Status()
		if st.Level != LevelAbort || st.Latched == nil || st.Latched.Rule != RuleHeartRateHigh || !st.Latched.Restored {
			t.Fatalf("status = %+v, want the restored latch", st)
		}
		if err := h.w.Ack(stored); err == nil || !strings.Contains(err.Error(), "vitals are not valid") {
			t.Fatalf("Ack without vitals = %v, want refusal", err)
		}
		h.feedFor(reading(60, 97), time.Second)
		if err := h.w.Ack(stored); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("a restored abort was reported again: %+v", got)
		}
	})
}

func TestSafeStateFailureIsRecordedInTheAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.act.mu.Lock()
		h.act.err = errors.New("apa102: spi: device disconnect")
		h.act.mu.Unlock()
		h.feedFor(reading(30, 97), 11*time.Second)
		got := h.Aborts()
		if len(got) != 1 || got[0].SafeStateError != "apa102: spi: device disconnect" {
			t.Fatalf("aborts = %+v, want the safe-state error recorded", got)
		}
	})
}

// blockingActuators model a gate with one output whose bus hangs: its halt
// never returns until released, and the gate stops waiting when ctx is done.
type blockingActuators struct{ release chan struct{} }

func (b *blockingActuators) SafeStateContext(ctx context.Context) error {
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return errors.New("actuators: halt still in progress: strip: " + ctx.Err().Error())
	}
}

func TestAHungOutputDelaysTheReportOnlyUntilTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &blockingActuators{release: make(chan struct{})}
		var mu sync.Mutex
		var reported []Abort
		w, err := New(DefaultLimits(), act, Options{OnAbort: func(a Abort) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, a)
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(ctx) }()
		for range 22 {
			w.Feed(reading(150, 97))
			time.Sleep(500 * time.Millisecond)
		}
		synctest.Wait() // the watchdog goroutine is waiting on the hung output
		w.Feed(reading(150, 97))
		if st := w.Status(); st.Level != LevelAbort || st.Latched.Rule != RuleHeartRateHigh {
			t.Fatalf("status while the safe state hangs = %+v, want the abort latched", st)
		}
		time.Sleep(DefaultSafeStateTimeout)
		synctest.Wait()
		mu.Lock()
		if len(reported) != 1 || reported[0].SafeStateError != "actuators: halt still in progress: strip: context deadline exceeded" ||
			reported[0].LatencyMS != float64(DefaultSafeStateTimeout.Milliseconds()) {
			t.Fatalf("reported = %+v, want the abort with the hung output named, after the timeout", reported)
		}
		mu.Unlock()
		// The watchdog evaluates again: it was not kept by the hung output.
		time.Sleep(time.Second)
		synctest.Wait()
		if d := w.SinceEvaluation(); d != 0 {
			t.Fatalf("SinceEvaluation() = %v on a tick after a hung safe state, want 0", d)
		}
		close(act.release)
		cancel()
		<-done
	})
}

func TestSinceEvaluationTracksTheTickerOnTheMonotonicClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New(DefaultLimits(), &fakeActuators{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := w.SinceEvaluation(); d != math.MaxInt64 {
			t.Fatalf("SinceEvaluation() before the first evaluation = %v, want math.MaxInt64", d)
		}

		h := newHarness(t, DefaultLimits())
		time.Sleep(50 * time.Millisecond) // between two ticks
		for range 10 {
			synctest.Wait()
			if d := h.w.SinceEvaluation(); d != 50*time.Millisecond {
				t.Fatalf("SinceEvaluation() = %v halfway between ticks, want 50ms", d)
			}
			time.Sleep(DefaultPeriod)
		}
		h.cancel() // the watchdog stalls
		<-h.stopped
		time.Sleep(time.Second)
		if d := h.w.SinceEvaluation(); d != time.Second+50*time.Millisecond {
			t.Fatalf("SinceEvaluation() 1 s after the last tick = %v, want 1.05s", d)
		}
	})
}

// steppingClock is a wall clock that an NTP sync steps by decades.
type steppingClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *steppingClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// TestWallClockStepsMoveOnlyAbortAt drives the watchdog's evaluations itself,
// one per period as Run would, stepping the wall clock 50 years back before
// one evaluation and 50 years forward before the next.
func TestWallClockStepsMoveOnlyAbortAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fiftyYears = 50 * 365 * 24 * time.Hour
		clock := &steppingClock{}
		var reported []Abort
		w, err := New(DefaultLimits(), &fakeActuators{}, Options{Clock: clock.Now, OnAbort: func(a Abort) { reported = append(reported, a) }})
		if err != nil {
			t.Fatal(err)
		}
		back := true
		step := func() {
			if back {
				clock.Step(-fiftyYears)
			} else {
				clock.Step(fiftyYears)
			}
			back = !back
			time.Sleep(DefaultPeriod)
			if d := w.SinceEvaluation(); d != DefaultPeriod {
				t.Fatalf("SinceEvaluation() = %v one period after an evaluation across a wall-clock step, want %v", d, DefaultPeriod)
			}
			w.evaluate()
		}

		w.Feed(reading(60, 97))
		w.evaluate()
		for range 20 {
			w.Feed(reading(60, 97))
			step()
		}
		w.Feed(reading(150, 97))
		w.evaluate() // the heart_rate_high condition starts now
		began := time.Now()
		delay := DefaultLimits().HeartRateDelay
		for time.Since(began) < delay {
			w.Feed(reading(150, 97))
			step()
		}
		if len(reported) != 0 {
			t.Fatalf("aborted at %v, within the %v delay: %+v", time.Since(began), delay, reported)
		}
		if !back {
			t.Fatal("the wall clock is not on time before the last evaluation: the test does not step it back for the abort")
		}
		clock.Step(-fiftyYears)
		time.Sleep(time.Nanosecond)
		w.evaluate()
		if len(reported) != 1 || reported[0].Rule != RuleHeartRateHigh {
			t.Fatalf("aborts 1 ns past the delay = %+v, want heart_rate_high", reported)
		}
		a := reported[0]
		if want := time.Now().Add(-fiftyYears).Round(0); a.At != want || a.At.Year() != 1950 {
			t.Errorf("Abort.At = %v, want the stepped wall time %v", a.At, want)
		}
		if a.LatencyMS != 0 {
			t.Errorf("LatencyMS = %v, want 0: the latency is not measured on the wall clock", a.LatencyMS)
		}
		if want := "heart_rate_bpm 150.0 above 130 for 10.0 s (delay 10.0 s)"; a.Detail != want {
			t.Errorf("Detail = %q, want %q", a.Detail, want)
		}
	})
}

func TestSafeForMeasuresContinuousAbsenceOfEveryCondition(t *testing.T) {
	ok := reading(70, 97)
	invalidHR := ok
	invalidHR.HeartRateValid = false
	invalidSpO2 := ok
	invalidSpO2.SpO2Valid = false
	type step struct {
		feed    *vitals.Reading // fed before the step's evaluations
		ack     bool            // acknowledge the latched abort first
		restore bool            // restore a stored abort first
		run     time.Duration   // evaluations, one per period, after the feed
		want    time.Duration   // SafeFor after them
	}
	r := func(x vitals.Reading) *vitals.Reading { return &x }
	tests := []struct {
		name  string
		steps []step
	}{
		{"valid in-range readings: grows with time", []step{
			{feed: r(ok), run: time.Second, want: 900 * time.Millisecond},
			{feed: r(ok), run: 4 * time.Second, want: 4900 * time.Millisecond},
			{feed: r(ok), run: 4 * time.Second, want: 8900 * time.Millisecond},
		}},
		{"at the clearing thresholds: grows", []step{
			{feed: r(reading(125, 92)), run: time.Second, want: 900 * time.Millisecond},
			{feed: r(reading(45, 92)), run: time.Second, want: 1900 * time.Millisecond},
		}},
		{"heart rate in the high deadband: resets to 0", []step{
			{feed: r(ok), run: 3 * time.Second, want: 2900 * time.Millisecond},
			{feed: r(reading(128, 97)), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: time.Second, want: time.Second},
		}},
		{"heart rate in the low deadband: resets to 0", []step{
			{feed: r(ok), run: 3 * time.Second, want: 2900 * time.Millisecond},
			{feed: r(reading(43, 97)), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
		}},
		{"SpO2 in the deadband: resets to 0", []step{
			{feed: r(ok), run: 3 * time.Second, want: 2900 * time.Millisecond},
			{feed: r(reading(70, 91)), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
		}},
		{"before the first valid reading: 0", []step{
			{run: 3 * time.Second, want: 0},
			{feed: r(invalidHR), run: time.Second, want: 0},
			{feed: r(ok), run: time.Second, want: 900 * time.Millisecond},
		}},
		{"invalid reading: resets to 0", []step{
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
			{feed: r(invalidSpO2), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: time.Second, want: 900 * time.Millisecond},
			{feed: r(invalidHR), run: time.Second, want: 0},
		}},
		{"stale reading: 0", []step{
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
			// The sensor stops at 2 s: the evidence ends with its last
			// reading, although that reading is not stale for 5 s more,
			{run: 3 * time.Second, want: 1900 * time.Millisecond},
			{run: 2 * time.Second, want: 1900 * time.Millisecond},
			// then vitals_stale trips, 5 s after that reading.
			{run: DefaultPeriod, want: 0},
		}},
		{"latched: 0, and from 0 again after Ack", []step{
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
			{feed: r(reading(150, 97)), run: 5 * time.Second, want: 0},
			{feed: r(reading(150, 97)), run: 5 * time.Second, want: 0},
			{feed: r(reading(150, 97)), run: time.Second, want: 0}, // heart_rate_high latched
			{feed: r(ok), run: 3 * time.Second, want: 0},
			{ack: true, want: 0},
			{feed: r(ok), run: DefaultPeriod, want: 0},
			{feed: r(ok), run: time.Second, want: time.Second},
		}},
		{"restored latch: 0 at once", []step{
			{feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
			{restore: true, want: 0},
			{feed: r(ok), run: 3 * time.Second, want: 0},
			{ack: true, feed: r(ok), run: 2 * time.Second, want: 1900 * time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, err := New(DefaultLimits(), &fakeActuators{}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if d := w.SafeFor(); d != 0 {
					t.Fatalf("SafeFor() before any evaluation = %v, want 0", d)
				}
				w.evaluate()
				start := time.Now()
				for i, s := range tt.steps {
					if s.restore {
						if err := w.Restore(Abort{Rule: RuleHeartRateHigh, At: time.Now()}); err != nil {
							t.Fatal(err)
						}
					}
					if s.ack {
						l := w.Status().Latched
						if l == nil {
							t.Fatalf("step %d: nothing latched to acknowledge", i)
						}
						if err := w.Ack(*l); err != nil {
							t.Fatalf("step %d: Ack: %v", i, err)
						}
					}
					if s.feed != nil {
						w.Feed(*s.feed)
					}
					// A live sensor delivers the step's reading before every
					// evaluation; a step without one is a sensor that stopped.
					for end := time.Now().Add(s.run); time.Now().Before(end); {
						time.Sleep(DefaultPeriod)
						if s.feed != nil {
							w.Feed(*s.feed)
						}
						w.evaluate()
					}
					if got := w.SafeFor(); got != s.want {
						t.Fatalf("step %d: SafeFor() at %v = %v, want %v", i, time.Since(start), got, s.want)
					}
				}
			})
		})
	}
}

func TestFeedAndEvaluateDoNotAllocateWhileSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New(DefaultLimits(), &fakeActuators{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Feed(reading(70, 97))
		w.evaluate()
		r := reading(70, 97)
		allocs := testing.AllocsPerRun(100, func() {
			time.Sleep(DefaultPeriod)
			w.Feed(r)
			w.evaluate()
		})
		// Past the early returns: every rule was judged and SafeFor updated.
		if got, want := w.SafeFor(), 101*DefaultPeriod; got != want {
			t.Fatalf("SafeFor() = %v after 101 evaluations, want %v", got, want)
		}
		if allocs != 0 {
			t.Fatalf("Feed and evaluate allocate %v times per tick while safe, want 0", allocs)
		}
	})
}

func TestLimitsRejectLooseningPastHardBounds(t *testing.T) {
	l := DefaultLimits()
	l.HeartRateHighBPM = 200
	l.SpO2Delay = time.Minute
	err := l.Validate()
	want := []string{
		"safety.heart_rate_high_bpm: 200 bpm is outside the hard bounds 90..160 bpm",
		"safety.spo2_delay: 60 s is outside the hard bounds 1..30 s",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("Validate() = %v, want\n%s", err, strings.Join(want, "\n"))
	}
	if _, err := New(l, &fakeActuators{}, Options{}); err == nil {
		t.Fatal("New accepted loosened limits")
	}
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

// Latched agrees with Status().Latched before an abort, while one is
// latched and after its acknowledgement.
func TestLatchedAgreesWithStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(60, 97), 2*time.Second)
		if h.w.Latched() || h.w.Status().Latched != nil {
			t.Fatal("latched before any abort")
		}
		h.feedFor(reading(150, 97), 11*time.Second)
		st := h.w.Status()
		if !h.w.Latched() || st.Latched == nil {
			t.Fatalf("after heart_rate_high: Latched %v, Status %+v", h.w.Latched(), st.Latched)
		}
		h.feedFor(reading(60, 97), 11*time.Second)
		if err := h.w.Ack(*st.Latched); err != nil {
			t.Fatal(err)
		}
		if h.w.Latched() || h.w.Status().Latched != nil {
			t.Fatal("latched after the acknowledgement")
		}
	})
}
