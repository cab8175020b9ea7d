package scenario

import (
	"iter"
	"slices"
	"time"
)

// The events an event step makes happen: short disturbances of a signal
// that a model adds on top of what the vitals give.
const (
	// EventBlink is an eye blink: a large slow deflection of the EEG,
	// strongest on frontal channels, lasting Event.For.
	EventBlink = "blink"
	// EventMovement is the sleeper moving: broadband artefacts on the EEG
	// and a disturbed PPG (motion shifts the finger on the sensor), for
	// Event.For.
	EventMovement = "movement"
	// EventSCR is a phasic skin conductance response: a rise of
	// Event.AmplitudeUS over the tonic level, its shape (a rise of a second
	// or two, a slower recovery) the model's.
	EventSCR = "scr"
)

var (
	eventKinds = []string{EventBlink, EventMovement, EventSCR}
	// eventDevices lists the devices whose signal each event disturbs.
	eventDevices = map[string][]string{
		EventBlink:    {DeviceADS1299},
		EventMovement: {DeviceADS1299, DeviceMAX30102},
		EventSCR:      {DeviceADS1115},
	}
)

// EventKinds returns the kinds an event step may give. The slice is a copy.
func EventKinds() []string { return slices.Clone(eventKinds) }

// Event is an event step's disturbance.
type Event struct {
	At   time.Duration // its step's at: when it starts
	Kind string        // one of EventKinds()
	// For is how long a blink or a movement lasts (above 0); 0 for an scr.
	For time.Duration
	// AmplitudeUS is an scr's peak over the tonic level, in µS (0 < a <=
	// 10); 0 for the others.
	AmplitudeUS float64
}

// Affects reports whether the event disturbs device's signal: a blink the
// ads1299's, a movement the ads1299's and max30102's, an scr the ads1115's.
func (e Event) Affects(device string) bool { return slices.Contains(eventDevices[e.Kind], device) }

// Events is a read-only run of a scenario's events in timeline order, as
// EventsBetween returns it: a view of the scenario's own table, so that
// asking allocates nothing.
type Events struct{ s []Event }

// Len returns the number of events.
func (e Events) Len() int { return len(e.s) }

// At returns the i-th event (0 <= i < Len()).
func (e Events) At(i int) Event { return e.s[i] }

// All yields the events in order.
func (e Events) All() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for _, ev := range e.s {
			if !yield(ev) {
				return
			}
		}
	}
}

// EventsBetween returns the events that start in (from, to], in timeline
// order, so that a caller asking with its previous call's to as from sees
// each event exactly once; a model keeps the blinks and movements it has
// seen for their For. It does not allocate.
func (s *Scenario) EventsBetween(from, to time.Duration) Events {
	p := s.mustPlan()
	if to <= from {
		return Events{}
	}
	i, j := between(p.eventAt, from, to)
	return Events{s: p.events[i:j:j]}
}

// between returns the indexes [i, j) of the times in (from, to] of a sorted
// slice.
func between(times []time.Duration, from, to time.Duration) (i, j int) {
	after := func(at, d time.Duration) int {
		if at <= d {
			return -1
		}
		return 1
	}
	i, _ = slices.BinarySearchFunc(times, from, after)
	j, _ = slices.BinarySearchFunc(times, to, after)
	return i, max(i, j)
}
