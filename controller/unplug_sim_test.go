package controller

import (
	"encoding/json"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

// unplugged is one sensor of sim/scenarios/unplug-each.yaml: when it is
// off the bus, and whether a vital of a record is the value from before
// the loss or the one the scenario set while it was away.
type unplugged struct {
	chip     string
	from, to time.Duration
	present  func(uplink.Vitals) bool
	old, new func(uplink.Vitals) bool
}

func unplugEach(t *testing.T) []unplugged {
	awake, n3 := relativeBands(t, scenario.StageAwake), relativeBands(t, scenario.StageN3)
	near := func(p *float64, want, tol float64) bool { return p != nil && math.Abs(*p-want) <= tol }
	return []unplugged{
		{chip: "max30102", from: 100 * time.Second, to: 120 * time.Second,
			present: func(v uplink.Vitals) bool { return v.HeartRateBPM != nil || v.SpO2Pct != nil },
			old:     func(v uplink.Vitals) bool { return near(v.HeartRateBPM, 58, 2) },
			new:     func(v uplink.Vitals) bool { return near(v.HeartRateBPM, 72, 2) && near(v.SpO2Pct, 97, 2) }},
		{chip: chipEEG, from: 160 * time.Second, to: 180 * time.Second,
			present: func(v uplink.Vitals) bool { return v.EEG != nil },
			old:     func(v uplink.Vitals) bool { return bandsOff(v.EEG, awake) <= 0.05 },
			new:     func(v uplink.Vitals) bool { return bandsOff(v.EEG, n3) <= 0.05 }},
		{chip: chipSkin, from: 240 * time.Second, to: 260 * time.Second,
			present: func(v uplink.Vitals) bool { return v.SkinConductanceUS != nil },
			old:     func(v uplink.Vitals) bool { return near(v.SkinConductanceUS, 2, 0.04) },
			new:     func(v uplink.Vitals) bool { return near(v.SkinConductanceUS, 4, 0.08) }},
		{chip: chipThermo, from: 340 * time.Second, to: 360 * time.Second,
			present: func(v uplink.Vitals) bool { return v.BodyTempC != nil },
			old:     func(v uplink.Vitals) bool { return near(v.BodyTempC, 36.6, 0.1) },
			new:     func(v uplink.Vitals) bool { return near(v.BodyTempC, 37.4, 0.1) }},
	}
}

// sim/scenarios/unplug-each.yaml through the four simulated chips: each
// sensor, unplugged in turn, is reported stale or bus_error in telemetry
// and in an active fault event, then ok again with the fault ended; while
// it is not ok its vital is null in every record, and the first value
// reported after it is back is the one the scenario set while it was
// away, never the one from before. The other sensors stay ok throughout.
func TestUnpluggingEachSensorInTurn(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, "", &memStore{}, rigOpts{simSensors: allSimSensors, scenarioFile: "../sim/scenarios/unplug-each.yaml"})
		defer r.stop()
		until(start, 450*time.Second)
		records := r.up.telemetrySnapshot()
		faults := r.up.Events("fault")
		for i, u := range unplugEach(t) {
			var lost, back, first int = -1, -1, -1
			for n, tm := range records {
				h := tm.Sensors[u.chip]
				if h.State != "ok" && u.present(tm.Vitals) {
					t.Errorf("%s: record %d says %s with its vital %+v", u.chip, n, h.State, tm.Vitals)
				}
				switch {
				case lost < 0 && (h.State == "stale" || h.State == "bus_error"):
					lost = n
				case lost >= 0 && back < 0 && h.State == "ok":
					back = n
				case back >= 0 && first < 0 && u.present(tm.Vitals):
					first = n
				}
			}
			if lost < 0 || back < 0 || first < 0 {
				t.Errorf("%s: lost in record %d, back in %d, its first vital after in %d: want all three", u.chip, lost, back, first)
				continue
			}
			b, _ := json.Marshal(records[first].Vitals)
			t.Logf("%s unplugged %v to %v: %s from record %d, ok from %d, first vital after in %d: %s",
				u.chip, u.from, u.to, records[lost].Sensors[u.chip].State, lost, back, first, b)
			// Record n is the one of n+1 s after the start.
			if d := time.Duration(lost+1) * time.Second; d < u.from || d > u.from+6*time.Second {
				t.Errorf("%s: reported lost in record %d, want within 6 s of %v", u.chip, lost, u.from)
			}
			if u.old(records[first].Vitals) || !u.new(records[first].Vitals) {
				t.Errorf("%s: first vital after the loss %s is not the new value", u.chip, b)
			}
			if i < len(faults)/2 {
				on, off := faults[2*i], faults[2*i+1]
				state := on.Fields["state"]
				if on.Fields["device"] != u.chip || on.Fields["active"] != true ||
					(state != "stale" && state != "bus_error") ||
					off.Fields["device"] != u.chip || off.Fields["active"] != false {
					t.Errorf("%s: fault events %+v and %+v, want it lost (stale or bus_error) and back", u.chip, on.Fields, off.Fields)
				}
			}
		}
		if len(faults) != 8 {
			t.Errorf("%d fault events, want one lost and one back for each of the 4 sensors: %+v", len(faults), faults)
		}
		// Outside a merge only the oximeter's loss aborts (vitals_stale,
		// as sensor-loss.yaml does): no other sensor trips anything.
		if a := r.up.Events("abort"); len(a) != 1 || a[0].Fields["rule"] != safety.RuleVitalsStale {
			t.Errorf("aborts %+v, want the oximeter's vitals_stale alone", a)
		}
	})
}

// During a merge the watchdog sees each sensor unplugged: the EEG, the
// skin conductance ADC and the thermometer abort it with sensor_stale,
// the pulse oximeter with vitals_stale, each within 2 s past the stale
// limit (5 s) of its loss (the oximeter's counts from its last valid
// reading, a little before the loss).
func TestUnpluggingASensorDuringAMergeAborts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	for _, tt := range []struct{ chip, rule string }{
		{"max30102", safety.RuleVitalsStale},
		{chipEEG, safety.RuleSensorStale},
		{chipSkin, safety.RuleSensorStale},
		{chipThermo, safety.RuleSensorStale},
	} {
		t.Run(tt.chip, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sc := "name: unplug-" + tt.chip + "\nbaseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}\n" +
					"timeline:\n  - {at: 90s, fault: {device: " + tt.chip + ", kind: disconnect, for: 20s}}\n"
				r := mergedRigWith(t, start, sc, rigOpts{simSensors: allSimSensors})
				defer r.stop()
				until(start, 90*time.Second)
				if a := r.up.Events("abort"); len(a) != 0 {
					t.Fatalf("aborts %+v before the loss", a)
				}
				until(start, 94*time.Second)
				if a := r.up.Events("abort"); len(a) != 0 {
					t.Fatalf("aborts %+v within the stale limit", a)
				}
				until(start, 97*time.Second)
				a := r.up.Events("abort")
				if len(a) != 1 || a[0].Fields["rule"] != tt.rule {
					t.Fatalf("aborts %+v, want one %s", a, tt.rule)
				}
				t.Logf("%s: %s: %v", tt.chip, a[0].Fields["rule"], a[0].Fields["detail"])
			})
		})
	}
}
