package uplink

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
)

func TestMergeAbortSession(t *testing.T) {
	for topic, want := range map[string]string{
		"sleegation/v1/merges/m-1/abort":   "m-1",
		"sleegation/v1/merges//abort":      "",
		"sleegation/v1/merges/a/b/abort":   "",
		"sleegation/v1/merges/m-1/end":     "",
		"sleegation/v1/pods/p1/cmd":        "",
		"sleegation/v1/merges/m-1/abort/x": "",
	} {
		got, ok := mergeAbortSession(topic)
		if got != want || ok != (want != "") {
			t.Errorf("mergeAbortSession(%q) = %q, %v; want %q", topic, got, ok, want)
		}
	}
}

// Against a real broker: a command published to the pod's cmd topic and a
// merge-wide abort reach Commands, in order, with the abort's session; a
// retained command is never delivered; the reply goes out as a record on
// reply, with the envelope.
func TestIntegrationCommandsAndReplies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs mosquitto")
	}
	m := mqtttest.Start(t, false)
	// Left retained before the pod connects: the broker hands it to the
	// pod's subscription, which must ignore it.
	mqtttest.Publish(t, m.URL(), "hub-old", Root("p1")+TopicCmd, []byte("stale.retained.command"), true)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store)
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)
	replies := mqtttest.Subscribe(t, m.URL(), Root("p1")+TopicReply, "hub-replies", true)
	mqtttest.WaitFor(t, 5*time.Second, "the retained command to be seen and ignored", func() bool {
		retained, _ := u.InboundDropped()
		return retained == 1
	})
	u.SetMergeSession("m-7")
	mqtttest.Publish(t, m.URL(), "hub", Root("p1")+TopicCmd, []byte("a.b.c"), false)
	mqtttest.Publish(t, m.URL(), "hub", "sleegation/v1/merges/m-6/abort", nil, false) // another merge's
	mqtttest.Publish(t, m.URL(), "hub", "sleegation/v1/merges/m-7/abort", nil, false)
	for i, want := range []Inbound{
		{Topic: Root("p1") + TopicCmd, Payload: []byte("a.b.c")},
		{Topic: "sleegation/v1/merges/m-7/abort", Session: "m-7"},
	} {
		from := u.Commands()
		if want.Session != "" {
			from = u.MergeAborts()
		}
		select {
		case got := <-from:
			if got.Topic != want.Topic || string(got.Payload) != string(want.Payload) || got.Session != want.Session || got.Received.IsZero() {
				t.Fatalf("command %d: %+v, want %+v", i, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("command %d never delivered", i)
		}
	}
	select {
	case got := <-u.Commands():
		t.Fatalf("unexpected command %+v", got)
	case got := <-u.MergeAborts():
		t.Fatalf("unexpected merge-wide abort %+v", got)
	default:
	}

	seq, err := u.Reply(Reply{JTI: "c-1", OK: false, Error: "no_consent: the sleeper has not given current consent"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.WaitFor(t, 5*time.Second, "the reply at the hub", func() bool { return len(replies.Messages()) == 1 })
	msg := replies.Messages()[0]
	var body struct {
		Header
		JTI   string `json:"jti"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(msg.Payload(), &body); err != nil || filepath.Base(msg.Topic()) != TopicReply {
		t.Fatalf("reply %s on %s: %v", msg.Payload(), msg.Topic(), err)
	}
	if body.Seq != seq || body.Pod != "p1" || body.JTI != "c-1" || body.OK || body.Error == "" {
		t.Fatalf("reply %s, want seq %d for c-1, refused", msg.Payload(), seq)
	}
}

// A flood never blocks paho's delivery: beyond the queue, messages are let
// go and counted; retained ones and topics the pod did not ask for never
// reach it.
func TestHandleNeverBlocks(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	for range inboundQueue + 5 {
		u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd})
	}
	u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, retained: true})
	u.handle(nil, fakeMessage{topic: Root("p2") + TopicCmd})
	retained, full := u.InboundDropped()
	if retained != 1 || full != 5 || len(u.Commands()) != inboundQueue {
		t.Fatalf("retained %d, full %d, queued %d; want 1, 5, %d", retained, full, len(u.Commands()), inboundQueue)
	}
}
