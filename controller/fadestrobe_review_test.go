package controller

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/sim"
)

// brightBurstAtStart is a 60 s program that flickers between white and
// a 0.6 grey ten times a second for its first second, then holds the
// grey.
func brightBurstAtStart() *dreamscape.Program {
	p := &dreamscape.Program{Source: "test", Name: "brightburst", Duration: time.Minute, Loop: true}
	tr := dreamscape.LightTrack{Zone: "canopy"}
	for i := range 21 {
		k := dreamscape.LightKey{At: time.Duration(i) * 50 * time.Millisecond, Hex: "#999999", Color: light.RGB{R: 0.6, G: 0.6, B: 0.6}, Level: 1, Ease: dreamscape.Step}
		if i%2 == 0 && i < 20 {
			k.Hex, k.Color = "#ffffff", light.RGB{R: 1, G: 1, B: 1}
		}
		tr.Keys = append(tr.Keys, k)
	}
	p.Lights = []dreamscape.LightTrack{tr}
	return p
}

// DEFECT: during the fade from the safe light (fadeQuiet) a light
// episode is announced early only when the program's request crosses
// what is shown (fadeTrack). A strobe whose two levels both lie on
// the same side of the shown light, here white and 0.6 grey ten times a
// second over a dim safe light, never crosses it while the guard ramps
// up, so the guard limits every frame of it and the episode ends within
// the quiet time: no guard event, no log line, although the program asked
// for a 10 Hz flicker of 40 % of full scale, which no fade from the safe
// light explains. Correct: judge the request itself (its direction of
// change reversing, as a strobe's does, while a fade's target holds or
// moves one way), not only its side of the shown light.
func TestReviewABrightStrobeRightAfterTheOutputsOpenIsAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			return showOn(t, brightBurstAtStart(), apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
		}})
		defer r.stop()
		r.pod.mu.Lock()
		r.pod.heldUntil = start.Add(2 * time.Minute)
		r.pod.mu.Unlock()
		until(start, 2*time.Minute-100*time.Millisecond)
		if !r.pod.parts.Gate.Safe() {
			t.Fatal("the outputs opened before 2 min")
		}
		until(start, 2*time.Minute+500*time.Millisecond)
		st := r.pod.Status()
		if r.pod.parts.Gate.Safe() || st.Show == nil || !st.Show.Playing || !slices.Equal(st.Show.Limited, []string{"canopy"}) {
			t.Fatalf("show %+v: want the burst playing, canopy limited, just after the outputs opened", st.Show)
		}
		until(start, 2*time.Minute+10*time.Second)
		if st := r.pod.Status(); len(st.Show.Limited) != 0 {
			t.Fatalf("show %+v: want nothing limited once the burst is over", st.Show)
		}
		if guards := r.up.Events("guard"); len(guards) != 1 || guards[0].Fields["zone"] != "canopy" {
			t.Fatalf("guard events %+v: want one for the flicker the guard limited right after the outputs opened", guards)
		}
	})
}
