package lightguard

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/actuators/flashcheck"
	"github.com/sleegation/podd/actuators/light"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	dark  = light.RGB{}
	white = light.RGB{R: 1, G: 1, B: 1}
	red   = light.RGB{R: 1}
	green = light.RGB{G: 1}
)

const frame50 = 20 * time.Millisecond // 50 frames a second

func grey(v float64) light.RGB { return light.RGB{R: v, G: v, B: v} }

func near(a, b light.RGB) bool {
	return math.Abs(a.R-b.R) < 1e-9 && math.Abs(a.G-b.G) < 1e-9 && math.Abs(a.B-b.B) < 1e-9
}

func newGuard(t *testing.T, zones int) *Guard {
	t.Helper()
	g, err := New(zones, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// limit1 runs one zone's request through g at now and returns what is shown.
func limit1(t *testing.T, g *Guard, now time.Duration, c light.RGB) (light.RGB, bool) {
	t.Helper()
	f := []light.RGB{c}
	limited, err := g.Limit(now, f)
	if err != nil {
		t.Fatal(err)
	}
	return f[0], limited
}

// A step from dark to white at 50 frames a second: the first frame is shown
// dark (no time has passed since the strip started dark), then every frame
// adds 0.5/s × 20 ms = 0.01 to each channel: 0.5 at 1 s, 0.99 at 1.98 s,
// white at 2 s.
func TestAStepFromDarkToWhiteTakesTwoSeconds(t *testing.T) {
	g := newGuard(t, 1)
	for k := 0; k <= 110; k++ {
		now := time.Duration(k) * frame50
		got, limited := limit1(t, g, now, white)
		want := grey(math.Min(0.01*float64(k), 1))
		if !near(got, want) {
			t.Fatalf("frame %d at %v: %+v, want %+v", k, now, got, want)
		}
		if limited != (k < 100) {
			t.Errorf("frame %d at %v: limited %v", k, now, limited)
		}
		if k >= 101 && got != white {
			t.Errorf("frame %d: %+v, want exactly white", k, got)
		}
	}
}

// A 10 Hz full-scale strobe (white 50 ms, dark 50 ms) at 50 frames a second
// asks white, white, white, dark, dark in every 100 ms. Each frame may move
// 0.01: three up, two down, so the output is a grey that ends each 100 ms
// 0.01 higher (0.01·n at frame 5n) with a ripple of 0.02 above that, a
// ramp of 0.1/s that reaches white after about 10 s, never a strobe. The
// independent checker finds nothing in it.
func TestATenHertzStrobeComesOutAsASlowRamp(t *testing.T) {
	g := newGuard(t, 1)
	var out []flashcheck.Sample
	for k := 0; k < 600; k++ {
		now := time.Duration(k) * frame50
		req := white
		if (now/(50*time.Millisecond))%2 == 1 {
			req = dark
		}
		got, _ := limit1(t, g, now, req)
		if got.R != got.G || got.G != got.B {
			t.Fatalf("frame %d: %+v is not grey", k, got)
		}
		if k%5 == 0 && k <= 450 {
			if want := 0.01 * float64(k/5); math.Abs(got.R-want) > 1e-9 {
				t.Errorf("frame %d at %v: %.4f, want %.4f", k, now, got.R, want)
			}
		}
		if k%5 == 2 && k <= 450 {
			if want := 0.01*float64(k/5) + 0.02; math.Abs(got.R-want) > 1e-9 {
				t.Errorf("frame %d at %v: %.4f, want %.4f (the ripple's top)", k, now, got.R, want)
			}
		}
		out = append(out, flashcheck.Sample{T: now, C: got})
	}
	r, err := flashcheck.Check(out)
	if err != nil {
		t.Fatal(err)
	}
	if vs := r.Violations(); len(vs) != 0 {
		t.Errorf("guarded strobe breaks the rule: %v", vs)
	}
	if r.General.Changes > 1 || r.Mod.Depth > 0.03 {
		t.Errorf("guarded strobe: %+v", r)
	}
}

// A swap between red and green every 100 ms, starting from red: in 100 ms
// red may lose 0.05 and green gain 0.05, so green is shown as (0.95, 0.05, 0)
// and red again as red: a change of 0.025 in luminance, no flash.
func TestARedGreenSwapIsSlowed(t *testing.T) {
	g := newGuard(t, 1)
	if err := g.Reset(0, []light.RGB{red}); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 50; k++ {
		now := time.Duration(k) * frame50
		req := red
		if (now/(100*time.Millisecond))%2 == 1 {
			req = green
		}
		got, limited := limit1(t, g, now, req)
		switch now % (200 * time.Millisecond) {
		case 180 * time.Millisecond: // the last green frame
			if !near(got, light.RGB{R: 0.95, G: 0.05}) || !limited {
				t.Errorf("%v: %+v (limited %v), want (0.95, 0.05, 0)", now, got, limited)
			}
		case 80 * time.Millisecond: // the last red frame
			if !near(got, red) {
				t.Errorf("%v: %+v, want red", now, got)
			}
		}
	}
}

// A stream that never moves faster than the limit is shown exactly.
func TestASlowRampPassesUnchanged(t *testing.T) {
	g := newGuard(t, 2)
	if err := g.Reset(0, []light.RGB{dark, white}); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 200; k++ {
		now := time.Duration(k) * frame50
		req := []light.RGB{grey(0.004 * float64(k)), {R: 1 - 0.002*float64(k), G: 1, B: 1}}
		f := append([]light.RGB(nil), req...)
		limited, err := g.Limit(now, f)
		if err != nil || limited || f[0] != req[0] || f[1] != req[1] {
			t.Fatalf("frame %d: %+v (limited %v, %v), want %+v", k, f, limited, err, req)
		}
	}
	if eps := g.Ended(time.Hour, nil); len(eps) != 0 {
		t.Errorf("episodes %+v", eps)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, c := range []struct {
		zones int
		slew  float64
		want  string
	}{
		{0, 0, "0 zones, want 1..1024"},
		{1025, 0, "1025 zones"},
		{1, -0.1, "max slew -0.1 per second"},
		{1, math.NaN(), "max slew NaN"},
		{1, 0.6, "max slew 0.6 per second, want above 0 and at most 0.5"},
		{1, math.Inf(1), "max slew +Inf"},
	} {
		if g, err := New(c.zones, Opts{MaxSlew: c.slew}); err == nil || g != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%d, %v): %v, want %q", c.zones, c.slew, err, c.want)
		}
	}
	g := newGuard(t, 1)
	if g.MaxSlew() != HardMaxSlew {
		t.Errorf("default slew %v", g.MaxSlew())
	}
	g, err := New(1, Opts{MaxSlew: 0.25})
	if err != nil || g.MaxSlew() != 0.25 {
		t.Fatalf("slew 0.25: %v %v", g, err)
	}
	// At 0.25/s a step takes 4 s: 0.005 a frame.
	limit1(t, g, 0, white)
	if got, _ := limit1(t, g, frame50, white); !near(got, grey(0.005)) {
		t.Errorf("at 0.25/s: %+v, want 0.005", got)
	}
}

// Bad frames: the wrong number of zones is refused and changes nothing; NaN
// holds the last output; values outside 0..1 are clamped; a time that is not
// after the last moves nothing.
func TestBadFramesChangeNothingOrAreMadeSafe(t *testing.T) {
	g := newGuard(t, 2)
	if err := g.Reset(0, []light.RGB{grey(0.5), grey(0.5)}); err != nil {
		t.Fatal(err)
	}
	short := []light.RGB{white}
	if limited, err := g.Limit(frame50, short); !errors.Is(err, ErrZones) || limited || short[0] != white {
		t.Errorf("short frame: %v %v %+v", limited, err, short)
	}
	if err := g.Reset(0, short); !errors.Is(err, ErrZones) {
		t.Errorf("short reset: %v", err)
	}
	if last := g.Last(nil); last[0] != grey(0.5) || last[1] != grey(0.5) {
		t.Errorf("last output changed: %+v", last)
	}
	f := []light.RGB{{R: math.NaN(), G: 2, B: -1}, grey(0.5)}
	limited, err := g.Limit(frame50, f)
	if err != nil || !limited {
		t.Fatalf("%v %v", limited, err)
	}
	if !near(f[0], light.RGB{R: 0.5, G: 0.51, B: 0.49}) || f[1] != grey(0.5) {
		t.Errorf("NaN/out of range: %+v", f)
	}
	// The episode reports the request clamped, NaN as 0, and that it was invalid.
	if e, _ := g.Open(0); !e.Invalid || e.Requested != (light.RGB{G: 1}) || math.Abs(e.Gap-0.5) > 1e-12 {
		t.Errorf("episode %+v", e)
	}
	// Back in time: nothing moves.
	f = []light.RGB{white, dark}
	if limited, _ := g.Limit(0, f); !limited || !near(f[0], light.RGB{R: 0.5, G: 0.51, B: 0.49}) || f[1] != grey(0.5) {
		t.Errorf("backwards: %+v", f)
	}
	// and the next frame moves from the latest time, not the earlier one.
	f = []light.RGB{white, grey(0.5)}
	g.Limit(2*frame50, f)
	if !near(f[0], light.RGB{R: 0.51, G: 0.52, B: 0.5}) {
		t.Errorf("after backwards: %+v", f[0])
	}
}

// After Reset (the safe state's warm frame, shown at 10 s by another path)
// the next frame moves from that frame, by the time since it.
func TestResetStartsFromTheFrameShownByAnotherPath(t *testing.T) {
	g := newGuard(t, 1)
	limit1(t, g, 0, dark)
	warm := light.RGB{R: 0.2, G: 0.08, B: 0.01}
	if err := g.Reset(10*time.Second, []light.RGB{warm}); err != nil {
		t.Fatal(err)
	}
	got, limited := limit1(t, g, 10*time.Second+frame50, white)
	if !limited || !near(got, light.RGB{R: 0.21, G: 0.09, B: 0.02}) {
		t.Errorf("%+v, want warm + 0.01", got)
	}
}
