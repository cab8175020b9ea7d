package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sleegation/podd/sim/playback"
)

// Vitals are the sleeper's physiology at one moment, in the units of the
// telemetry contract. A plain value with no map or slice, so that VitalsAt
// can return it for every sample without allocating.
type Vitals struct {
	HeartRateBPM      float64
	SpO2Pct           float64
	SkinConductanceUS float64
	BodyTempC         float64
	EEG               EEGBands // absolute band powers, µV²
}

// Targets are the values a set step moves vitals toward. A nil field leaves
// that vital as it is, including a ramp it is in the middle of.
type Targets struct {
	HeartRateBPM      *float64
	SpO2Pct           *float64
	SkinConductanceUS *float64
	BodyTempC         *float64
	EEG               EEGTargets
}

// Fault is a fault step's injection.
type Fault struct {
	Device string        // one of Devices()
	Kind   string        // one of FaultKindsOf(Device)
	For    time.Duration // 0: until the end of the scenario
	// Channels are the ADS1299 channels a lead_off fault takes off
	// (AllChannels when the step names none); 0 for other kinds.
	Channels Channels
}

// Step is one timeline entry. Exactly one of Set, Fault, Press, Occupied
// and Event is given.
type Step struct {
	At    time.Duration // since the daemon started
	Ramp  time.Duration // set steps only: time to reach the targets linearly; 0 is a step change
	Set   *Targets
	Fault *Fault
	Press string // one of PressKinds()
	// Occupied: the sleeper lies down in the pod (true) or leaves it
	// (false), with their finger on the pulse oximeter or off it.
	Occupied *bool
	Event    *Event
}

// Scenario is a validated script of the sleeper's night. Build it with Parse
// or Load: they also precompute the tables that let VitalsAt, FaultAt,
// LeadOffAt, EventsBetween and the recordings answer without allocating. Its fields are for reading;
// changing them after Parse does not change the answers.
type Scenario struct {
	Name     string
	Baseline Vitals
	// Occupied is whether someone lies in the pod at the start (the file's
	// top-level `occupied`, true when left out).
	Occupied bool
	Timeline []Step
	// Recordings are the file's `playback` entries, loaded by Parse or
	// Load; Playback returns each device's.
	Recordings []Recording

	plan *plan
}

// Load reads and parses the scenario file at path, and loads the recordings
// it plays, relative paths against the file's directory. A scenario without
// a name takes the file's base name without its extension, so that the
// daemon can report which script it runs.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	s, err := parse(data, filepath.Dir(path))
	if err != nil {
		// Each problem is its own line; each line names the file so that a
		// technician reading one line of the log knows where to look.
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			var errs []error
			for _, e := range joined.Unwrap() {
				errs = append(errs, fmt.Errorf("scenario %s: %w", path, e))
			}
			return nil, errors.Join(errs...)
		}
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// VitalsAt returns the vitals d after the daemon started. Before the first
// step they are the baseline; after the last they hold. It does not
// allocate: the simulated sensors call it for every sample.
func (s *Scenario) VitalsAt(d time.Duration) Vitals {
	p := s.mustPlan()
	var v [numVitals]float64
	for i := range v {
		v[i] = valueAt(p.baseline[i], p.vitals[i], d)
	}
	return vitalsFromArray(v)
}

// FaultAt returns the fault device has d after the start: "" when it is
// healthy, else one of FaultKindsOf(device). A fault step replaces any fault
// the device already has, so when the later fault's `for` runs out the
// device is healthy even if the earlier fault would have lasted longer. A
// fault is active from its `at` (included) to `at + for` (excluded). It does
// not allocate.
func (s *Scenario) FaultAt(device string, d time.Duration) string {
	sp, ok := s.faultAt(device, d)
	if !ok {
		return ""
	}
	return sp.kind
}

// LeadOffAt returns the ADS1299 channels whose electrodes are off d after
// the start: those of the lead_off fault the ads1299 has then, none when
// its fault is another or it has none. It does not allocate.
func (s *Scenario) LeadOffAt(d time.Duration) Channels {
	sp, ok := s.faultAt(DeviceADS1299, d)
	if !ok || sp.kind != FaultLeadOff {
		return 0
	}
	return sp.channels
}

func (s *Scenario) faultAt(device string, d time.Duration) (faultSpan, bool) {
	spans := s.mustPlan().faults[device]
	n, _ := slices.BinarySearchFunc(spans, d, func(sp faultSpan, d time.Duration) int {
		if sp.start <= d {
			return -1
		}
		return 1
	})
	if n == 0 {
		return faultSpan{}, false
	}
	sp := spans[n-1]
	return sp, sp.open || d < sp.end
}

// PressesBetween returns the presses with from < at <= to, in timeline
// order, so that a caller ticking with the previous tick's time as from sees
// each press exactly once. It returns nil, without allocating, when there
// is none.
func (s *Scenario) PressesBetween(from, to time.Duration) []string {
	p := s.mustPlan()
	if to <= from {
		return nil
	}
	i, j := between(p.pressAt, from, to)
	if i >= j {
		return nil
	}
	return slices.Clone(p.presses[i:j])
}

// OccupiedAt reports whether someone lies in the pod d after the start: the
// last occupied step at or before d, or Occupied before the first.
func (s *Scenario) OccupiedAt(d time.Duration) bool {
	p := s.mustPlan()
	n, _ := slices.BinarySearchFunc(p.occupiedAt, d, func(at, d time.Duration) int {
		if at <= d {
			return -1
		}
		return 1
	})
	if n == 0 {
		return p.occupied
	}
	return p.occupiedTo[n-1]
}

// Duration returns the time of the scenario's last change: the end of its
// last ramp, fault, blink or movement, or its last step. A ramp or fault cut
// short by a later step of the same vital or device ends where it is cut. A
// fault without `for` changes things only when it starts. From Duration on,
// every answer of the timeline stays the same; a recording plays on to its
// own End, or for ever if it loops.
func (s *Scenario) Duration() time.Duration { return s.mustPlan().end }

func (s *Scenario) mustPlan() *plan {
	if s.plan == nil {
		panic("scenario: Scenario used without Parse or Load")
	}
	return s.plan
}

// The vitals in a fixed order, so that the tables can be arrays indexed by
// vital and the per-sample path loops instead of naming each field.
// The EEG bands follow the four vitals, in the order of EEGBands.
const (
	vitalHR = iota
	vitalSpO2
	vitalSC
	vitalTemp
	vitalEEG  // the first band, delta
	numVitals = vitalEEG + NumEEGBands
)

func (v Vitals) array() [numVitals]float64 {
	a := [numVitals]float64{v.HeartRateBPM, v.SpO2Pct, v.SkinConductanceUS, v.BodyTempC}
	eeg := v.EEG.Array()
	copy(a[vitalEEG:], eeg[:])
	return a
}

func vitalsFromArray(a [numVitals]float64) Vitals {
	return Vitals{
		HeartRateBPM: a[vitalHR], SpO2Pct: a[vitalSpO2], SkinConductanceUS: a[vitalSC], BodyTempC: a[vitalTemp],
		EEG: eegFromArray([NumEEGBands]float64(a[vitalEEG:])),
	}
}

func (t *Targets) array() [numVitals]*float64 {
	a := [numVitals]*float64{t.HeartRateBPM, t.SpO2Pct, t.SkinConductanceUS, t.BodyTempC}
	eeg := t.EEG.array()
	copy(a[vitalEEG:], eeg[:])
	return a
}

// fields returns where each target goes, for building a Targets.
func (t *Targets) fields() [numVitals]**float64 {
	a := [numVitals]**float64{&t.HeartRateBPM, &t.SpO2Pct, &t.SkinConductanceUS, &t.BodyTempC}
	eeg := t.EEG.fields()
	copy(a[vitalEEG:], eeg[:])
	return a
}

// plan is a scenario compiled for lookups by time.
type plan struct {
	baseline [numVitals]float64
	vitals   [numVitals][]segment // per vital, by start
	faults   map[string][]faultSpan
	pressAt  []time.Duration
	presses  []string
	eventAt  []time.Duration
	events   []Event
	playback map[string]*playback.Playback
	// occupied at the start, then the occupied steps' times and values.
	occupied   bool
	occupiedAt []time.Duration
	occupiedTo []bool
	end        time.Duration
}

// segment is one set step's effect on one vital: from `from` at start to
// `to` at start+ramp, holding `to` afterwards until the next segment starts.
type segment struct {
	start, ramp time.Duration
	from, to    float64
}

func (sg segment) valueAt(d time.Duration) float64 {
	elapsed := d - sg.start
	if elapsed >= sg.ramp {
		return sg.to
	}
	v := sg.from + (sg.to-sg.from)*(float64(elapsed)/float64(sg.ramp))
	// Rounding must not carry a value outside the segment's two ends: they
	// were validated, the interpolation between them was not.
	lo, hi := min(sg.from, sg.to), max(sg.from, sg.to)
	return min(max(v, lo), hi)
}

// valueAt evaluates one vital's piecewise-linear curve at d.
func valueAt(baseline float64, segs []segment, d time.Duration) float64 {
	n, _ := slices.BinarySearchFunc(segs, d, func(sg segment, d time.Duration) int {
		if sg.start <= d {
			return -1
		}
		return 1
	})
	if n == 0 {
		return baseline
	}
	return segs[n-1].valueAt(d)
}

type faultSpan struct {
	start, end time.Duration
	open       bool // no `for`: until the end
	kind       string
	channels   Channels // lead_off
}

// compile turns a validated timeline into lookup tables. A set step starts
// each vital it names from the value that vital has at the step's `at`,
// which is where an earlier ramp has got to if it is still running; the
// earlier ramp stops there.
func compile(baseline Vitals, occupied bool, timeline []Step, recordings map[string]*playback.Playback) *plan {
	p := &plan{baseline: baseline.array(), faults: map[string][]faultSpan{}, occupied: occupied, playback: recordings}
	for _, st := range timeline {
		switch {
		case st.Set != nil:
			for i, target := range st.Set.array() {
				if target == nil {
					continue
				}
				from := valueAt(p.baseline[i], p.vitals[i], st.At)
				p.vitals[i] = append(p.vitals[i], segment{start: st.At, ramp: st.Ramp, from: from, to: *target})
			}
		case st.Fault != nil:
			f := st.Fault
			p.faults[f.Device] = append(p.faults[f.Device], faultSpan{
				start: st.At, end: st.At + f.For, open: f.For == 0, kind: f.Kind, channels: f.Channels,
			})
		case st.Press != "":
			p.pressAt = append(p.pressAt, st.At)
			p.presses = append(p.presses, st.Press)
		case st.Occupied != nil:
			p.occupiedAt = append(p.occupiedAt, st.At)
			p.occupiedTo = append(p.occupiedTo, *st.Occupied)
		case st.Event != nil:
			p.eventAt = append(p.eventAt, st.At)
			p.events = append(p.events, *st.Event)
			p.end = max(p.end, st.At+st.Event.For)
		}
		// A step of any kind is a change at its `at`.
		p.end = max(p.end, st.At)
	}
	for _, segs := range p.vitals {
		for j, sg := range segs {
			end := sg.start + sg.ramp
			if j+1 < len(segs) {
				end = min(end, segs[j+1].start)
			}
			p.end = max(p.end, end)
		}
	}
	for _, spans := range p.faults {
		for j, sp := range spans {
			end := sp.start
			if !sp.open {
				end = sp.end
			}
			if j+1 < len(spans) {
				end = min(end, spans[j+1].start)
			}
			p.end = max(p.end, end)
		}
	}
	return p
}
