package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
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
