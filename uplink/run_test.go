package uplink

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scriptedConnect fails the attempts listed in fail (1-based), and those
// to a broker that is down, and otherwise returns a connection over a
// fresh fakeLink; it records when each attempt was made, and to which
// broker.
type scriptedConnect struct {
	t    *testing.T
	u    *Uplink
	fail map[int]bool
	err  error // what a failed attempt returns; "connection refused" if nil
	// dup makes the attempts listed (1-based) find another pod.
	dup     map[int]*DuplicateError
	mu      sync.Mutex
	down    map[string]bool
	times   []time.Time
	brokers []string
	conns   []*conn
	links   []*fakeLink
}

func (s *scriptedConnect) connect(ctx context.Context, broker string) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	s.brokers = append(s.brokers, broker)
	if d := s.dup[len(s.times)]; d != nil {
		return nil, d
	}
	if s.fail[len(s.times)] || s.down[broker] {
		if s.err != nil {
			return nil, s.err
		}
		return nil, errors.New("dial tcp: connect: connection refused")
	}
	l := &fakeLink{}
	c := fakeConn(s.t, s.u, l)
	c.broker = broker
	s.conns, s.links = append(s.conns, c), append(s.links, l)
	return c, nil
}

// setDown marks broker down (every attempt to it fails) or up.
func (s *scriptedConnect) setDown(broker string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down == nil {
		s.down = map[string]bool{}
	}
	s.down[broker] = down
}

func (s *scriptedConnect) attempted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.brokers)
}

func (s *scriptedConnect) attempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.times)
}

func TestRunRetriesWithBackoffAndReconnectsAfterALoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), nil)
		u.rng = rand.New(rand.NewPCG(3, 4))
		want := rand.New(rand.NewPCG(3, 4)) // the same draws, to compute the schedule
		sc := &scriptedConnect{t: t, u: u, fail: map[int]bool{1: true, 2: true, 3: true, 4: true, 6: true}}
		u.connect = sc.connect

		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()

		// Attempts 1-4 fail; attempt 5 connects.
		at := start
		wantTimes := []time.Time{at}
		for attempt := 1; attempt <= 4; attempt++ {
			at = at.Add(u.cfg.Backoff.Delay(attempt, want))
			wantTimes = append(wantTimes, at)
		}
		time.Sleep(at.Sub(start))
		synctest.Wait()
		if !u.Connected() {
			t.Fatal("not connected after the fifth attempt")
		}
		if got := sc.attempts(); !slices.Equal(got, wantTimes) {
			t.Fatalf("attempts at %v\nwant %v", offsets(start, got), offsets(start, wantTimes))
		}

		// The connection is lost: the next attempt waits one first step, and
		// the failure after it the second.
		sc.conns[0].markLost()
		at = at.Add(u.cfg.Backoff.Delay(1, want))
		wantTimes = append(wantTimes, at)
		at = at.Add(u.cfg.Backoff.Delay(2, want))
		wantTimes = append(wantTimes, at)
		time.Sleep(time.Until(at))
		synctest.Wait()
		if got := sc.attempts(); !slices.Equal(got, wantTimes) {
			t.Fatalf("attempts at %v\nwant %v", offsets(start, got), offsets(start, wantTimes))
		}

		// Cancelled while connected: offline status, then a clean disconnect,
		// without waiting for anything else.
		cancelAt := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if time.Since(cancelAt) != 0 {
			t.Fatalf("Run took %v to stop", time.Since(cancelAt))
		}
		l := sc.links[1]
		st := l.statuses(t)
		if last := st[len(st)-1]; last.Online || last.State != "offline" || last.Version != "test" {
			t.Fatalf("last status %+v, want offline", last)
		}
		if !slices.Equal(l.disconnects, []uint{disconnectQuiesce}) {
			t.Fatalf("disconnects %v", l.disconnects)
		}
		if !slices.Equal(sc.links[0].disconnects, []uint{0}) {
			t.Fatalf("lost connection closed with %v, want one Disconnect(0)", sc.links[0].disconnects)
		}
	})
}

func TestRunStopsDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), func(c *Config) {
			c.Backoff = BackoffPolicy{Initial: time.Hour, Max: time.Hour}
		})
		sc := &scriptedConnect{t: t, u: u, fail: map[int]bool{1: true}}
		u.connect = sc.connect
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := len(sc.attempts()); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		if err := u.Run(ctx); err != nil {
			t.Fatalf("Run after a stop: %v", err)
		}
	})
}

func TestRunTwiceAtOnceIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), nil)
		sc := &scriptedConnect{t: t, u: u, fail: map[int]bool{1: true}}
		u.connect = sc.connect
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		synctest.Wait()
		if err := u.Run(ctx); err == nil {
			t.Error("second concurrent Run succeeded")
		}
		cancel()
		<-done
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	store := openStore(t, nil)
	for name, cfg := range map[string]Config{
		"no pod":    {Broker: "tcp://h:1883"},
		"wildcard":  {Broker: "tcp://h:1883", Pod: "a/+"},
		"scheme":    {Broker: "ws://h:1883", Pod: "p"},
		"no port":   {Broker: "tcp://h", Pod: "p"},
		"negative":  {Broker: "tcp://h:1883", Pod: "p", Window: -1},
		"no broker": {Pod: "p"},
	} {
		if _, err := New(cfg, store); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(Config{Broker: "tcp://h:1883", Pod: "p"}, nil); err == nil {
		t.Error("New with a nil journal succeeded")
	}
}

func offsets(start time.Time, ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(start)
	}
	return out
}
