package main

import (
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/uplink"
)

// abortLatencyBound is the most time from detection to every output safe
// this test accepts from the daemon on a shared, loaded machine: the
// in-process path takes well under a millisecond (safety's
// BenchmarkTripToSafeState).
const abortLatencyBound = 100 // ms

// latchStoredWithin is how long this test waits, from its first reading
// of the abort in the status (polled), for the status to report the latch
// stored: a bound on a loaded machine, not a measure of the commit.
const latchStoredWithin = 10 * time.Second

// A pod that has never reached its broker (nothing listens at the broker's
// address from its start): the abort is latched, the strip at the safe light, the
// latency from detection to the safe state within abortLatencyBound, and
// the latch stored in the real store within latchStoredWithin; it stays so while the broker is away; once
// the broker is back the hub receives the abort event with the time of
// detection and the same latency.
func TestAnAbortWithNoBrokerReachable(t *testing.T) {
	t.Parallel()
	_, _ = binaries(t) // skips with -short
	m := mqtttest.Start(t, true)
	// The hub's persistent session: it receives, once the broker is back,
	// what the pod publishes before the hub has reconnected.
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-no-broker", false)
	m.Stop()
	b := tachycardiaBench(t, m)
	d := b.start()

	// The watchdog latches first, then drives the outputs safe and records
	// the latency: a status read in between shows the abort with no
	// latency yet. The wait is for the abort as recorded once the outputs
	// were driven (a latency, or the error that stopped them).
	var st api.Status
	mqtttest.WaitFor(t, abortWithin, "the abort without a broker, its safe state applied", func() bool {
		st = b.status()
		l := st.Safety.Latched
		return st.State == "aborted" && l != nil && (l.LatencyMS > 0 || l.SafeStateError != "")
	})
	a := st.Safety.Latched
	if a == nil || a.Rule != "heart_rate_high" || a.SafeStateError != "" || a.LatencyMS < 0 || a.LatencyMS > abortLatencyBound {
		t.Fatalf("latched %+v, want heart_rate_high with every output safe within %d ms", a, abortLatencyBound)
	}
	t.Logf("abort without a broker: %s, safe state %.3f ms after detection", a.Detail, a.LatencyMS)
	held := func(what string) {
		t.Helper()
		st := b.status()
		if st.State != "aborted" || st.Safety.Latched == nil || !st.Safety.Latched.At.Equal(a.At) || !st.Outputs.Safe ||
			st.Sim == nil || !st.Sim.StripSafe || st.Uplink.Connected {
			t.Fatalf("%s: state %s, latched %+v, outputs %+v, sim %+v, uplink %+v; want the abort latched, the strip at the safe light, no broker",
				what, st.State, st.Safety.Latched, st.Outputs, st.Sim, st.Uplink)
		}
	}
	held("at the abort")
	mqtttest.WaitFor(t, latchStoredWithin, "the latch stored", func() bool { return b.status().Safety.Latch == "stored" })
	time.Sleep(3 * time.Second)
	held("3 s later")
	if st := b.status(); st.Uplink.Outbox < 1 || st.Uplink.Unstored != 0 {
		t.Fatalf("uplink %+v, want the abort in the outbox, nothing kept in memory", st.Uplink)
	}
	if e, ok := find(received(t, sub, b.podID), "events", nil); ok {
		t.Fatalf("event %v at the hub while no broker ran", e)
	}

	m.Start()
	// The uplink's reconnection backoff has grown while nothing listened
	// (up to a minute).
	mqtttest.WaitFor(t, 90*time.Second, "the abort event at the hub once the broker is back", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", isAbort)
		return ok
	})
	abort, _ := find(received(t, sub, b.podID), "events", isAbort)
	if abort["detected_at"] != uplink.FormatTime(a.At) || abort["latency_ms"] != a.LatencyMS {
		t.Errorf("abort event %v, want detected_at %s and latency_ms %v", abort, uplink.FormatTime(a.At), a.LatencyMS)
	}
	if st := b.status(); st.State != "aborted" || !st.Sim.StripSafe {
		t.Errorf("after the broker came back: state %s, strip safe %v; want still aborted and at the safe light", st.State, st.Sim.StripSafe)
	}
	d.stop()
}
