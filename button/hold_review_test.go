package button

import (
	"testing"
	"testing/synctest"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim"
)

// The package doc says a button with a hold time "counts a press only
// once the line, its press recognised, has stayed active for Hold more".
// held does not measure that: a release is waited out in
// `for d.pin.WaitForEdge(Debounce) {}` with no look at the deadline, and
// once the line is quiet and active the deadline, passed meanwhile, makes
// it return d.active() at once. So a line that chatters (a worn or
// half-pressed contact, a sleeper's shivering hand or body resting on
// it, interference on its cable) satisfies the 3 s hold while active for
// a small part of it. Here: a press of 40 ms, then 3 s of a line that is
// inactive 19 ms of every 20 ms (1 ms spikes), then 40 ms active: about
// 230 ms active in all, counted as a 3 s hold (measured: 1 press). On the
// acknowledgement button that clears the latched abort of a sleeper whom
// nobody checked. Correct: the hold counts only time the line is active;
// an inactive spell that lasts Debounce ends the hold whether or not
// edges come during it (e.g. bound the wait for quiet by the deadline,
// and end the hold when the line has been inactive for more than
// Debounce in total over any Debounce-long part of it, or require the
// line sampled active at every Poll of the hold).
func TestReviewAChatteringLineIsNoHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := sim.NewLine("GPIO22", 22)
		n := run(t, line, &holdOpts)
		steps := []any{gpio.Low, 40 * ms}
		for range 150 { // 3 s
			steps = append(steps, gpio.High, 19*ms, gpio.Low, 1*ms)
		}
		steps = append(steps, gpio.Low, 40*ms, gpio.High, 200*ms)
		levels(line, steps...)
		if got := n.Load(); got != 0 {
			t.Fatalf("%d presses from a line active about 230 ms of 3.3 s, want 0", got)
		}
	})
}
