package controller

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
)

// What a self-test exercises.
const (
	SelfTestLights  = "lights"
	SelfTestHaptics = "haptics"
)

// The self-test's sequences: each light zone in turn rises to a dim white
// over selfTestFade, holds it for selfTestHold and falls back over
// selfTestFade, so that a technician sees which light is which zone; each
// haptic place in turn runs its motor at selfTestIntensity for
// selfTestHold, with a rest of selfTestRest between places.
const (
	selfTestLevel     = 0.2
	selfTestFade      = time.Second
	selfTestHold      = time.Second
	selfTestRest      = time.Second
	selfTestIntensity = 0.5 // gpioout.OnAt: a motor on a GPIO line runs from half its drive
)

// SelfTest is a self-test in progress, as SelfTest reports it.
type SelfTest struct {
	What  string        `json:"what"`
	Order []string      `json:"order"` // the zones or places, in the order they play
	Takes time.Duration `json:"takes_ns"`
}

// SelfTestOutcome is how a self-test of the lights or the haptics went,
// as far as the pod can tell: whether each output's device took every
// frame of the test. Whether the light shone or the motor ran is for the
// technician who watched.
type SelfTestOutcome struct {
	What    string    `json:"what"`
	Started time.Time `json:"started"`
	// Ended is when it ended, zero while it runs; Why why it ended:
	// "done", or what cut it short (a safe state, someone lying down).
	Ended time.Time `json:"ended,omitzero"`
	Why   string    `json:"why,omitempty"`
	// Frames is how many frames of the test the show wrote to the outputs
	// (with or without an error).
	Frames int `json:"frames"`
	// Outputs are the zones or places, in the order they play.
	Outputs []OutputOutcome `json:"outputs"`
}

// OutputOutcome is one output's part of a self-test: Error is the first
// error its device gave during the test, "" when it took every frame.
type OutputOutcome struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// Failed lists the outputs whose device gave an error.
func (o *SelfTestOutcome) Failed() []string {
	var out []string
	for _, x := range o.Outputs {
		if x.Error != "" {
			out = append(out, x.Name)
		}
	}
	return out
}

// selfTest is the self-test the show plays, if any; its own mutex, taken
// after any other lock of the pod and never held across a call out of
// this file.
type selfTest struct {
	mu    sync.Mutex
	what  string
	prog  *dreamscape.Bound
	from  time.Time // when it began
	until time.Time // when it ends
	gen   uint64    // the gate's generation when it began
	// outcome is the running or the last self-test's outcome; index maps
	// each zone (lights) or place (haptics), in frame order, to its
	// output in outcome.Outputs, -1 for none (the unzoned LEDs).
	outcome *SelfTestOutcome
	index   []int
}

// zonesUnzoned is zones.Unzoned under a name the parameter zones of
// selfTestProgram does not shadow.
const zonesUnzoned = zones.Unzoned

// selfTestProgram is the sequence for what over the zones or the places.
func selfTestProgram(what string, zones, places []string) (*dreamscape.Program, time.Duration) {
	p := &dreamscape.Program{Source: "selftest", Name: "selftest-" + what}
	var at time.Duration
	if what == SelfTestLights {
		white := light.RGB{R: 1, G: 1, B: 1}
		for _, z := range zones {
			if z == zonesUnzoned {
				continue
			}
			p.Lights = append(p.Lights, dreamscape.LightTrack{Zone: z, Keys: []dreamscape.LightKey{
				{At: 0, Hex: "#000000", Level: 0, Ease: dreamscape.Step},
				{At: at, Hex: "#000000", Level: 0, Ease: dreamscape.Linear},
				{At: at + selfTestFade, Hex: "#ffffff", Color: white, Level: selfTestLevel, Ease: dreamscape.Step},
				{At: at + selfTestFade + selfTestHold, Hex: "#ffffff", Color: white, Level: selfTestLevel, Ease: dreamscape.Linear},
				{At: at + 2*selfTestFade + selfTestHold, Hex: "#000000", Level: 0, Ease: dreamscape.Step},
			}})
			at += 2*selfTestFade + selfTestHold
		}
	} else {
		for _, pl := range places {
			p.Haptics = append(p.Haptics, dreamscape.HapticTrack{Place: pl, Keys: []dreamscape.HapticKey{
				{At: 0, Pattern: dreamscape.Off, Ease: dreamscape.Step},
				{At: at + selfTestRest, Pattern: dreamscape.Steady, Intensity: selfTestIntensity, Ease: dreamscape.Step},
				{At: at + selfTestRest + selfTestHold, Pattern: dreamscape.Off, Ease: dreamscape.Step},
			}})
			at += selfTestRest + selfTestHold
		}
	}
	p.Duration = at + selfTestRest
	for i := range p.Lights {
		p.Lights[i].Keys = dedupe(p.Lights[i].Keys)
	}
	return p, p.Duration
}

// dedupe drops a keyframe at the same time as the one before it (the
// first zone's sequence starts at 0).
func dedupe(keys []dreamscape.LightKey) []dreamscape.LightKey {
	out := keys[:1]
	for _, k := range keys[1:] {
		if k.At == out[len(out)-1].At {
			out[len(out)-1] = k
			continue
		}
		out = append(out, k)
	}
	return out
}

// SelfTest plays a short, gentle sequence on the lights (each zone in
// turn: a dim white that fades in and out, 3 s a zone) or the haptics
// (each place in turn: its motor at half its full drive, the least at which a motor on a GPIO line runs, for 1 s; the pod is empty), through
// the same guards as any program, for a technician to see or feel each
// output work and tell which is which. It is accepted under the
// conditions of Identify (an empty pod, no merge, nothing latched, the
// outputs open); otherwise a *RefusedError names them (occupied, busy,
// latched, starting, outputs_held), and bad_request for another what or a
// pod without a show. Any safe state ends it at once; so does someone
// lying down. The dreamscape plays again afterwards.
func (p *Pod) SelfTest(what string) (SelfTest, error) {
	if p.show == nil {
		return SelfTest{}, &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: "this pod plays no show"}
	}
	names, places := p.show.s.Outputs.LightNames(), p.show.s.Outputs.PlaceNames()
	order := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == zones.Unzoned })
	switch what {
	case SelfTestLights:
	case SelfTestHaptics:
		order = places
		if len(places) == 0 {
			return SelfTest{}, &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: "this pod has no haptic place"}
		}
	default:
		return SelfTest{}, &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: fmt.Sprintf("self-test %q: want lights or haptics", what)}
	}
	now := time.Now()
	gen := p.parts.Gate.Generation()
	reasons, details := p.emptyPodRefusals(now, func() string {
		return "the outputs are in their safe state: they open after 10 s of valid vitals within every limit, so test a pod someone has just left (in sim: sim/scenarios/sleeper-leaves.yaml)"
	})
	st := &p.show.test
	st.mu.Lock()
	running, runningWhat := st.prog != nil && now.Before(st.until), st.what
	st.mu.Unlock()
	if running {
		reasons = append(reasons, RefuseBusy)
		details = append(details, fmt.Sprintf("the %s self-test is running; wait for it to end", runningWhat))
	}
	if p.identifying() {
		reasons = append(reasons, RefuseBusy)
		details = append(details, "identify shows on the outputs; wait for it to end")
	}
	if len(reasons) > 0 {
		return SelfTest{}, &RefusedError{Reasons: reasons, Detail: strings.Join(details, "; ")}
	}
	prog, d := selfTestProgram(what, names, places)
	b, err := prog.Bind(names, places)
	if err != nil {
		return SelfTest{}, fmt.Errorf("controller: self-test: %w", err)
	}
	out := &SelfTestOutcome{What: what, Started: now}
	frameNames := names
	if what == SelfTestHaptics {
		frameNames = places
	}
	index := make([]int, len(frameNames))
	for i, n := range frameNames {
		index[i] = slices.Index(order, n)
	}
	for _, n := range order {
		out.Outputs = append(out.Outputs, OutputOutcome{Name: n})
	}
	st.mu.Lock()
	st.what, st.prog, st.from, st.until, st.gen = what, b, now, now.Add(d), gen
	st.outcome, st.index = out, index
	st.mu.Unlock()
	p.log.Info("self-test", "what", what, "order", strings.Join(order, ", "), "takes", d)
	return SelfTest{What: what, Order: order, Takes: d}, nil
}

// testFrame renders the self-test in progress into lights and haptics
// (the haptics test into haptics alone: the lights play on) and reports
// whether one is; it ends the test when its time is up, a safe
// state was applied since it began, or the pod may be occupied.
func (sh *show) testFrame(lights []light.RGB, haptics []float64) bool {
	st := &sh.test
	st.mu.Lock()
	what, prog, from, until, gen := st.what, st.prog, st.from, st.until, st.gen
	st.mu.Unlock()
	if prog == nil {
		return false
	}
	now := time.Now()
	why := ""
	switch {
	case !now.Before(until):
		why = "done"
	case sh.p.parts.Gate.Generation() != gen || sh.p.parts.Gate.Safe():
		why = "the outputs went to their safe state"
	case sh.p.identifyBlocked(now) != "":
		why = "the pod may be occupied: " + sh.p.identifyBlocked(now)
	case sh.p.identifying():
		why = "identify took the outputs"
	}
	if why != "" {
		st.mu.Lock()
		if st.prog == prog {
			st.prog = nil
			st.outcome.Ended, st.outcome.Why = now, why
		}
		st.mu.Unlock()
		sh.p.log.Info("self-test ended", "why", why)
		return false
	}
	if what == SelfTestHaptics {
		lights = sh.scratch[:len(lights)]
	}
	prog.Render(now.Sub(from), lights, haptics)
	return true
}

// recordTest notes a frame of the self-test written to the outputs: each
// output's first error (the zones' or the places' of lights and places,
// zones.Outputs.LastErrors), and the frame.
//
// A frame written as the safety core closed the gate is not counted: its
// errors (a driver halted under the write) are the safe state's, not the
// devices', and the test ends at the next frame. A place whose driver
// reports a fault (motorFaults holds its motor still) has that fault as
// its error.
func (sh *show) recordTest(lights, places []error) {
	g := sh.p.parts.Gate
	gen, safe := g.Generation(), g.Safe()
	st := &sh.test
	st.mu.Lock()
	defer st.mu.Unlock()
	o := st.outcome
	if st.prog == nil || o == nil || safe || gen != st.gen {
		return
	}
	note := func(i int, e string) {
		if i < len(st.index) && st.index[i] >= 0 && o.Outputs[st.index[i]].Error == "" {
			o.Outputs[st.index[i]].Error = e
		}
	}
	errs := lights
	if o.What == SelfTestHaptics {
		errs = places
		for i, f := range sh.fault {
			if f != "" {
				note(i, "its driver reports "+f+": the pod holds its motor still")
			}
		}
	}
	for i, e := range errs {
		if e != nil {
			note(i, e.Error())
		}
	}
	o.Frames++
}

// lastTest is a copy of the running or the last self-test's outcome, nil
// before the first.
func (sh *show) lastTest() *SelfTestOutcome {
	st := &sh.test
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.outcome == nil {
		return nil
	}
	o := *st.outcome
	o.Outputs = slices.Clone(o.Outputs)
	return &o
}
