package button

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run starts a button on line and counts its presses until the test ends.
func run(t *testing.T, line *sim.Line, opts *Opts) *atomic.Int32 {
	t.Helper()
	d, err := New(line, opts)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx, func() { n.Add(1) }) }()
	t.Cleanup(func() { cancel(); <-done })
	synctest.Wait()
	return &n
}

// levels drives line through (level, hold) pairs.
func levels(line *sim.Line, steps ...any) {
	for i := 0; i < len(steps); i += 2 {
		line.Set(steps[i].(gpio.Level))
		time.Sleep(steps[i+1].(time.Duration))
	}
	synctest.Wait()
}

const ms = time.Millisecond

func TestPresses(t *testing.T) {
	tests := []struct {
		name  string
		steps []any
		want  int32
	}{
		{"a press", []any{gpio.Low, 200 * ms, gpio.High, 200 * ms}, 1},
		{"two presses", []any{gpio.Low, 200 * ms, gpio.High, 200 * ms, gpio.Low, 100 * ms, gpio.High, 100 * ms}, 2},
		{"contacts bouncing as they close and open", []any{
			gpio.Low, 2 * ms, gpio.High, 1 * ms, gpio.Low, 3 * ms, gpio.High, 1 * ms, gpio.Low, 300 * ms,
			gpio.High, 2 * ms, gpio.Low, 1 * ms, gpio.High, 300 * ms}, 1},
		{"a spike shorter than the debounce", []any{gpio.Low, 20 * ms, gpio.High, 200 * ms}, 0},
		{"chatter that never holds a level", []any{
			gpio.Low, 20 * ms, gpio.High, 20 * ms, gpio.Low, 20 * ms, gpio.High, 20 * ms, gpio.Low, 20 * ms, gpio.High, 200 * ms}, 0},
		{"held for a minute", []any{gpio.Low, time.Minute, gpio.High, 200 * ms}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				line := sim.NewLine("GPIO17", 17)
				n := run(t, line, nil)
				if line.Read() != gpio.High || line.Pull() != gpio.PullUp {
					t.Fatalf("line %s pull %s after New, want pulled up and High", line.Read(), line.Pull())
				}
				levels(line, tt.steps...)
				if got := n.Load(); got != tt.want {
					t.Fatalf("%d presses, want %d", got, tt.want)
				}
			})
		})
	}
}

// An active-high button on a pulled-down line.
func TestActiveHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO27", 27)
		n := run(t, line, &Opts{Pull: gpio.PullDown})
		levels(line, gpio.High, 100*ms, gpio.Low, 100*ms)
		if got := n.Load(); got != 1 {
			t.Fatalf("%d presses, want 1", got)
		}
	})
}

// A button already held when Run starts (or a line stuck active) is not a
// press; releasing and pressing it again is.
func TestHeldAtStartIsNotAPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO17", 17)
		d, err := New(line, nil)
		if err != nil {
			t.Fatal(err)
		}
		line.Set(gpio.Low)
		var n atomic.Int32
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx, func() { n.Add(1) }) }()
		defer func() { cancel(); <-done }()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := n.Load(); got != 0 {
			t.Fatalf("%d presses for a button held at start, want 0", got)
		}
		levels(line, gpio.High, 100*ms, gpio.Low, 100*ms)
		if got := n.Load(); got != 1 {
			t.Fatalf("%d presses after release and press, want 1", got)
		}
	})
}

// A press whose edges were lost (a full event buffer) is still seen, by
// the level read every Poll.
func TestAPressWithoutItsEdgesIsSeenByPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO17", 17)
		n := run(t, line, nil)
		// More edges than the line keeps, at one instant: the reader
		// cannot take any between them.
		var bounce []gpio.Level
		for range 20 {
			bounce = append(bounce, gpio.Low, gpio.High)
		}
		line.Bounce(append(bounce, gpio.Low)...)
		time.Sleep(time.Second)
		synctest.Wait()
		if line.LostEdges() == 0 {
			t.Fatal("no edge lost: the test does not test polling")
		}
		if got := n.Load(); got != 1 {
			t.Fatalf("%d presses, want 1", got)
		}
	})
}

func TestNewRefusesNoLine(t *testing.T) {
	if _, err := New(nil, nil); err == nil || err.Error() != "button: no GPIO line" {
		t.Fatalf("New(nil) = %v", err)
	}
}
