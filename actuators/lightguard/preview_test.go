package lightguard

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// render samples per-zone functions at 50 frames a second for d.
func render(d time.Duration, zones ...func(time.Duration) light.RGB) []Frame {
	var fs []Frame
	for t := time.Duration(0); t <= d; t += frame50 {
		f := Frame{T: t}
		for _, z := range zones {
			f.Zones = append(f.Zones, z(t))
		}
		fs = append(fs, f)
	}
	return fs
}

// A program starting bright (its first frame is where it starts, not dark)
// and fading slowly plays unchanged; one whose zone 1 jumps to white at 1 s
// is reported from 1 s, in zone 1 only, for the 2 s the ramp takes less
// one frame.
func TestPreviewReportsTheFramesTheGuardWouldLimit(t *testing.T) {
	fade := func(t time.Duration) light.RGB { return grey(1 - 0.2*t.Seconds()) }
	hits, err := Preview(Opts{}, render(3*time.Second, fade, fade))
	if err != nil || len(hits) != 0 {
		t.Fatalf("fade: %v %+v", err, hits)
	}
	jump := func(t time.Duration) light.RGB {
		if t < time.Second {
			return dark
		}
		return white
	}
	frames := render(4*time.Second, fade, jump)
	hits, err = Preview(Opts{}, frames)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 99 {
		t.Fatalf("%d hits, want 99 (1 s to 2.96 s)", len(hits))
	}
	for i, h := range hits {
		want := time.Second + time.Duration(i)*frame50
		if h.Zone != 1 || h.T != want || h.Requested != white {
			t.Fatalf("hit %d: %+v, want zone 1 at %v", i, h, want)
		}
	}
	if !near(hits[0].Shown, grey(0.01)) {
		t.Errorf("first hit shows %+v, want 0.01", hits[0].Shown)
	}
	if frames[50].Zones[1] != white {
		t.Error("Preview changed the program's frames")
	}
}

func TestPreviewRefusesBadPrograms(t *testing.T) {
	for _, c := range []struct {
		name   string
		frames []Frame
		want   string
	}{
		{"zones", []Frame{{0, []light.RGB{dark}}, {1, []light.RGB{dark, dark}}}, "frame 1 at 1ns: 2 zones, the first frame has 1"},
		{"time", []Frame{{5, []light.RGB{dark}}, {5, []light.RGB{dark}}}, "frame 1 at 5ns: not after frame 0 at 5ns"},
		{"colour", []Frame{{0, []light.RGB{dark}}, {1, []light.RGB{{R: 1.2}}}}, "frame 1 at 1ns, zone 0: colour"},
		{"no zones", []Frame{{0, nil}}, "0 zones"},
	} {
		if hits, err := Preview(Opts{}, c.frames); err == nil || hits != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v %v, want %q", c.name, hits, err, c.want)
		}
	}
	if hits, err := Preview(Opts{}, nil); hits != nil || err != nil {
		t.Errorf("empty program: %v %v", hits, err)
	}
}
