package contract_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// A pod whose outbox filled up while no broker was reachable: the uplink
// reports the records its journal dropped (a "dropped" event, outbox_full)
// and a record it could not send (corrupt), and sends what it kept as
// historical once a broker is there. Each message validates. The outbox
// holds six records: the eight telemetry records and the corrupt one push
// the oldest telemetry out in pairs (telemetry goes before any event), and
// the two newest are left to go out as historical.
func TestAFullOutboxValidates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs an uplink against mosquitto")
	}
	store, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), &journal.Options{MaxOutbox: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := mqtttest.Start(t, false)
	hub := hubView{t: t, sub: mqtttest.Subscribe(t, m.URL(), uplink.Root(podID)+"#", "contract-hub", true)}
	u, err := uplink.New(uplink.Config{
		Broker: m.URL(), Pod: podID, Boot: "c0ffee0000000002", Version: "contract-test",
		ProbeWait: 200 * time.Millisecond, KeepAlive: 5 * time.Second,
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	hr, spo2 := 61.5, 96.0
	for i := range 8 {
		if _, err := u.Telemetry(uplink.Telemetry{State: "idle", Safety: "ok",
			Vitals: uplink.Vitals{HeartRateBPM: &hr, SpO2Pct: &spo2}}, time.Now()); err != nil {
			t.Fatalf("telemetry %d: %v", i, err)
		}
	}
	// A record the drainer cannot send (its payload is not a JSON object,
	// as a damaged one can be) is discarded and reported.
	if _, err := store.Append(uplink.Root(podID)+uplink.TopicEvents, time.Now(), func(uint64) ([]byte, error) { return []byte("not an object"), nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	mqtttest.WaitFor(t, 20*time.Second, "the dropped event and the historical telemetry", func() bool {
		return hub.has(uplink.TopicEvents, event("dropped", "reason", "outbox_full")) &&
			hub.has(uplink.TopicEvents, event("dropped", "reason", "corrupt")) &&
			hub.has(uplink.TopicTelemetry, func(b map[string]any) bool { return b["historical"] == true })
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mqtttest.WaitFor(t, 10*time.Second, "the offline status", func() bool {
		return hub.has(uplink.TopicStatus, func(b map[string]any) bool { return b["online"] == false })
	})
	seen := validateAll(t, hub.messages())
	for _, want := range []string{"status", "status offline", "telemetry historical", "event dropped reason outbox_full", "event dropped reason corrupt"} {
		if !seen[want] {
			t.Errorf("no %q message", want)
		}
	}
}
