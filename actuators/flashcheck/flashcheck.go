package flashcheck

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Limits of the rule (see the package doc).
const (
	// Change is the smallest excursion of luminance that is a change.
	Change = 0.1
	// DarkerBelow is the luminance the darker end of a general change is below.
	DarkerBelow = 0.8
	// MaxFlashes is the most flashes, general or red, allowed in any Window.
	MaxFlashes = 3
	// MaxChanges is the most changes of any brightness allowed in any Window:
	// 6 would be a 3 Hz modulation.
	MaxChanges = 5
	// Window is the length of the sliding window flashes are counted in.
	Window = time.Second
	// MinHz and MaxHz bound the band in which periodic modulation is forbidden.
	MinHz, MaxHz = 3.0, 60.0
	// MaxDepth is the peak-to-peak luminance depth from which a periodic
	// modulation in MinHz..MaxHz breaks the rule.
	MaxDepth = 0.1
)

// Sample is what an output showed from T until the next sample: T from the
// stream's start, C in linear light per channel, 0..1.
type Sample struct {
	T time.Duration
	C light.RGB
}

// Count is the worst 1 s window of a count: N events (changes) making
// Flashes flashes, in the window starting At (the time of its first change).
type Count struct {
	Changes int
	Flashes int
	At      time.Duration
}

// Modulation is the strongest periodic modulation found in MinHz..MaxHz:
// Hz its frequency, Depth its peak-to-peak luminance (0..1), At the start of
// the window it was strongest in. Judged is false for a stream shorter than
// 1 s, whose modulation is not measured.
type Modulation struct {
	Hz, Depth float64
	At        time.Duration
	Judged    bool
}

// Report is the judgement of one stream.
type Report struct {
	Samples int
	Span    time.Duration // last sample's time minus the first's

	General Count // general flashes (darker end below 0.8)
	Red     Count // red flashes (brighter end saturated red)
	Rate    Count // every change, whatever its brightness; Flashes unused
	Mod     Modulation

	// SampleRateHz is the median number of samples a second; MaxVisibleHz
	// half of it, the highest modulation a stream of measurements (rather
	// than of every frame) can show; TooSlow says that is below MaxHz.
	SampleRateHz, MaxVisibleHz float64
	TooSlow                    bool
}

// Violation is one part of the rule a stream breaks.
type Violation struct {
	Rule  string        // "general_flashes", "red_flashes", "change_rate" or "modulation"
	At    time.Duration // start of the window
	Value float64       // flashes, changes, or depth (0..1)
	Limit float64       // the most allowed (MaxFlashes, MaxChanges) or the depth that breaks it (MaxDepth)
	Hz    float64       // frequency of a modulation, else 0
}

func (v Violation) String() string {
	if v.Rule == "modulation" {
		return fmt.Sprintf("%s at %v: depth %.3f at %.2f Hz (must stay below %.2f)", v.Rule, v.At, v.Value, v.Hz, v.Limit)
	}
	return fmt.Sprintf("%s at %v: %g in 1 s (limit %g)", v.Rule, v.At, v.Value, v.Limit)
}

// Violations lists the parts of the rule the stream breaks, empty if none.
func (r Report) Violations() []Violation {
	var vs []Violation
	if r.General.Flashes > MaxFlashes {
		vs = append(vs, Violation{Rule: "general_flashes", At: r.General.At, Value: float64(r.General.Flashes), Limit: MaxFlashes})
	}
	if r.Red.Flashes > MaxFlashes {
		vs = append(vs, Violation{Rule: "red_flashes", At: r.Red.At, Value: float64(r.Red.Flashes), Limit: MaxFlashes})
	}
	if r.Rate.Changes > MaxChanges {
		vs = append(vs, Violation{Rule: "change_rate", At: r.Rate.At, Value: float64(r.Rate.Changes), Limit: MaxChanges})
	}
	if r.Mod.Judged && r.Mod.Depth >= MaxDepth {
		vs = append(vs, Violation{Rule: "modulation", At: r.Mod.At, Value: r.Mod.Depth, Limit: MaxDepth, Hz: r.Mod.Hz})
	}
	return vs
}

// Check judges one stream. The samples' times must be strictly increasing
// and not negative, and every channel within 0..1 (not NaN); otherwise the
// error names the first bad sample and there is no report. An empty stream
// is an error.
func Check(samples []Sample) (Report, error) {
	if err := validate(samples); err != nil {
		return Report{}, err
	}
	r := Report{Samples: len(samples), Span: samples[len(samples)-1].T - samples[0].T}
	cs := changes(samples)
	var gen, red, all []time.Duration
	for _, c := range cs {
		all = append(all, c.at)
		if c.lo < DarkerBelow {
			gen = append(gen, c.at)
		}
		if c.red {
			red = append(red, c.at)
		}
	}
	r.General = worst(gen)
	r.Red = worst(red)
	r.Rate = worst(all)
	r.Rate.Flashes = 0
	r.Mod = modulation(samples)
	r.SampleRateHz = medianRate(samples)
	r.MaxVisibleHz = r.SampleRateHz / 2
	r.TooSlow = r.MaxVisibleHz < MaxHz
	return r, nil
}

func validate(samples []Sample) error {
	if len(samples) == 0 {
		return fmt.Errorf("flashcheck: no samples")
	}
	for i, s := range samples {
		if s.T < 0 {
			return fmt.Errorf("flashcheck: sample %d: time %v is negative", i, s.T)
		}
		if i > 0 && s.T <= samples[i-1].T {
			return fmt.Errorf("flashcheck: sample %d: time %v is not after sample %d's %v", i, s.T, i-1, samples[i-1].T)
		}
		for _, ch := range [...]struct {
			name string
			v    float64
		}{{"R", s.C.R}, {"G", s.C.G}, {"B", s.C.B}} {
			if !(ch.v >= 0 && ch.v <= 1) {
				return fmt.Errorf("flashcheck: sample %d at %v: channel %s = %v, want 0..1", i, s.T, ch.name, ch.v)
			}
		}
	}
	return nil
}

// worst is the 1 s window [t, t+Window) holding the most of the sorted
// times ts, t being one of them.
func worst(ts []time.Duration) Count {
	var w Count
	j := 0
	for i := range ts {
		for j < len(ts) && ts[j] < ts[i]+Window {
			j++
		}
		if n := j - i; n > w.Changes {
			w = Count{Changes: n, Flashes: (n + 1) / 2, At: ts[i]}
		}
	}
	return w
}

func medianRate(samples []Sample) float64 {
	if len(samples) < 2 {
		return 0
	}
	d := make([]time.Duration, len(samples)-1)
	for i := 1; i < len(samples); i++ {
		d[i-1] = samples[i].T - samples[i-1].T
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	m := d[len(d)/2]
	return float64(time.Second) / float64(m)
}

// isFinite says v is neither NaN nor infinite.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
