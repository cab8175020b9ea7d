package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// stepKind is one kind of timeline step: the key that gives it, and the
// piece that validates that key's value into the step. A new kind of step
// is one more entry here (and its case in compile).
type stepKind struct {
	key   string
	given func(*stepDoc) bool
	// build validates the kind's value; path is "timeline[i].<key>". It
	// reports problems to c and fills st with what is valid.
	build func(c *checker, path string, sd *stepDoc, st *Step)
}

var stepKinds = []stepKind{
	{key: "set", given: func(sd *stepDoc) bool { return sd.Set != nil }, build: buildSet},
	{key: "fault", given: func(sd *stepDoc) bool { return sd.Fault != nil }, build: buildFault},
	{key: "press", given: func(sd *stepDoc) bool { return sd.Press != nil }, build: buildPress},
	{key: "occupied", given: func(sd *stepDoc) bool { return sd.Occupied != nil }, build: buildOccupied},
	{key: "event", given: func(sd *stepDoc) bool { return sd.Event != nil }, build: buildEvent},
}

func stepKindKeys() string {
	keys := make([]string, len(stepKinds))
	for i, k := range stepKinds {
		keys[i] = k.key
	}
	return strings.Join(keys, ", ")
}

// buildSet: `set: {heart_rate_bpm: 100, eeg: {stage: n2, sigma: 30}}`, the
// targets of the vitals it names; an eeg stage gives every band its
// stage's power, bands named beside it override it.
func buildSet(c *checker, path string, sd *stepDoc, st *Step) {
	t := &Targets{}
	fields := t.fields()
	var stage [NumEEGBands]float64
	hasStage := false
	if sd.Set.EEG != nil {
		if name, ok := c.stage(path+".eeg", sd.Set.EEG); ok && name != "" {
			stage, hasStage = stageBands[name].Array(), true
		}
	}
	named := sd.Set.EEG != nil
	for j, v := range sd.Set.array() {
		if v == nil {
			if j >= vitalEEG && hasStage {
				val := stage[j-vitalEEG]
				*fields[j] = &val
			}
			continue
		}
		named = true
		spec := vitalSpecs[j]
		if !spec.contains(*v) {
			c.bad(path+"."+spec.key, "%g is outside %g..%g", *v, spec.lo, spec.hi)
			continue
		}
		val := *v
		*fields[j] = &val
	}
	if !named {
		c.bad(path, "names no vital (give at least one of %s, eeg)", vitalKeys())
	}
	st.Set = t
}

// buildFault: `fault: {device: ads1299, kind: lead_off, channels: [1, 3],
// for: 10s}`.
func buildFault(c *checker, path string, sd *stepDoc, st *Step) {
	fd := sd.Fault
	f := &Fault{}
	switch {
	case fd.Device == nil:
		c.bad(path+".device", "missing (one of %s)", strings.Join(devices, ", "))
	case !slices.Contains(devices, *fd.Device):
		c.bad(path+".device", "%q is not a device (one of %s)", *fd.Device, strings.Join(devices, ", "))
	default:
		f.Device = *fd.Device
	}
	switch {
	case fd.Kind == nil:
		c.bad(path+".kind", "missing (one of %s)", strings.Join(faultKinds, ", "))
	case !slices.Contains(faultKinds, *fd.Kind):
		c.bad(path+".kind", "%q is not a fault kind (one of %s)", *fd.Kind, strings.Join(faultKinds, ", "))
	case f.Device != "" && !slices.Contains(deviceFaults[f.Device], *fd.Kind):
		c.bad(path+".kind", "%s does not apply to %s (it takes %s)", *fd.Kind, f.Device, strings.Join(deviceFaults[f.Device], ", "))
	default:
		f.Kind = *fd.Kind
	}
	switch {
	case fd.Channels != nil && fd.Kind != nil && *fd.Kind != FaultLeadOff:
		c.bad(path+".channels", "only a lead_off fault names channels")
	case fd.Channels != nil:
		f.Channels = c.channels(path+".channels", *fd.Channels)
	case f.Kind == FaultLeadOff:
		f.Channels = AllChannels
	}
	if forD, ok := c.duration(path+".for", fd.For); ok && fd.For != nil {
		switch {
		case forD == 0:
			c.bad(path+".for", "0s ends the fault as it starts (leave for out to keep it until the end)")
		case forD > maxDuration-st.At:
			c.bad(path+".for", "%s after %s ends too late to represent", forD, st.At)
		default:
			f.For = forD
		}
	}
	st.Fault = f
}

// channels validates a lead_off's channel list.
func (c *checker) channels(path string, list []int) Channels {
	if len(list) == 0 {
		c.bad(path, "names no channel (leave channels out for all %d)", NumChannels)
		return 0
	}
	var set Channels
	for i, n := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case n < 1 || n > NumChannels:
			c.bad(p, "%d is not a channel (1..%d)", n, NumChannels)
		case set.Has(n):
			c.bad(p, "channel %d given twice", n)
		default:
			set |= 1 << (n - 1)
		}
	}
	return set
}

// buildPress: `press: panic`.
func buildPress(c *checker, path string, sd *stepDoc, st *Step) {
	if slices.Contains(pressKinds, *sd.Press) {
		st.Press = *sd.Press
	} else {
		c.bad(path, "%q is not a press (one of %s)", *sd.Press, strings.Join(pressKinds, ", "))
	}
}

// buildOccupied: `occupied: false`; yaml has checked it is a bool.
func buildOccupied(_ *checker, _ string, sd *stepDoc, st *Step) {
	v := *sd.Occupied
	st.Occupied = &v
}

// maxAmplitudeUS bounds an scr: phasic responses are hundredths of a µS to
// a few µS over the tonic level.
const maxAmplitudeUS = 10

// buildEvent: `event: {kind: blink, for: 300ms}`, `event: {kind: scr,
// amplitude_us: 0.4}`.
func buildEvent(c *checker, path string, sd *stepDoc, st *Step) {
	ed := sd.Event
	ev := &Event{At: st.At}
	switch {
	case ed.Kind == nil:
		c.bad(path+".kind", "missing (one of %s)", strings.Join(eventKinds, ", "))
	case !slices.Contains(eventKinds, *ed.Kind):
		c.bad(path+".kind", "%q is not an event (one of %s)", *ed.Kind, strings.Join(eventKinds, ", "))
	default:
		ev.Kind = *ed.Kind
	}
	lasts := ev.Kind == EventBlink || ev.Kind == EventMovement
	switch {
	case ev.Kind == EventSCR && ed.For != nil:
		c.bad(path+".for", "an scr takes amplitude_us, not for (the model gives its shape)")
	case lasts && ed.For == nil:
		c.bad(path+".for", "missing (how long the %s lasts, e.g. 300ms)", ev.Kind)
	case ed.For != nil:
		if d, ok := c.duration(path+".for", ed.For); ok {
			switch {
			case d == 0:
				c.bad(path+".for", "0s: a %s lasts more than 0", ev.Kind)
			case d > maxDuration-st.At:
				c.bad(path+".for", "%s after %s ends too late to represent", d, st.At)
			default:
				ev.For = d
			}
		}
	}
	switch {
	case ed.AmplitudeUS != nil && lasts:
		c.bad(path+".amplitude_us", "only an scr takes amplitude_us")
	case ed.AmplitudeUS != nil:
		if a := *ed.AmplitudeUS; a > 0 && a <= maxAmplitudeUS {
			ev.AmplitudeUS = a
		} else {
			c.bad(path+".amplitude_us", "%g is outside 0..%d µS (and must be above 0)", a, maxAmplitudeUS)
		}
	case ev.Kind == EventSCR:
		c.bad(path+".amplitude_us", "missing (the response's peak over the tonic level in µS, e.g. 0.3)")
	}
	st.Event = ev
}
