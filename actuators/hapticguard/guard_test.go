package hapticguard

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const tick = 100 * time.Millisecond

func newGuard(t *testing.T, places int, o Opts) *Guard {
	t.Helper()
	g, err := New(places, o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func limit1(t *testing.T, g *Guard, now time.Duration, x float64) (float64, bool) {
	t.Helper()
	f := []float64{x}
	limited, err := g.Limit(now, f)
	if err != nil {
		t.Fatal(err)
	}
	return f[0], limited
}

// Window 10 s (slots of 100 ms), cap 0.8, duty 0.3: a budget of 3
// intensity·s. Full intensity asked every 100 ms: each frame shows 0.8 and
// adds 0.08 to the window. At frame k the window holds 0.08k; it may go on
// while 0.08k + 0.8·0.1 <= 3, so frames 0..36 (to 3.6 s) show 0.8 and the
// window holds 2.96 at 3.7 s, where the place is held at 0. It resumes when
// the window holds no more than 0.9·3 = 2.7: frame j's 0.08 lies in slot j,
// counted until now's slot is j+101, so at 10.3 s slots 0..2 have left (2.72
// held) and at 10.4 s slot 3 too (2.64): 0.8 again at 10.4 s.
func TestTheBudgetArithmetic(t *testing.T) {
	g := newGuard(t, 1, Opts{Cap: 0.8, Duty: 0.3, Window: 10 * time.Second, Hold: tick})
	if g.Budget() != 3 {
		t.Fatalf("budget %v, want 3", g.Budget())
	}
	for k := 0; k <= 110; k++ {
		now := time.Duration(k) * tick
		got, limited := limit1(t, g, now, 1)
		want := 0.8
		if k >= 37 && k < 104 {
			want = 0
		}
		if got != want || !limited {
			t.Fatalf("frame %d at %v: %v (limited %v), want %v", k, now, got, limited, want)
		}
		switch k {
		case 37:
			if u := g.Used(0); math.Abs(u-2.96) > 1e-9 || !g.Spent(0) {
				t.Errorf("at 3.7 s: used %v spent %v, want 2.96, spent", u, g.Spent(0))
			}
		case 103:
			if u := g.Used(0); math.Abs(u-2.72) > 1e-9 || !g.Spent(0) {
				t.Errorf("at 10.3 s: used %v, want 2.72", u)
			}
		case 104:
			if u := g.Used(0); math.Abs(u-2.64) > 1e-9 || g.Spent(0) {
				t.Errorf("at 10.4 s: used %v spent %v, want 2.64, resumed", u, g.Spent(0))
			}
		}
	}
}

// The output held between frames is split exactly at slot edges: 0.5 held
// from 0.05 s to 0.25 s (slots of 100 ms) adds 0.025, 0.05 and 0.025 to
// three slots; 15 s later (past the 10 s window) they have all left.
func TestTheWindowIsKeptExactlyPerSlot(t *testing.T) {
	g := newGuard(t, 2, Opts{Cap: 0.8, Duty: 0.3, Window: 10 * time.Second})
	f := []float64{0.5, 0}
	g.Limit(50*time.Millisecond, f)
	f = []float64{0, 0}
	g.Limit(250*time.Millisecond, f)
	if got := g.ring[0][0:3]; math.Abs(got[0]-0.025) > 1e-12 || math.Abs(got[1]-0.05) > 1e-12 || math.Abs(got[2]-0.025) > 1e-12 {
		t.Errorf("slots %v, want 0.025 0.05 0.025", got)
	}
	if g.Used(0) != 0.1 || g.Used(1) != 0 {
		t.Errorf("used %v %v, want 0.1 0", g.Used(0), g.Used(1))
	}
	// Slot 2 (0.2..0.3 s) is counted until now's slot is 103.
	g.Limit(10299*time.Millisecond, f)
	if math.Abs(g.Used(0)-0.025) > 1e-12 {
		t.Errorf("at 10.299 s: used %v, want 0.025", g.Used(0))
	}
	g.Limit(15*time.Second, f)
	if g.Used(0) != 0 {
		t.Errorf("at 15 s: used %v, want 0", g.Used(0))
	}
	// An hour without a frame, the place held at 0.7: only the last window
	// counts, 0.7 · 10.x s is far over the budget, and the place is held.
	g.Limit(15*time.Second, []float64{0.7, 0})
	g2 := []float64{0.7, 0}
	g.Limit(time.Hour+15*time.Second, g2)
	if u := g.Used(0); u < 7 || u > 0.7*10.1+1e-9 || g2[0] != 0 {
		t.Errorf("after an hour at 0.7: used %v, shown %v", u, g2[0])
	}
}

// Above the cap is the cap; NaN and negative are 0 (and limited); a request
// within both is shown as asked.
func TestTheCapAndBadRequests(t *testing.T) {
	g := newGuard(t, 4, Opts{})
	f := []float64{1, math.NaN(), -0.5, 0.3}
	limited, err := g.Limit(0, f)
	if err != nil || !limited {
		t.Fatal(limited, err)
	}
	if f[0] != DefaultCap || f[1] != 0 || f[2] != 0 || f[3] != 0.3 {
		t.Errorf("got %v, want [0.6 0 0 0.3]", f)
	}
	if e, _ := g.Open(0); e.Invalid || !e.Cap || e.Requested != 1 || e.Shown != DefaultCap {
		t.Errorf("capped episode %+v", e)
	}
	if e, _ := g.Open(1); !e.Invalid || e.Requested != 0 || e.Shown != 0 {
		t.Errorf("NaN episode %+v, want invalid, requested 0", e)
	}
	f = []float64{0.6, 0, 0, 0.3}
	if limited, _ := g.Limit(tick, f); limited {
		t.Errorf("limited a frame within the cap: %v", f)
	}
}

// A budget too small for one frame at the cap (10 s at duty 0.005: 0.05,
// less than 0.8 × 100 ms) never lets the place on, and does not chatter.
func TestABudgetSmallerThanOneFrameHoldsThePlace(t *testing.T) {
	g := newGuard(t, 1, Opts{Cap: 0.8, Duty: 0.005, Window: 10 * time.Second})
	for k := 0; k < 50; k++ {
		if got, _ := limit1(t, g, time.Duration(k)*tick, 0.8); got != 0 {
			t.Fatalf("frame %d: %v", k, got)
		}
	}
	// 0.4 fits (0.04 <= 0.05) only after the window freed to 0.9 × budget.
	if got, _ := limit1(t, g, 5*time.Second, 0.4); got != 0.4 {
		t.Errorf("0.4: %v", got)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, c := range []struct {
		places int
		o      Opts
		want   string
	}{
		{0, Opts{}, "0 places, want 1..64"},
		{65, Opts{}, "65 places"},
		{1, Opts{Cap: 0.9}, "cap 0.9, want above 0 and at most 0.8"},
		{1, Opts{Cap: math.NaN()}, "cap NaN"},
		{1, Opts{Cap: -1}, "cap -1"},
		{1, Opts{Duty: 0.31}, "duty 0.31, want above 0 and at most 0.3"},
		{1, Opts{Window: 9 * time.Second}, "window 9s, want 10s..10m0s"},
		{1, Opts{Window: 11 * time.Minute}, "window 11m0s"},
		{1, Opts{Hold: 2 * time.Second}, "hold 2s, want above 0 and at most 1s"},
		{1, Opts{Hold: -1}, "hold -1ns"},
	} {
		if g, err := New(c.places, c.o); err == nil || g != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%d, %+v): %v, want %q", c.places, c.o, err, c.want)
		}
	}
	_, err := New(1, Opts{Cap: 1, Duty: 1})
	if err == nil || !strings.Contains(err.Error(), "cap 1") || !strings.Contains(err.Error(), "duty 1") {
		t.Errorf("both bad: %v, want both named", err)
	}
	g := newGuard(t, 1, Opts{})
	if g.Cap() != DefaultCap || g.Budget() != DefaultDuty*60 {
		t.Errorf("defaults: cap %v budget %v", g.Cap(), g.Budget())
	}
}

func TestBadFramesChangeNothing(t *testing.T) {
	g := newGuard(t, 2, Opts{})
	g.Limit(0, []float64{0.5, 0.5})
	f := []float64{0.7}
	if _, err := g.Limit(tick, f); !errors.Is(err, ErrPlaces) || f[0] != 0.7 {
		t.Errorf("short frame: %v %v", err, f)
	}
	f = []float64{0.1, 0.1}
	if _, err := g.Limit(-1, f); !errors.Is(err, ErrTime) || f[0] != 0.1 {
		t.Errorf("negative time: %v %v", err, f)
	}
	if g.lastT != 0 || g.out[0] != 0.5 || g.Used(0) != 0 {
		t.Errorf("state changed: %v %v %v", g.lastT, g.out, g.Used(0))
	}
	if !math.IsNaN(g.Used(2)) || g.Spent(-1) {
		t.Error("out-of-range place")
	}
}

// Episodes: the cap limits frames 0..9 (one episode, by the cap); 1 s later
// the budget holds the place (another, by the budget).
func TestEpisodes(t *testing.T) {
	g := newGuard(t, 1, Opts{Cap: 0.5, Duty: 0.1, Window: 10 * time.Second})
	var eps []Episode
	for k := 0; k < 10; k++ {
		limit1(t, g, time.Duration(k)*tick, 0.9)
		eps = g.Ended(time.Duration(k)*tick, eps)
	}
	if e, open := g.Open(0); !open || e.Frames != 10 || !e.Cap || e.Budget || e.Requested != 0.9 || e.Shown != 0.5 {
		t.Fatalf("episode %+v open %v", e, open)
	}
	for k := 10; k < 40; k++ {
		limit1(t, g, time.Duration(k)*tick, 0)
		eps = g.Ended(time.Duration(k)*tick, eps)
	}
	if len(eps) != 1 || eps[0].Since != 0 || eps[0].Last != 900*time.Millisecond {
		t.Fatalf("episodes %+v", eps)
	}
	// Used: 0.5 for 1 s = 0.5 of a budget of 1. 0.4 asked from 4 s: 0.04 a
	// frame; the k-th frame from 4 s fits while 0.5 + 0.04k + 0.04 <= 1, to
	// k = 11; at k = 12 (5.2 s) the budget holds it.
	for k := 40; k < 60; k++ {
		got, _ := limit1(t, g, time.Duration(k)*tick, 0.4)
		if (k < 52 && got != 0.4) || (k >= 52 && got != 0) {
			t.Fatalf("frame %d: %v", k, got)
		}
	}
	e, _ := g.Open(0)
	if e.Since != 5200*time.Millisecond || !e.Budget || e.Cap || e.Requested != 0.4 || e.Shown != 0 {
		t.Errorf("budget episode %+v", e)
	}
}

func TestLimitDoesNotAllocate(t *testing.T) {
	g := newGuard(t, 4, Opts{Window: 10 * time.Second})
	f := make([]float64, 4)
	eps := make([]Episode, 0, 4)
	now := time.Duration(0)
	allocs := testing.AllocsPerRun(2000, func() {
		now += 7 * time.Millisecond
		for p := range f {
			f[p] = 1
		}
		g.Limit(now, f)
		eps = g.Ended(now+2*time.Second, eps[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

// One frame of 4 places, every place capped: ns and allocations per frame.
func BenchmarkLimit(b *testing.B) {
	g, err := New(4, Opts{})
	if err != nil {
		b.Fatal(err)
	}
	f := make([]float64, 4)
	eps := make([]Episode, 0, 4)
	b.ReportAllocs()
	now := time.Duration(0)
	for b.Loop() {
		now += 20 * time.Millisecond
		for p := range f {
			f[p] = 1
		}
		if _, err := g.Limit(now, f); err != nil {
			b.Fatal(err)
		}
		eps = g.Ended(now, eps[:0])
	}
}
