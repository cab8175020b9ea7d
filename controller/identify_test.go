package controller

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/sim"
)

var ambient = sim.LED{R: 40, G: 18, B: 4, Brightness: 31}

// shows reports what the whole strip shows: one LED value when every LED
// shows it, false otherwise.
func shows(r *rig) (sim.LED, bool) {
	leds := r.hw.Strip.Shown()
	for _, l := range leds[1:] {
		if l != leds[0] {
			return sim.LED{}, false
		}
	}
	return leds[0], true
}

func identifyLED() sim.LED {
	return sim.LED{R: IdentifyLight.R, G: IdentifyLight.G, B: IdentifyLight.B, Brightness: 31}
}

// stripChange is a change of what the strip shows, and when (since the
// sampling began).
type stripChange struct {
	at  time.Duration
	led sim.LED
}

// watchStrip samples the strip every 10 ms for d and returns every change.
func watchStrip(t *testing.T, r *rig, d time.Duration) []stripChange {
	t.Helper()
	begin := time.Now()
	var out []stripChange
	last, ok := shows(r)
	if !ok {
		t.Fatalf("the strip shows different LEDs: %v", r.hw.Strip.Shown())
	}
	for time.Since(begin) < d {
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		l, ok := shows(r)
		if !ok {
			t.Fatalf("the strip shows different LEDs at %v: %v", time.Since(begin), r.hw.Strip.Shown())
		}
		if l != last {
			out = append(out, stripChange{time.Since(begin), l})
			last = l
		}
	}
	return out
}

// leftAt is a sleeper who gets out of the pod a minute in: the outputs
// opened while they lay in it, and stay open.
const leftAt1m = calm + "timeline:\n  - {at: 1m, occupied: false}\n"

// An empty pod whose outputs are open shows the identify light, steady,
// for the duration asked, then the ambient light again: two changes and
// two frames, no flashing.
func TestIdentifyShowsASteadyLightForItsDurationThenTheAmbientLight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, leftAt1m, &memStore{})
		defer r.stop()
		until(start, 2*time.Minute)
		if l, _ := shows(r); l != ambient || r.pod.Status().Vitals.Contact != "none" {
			t.Fatalf("at 2 min: strip %v, contact %s; want the ambient light, none", l, r.pod.Status().Vitals.Contact)
		}
		frames := r.hw.Strip.Frames()
		if err := r.pod.Identify(7 * time.Second); err != nil {
			t.Fatalf("Identify: %v", err)
		}
		synctest.Wait()
		if l, _ := shows(r); l != identifyLED() || !r.pod.identifying() {
			t.Fatalf("strip %v right after Identify, want %v", l, identifyLED())
		}
		changes := watchStrip(t, r, 10*time.Second)
		if len(changes) != 1 || changes[0].led != ambient || changes[0].at < 7*time.Second-10*time.Millisecond || changes[0].at > 7*time.Second+sessionTick {
			t.Fatalf("changes after Identify %+v; want one, back to the ambient light, at 7 s (within a session tick)", changes)
		}
		if got := r.hw.Strip.Frames() - frames; got != 2 {
			t.Fatalf("%d frames for one identify, want 2 (on, off)", got)
		}
		if r.pod.identifying() {
			t.Fatal("still identifying")
		}
	})
}

// Identify with no duration lasts DefaultIdentify; one asked during another
// extends it without a new frame; one asked within IdentifyRest of the end
// is refused too_soon, so the strip cannot be made to alternate.
func TestIdentifyExtendsAndRestsBetween(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, leftAt1m, &memStore{})
		defer r.stop()
		until(start, 2*time.Minute)
		frames := r.hw.Strip.Frames()
		if err := r.pod.Identify(0); err != nil {
			t.Fatal(err)
		}
		until(start, 2*time.Minute+8*time.Second)
		if err := r.pod.Identify(5 * time.Second); err != nil {
			t.Fatalf("Identify during an identify: %v", err)
		}
		changes := watchStrip(t, r, 8*time.Second) // to 2 min 16 s
		if len(changes) != 1 || changes[0].led != ambient || changes[0].at < 5*time.Second-10*time.Millisecond || changes[0].at > 5*time.Second+sessionTick {
			t.Fatalf("changes %+v; want one, at 13 s after the first identify (the second's end)", changes)
		}
		if got := r.hw.Strip.Frames() - frames; got != 2 {
			t.Fatalf("%d frames, want 2", got)
		}
		if got := refusal(t, r.pod.Identify(time.Second)); !slices.Equal(got, []string{RefuseTooSoon}) {
			t.Fatalf("Identify 3 s after the last ended: refused %v, want too_soon", got)
		}
		until(start, 2*time.Minute+19*time.Second) // 6 s after the end
		if err := r.pod.Identify(time.Second); err != nil {
			t.Fatalf("Identify after the rest: %v", err)
		}
		for _, d := range []time.Duration{time.Second - 1, 2*time.Minute + time.Second} {
			if got := refusal(t, r.pod.Identify(d)); !slices.Equal(got, []string{RefuseBadRequest}) {
				t.Fatalf("Identify(%v) refused %v, want bad_request", d, got)
			}
		}
	})
}

// The sleeper first: with someone in the pod, during a merge, and on a pod
// that has not opened its outputs since its start (no evidence of safety:
// an empty pod after a start), identify is refused, naming each reason,
// and the strip does not change.
func TestIdentifyIsRefusedWithASleeperInAMergeOrWithTheOutputsHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm)
		defer r.stop()
		frames := r.hw.Strip.Frames()
		if got := refusal(t, r.pod.Identify(10*time.Second)); !slices.Equal(got, []string{RefuseOccupied, RefuseBusy}) {
			t.Fatalf("Identify during a merge: refused %v, want occupied, busy", got)
		}
		if err := r.pod.AbortMerge("", "test"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := refusal(t, r.pod.Identify(10*time.Second)); !slices.Equal(got, []string{RefuseOccupied, RefuseOutputsHeld}) {
			t.Fatalf("Identify with a sleeper, just after a merge/abort: refused %v, want occupied, outputs_held", got)
		}
		until(start, 3*time.Minute)
		err := r.pod.Identify(10 * time.Second)
		if got := refusal(t, err); !slices.Equal(got, []string{RefuseOccupied}) {
			t.Fatalf("Identify with a sleeper: refused %v, want occupied", got)
		}
		// A simulated pod names the scenario that empties it.
		if !strings.Contains(err.Error(), "sim/scenarios/sleeper-leaves.yaml") {
			t.Fatalf("Identify with a sleeper in sim: %v, want the sleeper-leaves scenario named", err)
		}
		// The safe state's dark frame, then the ambient light again.
		if l, _ := shows(r); r.pod.identifying() || r.hw.Strip.Frames() != frames+2 || l != ambient {
			t.Fatalf("identifying %v, %d frames since the merge, strip %v; want false, 2, the ambient light", r.pod.identifying(), r.hw.Strip.Frames()-frames, l)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+"occupied: false\n", &memStore{})
		defer r.stop()
		until(start, 5*time.Minute)
		if got := refusal(t, r.pod.Identify(10*time.Second)); !slices.Equal(got, []string{RefuseOutputsHeld}) {
			t.Fatalf("Identify on a pod empty since its start: refused %v, want outputs_held", got)
		}
		if !r.hw.Strip.Dark() {
			t.Fatal("the strip lit")
		}
	})
}

// A safe state during an identify (the panic button here; an abort takes
// the same path) darkens the strip at once, and the identify light never
// comes back: when the sleeper lies down again, within the minute the
// identify was asked for, the outputs reopen with the ambient light.
func TestASafeStateDuringIdentifyWinsAndIdentifyNeverComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, leftAt1m+"  - {at: 2m10s, occupied: true}\n", &memStore{})
		defer r.stop()
		until(start, 2*time.Minute)
		if err := r.pod.Identify(time.Minute); err != nil {
			t.Fatal(err)
		}
		until(start, 2*time.Minute+3*time.Second)
		r.pod.Panic("test")
		if !r.hw.Strip.Dark() {
			t.Fatalf("strip %v right after the panic, want dark", r.hw.Strip.Shown())
		}
		changes := watchStrip(t, r, 70*time.Second)
		for _, c := range changes {
			if c.led == identifyLED() {
				t.Fatalf("the identify light came back %v after the panic: %+v", c.at, changes)
			}
		}
		if len(changes) == 0 || changes[len(changes)-1].led != ambient {
			t.Fatalf("changes after the panic %+v; want the outputs back with the ambient light", changes)
		}
		if r.pod.identifying() {
			t.Fatal("still identifying after the safe state")
		}
		if got := refusal(t, r.pod.Identify(time.Second)); len(got) == 0 {
			t.Fatal("no refusal")
		}
	})
}

// Someone lying down in the pod ends an identify at once (as soon as the
// sensor sees them), back to the ambient light.
func TestIdentifyEndsWhenSomeoneLiesDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+"timeline:\n  - {at: 1m, occupied: false}\n  - {at: 2m5s, occupied: true}\n", &memStore{})
		defer r.stop()
		until(start, 2*time.Minute)
		if err := r.pod.Identify(time.Minute); err != nil {
			t.Fatal(err)
		}
		changes := watchStrip(t, r, 15*time.Second)
		if len(changes) != 1 || changes[0].led != ambient || changes[0].at < 5*time.Second || changes[0].at > 8*time.Second {
			t.Fatalf("changes %+v; want one, to the ambient light, within 3 s of 5 s", changes)
		}
		if c := r.pod.Status().Vitals.Contact; c != "skin" || r.pod.identifying() {
			t.Fatalf("contact %s, identifying %v", c, r.pod.identifying())
		}
	})
}

// The hub's identify command: its duration_s is the identify's duration,
// the reply is ok, and a refusal's reply names the reasons.
func TestTheHubsIdentifyCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, leftAt1m+"  - {at: 3m, occupied: true}\n", false)
		defer r.stop()
		until(start, 2*time.Minute)
		tok := h.sign(h.trusted, hubcmd.Identify{Duration: 3 * time.Second})
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.JTI != tok.ID || !rep.OK || rep.Error != "" {
			t.Fatalf("reply %+v, want ok", rep)
		}
		if l, _ := shows(r); l != identifyLED() {
			t.Fatalf("strip %v, want the identify light", l)
		}
		until(start, 2*time.Minute+3*time.Second+sessionTick)
		if l, _ := shows(r); l != ambient {
			t.Fatalf("strip %v 3 s later, want the ambient light", l)
		}
		until(start, 3*time.Minute+5*time.Second)
		tok = h.sign(h.trusted, hubcmd.Identify{Duration: 3 * time.Second})
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.JTI != tok.ID || rep.OK || !strings.HasPrefix(rep.Error, "occupied: ") {
			t.Fatalf("reply with a sleeper in the pod %+v, want refused occupied", rep)
		}
	})
}
