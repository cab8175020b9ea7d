package actuators

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/actuators/apa102"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The LED strip driver latches its safe state and is resumed by Open.
var _ interface {
	Haltable
	Resumer
} = (*apa102.Dev)(nil)

// fakeOut records its calls. Its bus is a channel used as a lock, held by a
// normal write and by Halt, as a driver's mutex would be; a channel rather
// than a sync.Mutex so synctest sees a goroutine waiting for it as blocked.
type fakeOut struct {
	name    string
	haltErr error
	bus     chan struct{}

	calls chan string // every completed call, in order
}

func newFake(name string, haltErr error) *fakeOut {
	return &fakeOut{name: name, haltErr: haltErr, bus: make(chan struct{}, 1), calls: make(chan string, 100)}
}

func (f *fakeOut) String() string { return f.name }

func (f *fakeOut) Halt() error {
	f.bus <- struct{}{}
	defer func() { <-f.bus }()
	f.calls <- "halt"
	return f.haltErr
}

func (f *fakeOut) Resume() { f.calls <- "resume" }

// write is a normal output action that holds the bus until release closes.
func (f *fakeOut) write(release <-chan struct{}) func() error {
	return func() error {
		f.bus <- struct{}{}
		defer func() { <-f.bus }()
		<-release
		f.calls <- "write"
		return nil
	}
}

func (f *fakeOut) recorded() []string {
	var got []string
	for {
		select {
		case c := <-f.calls:
			got = append(got, c)
		default:
			return got
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func closed() chan struct{} { c := make(chan struct{}); close(c); return c }

func TestSafeStateHaltsEveryOutputEvenWhenOneFails(t *testing.T) {
	a, b, c := newFake("light", nil), newFake("haptics", errors.New("bus error")), newFake("fan", nil)
	g := NewGate(a, b, c)
	err := g.SafeState()
	if err == nil || err.Error() != "haptics: bus error" {
		t.Errorf("SafeState() = %v; want \"haptics: bus error\"", err)
	}
	for _, f := range []*fakeOut{a, b, c} {
		if got := f.recorded(); !equal(got, []string{"halt"}) {
			t.Errorf("%s: calls %v; want [halt]", f, got)
		}
	}
	if !g.Safe() {
		t.Error("Safe() = false after SafeState")
	}
}

func TestSafeStateJoinsEveryFailure(t *testing.T) {
	g := NewGate(newFake("light", errors.New("nack")), newFake("haptics", errors.New("bus error")))
	err := g.SafeState()
	if want := "light: nack\nhaptics: bus error"; err == nil || err.Error() != want {
		t.Errorf("SafeState() = %q; want %q", err, want)
	}
}

func TestDoRunsOnlyWhileTheGateIsOpen(t *testing.T) {
	a := newFake("light", nil)
	g := NewGate(a)
	boom := errors.New("boom")
	if err := g.Do(func() error { return boom }); err != boom {
		t.Errorf("Do on an open gate = %v; want the action's error", err)
	}
	if err := g.SafeState(); err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := g.Do(func() error { ran = true; return nil }); !errors.Is(err, ErrSafeState) || ran {
		t.Errorf("Do on a closed gate = %v, ran %t; want ErrSafeState, not run", err, ran)
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	if g.Safe() {
		t.Error("Safe() = true after Open")
	}
	if err := g.Do(a.write(closed())); err != nil {
		t.Errorf("Do after Open = %v", err)
	}
	if got, want := a.recorded(), []string{"halt", "resume", "write"}; !equal(got, want) {
		t.Errorf("calls %v; want %v", got, want)
	}
}

func TestSafeStateReachesTheOtherOutputsWhileAWriteHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		light, hung, fan := newFake("light", nil), newFake("haptics", nil), newFake("fan", nil)
		g := NewGate(light, hung, fan)
		release := make(chan struct{})
		doDone := make(chan error)
		go func() { doDone <- g.Do(hung.write(release)) }()
		synctest.Wait() // the write holds the haptics bus

		safeDone := make(chan error)
		go func() { safeDone <- g.SafeState() }()
		synctest.Wait()
		for _, f := range []*fakeOut{light, fan} {
			if got := f.recorded(); !equal(got, []string{"halt"}) {
				t.Errorf("%s: calls %v while haptics hangs; want [halt]", f, got)
			}
		}
		select {
		case err := <-safeDone:
			t.Fatalf("SafeState returned %v before the hung output halted", err)
		default:
		}
		if !g.Safe() {
			t.Error("Safe() = false while halting")
		}

		// A caller that cannot wait gets the names of the outputs still
		// halting; no second Halt piles up on the hung bus.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := g.SafeStateContext(ctx)
		cancel()
		if want := "actuators: halt still in progress: haptics: context deadline exceeded"; err == nil || err.Error() != want {
			t.Errorf("SafeStateContext() = %v; want %q", err, want)
		}
		if err := g.Open(); err == nil || err.Error() != "actuators: cannot reopen, halt still in progress: haptics" {
			t.Errorf("Open() while halting = %v", err)
		}

		close(release)
		if err := <-doDone; err != nil {
			t.Error(err)
		}
		if err := <-safeDone; err != nil {
			t.Error(err)
		}
		if got, want := hung.recorded(), []string{"write", "halt"}; !equal(got, want) {
			t.Errorf("haptics: calls %v; want %v", got, want)
		}
		if got := light.recorded(); !equal(got, []string{"halt"}) {
			t.Errorf("light: calls %v; want one more [halt] from SafeStateContext", got)
		}
	})
}

func TestOpenSinceRefusesToUndoALaterSafeState(t *testing.T) {
	g := NewGate(newFake("strip", nil))
	if err := g.SafeState(); err != nil {
		t.Fatal(err)
	}
	gen := g.Generation()
	if err := g.SafeState(); err != nil { // a new abort, or the shutdown
		t.Fatal(err)
	}
	if err := g.OpenSince(gen); !errors.Is(err, ErrSafeStateSince) || !g.Safe() {
		t.Fatalf("OpenSince an older generation = %v (safe %v), want refused and still safe", err, g.Safe())
	}
	if err := g.OpenSince(g.Generation()); err != nil || g.Safe() {
		t.Fatalf("OpenSince the current generation = %v (safe %v), want open", err, g.Safe())
	}
}

func TestSealKeepsTheGateClosedWithoutHaltingAnything(t *testing.T) {
	a := newFake("strip", nil)
	g := NewGate(a)
	g.Seal()
	if got := a.recorded(); len(got) != 0 {
		t.Fatalf("calls after Seal %v; want none: Seal halts nothing", got)
	}
	ran := false
	if err := g.Do(func() error { ran = true; return nil }); !errors.Is(err, ErrSafeState) || ran {
		t.Fatalf("Do after Seal = %v, ran %t; want ErrSafeState, not run", err, ran)
	}
	if err := g.Open(); !errors.Is(err, ErrSealed) {
		t.Fatalf("Open after Seal = %v; want ErrSealed", err)
	}
	if err := g.SafeState(); err != nil {
		t.Fatalf("SafeState after Seal = %v", err)
	}
	if got := a.recorded(); !equal(got, []string{"halt"}) {
		t.Fatalf("calls after SafeState %v; want [halt]", got)
	}
	g.Seal()
	for name, open := range map[string]func() error{
		"Open":                          g.Open,
		"OpenSince the current gen":     func() error { return g.OpenSince(g.Generation()) },
		"OpenSince an older generation": func() error { return g.OpenSince(g.Generation() - 1) },
	} {
		if err := open(); !errors.Is(err, ErrSealed) || !g.Safe() {
			t.Errorf("%s after Seal and SafeState = %v (safe %v); want ErrSealed, still safe", name, err, g.Safe())
		}
	}
	if got := a.recorded(); len(got) != 0 {
		t.Errorf("calls after refused opens %v; want none (no resume)", got)
	}
}

func TestSealBeatsAnAcknowledgementThatSawTheLatestSafeState(t *testing.T) {
	g := NewGate(newFake("strip", nil))
	if err := g.SafeState(); err != nil { // the abort being acknowledged
		t.Fatal(err)
	}
	gen := g.Generation()
	g.Seal() // the daemon decides to stop before the acknowledgement reopens
	if err := g.OpenSince(gen); !errors.Is(err, ErrSealed) || !g.Safe() {
		t.Fatalf("OpenSince(%d) after Seal = %v (safe %v); want ErrSealed, still safe", gen, err, g.Safe())
	}
}

func TestIdleReturnsAtOnceWhenNoHaltIsInProgress(t *testing.T) {
	g := NewGate(newFake("light", nil), newFake("haptics", nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.Idle(ctx); err != nil {
		t.Fatalf("Idle on a gate that never halted = %v", err)
	}
	if err := g.SafeState(); err != nil {
		t.Fatal(err)
	}
	if err := g.Idle(ctx); err != nil {
		t.Fatalf("Idle after every Halt returned = %v", err)
	}
}

func TestIdleWaitsForAHungHaltReleasedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		light, hung, fan := newFake("light", nil), newFake("haptics", nil), newFake("fan", nil)
		g := NewGate(light, hung, fan)
		release := make(chan struct{})
		doDone := make(chan error)
		go func() { doDone <- g.Do(hung.write(release)) }()
		synctest.Wait() // the write holds the haptics bus

		g.Seal()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := g.SafeStateContext(ctx)
		cancel()
		if want := "actuators: halt still in progress: haptics: context deadline exceeded"; err == nil || err.Error() != want {
			t.Fatalf("SafeStateContext() = %v; want %q", err, want)
		}

		ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
		start := time.Now()
		err = g.Idle(ctx)
		cancel()
		if want := "actuators: halt still in progress: haptics: context deadline exceeded"; err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Idle() while haptics hangs = %v; want %q wrapping context.DeadlineExceeded", err, want)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Idle() gave up after %v; want the context's 2s", d)
		}

		idle := make(chan error)
		go func() { idle <- g.Idle(t.Context()) }()
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case err := <-idle:
			t.Fatalf("Idle() returned %v while the haptics Halt still hangs", err)
		default:
		}

		close(release) // the bus returns: the write, then the pending Halt, complete
		if err := <-idle; err != nil {
			t.Fatalf("Idle() once the Halt returned = %v", err)
		}
		if err := <-doDone; err != nil {
			t.Fatal(err)
		}
		if got, want := hung.recorded(), []string{"write", "halt"}; !equal(got, want) {
			t.Errorf("haptics: calls %v; want %v", got, want)
		}
		if err := g.Open(); !errors.Is(err, ErrSealed) {
			t.Errorf("Open() once idle after Seal = %v; want ErrSealed", err)
		}
	})
}

func TestIdleNamesEveryOutputStillHalting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		light, hung1, hung2 := newFake("light", nil), newFake("haptics", nil), newFake("fan", nil)
		g := NewGate(light, hung1, hung2)
		release := make(chan struct{})
		done := make(chan error, 2)
		for _, f := range []*fakeOut{hung1, hung2} {
			go func() { done <- g.Do(f.write(release)) }()
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_ = g.SafeStateContext(ctx)
		cancel()

		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		err := g.Idle(ctx)
		if want := "actuators: halt still in progress: haptics, fan: context canceled"; err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
			t.Fatalf("Idle() = %v; want %q wrapping context.Canceled", err, want)
		}

		close(release)
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Idle(t.Context()); err != nil {
			t.Fatalf("Idle() once released = %v", err)
		}
	})
}

func TestSealedSaysTheGateWillNeverOpenAgain(t *testing.T) {
	g := NewGate(newFake("strip", nil))
	if g.Sealed() {
		t.Fatal("a new gate reports sealed")
	}
	g.Seal()
	if !g.Sealed() || !errors.Is(g.Open(), ErrSealed) {
		t.Fatalf("after Seal: Sealed %v, Open %v; want true and ErrSealed", g.Sealed(), g.Open())
	}
}
