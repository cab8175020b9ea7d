package uplink

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
)

// A broker that hangs (SIGSTOP: its sockets open, nothing answered) while
// records are in flight: Run still stops within systemd's stop timeout,
// although PublishTimeout and ConnectTimeout are longer than it. The records
// stay in the outbox, and the hub ends up seeing the pod offline (the
// goodbye or the will, whichever the broker reads once it runs again).
func TestIntegrationRunStopsWhileTheBrokerIsFrozen(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) {
		c.PublishTimeout = 30 * time.Second
		c.ConnectTimeout = 30 * time.Second
	})
	stop := runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	telemetry(t, u, 3)
	mqtttest.WaitFor(t, 5*time.Second, "records 1..3 to be acknowledged", func() bool { n, _ := store.OutboxLen(); return n == 0 })

	m.Freeze()
	telemetry(t, u, 2)
	at := time.Now()
	stop() // fails the test past systemdStopDeadline
	t.Logf("Run returned %v after cancel (StopTimeout %v)", time.Since(at).Round(time.Millisecond), u.cfg.StopTimeout)
	if got := outbox(t, store); !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("outbox %v, want the unacknowledged [4 5]", got)
	}

	m.Thaw()
	late := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicStatus, "sub-frozen", true)
	mqtttest.WaitFor(t, 5*time.Second, "the retained offline status", func() bool {
		st, _, ok := lastStatus(t, late)
		return ok && !st.Online && st.State == "offline"
	})
}

// The store opens only after the uplink connected: the birth is out before
// it, records appended after Set reach the broker, the previous run's
// records too, as historical, on the same connection, and none is lost.
func TestIntegrationASlotSetAfterConnectingLosesNothing(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	path := filepath.Join(t.TempDir(), "journal.db")
	appendPrevious(t, path, 3)
	slot := journal.NewSlot()
	t.Cleanup(func() { _ = slot.Close() })

	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-slot", true)
	u := integrationUplink(t, m.URL(), slot)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	mqtttest.WaitFor(t, 3*time.Second, "the birth before the journal opened", func() bool {
		st, _, ok := lastStatus(t, sub)
		return ok && st.Online
	})
	if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); !errors.Is(err, journal.ErrNotOpen) {
		t.Fatalf("Telemetry before the journal opened = %v, want ErrNotOpen", err)
	}

	s, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := slot.Set(s); err != nil {
		t.Fatal(err)
	}
	telemetry(t, u, 5)
	mqtttest.WaitFor(t, 5*time.Second, "records 1..8 at the subscriber", func() bool { return len(telemetryBySeq(t, sub)) == 8 })
	got := telemetryBySeq(t, sub)
	for seq := uint64(1); seq <= 8; seq++ {
		for _, h := range got[seq] {
			if want := seq <= 3; h.Historical != want {
				t.Errorf("seq %d historical %v, want %v", seq, h.Historical, want)
			}
		}
	}
	mqtttest.WaitFor(t, 3*time.Second, "the outbox to empty", func() bool { n, _ := slot.OutboxLen(); return n == 0 })

	births := 0
	for _, msg := range sub.Messages() {
		var st Status
		if filepath.Base(msg.Topic()) == TopicStatus && json.Unmarshal(msg.Payload(), &st) == nil && st.Online {
			births++
		}
	}
	if births != 1 {
		t.Errorf("%d births, want 1: the connection must outlive the journal's absence", births)
	}
}

// A full disk: Event fails with ENOSPC and nothing reaches the broker; once
// there is room again, the next event is delivered, with the seq the failed
// one did not consume.
func TestIntegrationAFullDiskFailsTheEventAndLaterOnesArrive(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	store := openStore(t, nil)
	fj := &faultyJournal{Journal: store}
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicEvents, "sub-enospc", true)
	u := integrationUplink(t, m.URL(), fj)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)

	fj.set(func(f *faultyJournal) { f.appendErr = diskError("Append", syscall.ENOSPC) })
	if _, err := u.Event(Event{Type: "fault", Fields: map[string]any{"try": 1}}, time.Now()); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Event on a full disk = %v, want ENOSPC", err)
	}
	fj.set(func(f *faultyJournal) { f.appendErr = nil })
	seq, err := u.Event(Event{Type: "fault", Fields: map[string]any{"try": 2}}, time.Now())
	if err != nil || seq != 1 {
		t.Fatalf("Event with room = %d, %v; want seq 1", seq, err)
	}
	mqtttest.WaitFor(t, 5*time.Second, "the event at the subscriber", func() bool { return len(sub.Messages()) > 0 })
	mqtttest.WaitFor(t, 3*time.Second, "the outbox to empty", func() bool { n, _ := store.OutboxLen(); return n == 0 })

	msgs := sub.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d events at the broker, want only the one stored", len(msgs))
	}
	var ev struct {
		Header
		Type string  `json:"type"`
		Try  float64 `json:"try"`
	}
	if err := json.Unmarshal(msgs[0].Payload(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 1 || ev.Type != "fault" || ev.Try != 2 {
		t.Fatalf("event %s, want seq 1, the second try", msgs[0].Payload())
	}
}
