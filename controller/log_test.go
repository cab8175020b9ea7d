package controller

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// stalledStderr is the log when journald stops reading stderr (its own
// writes hang on the same dying SD card): once armed, every record blocks
// until release is closed. It takes no mutex, so that synctest sees the
// loggers as blocked (slog's TextHandler would hold one across the write).
type stalledStderr struct {
	armed   atomic.Bool
	release chan struct{}
}

func (s *stalledStderr) Enabled(context.Context, slog.Level) bool { return true }
func (s *stalledStderr) Handle(context.Context, slog.Record) error {
	if s.armed.Load() {
		<-s.release
	}
	return nil
}
func (s *stalledStderr) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *stalledStderr) WithGroup(string) slog.Handler      { return s }

// "Safety never waits on the network, the disk or the log." With stderr
// stalled, the sensor loop's fault reports must not block it: a sleeper
// whose vitals are fine must not get a vitals_stale abort because journald
// stopped reading.
func TestAStalledLogDoesNotStopTheSensorLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stderr := &stalledStderr{release: make(chan struct{})}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{
			logger: slog.New(stderr),
			wrap: func(o Oximeter) Oximeter {
				return overflowingOximeter{Oximeter: o, from: start.Add(17 * time.Second), to: start.Add(17500 * time.Millisecond)}
			},
		})
		until(start, 16*time.Second)
		stderr.armed.Store(true)
		until(start, 40*time.Second) // the heart rate is below 130 until 43 s
		st := r.pod.Status()
		stderr.armed.Store(false)
		close(stderr.release)
		r.stop()
		if st.Safety.Latched != nil {
			t.Fatalf("latched %s (%s) at %v with normal vitals: the sensor loop waited on the log",
				st.Safety.Latched.Rule, st.Safety.Latched.Detail, st.Safety.Latched.At.Sub(start))
		}
	})
}

// An Ack whose caller gives up is told the pod stays latched only if it
// does: the caller's answer always matches what the watchdog did, so a
// technician never walks away from a pod that will relight.
func TestAnAckThatGivesUpLeavesThePodLatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stderr := &stalledStderr{release: make(chan struct{})}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{logger: slog.New(stderr)})
		until(start, 125*time.Second)
		stderr.armed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := r.pod.Ack(ctx, techAck)
		cancel()
		latched := r.pod.wd.Status().Latched
		stderr.armed.Store(false)
		close(stderr.release)
		r.stop()
		if err != nil && latched == nil {
			t.Fatalf("Ack = %q, but the watchdog is no longer latched", err)
		}
	})
}
