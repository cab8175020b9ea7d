package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/internal/mqtttest"
)

// lastStatus is the latest status message received, if any.
func lastStatus(t *testing.T, s *mqtttest.Subscriber) (Status, mqtt.Message, bool) {
	t.Helper()
	msgs := s.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if filepath.Base(msgs[i].Topic()) == TopicStatus {
			var st Status
			if err := json.Unmarshal(msgs[i].Payload(), &st); err != nil {
				t.Fatalf("status %q: %v", msgs[i].Payload(), err)
			}
			return st, msgs[i], true
		}
	}
	return Status{}, nil, false
}

// telemetryBySeq decodes every telemetry message received.
func telemetryBySeq(t *testing.T, s *mqtttest.Subscriber) map[uint64][]Header {
	t.Helper()
	out := map[uint64][]Header{}
	for _, m := range s.Messages() {
		if filepath.Base(m.Topic()) != TopicTelemetry {
			continue
		}
		var h Header
		if err := json.Unmarshal(m.Payload(), &h); err != nil {
			t.Fatalf("telemetry %q: %v", m.Payload(), err)
		}
		out[h.Seq] = append(out[h.Seq], h)
	}
	return out
}

// runUplink starts u.Run and returns a function that stops it and waits.
func runUplink(t *testing.T, u *Uplink) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(systemdStopDeadline):
				t.Fatalf("Run did not return within %v of cancel: systemd's stop timeout would have killed the daemon", systemdStopDeadline)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// integrationUplink is an uplink to broker with short timeouts; mods change
// its configuration further.
func integrationUplink(t *testing.T, broker string, store Journal, mods ...func(*Config)) *Uplink {
	return newTestUplink(t, store, func(c *Config) {
		c.Broker = broker
		c.ClientID = "podd-" + t.Name()
		c.Window = 8
		// Longer than a test binary or the broker may be starved of the
		// CPU: an acknowledgement or a CONNACK missed within them ends the
		// connection, and a test would see the records again, historical,
		// on a new connection, or a second "connect failed" line.
		c.ConnectTimeout = 30 * time.Second
		c.PublishTimeout = 30 * time.Second
		c.Backoff = BackoffPolicy{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond, Jitter: 0.2}
		c.ClockSynced = func() bool { return true }
		for _, mod := range mods {
			mod(c)
		}
	})
}

func TestIntegrationBirthTelemetryAndCleanStop(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store)
	since := time.Date(2031, 5, 6, 22, 0, 0, 0, time.UTC)
	u.SetStatus("idle", since)
	stop := runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)

	// The birth follows the connection: a first subscription may see it
	// published live (not retained). Once it has arrived, a subscription
	// made after it can only get the retained copy.
	early := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-early", true)
	mqtttest.WaitFor(t, 3*time.Second, "the birth", func() bool { _, _, ok := lastStatus(t, early); return ok })
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-a", true)
	mqtttest.WaitFor(t, 3*time.Second, "the retained birth", func() bool { _, _, ok := lastStatus(t, sub); return ok })
	st, msg, _ := lastStatus(t, sub)
	want := Status{Online: true, State: "idle", Version: "test", Since: "2031-05-06T22:00:00.000000000Z", Boot: "b1"}
	if !reflect.DeepEqual(st, want) || !msg.Retained() {
		t.Fatalf("birth %+v retained=%v, want %+v retained", st, msg.Retained(), want)
	}

	telemetry(t, u, 5)
	mqtttest.WaitFor(t, 5*time.Second, "telemetry 1..5", func() bool { return len(telemetryBySeq(t, sub)) == 5 })
	var seqs []uint64
	for _, m := range sub.Messages() {
		if filepath.Base(m.Topic()) == TopicTelemetry {
			var h Header
			_ = json.Unmarshal(m.Payload(), &h)
			seqs = append(seqs, h.Seq)
			if h.Pod != "p1" || h.Boot != "b1" || !h.ClockSynced || h.Historical || m.Qos() != 1 {
				t.Errorf("telemetry %s qos %d", m.Payload(), m.Qos())
			}
		}
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 5]" {
		t.Fatalf("telemetry seqs in arrival order %v, want [1 2 3 4 5]", seqs)
	}
	mqtttest.WaitFor(t, 3*time.Second, "the outbox to empty", func() bool { n, _ := store.OutboxLen(); return n == 0 })

	stop()
	sub2 := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicStatus, "sub-a2", true)
	mqtttest.WaitFor(t, 3*time.Second, "the retained status after stop", func() bool { _, _, ok := lastStatus(t, sub2); return ok })
	if st, msg, _ := lastStatus(t, sub2); st.Online || st.State != "offline" || !msg.Retained() {
		t.Fatalf("after a clean stop the retained status is %+v retained=%v, want offline", st, msg.Retained())
	}
}

// proxy forwards TCP to a broker until cut, after which it refuses every
// connection, so the broker sees the pod vanish without a DISCONNECT; or
// until silenced, after which it keeps the connections open and passes
// nothing, as a pod that lost its power looks to the broker.
type proxy struct {
	ln       net.Listener
	upstream string
	cutOff   atomic.Bool
	silent   atomic.Bool
	mu       sync.Mutex
	conns    []net.Conn
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, upstream: upstream}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.cutOff.Load() {
			down.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, down)
		go p.pipe(down, up)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	src.Close()
	if !p.silent.Load() {
		dst.Close()
	}
}

// silence stops passing bytes either way and refuses new connections, but
// leaves the open ones open, even when the pod closes its side: the broker
// hears nothing more, not even a close, until the keep-alive runs out.
func (p *proxy) silence() {
	p.cutOff.Store(true)
	p.silent.Store(true)
}

func (p *proxy) cut() {
	p.cutOff.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

func TestIntegrationWillIsRetainedWhenTheConnectionDies(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	p := startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
	u := integrationUplink(t, p.url(), openStore(t, nil))
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect through the proxy", u.Connected)

	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicStatus, "sub-b", true)
	mqtttest.WaitFor(t, 3*time.Second, "the birth", func() bool { st, _, ok := lastStatus(t, sub); return ok && st.Online })

	p.cut()
	mqtttest.WaitFor(t, 5*time.Second, "the will", func() bool { st, _, _ := lastStatus(t, sub); return !st.Online })
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to notice", func() bool { return !u.Connected() })

	// A subscriber arriving now gets the will as the retained status.
	late := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicStatus, "sub-b2", true)
	mqtttest.WaitFor(t, 3*time.Second, "the retained will", func() bool { _, _, ok := lastStatus(t, late); return ok })
	st, msg, _ := lastStatus(t, late)
	if st.Online || st.State != "offline" || st.Version != "test" || !msg.Retained() {
		t.Fatalf("retained status after the cut = %+v retained=%v, want the offline will", st, msg.Retained())
	}
}

func TestIntegrationNothingIsLostWhileTheBrokerIsDown(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, true)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	// A persistent session on a persistent broker: what is published while
	// this subscriber is away (the broker restarting) is queued for it.
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicTelemetry, "sub-c", false)

	var (
		down    atomic.Bool
		mu      sync.Mutex
		outage  []uint64
		lastSeq uint64
	)
	ctx, cancel := context.WithCancel(context.Background())
	var producer sync.WaitGroup
	producer.Add(1)
	go func() {
		defer producer.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			before := down.Load()
			seq, err := u.Telemetry(Telemetry{State: "merged", Safety: "ok"}, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if before && down.Load() {
				outage = append(outage, seq)
			}
			lastSeq = seq
			mu.Unlock()
		}
	}()

	time.Sleep(time.Second)
	m.Stop()
	down.Store(true)
	time.Sleep(2 * time.Second)
	down.Store(false)
	m.Start()
	time.Sleep(time.Second)
	cancel()
	producer.Wait()

	mu.Lock()
	n, during := lastSeq, append([]uint64(nil), outage...)
	mu.Unlock()
	if len(during) < 10 {
		t.Fatalf("only %d records made during the outage; the test did not exercise it", len(during))
	}
	mqtttest.WaitFor(t, 10*time.Second, fmt.Sprintf("all %d records at the subscriber", n), func() bool {
		return len(telemetryBySeq(t, sub)) == int(n)
	})
	got := telemetryBySeq(t, sub)
	for seq := uint64(1); seq <= n; seq++ {
		if len(got[seq]) == 0 {
			t.Errorf("seq %d never arrived", seq)
		}
	}
	for _, seq := range during {
		for _, h := range got[seq] {
			if !h.Historical {
				t.Errorf("seq %d, made while the broker was down, arrived with historical false", seq)
			}
		}
	}
	mqtttest.WaitFor(t, 5*time.Second, "the outbox to empty", func() bool { n, _ := store.OutboxLen(); return n == 0 })
	if _, ok := got[n+1]; ok {
		t.Errorf("a seq beyond the last one made arrived")
	}
}
