package uplink

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/internal/mqtttest"
)

// sentLog records every record the drainer publishes, with the connection
// it went out on and its token: the test's view of the window in flight.
type sentLog struct {
	mu    sync.Mutex
	conns int
	sent  []sentRecord
}

type sentRecord struct {
	conn int
	seq  uint64
	tok  mqtt.Token
}

// watch makes every connection u makes from now on log its records in s.
// Call it before Run.
func (s *sentLog) watch(u *Uplink) {
	connect := u.connect
	u.connect = func(ctx context.Context, broker string) (*conn, error) {
		c, err := connect(ctx, broker)
		if err == nil {
			s.mu.Lock()
			s.conns++
			c.link = loggedLink{link: c.link, log: s, conn: s.conns}
			s.mu.Unlock()
		}
		return c, err
	}
}

// inFlight is the seqs published on the latest connection whose
// publication has not completed: neither acknowledged nor failed.
func (s *sentLog) inFlight() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	for _, r := range s.sent {
		if r.conn != s.conns {
			continue
		}
		select {
		case <-r.tok.Done():
		default:
			out = append(out, r.seq)
		}
	}
	return out
}

func (s *sentLog) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

type loggedLink struct {
	link
	log  *sentLog
	conn int
}

func (l loggedLink) Publish(topic string, qos byte, retained bool, payload any) mqtt.Token {
	tok := l.link.Publish(topic, qos, retained, payload)
	if b, ok := payload.([]byte); ok && !retained { // records; the status is retained
		var h Header
		if err := json.Unmarshal(b, &h); err == nil {
			l.log.mu.Lock()
			l.log.sent = append(l.log.sent, sentRecord{conn: l.conn, seq: h.Seq, tok: tok})
			l.log.mu.Unlock()
		}
	}
	return tok
}

// arrival is one telemetry record as a subscriber received it.
type arrival struct {
	seq        uint64
	historical bool
}

func arrivals(t *testing.T, subs ...*mqtttest.Subscriber) []arrival {
	t.Helper()
	var out []arrival
	for _, s := range subs {
		for _, m := range s.Messages() {
			if filepath.Base(m.Topic()) != TopicTelemetry {
				continue
			}
			var h Header
			if err := json.Unmarshal(m.Payload(), &h); err != nil {
				t.Fatalf("telemetry %q: %v", m.Payload(), err)
			}
			out = append(out, arrival{seq: h.Seq, historical: h.Historical})
		}
	}
	return out
}

// The broker is killed (SIGKILL: it writes nothing out) while the uplink has
// a full window in flight and a backlog behind it, and started again on the
// same port. The broker is frozen first, so that the window is really in
// flight (published, unacknowledged) at the kill, and so that everything it
// acknowledged before has reached the hub: a broker killed between its
// PUBACK and its delivery to a subscriber loses the message itself, which no
// pod can help.
//
// What the uplink documents, and what is checked: a record is deleted only
// once acknowledged on its connection, so every seq 1..N reaches the hub (a
// duplicate is allowed, counted and logged: delivery is at least once), the
// outbox ends empty; the drainer sends in seq order and starts each
// connection from the oldest unacknowledged record, so the first arrivals
// of the seqs are 1..N in order; and the records sent again on the new
// connection were made before it, so they arrive historical.
//
// Two hubs: one with a persistent session on a persistent broker (its
// session and subscription saved before the records, restored at the
// restart, so what the pod sends while the hub is away is queued for it);
// and, on a broker that keeps nothing, one subscriber before the kill and a
// second subscribed after the restart, before the pod is let back in
// (through a proxy that refuses it meanwhile), which reads what the pod
// sends again.
func TestIntegrationABrokerKilledWithAFullWindowLosesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		persistent bool
	}{
		{"persistent broker and hub session", true},
		{"broker that keeps nothing, a hub before and after", false},
	} {
		t.Run(tc.name, func(t *testing.T) { brokerKilledWithAFullWindow(t, tc.persistent) })
	}
}

func brokerKilledWithAFullWindow(t *testing.T, persistent bool) {
	if testing.Short() {
		t.Skip("runs and kills a real mosquitto")
	}
	const (
		window  = 8
		before  = 5          // delivered before the broker hangs
		backlog = 3 * window // appended while it hangs: a full window, and twice as many behind it
		after   = 5          // appended once it is back
		n       = before + backlog + after
	)
	m := mqtttest.Start(t, persistent)
	broker := m.URL()
	var p *proxy
	if !persistent {
		p = startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
		broker = p.url()
	}
	store := openStore(t, nil)
	u := integrationUplink(t, broker, store, func(c *Config) {
		c.Window = window
		// Longer than the test: the window is in flight when the broker
		// dies, not abandoned by the uplink first.
		c.PublishTimeout = 30 * time.Second
		c.ProbeWait = 200 * time.Millisecond
	})
	var sent sentLog
	sent.watch(u)
	subs := []*mqtttest.Subscriber{mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicTelemetry, "hub-kill", !persistent)}
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	if persistent {
		m.Save() // the hub's session and subscription outlive the kill
	}

	telemetry(t, u, before)
	mqtttest.WaitFor(t, 5*time.Second, "the first records at the hub and acknowledged", func() bool {
		k, _ := store.OutboxLen()
		return k == 0 && len(arrivals(t, subs...)) == before
	})

	m.Freeze()
	telemetry(t, u, backlog)
	var inFlight []uint64
	mqtttest.WaitFor(t, 5*time.Second, "a full window in flight to the hung broker", func() bool {
		inFlight = sent.inFlight()
		return len(inFlight) == window
	})
	if want := seqRange(before+1, before+window); !slices.Equal(inFlight, want) {
		t.Fatalf("in flight at the kill: %v, want %v", inFlight, want)
	}
	if k, err := store.OutboxLen(); err != nil || k != backlog {
		t.Fatalf("outbox at the kill: %d, %v; want the %d records made while the broker hung", k, err, backlog)
	}
	if !persistent {
		p.cutOff.Store(true) // the pod stays out until the second hub listens
	}
	m.Kill()
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to see the connection lost", func() bool { return !u.Connected() })
	m.Start()
	if !persistent {
		subs = append(subs, mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicTelemetry, "hub-kill-after", true))
		p.cutOff.Store(false)
	}
	telemetry(t, u, after)

	mqtttest.WaitFor(t, 15*time.Second, "every seq 1.."+strconv.Itoa(n)+" at the hub", func() bool {
		seen := map[uint64]bool{}
		for _, a := range arrivals(t, subs...) {
			seen[a.seq] = true
		}
		return len(seen) == n
	})
	mqtttest.WaitFor(t, 5*time.Second, "the outbox to empty", func() bool { k, _ := store.OutboxLen(); return k == 0 })

	got := arrivals(t, subs...)
	count := map[uint64]int{}
	var firsts []uint64
	for _, a := range got {
		if count[a.seq] == 0 {
			firsts = append(firsts, a.seq)
		}
		count[a.seq]++
		switch {
		case a.seq <= before && a.historical:
			t.Errorf("seq %d, made on the first connection and acknowledged on it, arrived historical", a.seq)
		case a.seq > before && a.seq <= before+backlog && !a.historical:
			t.Errorf("seq %d arrived with historical false: only the connection after the kill delivered it, and it was made before that one", a.seq)
		}
	}
	if want := seqRange(1, n); !slices.Equal(firsts, want) {
		t.Errorf("seqs in order of first arrival %v, want %v", firsts, want)
	}
	var dups []uint64
	for seq, k := range count {
		if seq < 1 || seq > n {
			t.Errorf("seq %d arrived; only 1..%d were made", seq, n)
		}
		for range k - 1 {
			dups = append(dups, seq)
		}
	}
	slices.Sort(dups)
	t.Logf("%d arrivals of %d records over %d connections; duplicates: %d %v", len(got), n, sent.connections(), len(dups), dups)
}

// seqRange is from..to, inclusive.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
