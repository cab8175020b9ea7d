package button

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim"
)

// holdOpts is the acknowledgement button's: the defaults, held 3 s.
var holdOpts = Opts{ActiveLow: true, Pull: gpio.PullUp, Debounce: 30 * ms, Poll: 100 * ms, Hold: 3 * time.Second}

// A button with a hold time counts a press only once held: nothing at
// Debounce + Hold - 1 ms after the line went active, one press at
// Debounce + Hold, and one only, however long it stays down.
func TestAHeldPressCountsAtItsHoldTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		var n atomic.Int32
		var at time.Time
		d, err := New(line, &holdOpts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = d.Run(ctx, func() { n.Add(1); at = time.Now() })
		}()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		pressed := time.Now()
		line.Set(gpio.Low)
		time.Sleep(30*ms + 3*time.Second - ms)
		synctest.Wait()
		if got := n.Load(); got != 0 {
			t.Fatalf("%d presses 1 ms before the hold time, want 0", got)
		}
		time.Sleep(ms)
		synctest.Wait()
		if got := n.Load(); got != 1 || at.Sub(pressed) != 30*ms+3*time.Second {
			t.Fatalf("%d presses, the first %v after the line went active; want 1 at %v", got, at.Sub(pressed), 30*ms+3*time.Second)
		}
		time.Sleep(time.Minute)
		levels(line, gpio.High, 200*ms)
		if got := n.Load(); got != 1 {
			t.Fatalf("%d presses after a minute held and a release, want 1", got)
		}
	})
}

func TestHoldTime(t *testing.T) {
	tests := []struct {
		name  string
		steps []any
		want  int32
	}{
		{"held 1 ms past the hold time", []any{gpio.Low, 3031 * ms, gpio.High, 200 * ms}, 1},
		{"released 1 ms before the hold time", []any{gpio.Low, 3029 * ms, gpio.High, 200 * ms}, 0},
		{"a sleeper rolling over it", []any{gpio.Low, 800 * ms, gpio.High, 200 * ms}, 0},
		{"holds do not add up", []any{gpio.Low, 2 * time.Second, gpio.High, 100 * ms, gpio.Low, 2 * time.Second, gpio.High, 200 * ms}, 0},
		{"a release of 50 ms ends the hold", []any{gpio.Low, 1500 * ms, gpio.High, 50 * ms, gpio.Low, 2 * time.Second, gpio.High, 200 * ms}, 0},
		{"a bounce shorter than the debounce does not", []any{gpio.Low, 1500 * ms, gpio.High, 5 * ms, gpio.Low, 1600 * ms, gpio.High, 200 * ms}, 1},
		{"contacts bouncing as they close", []any{gpio.Low, 2 * ms, gpio.High, 1 * ms, gpio.Low, 3 * ms, gpio.High, 1 * ms, gpio.Low, 3100 * ms, gpio.High, 200 * ms}, 1},
		{"two holds, two presses", []any{gpio.Low, 3100 * ms, gpio.High, 200 * ms, gpio.Low, 3100 * ms, gpio.High, 200 * ms}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				line := sim.NewLine("GPIO22", 22)
				n := run(t, line, &holdOpts)
				levels(line, tt.steps...)
				if got := n.Load(); got != tt.want {
					t.Fatalf("%d presses, want %d", got, tt.want)
				}
			})
		})
	}
}

// A release whose edges were lost is still seen by the level read every
// Poll: the hold ends, no press.
func TestAReleaseWithoutItsEdgesEndsTheHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		n := run(t, line, &holdOpts)
		levels(line, gpio.Low, time.Second)
		for range 20 { // more edges than the line keeps
			line.Set(gpio.High)
			line.Set(gpio.Low)
		}
		line.Set(gpio.High)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if line.LostEdges() == 0 {
			t.Fatal("no edge lost: the test does not test polling")
		}
		if got := n.Load(); got != 0 {
			t.Fatalf("%d presses, want 0", got)
		}
	})
}

// Stopping during a hold returns at once, without a press.
func TestAStopDuringAHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		d, err := New(line, &holdOpts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int32
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx, func() { n.Add(1) }) }()
		levels(line, gpio.Low, time.Second)
		stopped := time.Now()
		cancel()
		if err := <-done; err != nil || n.Load() != 0 || time.Since(stopped) > holdOpts.Poll {
			t.Fatalf("Run = %v after %v, %d presses; want nil within Poll, none", err, time.Since(stopped), n.Load())
		}
	})
}

// Only time the line reads active counts towards the hold: a bounce of
// 5 ms during it puts the press 5 ms later, at Debounce + Hold + 5 ms
// after the line went active.
func TestABounceDuringAHoldDoesNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		var n atomic.Int32
		var at time.Time
		d, err := New(line, &holdOpts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = d.Run(ctx, func() { n.Add(1); at = time.Now() })
		}()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		pressed := time.Now()
		levels(line, gpio.Low, 1500*ms, gpio.High, 5*ms, gpio.Low, 2*time.Second)
		want := 30*ms + 3*time.Second + 5*ms
		if got := n.Load(); got != 1 || at.Sub(pressed) != want {
			t.Fatalf("%d presses, the first %v after the line went active; want 1 at %v", got, at.Sub(pressed), want)
		}
	})
}

// A line that reads active most of the time but never settles (a spike to
// inactive of 2 ms every 10 ms) is no hold: its inactive time adds up to
// Debounce within 150 ms, and the hold ends there; the line settling
// active afterwards starts a hold afresh.
func TestALineThatNeverSettlesIsNoHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		n := run(t, line, &holdOpts)
		steps := []any{gpio.Low, 40 * ms}
		for range 400 { // 4 s
			steps = append(steps, gpio.High, 2*ms, gpio.Low, 8*ms)
		}
		steps = append(steps, gpio.Low, 300*ms, gpio.High, 200*ms)
		levels(line, steps...)
		if got := n.Load(); got != 0 {
			t.Fatalf("%d presses, want 0", got)
		}
	})
}
