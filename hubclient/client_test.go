package hubclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/mqtttest"
)

func broker(t *testing.T) *mqtttest.Mosquitto {
	t.Helper()
	if testing.Short() {
		t.Skip("runs mosquitto")
	}
	return mqtttest.Start(t, false)
}

func connect(t *testing.T, url, id string) *hubclient.Client {
	t.Helper()
	c, err := hubclient.Connect(url, id, hubclient.ConnectOptions{OpTimeout: 3 * time.Second, ConnectTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fakePod is a pod's MQTT side in miniature: it publishes records under its
// id with the envelope, and answers every command on its cmd topic through
// a real hubcmd.Verifier, as podd does (retained commands ignored).
type fakePod struct {
	t   *testing.T
	id  string
	c   mqtt.Client
	v   *hubcmd.Verifier
	mu  sync.Mutex
	seq uint64
	got []string // the jti of each command received
	// replies are the goroutines publishing replies; the cleanup waits
	// for them before it disconnects.
	replies sync.WaitGroup
}

func newFakePod(t *testing.T, url, id string, keys ...hubclient.Key) *fakePod {
	t.Helper()
	var ks *hubcmd.KeySet // none: only merge/abort is accepted
	if len(keys) > 0 {
		set, err := hubclient.PublicSet(keys...)
		if err != nil {
			t.Fatal(err)
		}
		if ks, err = hubcmd.ParseKeySet(set); err != nil {
			t.Fatal(err)
		}
	}
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{PodID: id, Keys: ks, Replay: hubcmd.NewMemoryReplayCache(0, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePod{t: t, id: id, v: v}
	p.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("fake-" + id).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(3 * time.Second))
	if tok := p.c.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("fake pod connect: %v", tok.Error())
	}
	t.Cleanup(func() {
		p.replies.Wait()
		p.c.Disconnect(100)
	})
	tok := p.c.Subscribe(hubclient.PodTopic(id, "cmd"), 1, func(_ mqtt.Client, m mqtt.Message) {
		if m.Retained() {
			return
		}
		cmd, err := v.Verify(m.Payload(), time.Now(), true)
		jti, reply := cmd.ID, map[string]any{"ok": err == nil}
		if err != nil {
			var e *hubcmd.Error
			if errors.As(err, &e) {
				jti = e.JTI
				reply["error"] = string(e.Reason) + ": " + e.Error()
			}
		}
		p.mu.Lock()
		p.got = append(p.got, jti)
		p.mu.Unlock()
		reply["jti"] = jti
		p.replies.Add(1)
		go func() { // not in paho's handler, which must not wait
			defer p.replies.Done()
			p.publish("reply", reply, false)
		}()
	})
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("fake pod subscribe: %v", tok.Error())
	}
	return p
}

// publish sends one record of kind with the next seq.
func (p *fakePod) publish(kind string, body map[string]any, historical bool) uint64 {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	p.publishSeq(kind, seq, body, historical)
	return seq
}

// publishSeq sends one record of kind with seq.
func (p *fakePod) publishSeq(kind string, seq uint64, body map[string]any, historical bool) {
	m := map[string]any{"pod": p.id, "boot": "b1", "seq": seq, "ts": time.Now().UTC().Format(time.RFC3339Nano),
		"clock_synced": true, "historical": historical, "simulated": true}
	for k, v := range body {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	if tok := p.c.Publish(hubclient.PodTopic(p.id, kind), 1, false, b); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		p.t.Errorf("fake pod publish: %v", tok.Error())
	}
}

// next reads the Follower's next update, or fails.
func next(t *testing.T, f *hubclient.Follower) hubclient.Update {
	t.Helper()
	select {
	case u, ok := <-f.Updates():
		if !ok {
			t.Fatal("Updates closed")
		}
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update within 5 s")
	}
	return hubclient.Update{}
}

func describe(u hubclient.Update) string {
	switch u.Kind {
	case hubclient.UpdateRecord:
		s := fmt.Sprintf("%s %d", u.Record.Kind, u.Record.Seq)
		if u.Record.Historical {
			s += " historical"
		}
		return s
	case hubclient.UpdateGap:
		return fmt.Sprintf("gap %d..%d", u.From, u.To)
	}
	return fmt.Sprintf("filled %d..%d by %s", u.From, u.To, u.By)
}

func expect(t *testing.T, f *hubclient.Follower, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := describe(next(t, f)); got != w {
			t.Fatalf("update %q, want %q", got, w)
		}
	}
}

// TestFollowerDedupesAndReportsGaps: a record sent twice is delivered once;
// a seq skipped is a gap, which a late record or a dropped event covering
// it fills; a dropped range reported ahead is never a gap; historical is
// passed through.
func TestFollowerDedupesAndReportsGaps(t *testing.T) {
	m := broker(t)
	hub := connect(t, m.URL(), "hub")
	f, err := hub.Follow("pod-7")
	if err != nil {
		t.Fatal(err)
	}
	pod := newFakePod(t, m.URL(), "pod-7")
	tel := map[string]any{"state": "idle"}

	pod.publishSeq("telemetry", 1, tel, false)
	pod.publishSeq("telemetry", 2, tel, false)
	pod.publishSeq("telemetry", 2, tel, false) // delivered twice by the broker's at-least-once
	pod.publishSeq("telemetry", 5, tel, false)
	expect(t, f, "telemetry 1", "telemetry 2", "telemetry 5", "gap 3..4")

	pod.publishSeq("telemetry", 3, tel, true) // in flight: it arrives late, after a reconnect
	expect(t, f, "telemetry 3 historical", "filled 3..3 by record")
	if st := f.Stats("pod-7"); len(st.Gaps) != 1 || st.Gaps[0] != (hubclient.Range{From: 4, To: 4}) {
		t.Fatalf("gaps %v, want 4..4", st.Gaps)
	}

	// Seq 4 was dropped from a full outbox; the pod says so.
	pod.publishSeq("events", 6, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 4, "to": 4, "count": 1}, false)
	expect(t, f, "events 6", "filled 4..4 by dropped")

	// A dropped event ahead of the seqs it covers: 8..9 never become a gap.
	pod.publishSeq("events", 7, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 8, "to": 9, "count": 2}, false)
	pod.publishSeq("telemetry", 10, tel, false)
	pod.publishSeq("telemetry", 12, tel, false)
	expect(t, f, "events 7", "telemetry 10", "telemetry 12", "gap 11..11")

	st := f.Stats("pod-7")
	if st.Received != 8 || st.Duplicates != 1 || st.First != 1 || st.Max != 12 || st.Historical != 1 ||
		len(st.Gaps) != 1 || st.Gaps[0] != (hubclient.Range{From: 11, To: 11}) || len(st.Dropped) != 2 {
		t.Fatalf("Stats = %+v", st)
	}
	if n := len(f.Records()); n != 8 {
		t.Fatalf("Records: %d, want 8", n)
	}
	f.Close()
	if _, ok := <-f.Updates(); ok {
		t.Fatal("Updates not closed by Close")
	}
}

// TestFollowerTakesStatusAndIgnoresOtherPods: a pod's retained status is
// delivered (no seq, never deduplicated); another pod's records are not.
func TestFollowerTakesStatusAndIgnoresOtherPods(t *testing.T) {
	m := broker(t)
	mqtttest.Publish(t, m.URL(), "pub", hubclient.PodTopic("pod-7", "status"), []byte(`{"online":true,"state":"idle"}`), true)
	hub := connect(t, m.URL(), "hub")
	other := newFakePod(t, m.URL(), "pod-8")
	f, err := hub.Follow("pod-7")
	if err != nil {
		t.Fatal(err)
	}
	u := next(t, f)
	if u.Kind != hubclient.UpdateRecord || u.Record.Kind != "status" || !u.Record.Retained || u.Record.Body["state"] != "idle" {
		t.Fatalf("first update %+v", u)
	}
	other.publish("telemetry", nil, false)
	pod := newFakePod(t, m.URL(), "pod-7")
	pod.publish("telemetry", nil, false)
	expect(t, f, "telemetry 1")
	if st := f.Stats("pod-8"); st.Received != 0 {
		t.Fatalf("pod-8 followed: %+v", st)
	}
}

// TestSendAwait: a signed command reaches the pod on its cmd topic and its
// reply comes back through Await; the same token again is refused as
// replayed; a pod that does not answer is ErrNoReply.
func TestSendAwait(t *testing.T) {
	m := broker(t)
	key := mustKey(t, "hub-1")
	pod := newFakePod(t, m.URL(), "pod-7", key)
	hub := connect(t, m.URL(), "hub")
	s, err := hubclient.NewSigner(key, hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(hubcmd.Identify{Duration: 10 * time.Second}, "pod-7")
	if err != nil {
		t.Fatal(err)
	}
	r, err := hub.Request("pod-7", tok, 5*time.Second)
	if err != nil || !r.OK || r.JTI != tok.ID || r.Pod != "pod-7" || r.Seq == 0 {
		t.Fatalf("Request = %+v, %v", r, err)
	}
	if _, err := hub.Await(tok.ID, time.Second); err == nil {
		t.Fatal("Await of a reply already taken")
	}
	r, err = hub.Request("pod-7", tok, 5*time.Second)
	if err != nil || r.OK || r.Reason() != "replayed" || r.JTI != tok.ID {
		t.Fatalf("the replay: %+v, %v", r, err)
	}
	// A command for a pod nobody runs.
	tok, err = s.Sign(hubcmd.Identify{Duration: 10 * time.Second}, "pod-9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Request("pod-9", tok, 300*time.Millisecond); !errors.Is(err, hubclient.ErrNoReply) {
		t.Fatalf("no pod: %v, want ErrNoReply", err)
	}
	// Unsigned abort: accepted without a signature.
	abort, err := hubclient.UnsignedAbort(hubcmd.MergeAbort{Reason: "test"}, "pod-7")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := hub.Request("pod-7", abort, 5*time.Second); err != nil || !r.OK {
		t.Fatalf("unsigned abort: %+v, %v", r, err)
	}
	pod.mu.Lock()
	defer pod.mu.Unlock()
	if len(pod.got) != 3 {
		t.Fatalf("the pod received %q", pod.got)
	}
}

// TestHubStatusAndMergeAbort: the hub's status is retained online while it
// is connected and offline after Close; a merge-wide abort goes out on its
// topic, not retained, as an unsigned merge/abort for that merge.
func TestHubStatusAndMergeAbort(t *testing.T) {
	m := broker(t)
	hub, err := hubclient.Connect(m.URL(), "hub", hubclient.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "observer", true)
	mqtttest.WaitFor(t, 3*time.Second, "the hub's retained status", func() bool { return len(sub.Messages()) == 1 })
	var st struct {
		Online bool   `json:"online"`
		TS     string `json:"ts"`
	}
	msg := sub.Messages()[0]
	if json.Unmarshal(msg.Payload(), &st) != nil || !st.Online || !msg.Retained() || msg.Topic() != hubclient.HubStatusTopic {
		t.Fatalf("hub status %s %q retained %v", msg.Topic(), msg.Payload(), msg.Retained())
	}
	if _, err := time.Parse(time.RFC3339, st.TS); err != nil {
		t.Fatalf("ts: %v", err)
	}
	if err := hub.AbortMerge("s-1", "unstable"); err != nil {
		t.Fatal(err)
	}
	if err := hub.AbortMerge("a/b", ""); err == nil {
		t.Fatal("a session with / accepted")
	}
	if err := hub.Close(); err != nil {
		t.Fatal(err)
	}
	mqtttest.WaitFor(t, 3*time.Second, "the abort and the offline status", func() bool { return len(sub.Messages()) == 3 })
	ab := sub.Messages()[1]
	if ab.Topic() != "sleegation/v1/merges/s-1/abort" || ab.Retained() {
		t.Fatalf("abort on %s retained %v", ab.Topic(), ab.Retained())
	}
	parts := strings.Split(string(ab.Payload()), ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("abort payload %q", ab.Payload())
	}
	if json.Unmarshal(sub.Messages()[2].Payload(), &st) != nil || st.Online {
		t.Fatalf("status after Close: %q", sub.Messages()[2].Payload())
	}
	if err := hub.Send("pod-7", hubclient.Token{ID: "x", Raw: []byte("x")}); !errors.Is(err, hubclient.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}
