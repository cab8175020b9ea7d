package sensing

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeDevice answers each poll with what script says for the time since
// the test began.
type fakeDevice struct {
	t0     time.Time
	script func(d time.Duration) (Poll, error)
	polls  *[]time.Duration
	halts  *int
	mu     *sync.Mutex
}

func (f *fakeDevice) Poll(now time.Time) (Poll, error) {
	d := now.Sub(f.t0)
	f.mu.Lock()
	*f.polls = append(*f.polls, d)
	f.mu.Unlock()
	return f.script(d)
}

func (f *fakeDevice) Halt() error {
	f.mu.Lock()
	*f.halts++
	f.mu.Unlock()
	return nil
}

var errNACK = errors.New("i2c: NACK")

// rig runs a loop over a fake device in a synctest bubble and records
// the changes of state with their times.
type rig struct {
	t0      time.Time
	mu      sync.Mutex
	polls   []time.Duration
	halts   int
	opens   []time.Duration
	changes []change
	loop    *Loop
}

type change struct {
	at    time.Duration
	state State
}

func newRig(t *testing.T, s Sensor, open func(d time.Duration) error, script func(d time.Duration) (Poll, error)) *rig {
	r := &rig{t0: time.Now()}
	s.Open = func() (Device, error) {
		d := time.Since(r.t0)
		r.mu.Lock()
		r.opens = append(r.opens, d)
		r.mu.Unlock()
		if open != nil {
			if err := open(d); err != nil {
				return nil, err
			}
		}
		return &fakeDevice{t0: r.t0, script: script, polls: &r.polls, halts: &r.halts, mu: &r.mu}, nil
	}
	l, err := New(s, func(h Health) {
		r.mu.Lock()
		r.changes = append(r.changes, change{h.Since.Sub(r.t0), h.State})
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	r.loop = l
	return r
}

// run runs the loop for d and stops it.
func (r *rig) run(d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.loop.Run(ctx); close(done) }()
	time.Sleep(d)
	cancel()
	<-done
}

func sensor() Sensor {
	return Sensor{Name: "tmp117", Period: 100 * time.Millisecond, StaleAfter: time.Second, ReopenAfter: 3 * time.Second}
}

func states(cs []change) []State {
	var out []State
	for _, c := range cs {
		out = append(out, c.state)
	}
	return out
}

func TestHealthyDeviceIsOK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(time.Duration) (Poll, error) { return Poll{Fresh: true}, nil })
		r.run(950 * time.Millisecond)
		if got := states(r.changes); !slices.Equal(got, []State{OK}) {
			t.Fatalf("states %v, want [ok] (a loop begins starting)", got)
		}
		if len(r.polls) != 10 {
			t.Errorf("%d polls in 0.95 s at 100 ms, want 10", len(r.polls))
		}
		if r.halts != 1 {
			t.Errorf("device halted %d times at the end, want once", r.halts)
		}
		if h := r.loop.Health(); h.State != OK || h.PollErrors != 0 || h.Reopens != 0 {
			t.Errorf("health %+v", h)
		}
	})
}

// A bus that refuses for 1 s (less than ReopenAfter) costs a few polls,
// retried with backoff from the Period (100 ms) up to an eighth of
// StaleAfter (125 ms): failures at 0.5, 0.6, 0.725, 0.85, 0.975, 1.1,
// 1.225, 1.35 and 1.475 s, and the same device reads again at 1.6 s, 100
// ms after the bus answers again: no reopen.
func TestShortBusErrorIsRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			if d >= 500*time.Millisecond && d < 1500*time.Millisecond {
				return Poll{}, errNACK
			}
			return Poll{Fresh: true}, nil
		})
		r.run(3 * time.Second)
		want := []change{{0, OK}, {500 * time.Millisecond, BusError}, {1600 * time.Millisecond, OK}}
		if !slices.Equal(r.changes, want) {
			t.Fatalf("changes %v, want %v", r.changes, want)
		}
		h := r.loop.Health()
		if h.PollErrors != 9 || h.Reopens != 0 || len(r.opens) != 1 {
			t.Errorf("poll errors %d, reopens %d, opens %d; want 9, 0, 1", h.PollErrors, h.Reopens, len(r.opens))
		}
	})
}

// A bus that refuses for longer than ReopenAfter gets the device dropped
// (halted) and opened anew.
func TestLongBusErrorReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			if d >= 500*time.Millisecond && d < 6*time.Second {
				return Poll{}, errNACK
			}
			return Poll{Fresh: true}, nil
		})
		r.run(10 * time.Second)
		h := r.loop.Health()
		if h.State != OK || h.Reopens < 1 || r.halts != int(h.Reopens)+1 || len(r.opens) != int(h.Reopens)+1 {
			t.Fatalf("health %+v, halts %d, opens %d: want ok again after reopening, each dropped device halted", h, r.halts, len(r.opens))
		}
		if r.opens[1] < 3500*time.Millisecond || r.opens[1] > 4500*time.Millisecond {
			t.Errorf("reopened at %v, want about 0.5 s + ReopenAfter (3 s) + the poll backoff", r.opens[1])
		}
	})
}

// An unplugged sensor: every open fails, retried at 0.5, 1, 2, 4 then every
// 5 s; plugged back in, it is healthy at the next attempt.
func TestUnpluggedSensorIsRetriedAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), func(d time.Duration) error {
			if d < 14*time.Second {
				return errors.New("tmp117: i2c 0x48: NACK")
			}
			return nil
		}, func(time.Duration) (Poll, error) { return Poll{Fresh: true}, nil })
		r.run(20 * time.Second)
		wantOpens := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond, 7500 * time.Millisecond, 12500 * time.Millisecond, 17500 * time.Millisecond}
		if !slices.Equal(r.opens, wantOpens) {
			t.Fatalf("opens at %v, want %v", r.opens, wantOpens)
		}
		h := r.loop.Health()
		if h.State != OK || h.OpenErrors != 6 || h.Err != "" {
			t.Fatalf("health %+v; want ok after 6 failed opens, no error kept", h)
		}
		if got := states(r.changes); !slices.Equal(got, []State{BusError, Starting, OK}) {
			t.Errorf("states %v", got)
		}
	})
}

// A chip that answers but stops producing data is stale after StaleAfter
// and opened anew after ReopenAfter of it; it never reads as OK meanwhile.
func TestNoFreshDataIsStaleThenReopened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			return Poll{Fresh: d < time.Second}, nil
		})
		r.run(5500 * time.Millisecond)
		// The last fresh data at 0.9 s; the poll at 2 s is more than 1 s
		// later; 3 s of it reopens at 5 s, and the new device is given
		// StaleAfter again.
		want := []change{{0, OK}, {2 * time.Second, Stale}, {5 * time.Second, Starting}}
		if !slices.Equal(r.changes, want) {
			t.Fatalf("changes %v, want %v", r.changes, want)
		}
		if !slices.Equal(r.opens, []time.Duration{0, 5 * time.Second}) || r.halts != 2 {
			t.Errorf("opens at %v, halts %d; want [0 5s], 2", r.opens, r.halts)
		}
	})
}

// Poll's judgement of its data passes through as the state.
func TestImplausibleDataIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			if d >= 500*time.Millisecond {
				return Poll{Fresh: true, State: LeadOff}, nil
			}
			return Poll{Fresh: true}, nil
		})
		r.run(time.Second)
		want := []change{{0, OK}, {500 * time.Millisecond, LeadOff}}
		if !slices.Equal(r.changes, want) {
			t.Fatalf("changes %v, want %v", r.changes, want)
		}
		if r.loop.Health().Healthy() {
			t.Error("lead-off reported healthy")
		}
	})
}

// A loop stuck in a bus transaction cannot report; Health says stale once
// StaleAfter has passed since its last fresh data.
func TestHungPollReadsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			if d >= 500*time.Millisecond {
				<-release
			}
			return Poll{Fresh: true}, nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.loop.Run(ctx); close(done) }()
		time.Sleep(1300 * time.Millisecond)
		if h := r.loop.Health(); h.State != OK {
			t.Errorf("at 1.3 s (fresh at 0.4 s): %v, want ok", h.State)
		}
		time.Sleep(200 * time.Millisecond)
		h := r.loop.Health()
		if h.State != Stale || h.Since.Sub(r.t0) != 1400*time.Millisecond {
			t.Errorf("at 1.5 s: %v since %v, want stale since 1.4 s", h.State, h.Since.Sub(r.t0))
		}
		close(release)
		cancel()
		<-done
	})
}

// A self-paced device that returns with nothing is not polled in a busy
// loop.
func TestSelfPacedDeviceDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sensor()
		s.Period = 0
		r := newRig(t, s, nil, func(time.Duration) (Poll, error) { return Poll{}, nil })
		r.run(time.Second)
		if n := len(r.polls); n > 21 {
			t.Fatalf("%d polls in 1 s of a device with nothing to say, want at most one per 50 ms", n)
		}
	})
}

func TestNewRefusesIncompleteSensors(t *testing.T) {
	open := func() (Device, error) { return nil, nil }
	for _, s := range []Sensor{
		{Open: open, StaleAfter: time.Second, ReopenAfter: time.Second},
		{Name: "x", StaleAfter: time.Second, ReopenAfter: time.Second},
		{Name: "x", Open: open, ReopenAfter: time.Second},
		{Name: "x", Open: open, StaleAfter: time.Second},
		{Name: "x", Open: open, Period: -1, StaleAfter: time.Second, ReopenAfter: time.Second},
	} {
		if _, err := New(s, nil); err == nil {
			t.Errorf("New(%+v) accepted", s)
		}
	}
}

// Report passes the sensor's vitals on only while it is healthy, and
// returns the health it judged by: a record built from its answer never
// pairs a vital with a state that is not ok.
func TestReportOnlyWhileHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sensor()
		temp := 36.6
		s.Report = func(v *Vitals) { v.BodyTempC = &temp }
		r := newRig(t, s, nil, func(d time.Duration) (Poll, error) {
			if d >= 500*time.Millisecond {
				return Poll{}, errNACK
			}
			return Poll{Fresh: true}, nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.loop.Run(ctx); close(done) }()
		time.Sleep(300 * time.Millisecond)
		var v Vitals
		if h := r.loop.Report(&v); h.State != OK {
			t.Errorf("healthy: Report judged by state %s, want ok", h.State)
		}
		if v.BodyTempC == nil || *v.BodyTempC != 36.6 {
			t.Errorf("healthy: body temperature %v, want 36.6", v.BodyTempC)
		}
		time.Sleep(time.Second)
		v = Vitals{}
		if h := r.loop.Report(&v); h.State != BusError {
			t.Errorf("failing on its bus: Report judged by state %s, want bus_error", h.State)
		}
		if v.BodyTempC != nil {
			t.Errorf("failing on its bus: body temperature %v reported, want none", *v.BodyTempC)
		}
		cancel()
		<-done
	})
}

// SinceTurn grows while a poll hangs in its bus transaction and is small
// while the loop turns, even with its device failing.
func TestSinceTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			switch {
			case d >= 5*time.Second:
				<-release
			case d >= time.Second:
				return Poll{}, errNACK
			}
			return Poll{Fresh: true}, nil
		})
		if got := r.loop.SinceTurn(); got != NotRunning {
			t.Fatalf("before Run: %v, want NotRunning", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.loop.Run(ctx); close(done) }()
		time.Sleep(4500 * time.Millisecond)
		if got := r.loop.SinceTurn(); got > maxRetry {
			t.Errorf("failing but turning: %v since the last turn, want at most the retry backoff %v", got, maxRetry)
		}
		time.Sleep(20 * time.Second)
		if got := r.loop.SinceTurn(); got < 18*time.Second {
			t.Errorf("hung in a poll: %v since the last turn, want the time since it began (about 20 s)", got)
		}
		close(release)
		cancel()
		<-done
	})
}
