package uplink

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
)

// The outbox fills while the broker is down: 1200 telemetry records and 20
// events into an outbox of 1000. Once the broker is back the hub gets
// every event, the newest telemetry, and dropped events (reason
// outbox_full) that account exactly for the telemetry that never arrives:
// the oldest, each seq reported once, in disjoint ranges whose count is the
// number of records dropped in them.
func TestIntegrationAFullOutboxDropsTheOldestTelemetryAndReportsIt(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs mosquitto")
	}
	m := mqtttest.Start(t, true)
	store := openStore(t, &journal.Options{MaxOutbox: 1000})
	u := integrationUplink(t, m.URL(), store)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "hub-full", false)
	m.Stop()
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to see the broker gone", func() bool { return !u.Connected() })

	var telemetry, events []uint64
	for i := range 1200 {
		seq, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		telemetry = append(telemetry, seq)
		if i%60 == 59 {
			seq, err := u.Event(Event{Type: "fault", Fields: map[string]any{"device": "max30102", "active": i%120 == 59}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, seq)
		}
	}
	m.Start()
	mqtttest.WaitFor(t, 20*time.Second, "the outbox to empty", func() bool { n, _ := store.OutboxLen(); return n == 0 })

	gotTelemetry := map[uint64]bool{}
	gotEvents := map[uint64]bool{}
	type drop struct{ from, to, count uint64 }
	var drops []drop
	mqtttest.WaitFor(t, 10*time.Second, "the last record at the hub", func() bool {
		for _, msg := range sub.Messages() {
			var body struct {
				Header
				Type   string `json:"type"`
				Reason string `json:"reason"`
				From   uint64 `json:"from"`
				To     uint64 `json:"to"`
				Count  uint64 `json:"count"`
			}
			if filepath.Base(msg.Topic()) == TopicStatus {
				continue
			}
			if err := json.Unmarshal(msg.Payload(), &body); err != nil {
				t.Fatalf("%s %q: %v", msg.Topic(), msg.Payload(), err)
			}
			switch {
			case filepath.Base(msg.Topic()) == TopicTelemetry:
				gotTelemetry[body.Seq] = true
			case body.Type == "dropped" && !gotEvents[body.Seq]:
				if body.Reason != "outbox_full" {
					t.Fatalf("dropped event %s: want reason outbox_full", msg.Payload())
				}
				drops = append(drops, drop{body.From, body.To, body.Count})
				gotEvents[body.Seq] = true
			default:
				gotEvents[body.Seq] = true
			}
		}
		return gotTelemetry[telemetry[len(telemetry)-1]]
	})

	for _, seq := range events {
		if !gotEvents[seq] {
			t.Errorf("event seq %d never arrived", seq)
		}
	}
	var missing []uint64
	for _, seq := range telemetry {
		if !gotTelemetry[seq] {
			missing = append(missing, seq)
		}
	}
	if len(missing) < 200 {
		t.Fatalf("only %d telemetry records missing; the outbox did not fill", len(missing))
	}
	// The oldest went first: every missing record is older than every
	// telemetry record that arrived.
	for _, seq := range telemetry {
		if gotTelemetry[seq] && seq < missing[len(missing)-1] {
			t.Fatalf("telemetry seq %d arrived but the older seq %d was dropped", seq, missing[len(missing)-1])
		}
	}
	// Each drop is reported once, and the reports account for exactly the
	// missing records.
	slices.SortFunc(drops, func(a, b drop) int { return int(a.from) - int(b.from) })
	var reported []uint64
	for i, d := range drops {
		if i > 0 && d.from <= drops[i-1].to {
			t.Fatalf("dropped ranges overlap: %+v and %+v", drops[i-1], d)
		}
		var in []uint64
		for _, seq := range missing {
			if seq >= d.from && seq <= d.to {
				in = append(in, seq)
			}
		}
		if uint64(len(in)) != d.count {
			t.Fatalf("dropped %+v: %d missing telemetry records in its range, want its count", d, len(in))
		}
		reported = append(reported, in...)
	}
	if !slices.Equal(reported, missing) {
		t.Fatalf("the dropped events account for %d records, %d are missing", len(reported), len(missing))
	}
	t.Logf("%d telemetry records dropped in %d reports; %d events kept", len(missing), len(drops), len(events))
}
