package dreamscape

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Bound is a program bound to a pod's light zones and haptic places, ready
// to render. It is immutable: Render may be called from any goroutine.
type Bound struct {
	prog     *Program
	zones    []string
	places   []string
	duration time.Duration
	loop     bool
	lights   []boundLights // one per pod zone, in the pod's order; empty: dark
	haptics  []boundHaptics
}

// boundLights is one zone's keyframes compiled for rendering: times, and
// each keyframe's colour already scaled by its level.
type boundLights struct {
	at    []time.Duration
	color []light.RGB
	ease  []Ease
}

type boundHaptics struct {
	at        []time.Duration
	intensity []float64
	pattern   []Pattern
	period    []float64 // seconds; 0 for Off and Steady
	ease      []Ease
}

// Bind checks p against the pod's light zones and haptic places and
// compiles it for rendering. Each zone and place the program names must be
// one of the pod's (an error names it and lists the pod's); a zone or place
// of the pod that the program does not name stays dark (black, intensity
// 0). The Bound renders the pod's zones and places in the order given
// here. p is validated again (Validate), so a Program changed in code
// cannot reach the outputs unchecked; it is copied, not kept.
func (p *Program) Bind(zones, places []string) (*Bound, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var errs []error
	for _, set := range []struct {
		what  string
		names []string
	}{{"zones", zones}, {"places", places}} {
		for i, n := range set.names {
			if slices.Index(set.names, n) != i {
				errs = append(errs, fmt.Errorf("%s: the pod's %s name %q twice", p.Source, set.what, n))
			}
		}
	}
	b := &Bound{
		prog:     p.clone(),
		zones:    slices.Clone(zones),
		places:   slices.Clone(places),
		duration: p.Duration,
		loop:     p.Loop,
		lights:   make([]boundLights, len(zones)),
		haptics:  make([]boundHaptics, len(places)),
	}
	for _, t := range p.Lights {
		i := slices.Index(zones, t.Zone)
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: lights.%s: the pod has no light zone %q (%s)", p.Source, t.Zone, t.Zone, podNames("zones", zones)))
			continue
		}
		bl := boundLights{at: make([]time.Duration, len(t.Keys)), color: make([]light.RGB, len(t.Keys)), ease: make([]Ease, len(t.Keys))}
		for j, k := range t.Keys {
			bl.at[j], bl.color[j], bl.ease[j] = k.At, k.Color.Scale(k.Level).Clamp(), k.Ease
		}
		b.lights[i] = bl
	}
	for _, t := range p.Haptics {
		i := slices.Index(places, t.Place)
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: haptics.%s: the pod has no haptic place %q (%s)", p.Source, t.Place, t.Place, podNames("places", places)))
			continue
		}
		n := len(t.Keys)
		bh := boundHaptics{at: make([]time.Duration, n), intensity: make([]float64, n), pattern: make([]Pattern, n), period: make([]float64, n), ease: make([]Ease, n)}
		for j, k := range t.Keys {
			bh.at[j], bh.intensity[j], bh.pattern[j], bh.ease[j] = k.At, k.Intensity, k.Pattern, k.Ease
			if k.Pattern.periodic() {
				bh.period[j] = k.Period.Seconds()
			}
		}
		b.haptics[i] = bh
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

func podNames(what string, names []string) string {
	if len(names) == 0 {
		return "the pod has no " + what
	}
	return "its " + what + ": " + strings.Join(names, ", ")
}

// clone is a deep copy of p.
func (p *Program) clone() *Program {
	q := *p
	q.Lights = slices.Clone(p.Lights)
	for i := range q.Lights {
		q.Lights[i].Keys = slices.Clone(q.Lights[i].Keys)
	}
	q.Haptics = slices.Clone(p.Haptics)
	for i := range q.Haptics {
		q.Haptics[i].Keys = slices.Clone(q.Haptics[i].Keys)
	}
	return &q
}

// Program is a copy of the program bound; changing it changes nothing here.
func (b *Bound) Program() *Program { return b.prog.clone() }

// Name is the bound program's name.
func (b *Bound) Name() string { return b.prog.Name }

// Duration is the bound program's duration.
func (b *Bound) Duration() time.Duration { return b.duration }

// Loop reports whether the bound program loops.
func (b *Bound) Loop() bool { return b.loop }

// Zones is the pod's light zones in the order Render fills them.
func (b *Bound) Zones() []string { return slices.Clone(b.zones) }

// Places is the pod's haptic places in the order Render fills them.
func (b *Bound) Places() []string { return slices.Clone(b.places) }
