package safety

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// The controller restores a stored latch while the watchdog may latch a new
// abort at the same moment. Restore must keep the newer abort: it refuses
// with ErrLatched, so the newer one is stored and must be acknowledged.
func TestRestoreDoesNotReplaceANewerLatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New(DefaultLimits(), &fakeActuators{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		older := Abort{Rule: RuleSpO2Low, Detail: "latched by the previous run", At: time.Now().Add(-time.Hour).Round(0)}
		time.Sleep(DefaultLimits().StartupGrace + DefaultLimits().StaleAfter + time.Second)
		w.evaluate() // no reading fed: pipeline_stalled latches
		newer := w.Status().Latched
		if newer == nil || newer.Rule != RulePipeline {
			t.Fatalf("latched = %+v, want pipeline_stalled", newer)
		}
		if err := w.Restore(older); !errors.Is(err, ErrLatched) {
			t.Fatalf("Restore over a latched abort = %v, want ErrLatched", err)
		}
		if got := w.Status().Latched; got == nil || got.Rule != newer.Rule || !got.At.Equal(newer.At) {
			t.Fatalf("latched after Restore = %+v, want the newer %s kept", got, newer.Rule)
		}
	})
}
