package lightguard

import (
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Zone 1 asks for white from 0 to 1 s, then dark. Frames 0..49 are limited
// (white asked, 0.00..0.49 shown); from frame 50 (1 s) dark is asked and the
// output comes down 0.01 a frame from 0.49: frames 50..97 are limited (0.48
// down to 0.01 shown), frame 98 reaches dark as asked. Its one episode runs
// from 0 to 1.94 s over 98 frames, ends 1 s later, is taken once, and zone 0
// (steady dark) has none.
func TestOneEpisodePerRunOfLimitedFrames(t *testing.T) {
	g := newGuard(t, 2)
	var eps []Episode
	for k := 0; k <= 200; k++ {
		now := time.Duration(k) * frame50
		req := dark
		if now < time.Second {
			req = white
		}
		f := []light.RGB{dark, req}
		if _, err := g.Limit(now, f); err != nil {
			t.Fatal(err)
		}
		eps = g.Ended(now, eps)
	}
	if len(eps) != 1 {
		t.Fatalf("episodes %+v, want 1", eps)
	}
	e := eps[0]
	if e.Zone != 1 || e.Since != 0 || e.Last != 97*frame50 || e.Frames != 98 {
		t.Errorf("episode %+v, want zone 1 from 0 to 1.94 s, 98 frames", e)
	}
	// The most limited frame is the first: white asked, dark shown.
	if e.Requested != white || e.Shown != dark || e.Gap != 1 {
		t.Errorf("worst frame %+v -> %+v (gap %v)", e.Requested, e.Shown, e.Gap)
	}
	if _, open := g.Open(1); open {
		t.Error("episode still open")
	}
}

// Until 1 s has passed since the last limited frame the episode is open and
// not ended; a limited frame after a gap of 1 s starts a new one. An ended
// episode not taken before the next ends absorbs it.
func TestEpisodesEndAfterAGapOfOneSecond(t *testing.T) {
	g := newGuard(t, 1)
	limit1(t, g, 0, white) // limited: shown dark
	if eps := g.Ended(999*time.Millisecond, nil); len(eps) != 0 {
		t.Fatalf("ended early: %+v", eps)
	}
	if e, open := g.Open(0); !open || e.Frames != 1 {
		t.Fatalf("open %v %+v", open, e)
	}
	// 1 s later (0.5 shown): a new episode; the first ends.
	if got, _ := limit1(t, g, time.Second, white); !near(got, grey(0.5)) {
		t.Fatalf("shown %+v", got)
	}
	e, _ := g.Open(0)
	if e.Since != time.Second || e.Frames != 1 {
		t.Errorf("new episode %+v", e)
	}
	if _, limited := limit1(t, g, 2500*time.Millisecond, dark); limited { // 0.75 allowed: dark reached
		t.Fatal("limited")
	}
	// 20 ms later white is limited: a third episode; the second ends, and
	// nothing took the first in between.
	limit1(t, g, 2520*time.Millisecond, white)
	eps := g.Ended(2520*time.Millisecond, nil)
	if len(eps) != 1 || eps[0].Since != 0 || eps[0].Last != time.Second || eps[0].Frames != 2 {
		t.Errorf("merged untaken episodes %+v, want one from 0 to 1 s of 2 frames", eps)
	}
	if eps := g.Ended(3520*time.Millisecond, nil); len(eps) != 1 || eps[0].Since != 2520*time.Millisecond {
		t.Errorf("third episode %+v", eps)
	}
	if _, open := g.Open(5); open {
		t.Error("zone 5 of a 1-zone guard is open")
	}
}
