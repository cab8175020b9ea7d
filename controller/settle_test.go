package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/max30102"
)

// freezableOximeter blocks in ReadFIFO once frozen, until release is
// closed, as a driver stuck on a wedged I²C bus does.
type freezableOximeter struct {
	Oximeter
	frozen  *atomic.Bool
	release chan struct{}
}

func (f freezableOximeter) ReadFIFO(dst []max30102.Sample) (int, int, error) {
	if f.frozen.Load() {
		<-f.release
	}
	return f.Oximeter.ReadFIFO(dst)
}

// The settling time is evidence: valid vitals within every limit for
// SettleTime. 5 s of vitals followed by 5 s of a dead sensor bus are not 10 s
// of evidence: the light must not come back on a sensor that stopped
// answering.
func TestTheLightDoesNotComeBackOnASensorThatStoppedAnswering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		frozen := &atomic.Bool{}
		release := make(chan struct{})
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{wrap: func(o Oximeter) Oximeter {
			return freezableOximeter{Oximeter: o, frozen: frozen, release: release}
		}})
		until(start, 125*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		for r.pod.wd.SafeFor() < 5500*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
		}
		frozen.Store(true) // the sensor bus wedges 5.5 s into the settling time
		frozeAt := time.Now()
		var litAt time.Duration = -1
		for r.pod.wd.Status().Latched == nil && time.Since(frozeAt) < 20*time.Second {
			if !r.hw.Strip.Dark() && litAt < 0 {
				litAt = time.Since(frozeAt)
			}
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
		}
		l := r.pod.wd.Status().Latched
		close(release)
		r.stop()
		// The wedged loop feeds nothing: pipeline_stalled trips first.
		if l == nil || l.Rule != safety.RulePipeline {
			t.Fatalf("latched = %+v, want pipeline_stalled", l)
		}
		if litAt >= 0 {
			t.Fatalf("the strip lit %v after the sensor bus wedged, before pipeline_stalled tripped at %v: the settling time counted stale readings as evidence",
				litAt, l.At.Sub(frozeAt))
		}
	})
}
