package controller

import (
	"encoding/json"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// An abort on a pod whose store fails every write (EIO, from before the
// episode) and whose uplink has no broker: the strip is dark at the very
// instant of detection (the watchdog's tick that trips, on the fake
// clock), the abort stays latched and the strip dark for a minute of
// retries while neither the latch nor the abort event can be stored, and
// both are stored, once each and with the time of detection, within a
// retry once the store works again; the pod is still latched then.
func TestAnAbortOnAFailingStoreWithoutABrokerIsSafeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &disk{}
		store := &memStore{disk: d}
		r := newRigWith(t, tachycardia, store, rigOpts{up: &fakeUplink{disk: d}}) // never connected
		defer r.stop()
		until(start, 30*time.Second)
		d.fail(syscall.EIO)

		var detected time.Duration
		var a *safety.Abort
		for at := 30 * time.Second; a == nil; at += safety.DefaultPeriod {
			if at > 90*time.Second {
				t.Fatal("no abort by 90 s")
			}
			until(start, at)
			if a = r.pod.wd.Status().Latched; a != nil {
				detected = at
			}
		}
		if a.Rule != safety.RuleHeartRateHigh || !a.At.Equal(start.Add(detected)) {
			t.Fatalf("abort %+v, want heart_rate_high detected at %v", a, detected)
		}
		if !r.hw.Strip.Dark() || !r.pod.parts.Gate.Safe() || a.SafeStateError != "" {
			t.Fatalf("at the instant of detection (%v): strip dark %v, gate safe %v, safe-state error %q; want dark and safe",
				detected, r.hw.Strip.Dark(), r.pod.parts.Gate.Safe(), a.SafeStateError)
		}

		until(start, detected+time.Minute)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || !st.Safety.Latched.At.Equal(a.At) ||
			st.Safety.Latch != LatchUnsaved || st.Uplink.Connected || !r.hw.Strip.Dark() {
			t.Fatalf("a minute on the failing store: state %s, latched %+v, latch %s, connected %v, strip dark %v; want the abort latched, unsaved, the strip dark",
				st.State, st.Safety.Latched, st.Safety.Latch, st.Uplink.Connected, r.hw.Strip.Dark())
		}
		if _, ok, _ := store.Latch(); ok || len(r.up.Events("abort")) != 0 {
			t.Fatal("the latch or the abort event stored while the store fails")
		}

		d.fail(nil)
		time.Sleep(storeRetry)
		synctest.Wait()
		var stored safety.Abort
		if b, ok, _ := store.Latch(); !ok || json.Unmarshal(b, &stored) != nil || stored.Rule != a.Rule || !stored.At.Equal(a.At) {
			t.Fatalf("stored latch %s, want the abort detected at %v", b, a.At)
		}
		aborts := r.up.Events("abort")
		if len(aborts) != 1 || aborts[0].Fields["rule"] != a.Rule || aborts[0].Fields["latency_ms"] != a.LatencyMS {
			t.Fatalf("abort events %+v, want the one abort with its latency", aborts)
		}
		if st := r.pod.Status(); st.State != StateAborted || st.Safety.Latch != LatchStored || !r.hw.Strip.Dark() {
			t.Fatalf("once stored: state %s, latch %s, strip dark %v; want aborted, stored, dark", st.State, st.Safety.Latch, r.hw.Strip.Dark())
		}
	})
}
