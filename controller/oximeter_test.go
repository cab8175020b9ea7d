package controller

import (
	"fmt"
	"github.com/sleegation/podd/sensors/vitals"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/uplink"
)

// oximeterFaults are the max30102 fault events that are not fifo_overflow
// or channels_swapped ones, as their sorted keys.
func oximeterFaults(u *fakeUplink) []string {
	var out []string
	for _, e := range u.Events("fault") {
		if e.Fields["device"] == "max30102" && e.Fields["fault"] == nil {
			out = append(out, fmt.Sprint(slices.Sorted(maps.Keys(e.Fields))))
		}
	}
	return out
}

// The oximeter's health and counts are in telemetry's sensors map, as the
// other sensors' are. The polls fall on 200 ms marks, the faults begin and
// end between them (the simulator applies them on 100 ms marks). A 1 s
// NACK (polls refused at 30.2 to 31.0 s) costs five failed polls and keeps
// the device. A 4 s NACK from 60.1 s outlasts holdFIFO from the last good
// read at 60.0 s: the device is dropped at the poll at 62.6 s (2.6 s >
// 2.48 s), after 13 refused polls; it is opened anew a period later
// (62.8 s) and then every second (63.8 s), both refused, and opened again
// at 64.8 s. Its fault events have the other sensors' shape: device,
// active, state (bus_error), error; device, active.
func TestTheOximetersHealthIsInTelemetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+`timeline:
  - {at: 30.1s, fault: {device: max30102, kind: nack, for: 1s}}
  - {at: 60.1s, fault: {device: max30102, kind: nack, for: 4s}}
`, &memStore{})
		defer r.stop()
		health := func() uplink.SensorHealth {
			h, ok := r.up.LastTelemetry().Sensors["max30102"]
			if !ok {
				t.Fatalf("telemetry %+v has no max30102 health", r.up.LastTelemetry())
			}
			return h
		}
		until(start, 25500*time.Millisecond)
		if h := health(); h != (uplink.SensorHealth{State: "ok"}) {
			t.Fatalf("at 25.5 s: %+v, want ok with no errors", h)
		}
		until(start, 45500*time.Millisecond)
		if h := health(); h != (uplink.SensorHealth{State: "ok", PollErrors: 5}) {
			t.Fatalf("after a 1 s NACK: %+v, want ok, 5 poll errors, no reopen", h)
		}
		until(start, 61500*time.Millisecond)
		if h := health(); h.State != "bus_error" {
			t.Fatalf("1 s into a 4 s NACK: %+v, want bus_error", h)
		}
		until(start, 80500*time.Millisecond)
		if h := health(); h != (uplink.SensorHealth{State: "ok", PollErrors: 18, OpenErrors: 2, Reopens: 1}) {
			t.Fatalf("after a 4 s NACK: %+v, want ok, 18 poll errors, 2 open errors, 1 reopen", h)
		}
		want := []string{"[active device error state]", "[active device]", "[active device error state]", "[active device]"}
		if got := oximeterFaults(r.up); !slices.Equal(got, want) {
			t.Fatalf("max30102 fault events %v, want %v", got, want)
		}
		for _, e := range r.up.Events("fault") {
			if e.Fields["active"] == true && e.Fields["state"] != "bus_error" {
				t.Errorf("fault event %+v, want state bus_error", e.Fields)
			}
		}
	})
}

// While no device is open (unplugged from 10.1 s to 20.1 s: dropped at
// 12.6 s, opens refused every second from 12.8 s to 19.8 s) the watchdog still hears from
// the oximeter every period: an invalid reading, never an old valid one.
func TestWithoutADeviceTheWatchdogHearsUnknownEveryPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm+"timeline:\n  - {at: 10.1s, fault: {device: max30102, kind: disconnect, for: 10s}}\n", &memStore{})
		defer r.stop()
		until(start, 9500*time.Millisecond)
		if l, ok := r.pod.latest.Load(); !ok || !l.HeartRateValid {
			t.Fatalf("no valid heart rate before the fault: %+v", l)
		}
		for d := 10200 * time.Millisecond; d < 20100*time.Millisecond; d += 50 * time.Millisecond {
			until(start, d)
			l, _ := r.pod.latest.Load()
			if age := time.Since(l.At); age >= 200*time.Millisecond || l.HeartRateValid || l.SpO2Valid {
				t.Fatalf("at %v: the watchdog's latest reading is %v old, valid heart rate %v, SpO2 %v; want an invalid one within a period",
					d, age, l.HeartRateValid, l.SpO2Valid)
			}
		}
		until(start, 20500*time.Millisecond)
		if h := r.up.LastTelemetry().Sensors["max30102"]; h != (uplink.SensorHealth{State: "bus_error", PollErrors: 13, OpenErrors: 8, Reopens: 1}) {
			t.Fatalf("unplugged: %+v, want bus_error, 13 poll errors, 8 open errors, 1 reopen", h)
		}
		until(start, 40*time.Second)
		if h := r.up.LastTelemetry().Sensors["max30102"]; h.State != "ok" || h.OpenErrors != 8 {
			t.Fatalf("plugged back in: %+v, want ok after 8 open errors", h)
		}
	})
}

// A chip reset by a brown-out (at 15 s) answers without error but makes no
// sample: stale, not a bus error, once a second has passed without one, and
// dropped after three such reads (16.2, 16.4, 16.6 s), to be opened anew a
// period later: one reopen, no failed poll or open.
func TestAChipThatStopsSamplingIsStaleThenReopened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm, &memStore{})
		defer r.stop()
		until(start, 15*time.Second)
		// MODE_CONFIG RESET: the registers return to their power-on values.
		if err := r.hw.I2C.Tx(sim.MAX30102Addr, []byte{0x09, 0x40}, nil); err != nil {
			t.Fatal(err)
		}
		until(start, 15900*time.Millisecond)
		if h := r.pod.oxiLoop.Health(); h.State != sensing.OK {
			t.Fatalf("0.9 s after the reset: %+v, want still ok (the last samples at 15 s)", h)
		}
		until(start, 16500*time.Millisecond)
		if h := r.pod.oxiLoop.Health(); h.State != sensing.Stale || h.PollErrors != 0 {
			t.Fatalf("1.5 s after the reset: %+v, want stale, no failed poll", h)
		}
		until(start, 20500*time.Millisecond)
		if h := r.up.LastTelemetry().Sensors["max30102"]; h != (uplink.SensorHealth{State: "ok", Reopens: 1}) {
			t.Fatalf("after the reopen: %+v, want ok with one reopen and no failed poll or open", h)
		}
	})
}

// Feeding a reading to the watchdog and to the pod's latest reading, as
// the oximeter's loop does at each poll, allocates nothing.
func TestFeedingAReadingDoesNotAllocate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, calm, &memStore{})
		defer r.stop()
		// Every loop of the pod waits on the fake clock: only this test
		// feeds while it measures.
		synctest.Wait()
		rd := vitals.Reading{At: time.Now(), HeartRateBPM: 60, HeartRateValid: true, SpO2Pct: 97, SpO2Valid: true, Contact: vitals.ContactSkin}
		if n := testing.AllocsPerRun(100, func() { r.pod.feed(rd) }); n != 0 {
			t.Fatalf("a feed allocates %v times, want 0", n)
		}
		if got, ok := r.pod.latest.Load(); !ok || got != rd {
			t.Fatalf("latest %+v, %v; want the reading fed", got, ok)
		}
	})
}
