package uplink

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// systemdStopDeadline is how long a test against a real socket lets Run take
// to stop. systemd/podd.service sets TimeoutStopSec=10s: past it systemd
// SIGKILLs the daemon, the hardware watchdog's magic close never runs and the
// board reboots. The uplink is one step of the daemon's stop, so it gets
// those 10 s less a 2 s margin for the rest. The exact budget is asserted
// with synctest below; this only proves the real stack keeps within it.
const systemdStopDeadline = 8 * time.Second

const quiesce = time.Duration(disconnectQuiesce) * time.Millisecond

func (s *scriptedConnect) link(i int) *fakeLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links[i]
}

// startRun runs u.Run in the bubble or the test; cancel stops it and the
// channel delivers Run's result.
func startRun(u *Uplink) (cancel context.CancelFunc, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- u.Run(ctx) }()
	return cancel, ch
}

// A broker that freezes mid-connection acknowledges neither the records in
// flight nor the offline status: Run gives the goodbye StopTimeout, closes
// the socket, and paho's Disconnect takes its whole quiesce. PublishTimeout,
// longer, plays no part.
func TestRunStopsAtStopTimeoutPlusQuiesceWhenTheBrokerFreezes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, func(c *Config) {
			c.StopTimeout = 3 * time.Second
			c.PublishTimeout = 20 * time.Second
		})
		sc := &scriptedConnect{t: t, u: u}
		u.connect = sc.connect
		cancel, done := startRun(u)
		synctest.Wait()
		if !u.Connected() {
			t.Fatal("not connected")
		}
		l := sc.link(0)
		l.freeze()
		telemetry(t, u, 2)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("records in flight %v, want [1 2]", got)
		}
		time.Sleep(time.Second)

		cancelAt := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if took, want := time.Since(cancelAt), 3*time.Second+quiesce; took != want {
			t.Fatalf("Run returned %v after cancel, want StopTimeout + quiesce = %v", took, want)
		}
		st := l.statuses(t)
		if last := st[len(st)-1]; last.Online || last.State != "offline" {
			t.Fatalf("last status attempted %+v, want the offline status", last)
		}
		l.mu.Lock()
		abortedAfter, disconnects := l.abortedAt.Sub(cancelAt), slices.Clone(l.disconnects)
		l.mu.Unlock()
		if abortedAfter != 3*time.Second {
			t.Errorf("socket closed %v after cancel, want at StopTimeout (3s)", abortedAfter)
		}
		if !slices.Equal(disconnects, []uint{disconnectQuiesce}) {
			t.Errorf("disconnects %v, want one with the quiesce", disconnects)
		}
		// Never acknowledged, so still in the outbox for the next start.
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("outbox %v, want [1 2]", got)
		}
	})
}

// paho's Publish blocks handing a message to its writer while the writer is
// stuck on a socket that takes no more bytes (a black-holed network, a full
// buffer): the drainer is inside Publish, not at its select, when ctx ends.
// Closing the socket at StopTimeout releases it, the goodbye fails at once
// on the closed connection, and the budget holds.
func TestRunStopsInBudgetWhilePahoBlocksInPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), func(c *Config) { c.StopTimeout = 2 * time.Second })
		sc := &scriptedConnect{t: t, u: u}
		u.connect = sc.connect
		cancel, done := startRun(u)
		synctest.Wait()
		l := sc.link(0)
		l.freeze()
		l.stall()
		telemetry(t, u, 1) // the drainer blocks publishing it
		synctest.Wait()

		cancelAt := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if took, want := time.Since(cancelAt), 2*time.Second+quiesce; took != want {
			t.Fatalf("Run returned %v after cancel, want StopTimeout + quiesce = %v", took, want)
		}
		if !l.isAborted() {
			t.Fatal("the socket was not closed")
		}
		// The record's Publish returned failed; the goodbye was not tried on
		// the closed socket, where paho could block again: the will speaks.
		pubs := l.published()
		if last := pubs[len(pubs)-1]; last.retained || !errors.Is(last.tok.Error(), errFakeNotConnected) {
			t.Fatalf("last publication %s retained=%v err=%v, want the record, failed", last.payload, last.retained, last.tok.Error())
		}
		if st := l.statuses(t); len(st) != 1 || !st[0].Online {
			t.Fatalf("statuses %+v, want only the birth", st)
		}
	})
}

// A stop during the backoff between two attempts owes nothing to anyone.
func TestRunStopsAtOnceBetweenAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), func(c *Config) {
			c.Backoff = BackoffPolicy{Initial: time.Minute, Max: time.Minute}
		})
		sc := &scriptedConnect{t: t, u: u, fail: map[int]bool{1: true}}
		u.connect = sc.connect
		cancel, done := startRun(u)
		time.Sleep(10 * time.Second)
		cancelAt := time.Now()
		cancel()
		<-done
		if took := time.Since(cancelAt); took != 0 {
			t.Fatalf("Run took %v to stop between attempts, want 0", took)
		}
	})
}

func TestNewTakesTheStopTimeoutDefaultAndRefusesANegativeOne(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	if u.cfg.StopTimeout != time.Second {
		t.Errorf("default StopTimeout %v, want 1s", u.cfg.StopTimeout)
	}
	if _, err := New(Config{Broker: "tcp://h:1883", Pod: "p", StopTimeout: -time.Second}, openStore(t, nil)); err == nil {
		t.Error("New accepted a negative StopTimeout")
	}
}

// A broker that accepts the TCP connection and never sends the CONNACK (a
// hung broker's kernel still completes the handshake): paho would wait
// ConnectTimeout, here an hour. Run closes the socket instead.
func TestRunAbandonsAConnectWaitingForItsConnack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	u := newTestUplink(t, openStore(t, nil), func(c *Config) {
		c.Broker = "tcp://" + ln.Addr().String()
		c.ConnectTimeout = time.Hour
	})
	cancel, done := startRun(u)
	defer cancel()

	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- nc
	}()
	var nc net.Conn
	select {
	case nc = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the uplink did not connect within 5s")
	}
	if nc == nil {
		t.Fatal("accept failed")
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := packets.ReadPacket(nc)
	if err != nil {
		t.Fatalf("reading the CONNECT: %v", err)
	}
	if _, ok := p.(*packets.ConnectPacket); !ok {
		t.Fatalf("first packet %v, want CONNECT", p)
	}

	// paho now waits for the CONNACK.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(systemdStopDeadline):
		t.Fatalf("Run still waiting for the CONNACK %v after cancel; systemd would have killed the daemon", systemdStopDeadline)
	}
	// The pod closed its side rather than leave it to the broker.
	// A reset instead of a FIN is a close too: the pod may close with
	// bytes unread.
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the stop = %v, want the pod's socket closed", err)
	}
}
