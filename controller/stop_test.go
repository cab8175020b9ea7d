package controller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/safety"
)

// An abort detected while an output's bus is wedged reaches OnAbort only
// after SafeStateTimeout (1 s). A SIGTERM in that second (a technician
// restarting podd because the strip misbehaves) must still see the abort
// stored, as the latch and as an event: the recorder stops after the safety
// core.
func TestAnAbortDetectedJustBeforeTheStopIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		hang := &haltHang{release: make(chan struct{})}
		store := &memStore{}
		r := newRigWith(t, tachycardia, store, rigOpts{hang: hang})
		until(start, 20*time.Second)
		hang.armed.Store(true) // the strip's bus wedges
		for r.pod.wd.Status().Latched == nil {
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
		}
		a := *r.pod.wd.Status().Latched
		time.Sleep(300 * time.Millisecond) // SIGTERM 0.3 s after the detection
		r.cancel()
		<-r.done
		_, stored, _ := store.Latch()
		aborts := r.up.Events("abort")
		hang.armed.Store(false)
		close(hang.release)
		synctest.Wait()
		if !stored || len(aborts) != 1 {
			t.Fatalf("abort %s at %v: latch stored %v, abort events %d; want the latch and the event stored before the stop ends",
				a.Rule, a.At.Sub(start), stored, len(aborts))
		}
	})
}

// Events posted by the safety core as it stops (the end of a FIFO-overflow
// episode, posted by the sensor loop's deferred end) are stored by the
// recorder's last pass.
func TestEventsPostedAsTheSensorLoopStopsAreStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{wrap: func(o Oximeter) Oximeter {
			return overflowingOximeter{Oximeter: o, from: start.Add(5 * time.Second), to: start.Add(time.Hour)}
		}})
		until(start, 10*time.Second)
		r.stop()
		var ends int
		for _, e := range r.up.Events("fault") {
			if e.Fields["fault"] == "fifo_overflow" && e.Fields["active"] == false {
				ends++
			}
		}
		if ends != 1 {
			t.Fatalf("fifo_overflow end events stored = %d, want 1 (posted by the sensor loop as it stopped)", ends)
		}
	})
}

// timedPinger records when it was pinged.
type timedPinger struct {
	mu    sync.Mutex
	times []time.Time
}

func (p *timedPinger) Ping() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.times = append(p.times, time.Now())
	return nil
}

// The magic close comes only after Run's stop (up to stopBudget) and
// cmd/podd's closeAll; the configuration accepts watchdog.timeout down to
// safety.MinHardwareTimeout (2 s). The hardware watchdog is pinged through
// the stop, so a clean stop with a stuck part never reboots the board.
func TestTheHardwareWatchdogIsPingedUntilRunReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stuck := Part{Name: "api", Run: func(ctx context.Context, up func()) error {
			up()
			<-ctx.Done()
			<-release // a shutdown that hangs
			return nil
		}}
		strip := &countingStrip{}
		gate := actuators.NewGate(strip)
		_ = gate.SafeState()
		hw := &timedPinger{}
		pod, err := New(Config{Pod: "pod-1", TelemetryInterval: time.Second, Limits: safety.DefaultLimits()}, Parts{
			OpenOximeter: func() (Oximeter, error) { return nil, errors.New("max30102: no device") },
			Strip:        strip, Gate: gate, Store: &memStore{}, Uplink: &frozenUplink{release: release, fakeUplink: fakeUplink{log: &journalLog{}}},
			Services: []Part{stuck}, HardwareWatchdog: hw,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- pod.Run(ctx) }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		returned := time.Now()
		close(release)
		synctest.Wait()

		hw.mu.Lock()
		times := append(slices.Clone(hw.times), returned)
		hw.mu.Unlock()
		var gap time.Duration
		for i := 1; i < len(times); i++ {
			gap = max(gap, times[i].Sub(times[i-1]))
		}
		if gap >= safety.MinHardwareTimeout {
			t.Fatalf("longest time without a hardware watchdog ping, up to Run's return = %v; a watchdog.timeout of %v (accepted by the configuration) reboots the board during the stop",
				gap, safety.MinHardwareTimeout)
		}
	})
}
