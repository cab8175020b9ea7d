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

// A strobe the guard limits is announced once per episode. A safe state
// (an abort, a shutdown's seal undone, the settling after an
// acknowledgement) ends the show's frames through the guard; when the
// outputs open again and the strobe is still limited after the fade from
// the safe light (fadeQuiet), that is a new episode, to be announced then
// (README: "an episode still open once it is over is reported then").
// The show's note of the zones with an announced episode (lit) survives
// the safe state, as safeFrame never clears it, so the new episode reads
// as the old one still going on and the hub never hears of it: the
// strobe plays on after the reopening with no guard event.
func TestAStrobeStillLimitedAfterTheOutputsReopenIsAnnouncedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			return showOn(t, strobe(), apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
		}})
		defer r.stop()
		until(start, 30*time.Second)
		if guards := r.up.Events("guard"); len(guards) != 1 {
			t.Fatalf("guard events %+v before the safe state, want one", guards)
		}
		gate := r.pod.parts.Gate
		r.pod.mu.Lock()
		r.pod.heldUntil = time.Now().Add(3 * time.Second)
		r.pod.mu.Unlock()
		if err := gate.SafeState(); err != nil {
			t.Fatal(err)
		}
		// Held for 3 s (as after a merge is left), then the pod reopens the
		// outputs by itself; the show plays the safe light meanwhile.
		time.Sleep(time.Second)
		synctest.Wait()
		if st := r.pod.Status(); st.Show == nil || st.Show.Playing || !gate.Safe() {
			t.Fatalf("show %+v: want the safe light while the outputs are held", st.Show)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if gate.Safe() {
			t.Fatalf("the outputs stay closed: %v", r.pod.holds())
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st := r.pod.Status()
		if st.Show == nil || !st.Show.Playing || len(st.Show.Limited) != 1 {
			t.Fatalf("show %+v: want the strobe playing again, canopy limited", st.Show)
		}
		if guards := r.up.Events("guard"); len(guards) != 2 {
			t.Fatalf("guard events %+v: want a second one for the strobe limited after the outputs reopened", guards)
		}
	})
}

// burstAtStart is a 60 s program that strobes white and the colour low
// (hex) ten times a second for its first n frames of 50 ms, then holds
// low.
func burstAtStart(low light.RGB, hex string, n int) *dreamscape.Program {
	p := &dreamscape.Program{Source: "test", Name: "burst", Duration: time.Minute, Loop: true}
	tr := dreamscape.LightTrack{Zone: "canopy"}
	for i := range n + 1 {
		k := dreamscape.LightKey{At: time.Duration(i) * 50 * time.Millisecond, Hex: hex, Color: low, Level: 1, Ease: dreamscape.Step}
		if i%2 == 0 && i < n {
			k.Hex, k.Color = "#ffffff", light.RGB{R: 1, G: 1, B: 1}
		}
		tr.Keys = append(tr.Keys, k)
	}
	p.Lights = []dreamscape.LightTrack{tr}
	return p
}

// The fade from the safe light when the outputs open is no guard episode,
// but fadeQuiet silences every light episode that opens in the first
// 1/max_slew + EpisodeGap (3 s) after the outputs open and ends within
// them, whatever the program asks for: a strobe that plays as the
// outputs open (a 10 Hz white flash, the guard limiting every frame of
// it) must still be announced, to the hub and in the log. The program
// asks for no fade there: it reverses ten times a second, which no fade
// from the safe light explains. Two strobes: white and black for 1.5 s,
// which crosses the shown light; and white and 0.6 grey for 1 s over a
// dim safe light, which never crosses it while the guard ramps up, and
// is told by its request turning back (fadeTrack).
func TestAStrobeRightAfterTheOutputsOpenIsAnnounced(t *testing.T) {
	for _, c := range []struct {
		name string
		prog *dreamscape.Program
	}{
		{"white and black", burstAtStart(light.RGB{}, "#000000", 30)},
		{"white and grey", burstAtStart(light.RGB{R: 0.6, G: 0.6, B: 0.6}, "#999999", 20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
					return showOn(t, c.prog, apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
				}})
				defer r.stop()
				// The outputs stay held until the program's burst comes
				// round (2 min: the start of its third loop), then open.
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
					t.Fatalf("guard events %+v: want one for the strobe the guard limited right after the outputs opened", guards)
				}
			})
		})
	}
}
