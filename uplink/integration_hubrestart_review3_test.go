package uplink

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// A hub that restarts: its old connection died without a close (a crash,
// a cable), and the new process, which systemd starts again within a
// second, is subscribed and has announced itself online before the broker
// gives up on the old connection (1.5 keep-alives) and publishes its will:
// online false, retained. The pod takes that stale will (written when the
// old hub connected: its ts is older than the new hub's online) as the
// hub's present state and holds everything it makes from then on, with a
// hub online and reading. The package doc: the pod "sends only while the
// hub is online"; it is. A record made after the old hub's will must
// reach the new hub.
func TestIntegrationTheOldConnectionsWillDoesNotSilenceARestartedHub(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a real mosquitto")
	}
	m := mqtttest.Start(t, false)
	oldLink := startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
	old, err := hubclient.Connect(oldLink.url(), "hub", hubclient.ConnectOptions{
		OpTimeout: time.Second, ConnectTimeout: 2 * time.Second, KeepAlive: time.Second, DeferOnline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := old.FollowWith(hubclient.FollowOptions{Receipts: true, ReceiptEvery: 100 * time.Millisecond}, "p1")
	if err != nil {
		_ = old.Close()
		t.Fatal(err)
	}
	go func() {
		for range f.Updates() {
		}
	}()
	t.Cleanup(func() { _ = old.Close() })

	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) { c.RequireHub = true })
	runUplink(t, u)
	telemetry(t, u, 3)
	mqtttest.WaitFor(t, 10*time.Second, "the first records receipted by the old hub", func() bool {
		k, _ := store.OutboxLen()
		r, ok := u.HubReceipt()
		return ok && r == 3 && k == 0
	})

	status := mqtttest.Subscribe(t, m.URL(), HubStatusTopic, "observer", true)
	oldLink.silence() // the old hub's process is gone; the broker has not noticed yet
	hub := startHub(t, m.URL(), "hub-restarted")
	mqtttest.WaitFor(t, 5*time.Second, "the pod to see the restarted hub online", func() bool {
		on, known := u.HubOnline()
		return on && known
	})
	// The old connection's keep-alive runs out: the broker publishes its will.
	mqtttest.WaitFor(t, 15*time.Second, "the old connection's will", func() bool {
		for _, msg := range status.Messages() {
			if st, err := ParseHubStatus(msg.Payload()); err == nil && !st.Online {
				return true
			}
		}
		return false
	})
	time.Sleep(200 * time.Millisecond) // the pod reads it too

	telemetry(t, u, 1)
	mqtttest.WaitFor(t, 10*time.Second, "seq 4, made after the old connection's will, at the restarted hub", func() bool {
		seqs, _ := hub.got()
		return slices.Contains(seqs, 4)
	})
}
