package sensing

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// oximeterLike is a sensor polled every 200 ms whose chip buffers 1.28 s of
// samples (the MAX30102's 32-sample FIFO at 25 Hz), with ReopenAfter long
// enough not to interfere.
func oximeterLike() Sensor {
	return Sensor{Name: "max30102", Period: 200 * time.Millisecond, StaleAfter: time.Second, ReopenAfter: 10 * time.Second}
}

// fifoFill is how long the FIFO of oximeterLike takes to fill.
const fifoFill = 1280 * time.Millisecond

// longestGap is the longest time between two polls in ps.
func longestGap(ps []time.Duration) time.Duration {
	var g time.Duration
	for i := 1; i < len(ps); i++ {
		g = max(g, ps[i]-ps[i-1])
	}
	return g
}

// A backoff of 2 s lets a 2.5 s refusal leave the chip unread for 1.6 s
// (polls at 2 s and 3.6 s), longer than its FIFO holds; Backoff.RetryMax at
// the Period keeps polling every 200 ms, so the first poll after the
// refusal (at 3 s) comes 200 ms after the last refused one.
func TestRetryMaxKeepsABufferingChipFromOverflowing(t *testing.T) {
	refuse := func(d time.Duration) (Poll, error) {
		if d >= 500*time.Millisecond && d < 3*time.Second {
			return Poll{}, errNACK
		}
		return Poll{Fresh: true}, nil
	}
	synctest.Test(t, func(t *testing.T) {
		s := oximeterLike()
		s.Backoff.RetryMax = 2 * time.Second
		r := newRig(t, s, nil, refuse)
		r.run(4 * time.Second)
		if g := longestGap(r.polls); g <= fifoFill {
			t.Fatalf("a 2 s backoff: longest gap between polls %v; this test assumes it exceeds %v", g, fifoFill)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		s := oximeterLike()
		s.Backoff.RetryMax = s.Period
		r := newRig(t, s, nil, refuse)
		r.run(3100 * time.Millisecond)
		var want []time.Duration
		for d := time.Duration(0); d <= 3*time.Second; d += 200 * time.Millisecond {
			want = append(want, d)
		}
		if !slices.Equal(r.polls, want) {
			t.Fatalf("polls at %v, want every 200 ms: %v", r.polls, want)
		}
		h := r.loop.Health()
		if h.State != OK || h.PollErrors != 12 || h.Reopens != 0 {
			t.Fatalf("health %+v; want ok after 12 failed polls, no reopen", h)
		}
	})
}

// ReopenMin and ReopenMax equal retry a failed open at a fixed period; Idle
// is called every Period in between, never at an open.
func TestFixedReopenPeriodAndIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oximeterLike()
		s.Backoff = Backoff{RetryMax: s.Period, ReopenMin: time.Second, ReopenMax: time.Second}
		var (
			mu    sync.Mutex
			idles []time.Duration
			t0    = time.Now()
		)
		s.Idle = func(now time.Time) {
			mu.Lock()
			idles = append(idles, now.Sub(t0))
			mu.Unlock()
		}
		r := newRig(t, s, func(d time.Duration) error {
			if d < 2500*time.Millisecond {
				return errors.New("max30102: i2c 0x57: NACK")
			}
			return nil
		}, func(time.Duration) (Poll, error) { return Poll{Fresh: true}, nil })
		r.run(3100 * time.Millisecond)
		if want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(r.opens, want) {
			t.Fatalf("opens at %v, want %v", r.opens, want)
		}
		var want []time.Duration
		for d := 200 * time.Millisecond; d < 3*time.Second; d += 200 * time.Millisecond {
			if d%time.Second != 0 {
				want = append(want, d)
			}
		}
		if !slices.Equal(idles, want) {
			t.Fatalf("Idle at %v, want %v", idles, want)
		}
		if h := r.loop.Health(); h.State != OK || h.OpenErrors != 3 {
			t.Fatalf("health %+v; want ok after 3 failed opens", h)
		}
	})
}

// A device that asks to be opened anew (Poll.Reopen) is halted at once and
// opened again after a Period, and no sooner than ReopenMin after the open
// before; Idle is called meanwhile.
func TestDeviceAsksToBeReopened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oximeterLike()
		s.Backoff = Backoff{RetryMax: s.Period, ReopenMin: time.Second, ReopenMax: time.Second}
		var (
			mu    sync.Mutex
			idles []time.Duration
			t0    = time.Now()
		)
		s.Idle = func(now time.Time) {
			mu.Lock()
			idles = append(idles, now.Sub(t0))
			mu.Unlock()
		}
		r := newRig(t, s, nil, func(d time.Duration) (Poll, error) {
			switch d {
			case 400 * time.Millisecond:
				return Poll{Reopen: true}, errNACK // lost 0.4 s after its open: reopened at 1 s
			case 3 * time.Second:
				return Poll{Reopen: true}, nil // lost 2 s after its open: reopened a Period later
			}
			return Poll{Fresh: true}, nil
		})
		r.run(3300 * time.Millisecond)
		if want := []time.Duration{0, time.Second, 3200 * time.Millisecond}; !slices.Equal(r.opens, want) {
			t.Fatalf("opens at %v, want %v", r.opens, want)
		}
		if want := []time.Duration{600 * time.Millisecond, 800 * time.Millisecond}; !slices.Equal(idles, want) {
			t.Fatalf("Idle at %v, want %v", idles, want)
		}
		h := r.loop.Health()
		if h.Reopens != 2 || r.halts != 3 || h.PollErrors != 1 {
			t.Fatalf("health %+v, halts %d; want 2 reopens, 3 halts (2 drops and the end), 1 poll error", h, r.halts)
		}
		want := []change{{0, OK}, {400 * time.Millisecond, BusError}, {time.Second, Starting}, {time.Second, OK}, {3200 * time.Millisecond, Starting}, {3200 * time.Millisecond, OK}}
		if !slices.Equal(r.changes, want) {
			t.Fatalf("changes %v, want %v", r.changes, want)
		}
	})
}

func TestNewRefusesABadBackoff(t *testing.T) {
	for _, b := range []Backoff{
		{RetryMax: -1},
		{ReopenMin: -1},
		{ReopenMax: -1},
		{RetryMax: 100 * time.Millisecond}, // shorter than the Period
		{ReopenMin: 2 * time.Second, ReopenMax: time.Second},
	} {
		s := oximeterLike()
		s.Open = func() (Device, error) { return nil, nil }
		s.Backoff = b
		if _, err := New(s, nil); err == nil {
			t.Errorf("New accepted the backoff %+v", b)
		}
	}
}

// A zero field takes its default; a lone ReopenMin or ReopenMax keeps the
// other consistent.
func TestBackoffDefaults(t *testing.T) {
	for _, c := range []struct{ in, want Backoff }{
		{Backoff{}, Backoff{RetryMax: 2 * time.Second, ReopenMin: 500 * time.Millisecond, ReopenMax: 5 * time.Second}},
		{Backoff{RetryMax: time.Second}, Backoff{RetryMax: time.Second, ReopenMin: 500 * time.Millisecond, ReopenMax: 5 * time.Second}},
		{Backoff{ReopenMax: 200 * time.Millisecond}, Backoff{RetryMax: 2 * time.Second, ReopenMin: 200 * time.Millisecond, ReopenMax: 200 * time.Millisecond}},
		{Backoff{ReopenMin: 10 * time.Second}, Backoff{RetryMax: 2 * time.Second, ReopenMin: 10 * time.Second, ReopenMax: 10 * time.Second}},
	} {
		if got := c.in.withDefaults(); got != c.want {
			t.Errorf("%+v with defaults = %+v, want %+v", c.in, got, c.want)
		}
	}
}
