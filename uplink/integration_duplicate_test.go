package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/internal/mqtttest"
)

// podMessage is what a subscriber learns from one message on a pod's
// topics: which boot sent it, and whether it says the pod is online.
type podMessage struct {
	topic    string
	boot     string
	seq      uint64
	online   bool // a status that says online
	hist     bool
	retained bool
}

func podMessages(t *testing.T, msgs []mqtt.Message) []podMessage {
	t.Helper()
	var out []podMessage
	for _, m := range msgs {
		var v struct {
			Header
			Online bool `json:"online"`
		}
		if err := json.Unmarshal(m.Payload(), &v); err != nil {
			t.Fatalf("%s: %q: %v", m.Topic(), m.Payload(), err)
		}
		out = append(out, podMessage{topic: filepath.Base(m.Topic()), boot: v.Boot, seq: v.Seq, online: v.Online, hist: v.Historical, retained: m.Retained()})
	}
	return out
}

// births counts the online statuses boot published.
func births(t *testing.T, s *mqtttest.Subscriber, boot string) int {
	t.Helper()
	n := 0
	for _, m := range podMessages(t, s.Messages()) {
		if m.topic == TopicStatus && m.online && m.boot == boot {
			n++
		}
	}
	return n
}

// recordsOf is the seqs of the telemetry boot sent, in arrival order.
func recordsOf(t *testing.T, s *mqtttest.Subscriber, boot string) []podMessage {
	t.Helper()
	var out []podMessage
	for _, m := range podMessages(t, s.Messages()) {
		if m.topic == TopicTelemetry && m.boot == boot {
			out = append(out, m)
		}
	}
	return out
}

// retainedStatus is the status the broker holds for pod p1 now.
func retainedStatus(t *testing.T, broker string) Status {
	t.Helper()
	late := mqtttest.Subscribe(t, broker, Root("p1")+TopicStatus, "late-"+strconv.FormatInt(time.Now().UnixNano(), 36), true)
	mqtttest.WaitFor(t, 3*time.Second, "the retained status", func() bool { return len(late.Messages()) > 0 })
	st, msg, _ := lastStatus(t, late)
	if !msg.Retained() {
		t.Fatalf("status %s not retained", msg.Payload())
	}
	return st
}

// produce appends telemetry to u every 100 ms until the returned function is
// called, as a pod does every second.
func produce(t *testing.T, u *Uplink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); err != nil {
				t.Error(err)
				return
			}
			// The hub sees a record every tick, not a batch every
			// CommitInterval.
			if err := u.store.(interface{ Commit() error }).Commit(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

const duplicateLine = "another pod is publishing as this pod: this one publishes nothing as it until it is gone"

// The copied configuration: a second pod with the same pod id and client
// id, its own boot and journal. It finds the first and publishes nothing:
// the first is never dropped and keeps delivering, its status stays online,
// and the hub sees one boot. Once the first stops cleanly, the second takes
// over at its next check and delivers what it kept.
func TestIntegrationASecondPodWithTheSameIDPublishesNothingUntilTheFirstIsGone(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-dup", true)
	storeA, storeB := openStore(t, nil), openStore(t, nil)
	logsA, withLogsA := recordingLogger(t)
	logsB, withLogsB := recordingLogger(t)
	a := integrationUplink(t, m.URL(), storeA, withLogsA, func(c *Config) { c.Boot = "boot-a" })
	b := integrationUplink(t, m.URL(), storeB, withLogsB, func(c *Config) {
		c.Boot = "boot-b"
		c.DuplicateBackoff = BackoffPolicy{Initial: 500 * time.Millisecond, Max: time.Second}
	})
	if a.cfg.ClientID != b.cfg.ClientID {
		t.Fatalf("client ids %q and %q: the copied configuration has one", a.cfg.ClientID, b.cfg.ClientID)
	}

	stopA := runUplink(t, a)
	mqtttest.WaitFor(t, 5*time.Second, "the first pod to connect", a.Connected)
	stopProducer := produce(t, a)

	runUplink(t, b)
	mqtttest.WaitFor(t, 10*time.Second, "the second pod to find the first", func() bool { return b.Duplicate() != nil })
	var d *DuplicateError
	if err := b.Duplicate(); !errors.Is(err, ErrDuplicate) || !errors.As(err, &d) || d.Boot != "boot-a" || d.Pod != "p1" {
		t.Fatalf("Duplicate() = %v, want the first pod, boot-a", err)
	}
	telemetry(t, b, 3) // journaled, not sent

	// Several checks go by; the first pod delivers throughout.
	before := len(recordsOf(t, sub, "boot-a"))
	time.Sleep(3 * time.Second)
	if after := len(recordsOf(t, sub, "boot-a")); after < before+10 {
		t.Fatalf("the first pod delivered %d records in 3 s, want about 30", after-before)
	}
	if b.Connected() || b.Duplicate() == nil {
		t.Fatalf("second pod: connected %v, Duplicate() = %v", b.Connected(), b.Duplicate())
	}
	if got := outbox(t, storeB); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("second pod's outbox %v, want [1 2 3] kept", got)
	}
	for _, msg := range podMessages(t, sub.Messages()) {
		if msg.boot != "boot-a" {
			t.Fatalf("a %s message from %q reached the hub while the first pod was online", msg.topic, msg.boot)
		}
	}
	if n := births(t, sub, "boot-a"); n != 1 {
		t.Fatalf("%d births of the first pod, want 1", n)
	}
	if st := retainedStatus(t, m.URL()); !st.Online || st.Boot != "boot-a" {
		t.Fatalf("retained status %+v, want the first pod online", st)
	}
	if logsA.count("connected") != 1 || logsA.count("connection ended") != 0 || !a.Connected() {
		t.Fatalf("the first pod's connection: %d connected, %q ended: it must never be dropped",
			logsA.count("connected"), logsA.logged("connection ended"))
	}
	if lines := logsB.logged(duplicateLine); len(lines) != 1 || !strings.Contains(lines[0], "other_boot=boot-a") {
		t.Fatalf("second pod's error lines %q, want one naming boot-a", lines)
	}

	stopProducer()
	stopA()
	mqtttest.WaitFor(t, 10*time.Second, "the second pod to take over", b.Connected)
	if err := b.Duplicate(); err != nil {
		t.Fatalf("Duplicate() = %v after the first pod left", err)
	}
	mqtttest.WaitFor(t, 5*time.Second, "the second pod's records", func() bool { return len(recordsOf(t, sub, "boot-b")) == 3 })
	for i, r := range recordsOf(t, sub, "boot-b") {
		if r.seq != uint64(i+1) || !r.hist {
			t.Errorf("second pod's record %+v, want seq %d, historical", r, i+1)
		}
	}
	mqtttest.WaitFor(t, 3*time.Second, "the second pod's outbox to empty", func() bool { return len(outbox(t, storeB)) == 0 })
	if st := retainedStatus(t, m.URL()); !st.Online || st.Boot != "boot-b" {
		t.Fatalf("retained status %+v, want the second pod online", st)
	}
	if n := logsB.count("the other pod with this pod's id is gone: publishing again"); n != 1 {
		t.Fatalf("%d lines for the end of the episode, want 1", n)
	}
}

// The same pod restarted (the same journal, a new boot) after its
// connection died without a DISCONNECT is not another pod, whether the
// broker saw the socket close (a SIGKILL: the will fires at once) or heard
// nothing more (a power cut: the will fires only when the keep-alive runs
// out). With its previous boot known the restart connects at once; without,
// it waits for the will, and connects then.
func TestIntegrationARestartAfterADeathWithoutDisconnectIsNotADuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		powerCut  bool // silence the old connection rather than close it
		known     bool // PreviousBoot knows boot-1
		keepAlive time.Duration
		within    time.Duration // the restart connects within it
	}{
		{"socket closed, previous boot known", false, true, 30 * time.Second, 5 * time.Second},
		{"socket closed, previous boot not known", false, false, 30 * time.Second, 5 * time.Second},
		// The old connection's will is 45 s away: connecting within 5 s
		// shows the restart did not wait for it.
		{"power cut, previous boot known", true, true, 30 * time.Second, 5 * time.Second},
		{"power cut, previous boot not known", true, false, 3 * time.Second, 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mqtttest.Start(t, false)
			p := startProxy(t, "127.0.0.1:"+strconv.Itoa(m.Port))
			sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-restart", true)
			store := openStore(t, nil)
			first := integrationUplink(t, p.url(), store, func(c *Config) { c.Boot = "boot-1"; c.KeepAlive = tc.keepAlive })
			stopFirst := runUplink(t, first)
			mqtttest.WaitFor(t, 5*time.Second, "the first start to connect", first.Connected)
			telemetry(t, first, 3)
			mqtttest.WaitFor(t, 5*time.Second, "the first start's records", func() bool { return len(outbox(t, store)) == 0 })

			if tc.powerCut {
				p.silence()
			} else {
				p.cut()
			}
			stopFirst() // its goodbye, if any, reaches nobody
			if st, _, _ := lastStatus(t, sub); tc.powerCut && (!st.Online || st.Boot != "boot-1") {
				t.Fatalf("status after the power cut %+v, want boot-1 still online", st)
			}

			logs, withLogs := recordingLogger(t)
			restarted := integrationUplink(t, m.URL(), store, withLogs, func(c *Config) {
				c.Boot = "boot-2"
				c.KeepAlive = tc.keepAlive
				c.ProbeWait = 2 * time.Second
				if tc.known {
					c.PreviousBoot = func(b string) bool { return b == "boot-1" }
				}
			})
			at := time.Now()
			runUplink(t, restarted)
			mqtttest.WaitFor(t, tc.within, "the restart to connect", restarted.Connected)
			t.Logf("connected %v after the restart", time.Since(at).Round(time.Millisecond))
			telemetry(t, restarted, 2)
			mqtttest.WaitFor(t, 5*time.Second, "the restart's records", func() bool { return len(recordsOf(t, sub, "boot-2")) == 2 })
			if got := recordsOf(t, sub, "boot-2"); got[0].seq != 4 || got[1].seq != 5 {
				t.Fatalf("the restart sent %+v, want seqs 4 and 5", got)
			}
			if restarted.Duplicate() != nil || logs.count(duplicateLine) != 0 {
				t.Fatalf("the restart was taken for another pod: %v", restarted.Duplicate())
			}
			if st := retainedStatus(t, m.URL()); !st.Online || st.Boot != "boot-2" {
				t.Fatalf("retained status %+v, want the restart online", st)
			}
			if !tc.known && tc.powerCut {
				// It waited for the will, which came before its birth.
				var order []string
				for _, msg := range podMessages(t, sub.Messages()) {
					if msg.topic == TopicStatus {
						order = append(order, msg.boot+":"+strconv.FormatBool(msg.online))
					}
				}
				if want := []string{"boot-1:true", "boot-1:false", "boot-2:true"}; !slices.Equal(order, want) {
					t.Fatalf("statuses %q, want %q", order, want)
				}
				if logs.count("the retained status says another boot is online: waiting for it to go offline before connecting") != 1 {
					t.Fatal("the wait for the old status was not logged")
				}
			}
		})
	}
}

// An older podd, without the check, comes online under the same pod id
// with its own client id while this pod is connected: this pod leaves at
// once without a word (its status stays the other's), and takes over when
// the other's status goes offline.
func TestIntegrationAnotherPodComingOnlineWhileConnectedMakesThePodLeave(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-while", true)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) {
		c.Boot = "boot-1"
		c.DuplicateBackoff = BackoffPolicy{Initial: 300 * time.Millisecond, Max: 600 * time.Millisecond}
	})
	runUplink(t, u)
	mqtttest.WaitFor(t, 5*time.Second, "the uplink to connect", u.Connected)

	other := func(online bool) []byte {
		st := Status{Online: online, State: "idle", Version: "0.9", Since: FormatTime(time.Now()), Boot: "boot-old"}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mqtttest.Publish(t, m.URL(), "podd-p1-old", Root("p1")+TopicStatus, other(true), true)
	mqtttest.WaitFor(t, 5*time.Second, "the pod to leave", func() bool { return u.Duplicate() != nil && !u.Connected() })
	var d *DuplicateError
	if !errors.As(u.Duplicate(), &d) || d.Boot != "boot-old" {
		t.Fatalf("Duplicate() = %v, want boot-old", u.Duplicate())
	}
	telemetry(t, u, 2)
	time.Sleep(1500 * time.Millisecond) // several checks
	if st := retainedStatus(t, m.URL()); !st.Online || st.Boot != "boot-old" {
		t.Fatalf("retained status %+v, want the other pod's: no offline status, no will", st)
	}
	if got := recordsOf(t, sub, "boot-1"); len(got) != 0 {
		t.Fatalf("records sent while the other pod held the id: %+v", got)
	}

	mqtttest.Publish(t, m.URL(), "podd-p1-old", Root("p1")+TopicStatus, other(false), true)
	mqtttest.WaitFor(t, 5*time.Second, "the pod to take over", u.Connected)
	mqtttest.WaitFor(t, 5*time.Second, "its records", func() bool { return len(recordsOf(t, sub, "boot-1")) == 2 })
	if u.Duplicate() != nil || births(t, sub, "boot-1") != 2 {
		t.Fatalf("after the other pod left: Duplicate() = %v, %d births", u.Duplicate(), births(t, sub, "boot-1"))
	}
}

// A status left online under another boot, silent: the probe waits for it
// to go offline, publishing nothing and reporting nothing yet, and a stop
// during that wait is at once.
func TestIntegrationAStopWhileWaitingOutAnOldStatusIsAtOnce(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	old, err := json.Marshal(Status{Online: true, State: "idle", Version: "test", Since: FormatTime(time.Now()), Boot: "boot-0"})
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.Publish(t, m.URL(), "podd-p1-before", Root("p1")+TopicStatus, old, true)
	sub := mqtttest.Subscribe(t, m.URL(), Root("p1")+"#", "sub-wait", true)
	logs, withLogs := recordingLogger(t)
	u := integrationUplink(t, m.URL(), openStore(t, nil), withLogs, func(c *Config) { c.Boot = "boot-1" })
	stop := runUplink(t, u)
	const waiting = "the retained status says another boot is online: waiting for it to go offline before connecting"
	mqtttest.WaitFor(t, 5*time.Second, "the probe to wait for the old status", func() bool { return logs.count(waiting) == 1 })
	time.Sleep(500 * time.Millisecond)
	if u.Connected() || u.Duplicate() != nil {
		t.Fatalf("while waiting: connected %v, Duplicate() = %v", u.Connected(), u.Duplicate())
	}
	at := time.Now()
	stop()
	if took := time.Since(at); took > u.cfg.StopTimeout {
		t.Fatalf("Run took %v to stop during the probe, want at once", took)
	}
	for _, msg := range podMessages(t, sub.Messages()) {
		if msg.boot != "boot-0" {
			t.Fatalf("a %s message from %q: the probe must publish nothing", msg.topic, msg.boot)
		}
	}
}
