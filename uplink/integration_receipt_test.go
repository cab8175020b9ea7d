package uplink

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// hubFollow is a receipting hub following p1, its updates read as they come
// (a record is held once read).
type hubFollow struct {
	cl *hubclient.Client
	f  *hubclient.Follower
	wg sync.WaitGroup
	mu sync.Mutex
	// seqs are the telemetry and events seqs handed on, in order; dropped
	// counts the dropped events among them.
	seqs    []uint64
	dropped int
}

func startHub(t *testing.T, broker, id string) *hubFollow {
	t.Helper()
	// Timeouts longer than a test binary or the broker may be starved of
	// the CPU: a hub that missed its SUBACK by then failed FollowWith.
	cl, err := hubclient.Connect(broker, id, hubclient.ConnectOptions{
		OpTimeout: 30 * time.Second, ConnectTimeout: 30 * time.Second, DeferOnline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := cl.FollowWith(hubclient.FollowOptions{Receipts: true, ReceiptEvery: 100 * time.Millisecond}, "p1")
	if err != nil {
		_ = cl.Close()
		t.Fatal(err)
	}
	h := &hubFollow{cl: cl, f: f}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for u := range f.Updates() {
			if u.Kind != hubclient.UpdateRecord || u.Record.Seq == 0 {
				continue
			}
			h.mu.Lock()
			h.seqs = append(h.seqs, u.Record.Seq)
			if u.Record.Type == "dropped" {
				h.dropped++
			}
			h.mu.Unlock()
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *hubFollow) close() {
	_ = h.cl.Close() // stops the Follower, which closes Updates
	h.wg.Wait()
}

func (h *hubFollow) got() (seqs []uint64, dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seqs), h.dropped
}

// The hostile reviewer's test: a broker that keeps nothing acknowledges
// records the hub has not read (its connection stalled) and is killed
// (SIGKILL) before it delivers them, then started again. Without
// require_hub the pod deleted them on the broker's PUBACK: they are lost,
// with no dropped event. With it, the pod kept them until the hub's
// receipt, held them while the hub's status was unknown after the restart,
// and sent them once a hub announced itself: every record reaches the hub.
func TestIntegrationABrokerKilledBeforeTheHubReadLosesNothingOnlyWithRequireHub(t *testing.T) {
	t.Parallel()
	for _, requireHub := range []bool{false, true} {
		t.Run("require_hub="+strconv.FormatBool(requireHub), func(t *testing.T) { killedBeforeTheHubRead(t, requireHub) })
	}
}

func killedBeforeTheHubRead(t *testing.T, requireHub bool) {
	if testing.Short() {
		t.Skip("runs and kills a real mosquitto")
	}
	const (
		before = 5   // read by the hub (and receipted) before its connection stalls
		unread = 249 // acknowledged by the broker, never read by the first hub
		after  = 1   // made once the broker is back
		n      = before + unread + after
	)
	m := mqtttest.Start(t, false)
	hubLink := startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
	hub1 := startHub(t, hubLink.url(), "hub-1")

	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) {
		c.RequireHub = requireHub
		c.Window = 32
		c.ProbeWait = 200 * time.Millisecond
	})
	var sent sentLog
	sent.watch(u)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)

	telemetry(t, u, before)
	mqtttest.WaitFor(t, 5*time.Second, "the first records read by the hub and deleted by the pod", func() bool {
		k, _ := store.OutboxLen()
		seqs, _ := hub1.got()
		return k == 0 && len(seqs) == before
	})

	hubLink.silence() // the hub reads nothing more; its connection stays up
	telemetry(t, u, unread)
	mqtttest.WaitFor(t, 10*time.Second, "the broker to acknowledge every record", func() bool {
		sent.mu.Lock()
		defer sent.mu.Unlock()
		acked := map[uint64]bool{}
		for _, r := range sent.sent {
			select {
			case <-r.tok.Done():
				if r.tok.Error() == nil {
					acked[r.seq] = true
				}
			default:
			}
		}
		return len(acked) == before+unread
	})
	k, err := store.OutboxLen()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]int{false: 0, true: unread}[requireHub]; k != want {
		t.Fatalf("outbox with every record acknowledged by the broker: %d, want %d", k, want)
	}

	m.Kill()
	// The broker's death closes the hub's socket too (the silenced link
	// would hold it open, and Close would wait out OpTimeout for each
	// acknowledgement).
	hubLink.cut()
	hub1.close()
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to see the connection lost", func() bool { return !u.Connected() })
	conns := sent.connections()
	m.Start()
	mqtttest.WaitFor(t, 10*time.Second, "the uplink to reconnect", func() bool { return u.Connected() && sent.connections() > conns })
	var hub2 *hubFollow
	if requireHub {
		telemetry(t, u, after)
		// No hub status on a broker that kept nothing: unknown, so held.
		time.Sleep(500 * time.Millisecond)
		sent.mu.Lock()
		var onNew int
		for _, r := range sent.sent {
			if r.conn == sent.conns {
				onNew++
			}
		}
		sent.mu.Unlock()
		if onNew != 0 {
			t.Fatalf("%d records sent while the hub's status is unknown", onNew)
		}
		hub2 = startHub(t, m.URL(), "hub-2")
	} else {
		// The pod does not wait for a hub: this one listens first.
		hub2 = startHub(t, m.URL(), "hub-2")
		telemetry(t, u, after)
	}
	mqtttest.WaitFor(t, 10*time.Second, "the record made after the restart at the hub", func() bool {
		seqs, _ := hub2.got()
		return slices.Contains(seqs, n)
	})
	if requireHub {
		mqtttest.WaitFor(t, 10*time.Second, "every record receipted", func() bool {
			r, ok := u.HubReceipt()
			k, _ := store.OutboxLen()
			return ok && r == n && k == 0
		})
	}
	time.Sleep(300 * time.Millisecond) // whatever else was coming
	got1, dropped1 := hub1.got()
	got2, dropped2 := hub2.got()
	if !slices.Equal(got1, seqRange(1, before)) {
		t.Fatalf("the first hub read %v, want 1..%d", got1, before)
	}
	held := map[uint64]bool{}
	for _, s := range append(got1, got2...) {
		held[s] = true
	}
	if dropped1+dropped2 != 0 {
		t.Fatalf("%d dropped events", dropped1+dropped2)
	}
	if requireHub {
		if !slices.Equal(got2, seqRange(before+1, n)) {
			t.Fatalf("the second hub read %v, want %d..%d", got2, before+1, n)
		}
		if len(held) != n {
			t.Fatalf("the hubs hold %d of the %d records", len(held), n)
		}
		return
	}
	// Without require_hub: the 249 records the broker acknowledged and
	// lost are gone from the pod too, and nothing says so.
	if !slices.Equal(got2, []uint64{n}) {
		t.Fatalf("the second hub read %v, want only %d", got2, n)
	}
	if len(held) != before+after {
		t.Fatalf("the hubs hold %d records, want %d: %d lost", len(held), before+after, unread)
	}
	if k, _ := store.OutboxLen(); k != 0 {
		t.Fatalf("outbox %d, want 0: the pod kept nothing of what was lost", k)
	}
}

// The hub's connection dies (its socket closed): the broker fires its will,
// online false, and the pod holds what it makes from then on; a hub that
// comes back gets all of it, and the pod deletes it on that hub's receipt.
func TestIntegrationTheBacklogIsHeldWhileTheHubIsOfflineAndSentWhenItIsBack(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a real mosquitto")
	}
	m := mqtttest.Start(t, false)
	hubLink := startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
	hub1 := startHub(t, hubLink.url(), "hub-1")
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) {
		c.RequireHub = true
		c.ProbeWait = 200 * time.Millisecond
	})
	var sent sentLog
	sent.watch(u)
	runUplink(t, u)
	telemetry(t, u, 3)
	mqtttest.WaitFor(t, 5*time.Second, "3 records receipted", func() bool {
		r, ok := u.HubReceipt()
		k, _ := store.OutboxLen()
		return ok && r == 3 && k == 0
	})

	hubLink.cut() // the hub's socket closes: the broker publishes its will
	mqtttest.WaitFor(t, 5*time.Second, "the pod to see the hub offline", func() bool {
		on, known := u.HubOnline()
		return known && !on
	})
	hub1.close()
	sent.mu.Lock()
	sentBefore := len(sent.sent)
	sent.mu.Unlock()
	telemetry(t, u, 40)
	if _, err := u.Event(Event{Type: "state"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	sent.mu.Lock()
	held := len(sent.sent) - sentBefore
	sent.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d records sent while the hub is offline", held)
	}
	if k, _ := store.OutboxLen(); k != 41 {
		t.Fatalf("outbox %d while the hub is offline, want 41", k)
	}

	hub2 := startHub(t, m.URL(), "hub-2")
	mqtttest.WaitFor(t, 10*time.Second, "the backlog receipted", func() bool {
		r, ok := u.HubReceipt()
		k, _ := store.OutboxLen()
		return ok && r == 44 && k == 0
	})
	got, _ := hub2.got()
	if !slices.Equal(got, seqRange(4, 44)) {
		t.Fatalf("the hub that came back read %v, want 4..44", got)
	}
	if on, known := u.HubOnline(); !on || !known {
		t.Fatalf("HubOnline = %v, %v", on, known)
	}
}
