package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// keeps every vital within its plausible range and every answer within the
// allowed words, at the times where the timeline changes and around them.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no shipped scenarios to seed from: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base + "timeline:\n  - {at: 0s, ramp: 10s, set: {heart_rate_bpm: 300}}\n  - {at: 5s, ramp: 1ns, set: {heart_rate_bpm: 0}}\n"))
	f.Add([]byte(base + "timeline:\n  - {at: 1s, set: {spo2_pct: 130}}\n  - {at: 0s, press: snooze}\n"))
	f.Add([]byte(base + "timeline:\n  - {at: 1s, ramp: 1m, set: {eeg: {stage: n3, delta: 9000}}}\n" +
		"  - {at: 2s, fault: {device: ads1299, kind: lead_off, channels: [8, 1]}}\n" +
		"  - {at: 3s, fault: {device: ads1115, kind: saturate, for: 1s}}\n" +
		"  - {at: 4s, event: {kind: movement, for: 5s}}\n  - {at: 4s, event: {kind: scr, amplitude_us: 1}}\n"))
	f.Add([]byte("baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5, eeg: {stage: n2, gamma: 0}}\n" +
		"timeline:\n  - {at: 1s, fault: {device: tmp117, kind: lead_off, channels: [0]}}\n  - {at: 2s, event: {kind: blink}}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a scenario with error %v", err)
			}
			return
		}
		times := []time.Duration{-time.Second, 0, s.Duration() / 3, s.Duration() / 2, s.Duration(), s.Duration() + time.Hour}
		for _, st := range s.Timeline {
			times = append(times, st.At-1, st.At, st.At+st.Ramp/3, st.At+st.Ramp)
		}
		for _, d := range times {
			v := s.VitalsAt(d).array()
			for i, spec := range vitalSpecs {
				if !spec.contains(v[i]) {
					t.Fatalf("VitalsAt(%v).%s = %v, outside %v..%v", d, spec.key, v[i], spec.lo, spec.hi)
				}
			}
			for _, dev := range devices {
				if k := s.FaultAt(dev, d); k != "" && !slices.Contains(deviceFaults[dev], k) {
					t.Fatalf("FaultAt(%s, %v) = %q", dev, d, k)
				}
			}
			if off := s.LeadOffAt(d); (off != 0) != (s.FaultAt(DeviceADS1299, d) == FaultLeadOff) {
				t.Fatalf("LeadOffAt(%v) = %v with FaultAt(ads1299) %q", d, off, s.FaultAt(DeviceADS1299, d))
			}
		}
		if v := s.VitalsAt(s.Duration()); v != s.VitalsAt(s.Duration()+time.Hour) {
			t.Fatalf("vitals change after Duration %v: %+v then %+v", s.Duration(), v, s.VitalsAt(s.Duration()+time.Hour))
		}
		for _, p := range s.PressesBetween(-1, s.Duration()) {
			if !slices.Contains(pressKinds, p) {
				t.Fatalf("press %q", p)
			}
		}
		events := 0
		for _, st := range s.Timeline {
			if st.Event != nil {
				events++
			}
		}
		evs := s.EventsBetween(-1, s.Duration())
		if evs.Len() != events {
			t.Fatalf("EventsBetween over the whole scenario has %d events, the timeline %d", evs.Len(), events)
		}
		for ev := range evs.All() {
			lasts := ev.Kind == EventBlink || ev.Kind == EventMovement
			if !slices.Contains(eventKinds, ev.Kind) || lasts != (ev.For > 0) || (ev.Kind == EventSCR) != (ev.AmplitudeUS > 0) ||
				ev.At+ev.For > s.Duration() {
				t.Fatalf("event %+v (Duration %v)", ev, s.Duration())
			}
		}
	})
}
