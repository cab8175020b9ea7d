package controller

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// An oximeter read with its red and IR channels swapped (here a correctly
// wired simulated board opened as a clone's) gives the inverse ratio of
// ratios: 30 s of it with a regular pulse is one channels_swapped fault
// naming the fix; the correctly opened board never reports it.
func TestSwappedChannelsAreReportedOnce(t *testing.T) {
	for _, swapped := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			r := newRigWith(t, calm, &memStore{}, rigOpts{swapRedIR: swapped})
			defer r.stop()
			until(start, 90*time.Second)
			var faults []map[string]any
			for _, e := range r.up.Events("fault") {
				if e.Fields["fault"] == FaultChannelsSwapped {
					faults = append(faults, e.Fields)
				}
			}
			if !swapped {
				if len(faults) != 0 {
					t.Fatalf("a correctly wired board reported %+v", faults)
				}
				return
			}
			if len(faults) != 1 || faults[0]["active"] != true || faults[0]["device"] != "max30102" {
				t.Fatalf("channels_swapped faults %+v, want one, active", faults)
			}
			ratio, _ := faults[0]["ratio"].(float64)
			if ratio < swapSuspectRatio || !strings.Contains(faults[0]["error"].(string), "hardware.oximeter_leds_swapped") {
				t.Fatalf("fault %+v: want a ratio of at least %.2f and the setting that fixes it", faults[0], swapSuspectRatio)
			}
		})
	}
}
