package controller

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/sensors/vitals"
)

// Identify's refusals, beside the Refuse* reasons it shares with
// merge/start (busy, latched, starting, bad_request).
const (
	// RefuseOccupied: the sensor does not see an empty pod (someone's
	// finger on it, no judgement yet, or a sensor fault): a light is not
	// shown to a sleeper on the hub's word.
	RefuseOccupied = "occupied"
	// RefuseOutputsHeld: the outputs are in their safe state (a start
	// without evidence of safety yet, a merge just left, a latch): the hub
	// never lights them.
	RefuseOutputsHeld = "outputs_held"
	// RefuseTooSoon: the last identify ended less than IdentifyRest ago.
	RefuseTooSoon = "too_soon"
)

// Identify's light and timing.
const (
	// DefaultIdentify is how long Identify shows its light when the hub
	// gives no duration.
	DefaultIdentify = 10 * time.Second
	// IdentifyRest is how long after an identify ends the next one is
	// refused: a hub sending identify after identify cannot make the strip
	// alternate, at most one change of light every IdentifyRest plus the
	// shortest identify (1 s), far below any flash rate.
	IdentifyRest = 5 * time.Second
)

// IdentifyLight is the steady colour Identify shows on every LED: a cool
// blue, unlike the warm ambient light, at a brightness a technician sees
// in a lit room and that does not dazzle in a dark one.
var IdentifyLight = apa102.Color{R: 0, G: 20, B: 60}

// identifier is the identify in progress; its own mutex, taken after any
// other lock of the pod and never held across a call out of this file.
type identifier struct {
	mu    sync.Mutex
	until time.Time // zero: none in progress
	gen   uint64    // the gate's generation when it began
	ended time.Time // when the last one ended
	ends  uint64    // how many have ended
}

// Identify shows IdentifyLight, steady, on the whole strip for d (0 is
// DefaultIdentify; else hubcmd.MinIdentify..MaxIdentify, 1 s..2 min, the
// hub's duration_s, which the hub must give), so that a technician
// finds the pod the hub means; then the strip shows the ambient light
// again. The sleeper comes first: it is accepted only when the sensor sees
// no one (contact none, no sensor fault), no merge is under way, nothing
// is latched and the outputs are open (Identify never opens them: after a
// start an empty pod stays dark, since an absent reading is no evidence of
// safety). Otherwise it is a *RefusedError naming every condition that
// failed (occupied, busy, latched, starting, outputs_held, too_soon).
//
// An identify in progress is extended to now + d, without a new frame.
// The light is written through the gate, so a safe state (an abort, a
// panic, a merge/abort, the stop) darkens it at once, and ends the
// identify: it is never shown again afterwards. It also ends at once when
// someone lies in the pod or a merge starts (the session loop checks every
// sessionTick). The strip changes twice per identify (on, off), never
// flashes.
func (p *Pod) Identify(d time.Duration) error {
	if d == 0 {
		d = DefaultIdentify
	}
	if d < hubcmd.MinIdentify || d > hubcmd.MaxIdentify {
		return &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: fmt.Sprintf("duration %v: want %v..%v", d, hubcmd.MinIdentify, hubcmd.MaxIdentify)}
	}
	now := time.Now()
	gen := p.parts.Gate.Generation()
	reasons, details := p.emptyPodRefusals(now, func() string {
		detail := "the outputs are in their safe state"
		if h := p.holds(); len(h) > 0 {
			detail += " (" + strings.Join(h, ", ") + ")"
		}
		return detail
	})
	refuse := func(reason, detail string) {
		reasons = append(reasons, reason)
		details = append(details, detail)
	}

	id := &p.ident
	id.mu.Lock()
	if len(reasons) == 0 && !id.until.IsZero() && id.gen == gen {
		id.until = later(id.until, now.Add(d))
		id.mu.Unlock()
		return nil
	}
	if !id.ended.IsZero() && now.Sub(id.ended) < IdentifyRest {
		refuse(RefuseTooSoon, fmt.Sprintf("the last identify ended %v ago; wait %v", now.Sub(id.ended).Round(time.Millisecond), IdentifyRest))
	}
	if len(reasons) > 0 {
		id.mu.Unlock()
		return &RefusedError{Reasons: reasons, Detail: strings.Join(details, "; ")}
	}
	id.until, id.gen = now.Add(d), gen
	ends := id.ends
	id.mu.Unlock()

	if p.show != nil {
		// The show loop shows the identify light from its next frame,
		// changing to it as slowly as the light guard allows.
		p.log.Info("identify: showing the identify light", "for", d)
		return nil
	}
	pixels := make([]apa102.Color, p.cfg.LEDCount)
	for i := range pixels {
		pixels[i] = IdentifyLight
	}
	err := p.parts.Gate.Do(func() error { return p.parts.Strip.Write(pixels) })
	if err == nil {
		id.mu.Lock()
		endedMeanwhile := id.ends != ends
		id.mu.Unlock()
		if endedMeanwhile {
			// The session loop ended it between the check and the frame,
			// and showed the ambient light before this frame: again.
			p.light()
			return nil
		}
		p.log.Info("identify: showing the identify light", "for", d)
		return nil
	}
	p.endIdentify(time.Now(), "the light could not be shown")
	if errors.Is(err, actuators.ErrSafeState) || errors.Is(err, apa102.ErrHalted) {
		return &RefusedError{Reasons: []string{RefuseOutputsHeld}, Detail: "the outputs went to their safe state"}
	}
	return fmt.Errorf("controller: identify: %w", err)
}

// emptyPodRefusals are the reasons (and their details) not to show an
// empty pod's outputs to a technician (Identify, SelfTest): someone may
// lie in it (occupied), a merge is under way (busy), an abort is latched
// or the stored latch not read yet (latched, starting), or the outputs
// are in their safe state (outputs_held, with held's detail).
func (p *Pod) emptyPodRefusals(now time.Time, held func() string) (reasons, details []string) {
	refuse := func(reason, detail string) {
		reasons = append(reasons, reason)
		details = append(details, detail)
	}
	if why := p.identifyBlocked(now); why != "" {
		if p.cfg.Simulated {
			why += " (in sim, PODD_SIM_SCENARIO=sim/scenarios/sleeper-leaves.yaml gives a pod its sleeper has just left)"
		}
		refuse(RefuseOccupied, why)
	}
	p.sess.mu.Lock()
	if p.sess.inMerge() {
		refuse(RefuseBusy, fmt.Sprintf("in merge %s (%s)", p.sess.req.Session, p.sess.state))
	}
	p.sess.mu.Unlock()
	if l := p.wd.Status().Latched; l != nil {
		refuse(RefuseLatched, "an abort is latched: "+l.Rule)
	} else if !p.latch().known {
		refuse(RefuseStarting, "the stored latch has not been read yet")
	}
	if p.parts.Gate.Safe() {
		refuse(RefuseOutputsHeld, held())
	}
	return reasons, details
}

// identifyBlocked says why the sensor does not show an empty pod now, ""
// when it does.
func (p *Pod) identifyBlocked(now time.Time) string {
	r, ok := p.latest.Load()
	switch {
	case p.sensorFault.Load():
		return "a sensor is in fault: the pod may not be empty"
	case !ok || now.Sub(r.At) > p.cfg.Limits.StaleAfter:
		return "no recent reading of the sensor: the pod may not be empty"
	case r.Contact != vitals.ContactNone:
		return fmt.Sprintf("the sensor's contact is %s, not none", r.Contact)
	}
	return ""
}

// identifyStep ends the identify in progress when its time is up, a safe
// state was applied since it began, someone lies in the pod, a merge is
// under way or an abort is latched. The session loop calls it every
// sessionTick.
func (p *Pod) identifyStep(now time.Time) {
	id := &p.ident
	id.mu.Lock()
	until, gen := id.until, id.gen
	id.mu.Unlock()
	if until.IsZero() {
		return
	}
	p.sess.mu.Lock()
	inMerge := p.sess.inMerge()
	p.sess.mu.Unlock()
	why := ""
	switch {
	case p.parts.Gate.Generation() != gen || p.parts.Gate.Safe():
		why = "the outputs went to their safe state"
	case p.wd.Status().Latched != nil:
		why = "an abort is latched"
	case inMerge:
		why = "a merge started"
	case p.identifyBlocked(now) != "":
		why = "the pod may be occupied: " + p.identifyBlocked(now)
	case !now.Before(until):
		why = "done"
	default:
		return
	}
	p.endIdentify(now, why)
}

// endIdentify ends the identify in progress, if any, and shows the ambient
// light again through the gate (nothing while the gate is closed).
func (p *Pod) endIdentify(now time.Time, why string) {
	id := &p.ident
	id.mu.Lock()
	if id.until.IsZero() {
		id.mu.Unlock()
		return
	}
	id.until, id.ended = time.Time{}, now
	id.ends++
	id.mu.Unlock()
	p.log.Info("identify ended", "why", why)
	p.light()
}

// identifying reports whether an identify is in progress.
func (p *Pod) identifying() bool {
	p.ident.mu.Lock()
	defer p.ident.mu.Unlock()
	return !p.ident.until.IsZero()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
