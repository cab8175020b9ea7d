package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func statusPayload(t *testing.T, online bool, boot string) []byte {
	t.Helper()
	st := Status{Online: online, State: "idle", Version: "test", Since: FormatTime(time.Now()), Boot: boot}
	if !online {
		st.State = "offline"
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func recordPayload(t *testing.T, boot string) []byte {
	t.Helper()
	b, err := encodeRecord(storedHeader{Pod: "p1", Boot: boot, Seq: 7, TS: FormatTime(time.Now())}, []byte(`{"state":"idle"}`))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// heard is one message the broker hands the probe, at an offset from its
// start.
type heard struct {
	at       time.Duration
	topic    string // TopicStatus, TopicTelemetry or TopicEvents
	payload  []byte
	retained bool
}

// The probe's rule, message by message, with the defaults: ProbeWait 2 s,
// KeepAlive 30 s so DuplicateGrace 70 s; this pod is boot b1, and b0 is an
// earlier start of it (PreviousBoot).
func TestTheProbeTellsAnotherPodFromThisPodsOwnPast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		previous bool // PreviousBoot is set
		heard    func(t *testing.T) []heard
		evidence string // "" when there is no other pod
		at       time.Duration
	}{
		{"nothing retained: none, after ProbeWait", true, func(*testing.T) []heard { return nil }, "", 2 * time.Second},
		{"offline under another boot: none, at once", true, func(t *testing.T) []heard {
			return []heard{{0, TopicStatus, statusPayload(t, false, "x9"), true}}
		}, "", 0},
		{"this start's own status: none, at once", true, func(t *testing.T) []heard {
			return []heard{{0, TopicStatus, statusPayload(t, true, "b1"), true}}
		}, "", 0},
		{"an earlier start's online status, known: none, at once", true, func(t *testing.T) []heard {
			return []heard{{0, TopicStatus, statusPayload(t, true, "b0"), true}}
		}, "", 0},
		{"an earlier start's online status, not known: its will ends the wait", false, func(t *testing.T) []heard {
			return []heard{
				{0, TopicStatus, statusPayload(t, true, "b0"), true},
				{44 * time.Second, TopicStatus, statusPayload(t, false, "b0"), false},
			}
		}, "", 44 * time.Second},
		{"an online status cleared while waiting: none", false, func(t *testing.T) []heard {
			return []heard{
				{0, TopicStatus, statusPayload(t, true, "x9"), true},
				{3 * time.Second, TopicStatus, nil, false},
			}
		}, "", 3 * time.Second},
		{"another boot online, then its records: another pod", true, func(t *testing.T) []heard {
			return []heard{
				{0, TopicStatus, statusPayload(t, true, "x9"), true},
				{time.Second, TopicTelemetry, recordPayload(t, "x9"), false},
			}
		}, evidenceRecords, time.Second},
		{"another boot's events with no status retained: another pod", true, func(t *testing.T) []heard {
			return []heard{{500 * time.Millisecond, TopicEvents, recordPayload(t, "x9"), false}}
		}, evidenceRecords, 500 * time.Millisecond},
		{"another boot's status published live: another pod", true, func(t *testing.T) []heard {
			return []heard{{time.Second, TopicStatus, statusPayload(t, true, "x9"), false}}
		}, evidenceStatus, time.Second},
		{"a known earlier boot publishing live is another pod (a copied journal)", true, func(t *testing.T) []heard {
			return []heard{{time.Second, TopicTelemetry, recordPayload(t, "b0"), false}}
		}, evidenceRecords, time.Second},
		{"another boot online, silent, never withdrawn: another pod after the grace", true, func(t *testing.T) []heard {
			return []heard{{0, TopicStatus, statusPayload(t, true, "x9"), true}}
		}, "its online status was not withdrawn within 1m10s", 70 * time.Second},
		{"a retained record is not a pod speaking", true, func(t *testing.T) []heard {
			return []heard{{0, TopicTelemetry, recordPayload(t, "x9"), true}}
		}, "", 2 * time.Second},
		{"this start's own records are not another pod", true, func(t *testing.T) []heard {
			return []heard{{time.Second, TopicTelemetry, recordPayload(t, "b1"), false}}
		}, "", 2 * time.Second},
		{"garbage on the status topic is ignored", true, func(t *testing.T) []heard {
			return []heard{{0, TopicStatus, []byte("{"), true}}
		}, "", 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := newTestUplink(t, openStore(t, nil), func(c *Config) {
					if tc.previous {
						c.PreviousBoot = func(b string) bool { return b == "b0" }
					}
				})
				l := &fakeLink{}
				c := fakeConn(t, u, l)
				start := time.Now()
				type result struct {
					dup *DuplicateError
					err error
					at  time.Duration
				}
				done := make(chan result, 1)
				go func() {
					d, err := u.probe(context.Background(), c)
					done <- result{d, err, time.Since(start)}
				}()
				synctest.Wait()
				for _, h := range tc.heard(t) {
					time.Sleep(h.at - time.Since(start))
					l.deliver(Root("p1")+h.topic, h.payload, h.retained)
				}
				r := <-done
				if r.err != nil {
					t.Fatalf("probe = %v", r.err)
				}
				switch {
				case tc.evidence == "" && r.dup != nil:
					t.Fatalf("probe found %v, want no other pod", r.dup)
				case tc.evidence != "" && (r.dup == nil || r.dup.Evidence != tc.evidence):
					t.Fatalf("probe found %v, want another pod: %s", r.dup, tc.evidence)
				case r.dup != nil && (r.dup.Pod != "p1" || !r.dup.Since.Equal(start.Add(tc.at))):
					t.Fatalf("duplicate %+v, want pod p1, since the probe's verdict", r.dup)
				}
				if r.at != tc.at {
					t.Fatalf("verdict after %v, want %v", r.at, tc.at)
				}
				want := []string{Root("p1") + TopicStatus, Root("p1") + TopicTelemetry, Root("p1") + TopicEvents}
				if got := l.subscribed(); !slices.Equal(got, want) {
					t.Fatalf("subscribed to %q, want %q", got, want)
				}
				if pubs := l.published(); len(pubs) != 0 {
					t.Fatalf("the probe published %d messages: it must publish nothing", len(pubs))
				}
			})
		})
	}
}

func TestTheProbeFailsWithItsConnectionAndWithItsSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), nil)
		l := &fakeLink{subscribeErr: errors.New("not Connected")}
		if d, err := u.probe(context.Background(), fakeConn(t, u, l)); d != nil || err == nil || !strings.Contains(err.Error(), "uplink.probe: subscribe sleegation/v1/pods/p1/status: not Connected") {
			t.Fatalf("probe with a failing subscription = %v, %v", d, err)
		}

		c := fakeConn(t, u, &fakeLink{})
		go func() { time.Sleep(time.Second); c.markLost() }()
		if d, err := u.probe(context.Background(), c); d != nil || !errors.Is(err, errConnectionLost) {
			t.Fatalf("probe on a lost connection = %v, %v", d, err)
		}

		frozen := &fakeLink{frozen: true}
		start := time.Now()
		if _, err := u.probe(context.Background(), fakeConn(t, u, frozen)); err == nil || time.Since(start) != u.cfg.ConnectTimeout {
			t.Fatalf("probe without a SUBACK = %v after %v, want an error after ConnectTimeout", err, time.Since(start))
		}

		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(time.Second); cancel() }()
		start = time.Now()
		if _, err := u.probe(ctx, fakeConn(t, u, &fakeLink{})); !errors.Is(err, context.Canceled) || time.Since(start) != time.Second {
			t.Fatalf("probe cancelled = %v after %v, want at once", err, time.Since(start))
		}
	})
}

// A broker that refuses the pod's subscription to its own topics (SUBACK
// 0x80) leaves the check blind: it passes, and says so once.
func TestARefusedSubscriptionLetsThePodPublishAndIsLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, openStore(t, nil), withLogs)
		if refused(newFakeToken()) {
			t.Fatal("a token without a result taken as refused")
		}
		for range 2 {
			d, err := u.probe(context.Background(), fakeConn(t, u, &fakeLink{refuse: true}))
			if d != nil || err != nil {
				t.Fatalf("probe with a refused subscription = %v, %v; want a pass", d, err)
			}
		}
		l := &fakeLink{refuse: true}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if st := l.statuses(t); len(st) != 1 || !st[0].Online {
			t.Fatalf("statuses %+v, want the birth", st)
		}
		_ = stop()
		if n := logs.count("the broker refuses this pod's subscription to its own topics: another pod under this id cannot be detected"); n != 1 {
			t.Fatalf("logged %d times, want once", n)
		}
	})
}

// Another pod found at the first check: Run publishes nothing (it makes no
// connection of its own), reports the other pod, logs it once, keeps the
// records, and checks again with DuplicateBackoff. When the other pod is
// gone it connects and sends what it kept, as historical.
func TestRunHoldsBackWhileAnotherPodHoldsTheID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, store, func(c *Config) {
			withLogs(c)
			c.DuplicateBackoff = BackoffPolicy{Initial: 30 * time.Second, Max: 5 * time.Minute, Jitter: 0.2}
		})
		u.rng = rand.New(rand.NewPCG(5, 6))
		want := rand.New(rand.NewPCG(5, 6))
		other := &DuplicateError{Pod: "p1", Boot: "x9", Since: time.Now(), Evidence: evidenceRecords}
		sc := &scriptedConnect{t: t, u: u, dup: map[int]*DuplicateError{1: other, 2: other, 3: other}}
		u.connect = sc.connect
		start := time.Now()
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()
		synctest.Wait()

		err := u.Duplicate()
		var d *DuplicateError
		if !errors.Is(err, ErrDuplicate) || !errors.As(err, &d) || d.Boot != "x9" || !d.Since.Equal(start) {
			t.Fatalf("Duplicate() = %v, want the other pod x9 since the first check", err)
		}
		if want := `another pod is using this pod id: pod "p1", other boot "x9" (its records are being published, since 2000-01-01T00:00:00.000000000Z): this pod publishes nothing until it is gone`; err.Error() != want {
			t.Fatalf("Duplicate().Error() = %q\nwant %q", err, want)
		}
		if u.Connected() {
			t.Fatal("connected while another pod holds the id")
		}
		telemetry(t, u, 3) // still journaled

		at := start
		wantTimes := []time.Time{at}
		for check := 1; check <= 3; check++ {
			at = at.Add(u.cfg.DuplicateBackoff.Delay(check, want))
			wantTimes = append(wantTimes, at)
		}
		time.Sleep(at.Sub(start))
		synctest.Wait()
		if got := sc.attempts(); !slices.Equal(got, wantTimes) {
			t.Fatalf("checks at %v\nwant %v", offsets(start, got), offsets(start, wantTimes))
		}
		if lines := logs.logged("another pod is publishing as this pod: this one publishes nothing as it until it is gone"); len(lines) != 1 ||
			!strings.Contains(lines[0], "other_boot=x9 boot=b1") {
			t.Fatalf("error lines %q, want one naming the other boot", lines)
		}
		if !u.Connected() || u.Duplicate() != nil {
			t.Fatalf("after the other pod left: connected %v, Duplicate() = %v", u.Connected(), u.Duplicate())
		}
		if n := logs.count("the other pod with this pod's id is gone: publishing again"); n != 1 {
			t.Fatalf("%d lines for the end of the episode, want 1", n)
		}
		l := sc.link(0)
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("records sent %v, want the 3 kept", got)
		}
		for _, r := range recs {
			if !decode(t, r.payload).Historical {
				t.Errorf("record %s not historical", r.payload)
			}
		}
	})
}

// A change of the other pod's boot (it restarted) is news: logged again.
func TestADuplicateIsLoggedAgainWhenTheOtherBootChanges(t *testing.T) {
	logs, withLogs := recordingLogger(t)
	u := newTestUplink(t, openStore(t, nil), withLogs)
	first := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	u.duplicateFound(&DuplicateError{Pod: "p1", Boot: "x1", Since: first}, time.Minute)
	u.duplicateFound(&DuplicateError{Pod: "p1", Boot: "x1", Since: first.Add(time.Minute)}, time.Minute)
	u.duplicateFound(&DuplicateError{Pod: "p1", Boot: "x2", Since: first.Add(2 * time.Minute)}, time.Minute)
	if n := logs.count("another pod is publishing as this pod: this one publishes nothing as it until it is gone"); n != 2 {
		t.Fatalf("%d error lines, want 2 (one per other boot)", n)
	}
	var d *DuplicateError
	if !errors.As(u.Duplicate(), &d) || d.Boot != "x2" || !d.Since.Equal(first) {
		t.Fatalf("Duplicate() = %+v, want x2 since the episode began", d)
	}
	u.duplicateGone()
	u.duplicateGone()
	if u.Duplicate() != nil || logs.count("the other pod with this pod's id is gone: publishing again") != 1 {
		t.Fatalf("after the end: Duplicate() = %v, end lines %d", u.Duplicate(), logs.count("the other pod with this pod's id is gone: publishing again"))
	}
}

// Each connection subscribes to its own status before its birth. Its own
// status, an offline one and one an earlier start of this pod left
// retained are nothing; another boot's online status makes Run leave at
// once: a clean DISCONNECT (which discards the will), no offline status, no
// more records.
func TestRunLeavesWhenAnotherPodsStatusArrivesWhileConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, func(c *Config) {
			c.PreviousBoot = func(b string) bool { return b == "b0" }
			c.DuplicateBackoff = BackoffPolicy{Initial: time.Minute, Max: time.Minute}
		})
		sc := &scriptedConnect{t: t, u: u}
		u.connect = sc.connect
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()
		synctest.Wait()
		l := sc.link(0)
		l.mu.Lock()
		subs := slices.Clone(l.subs)
		l.mu.Unlock()
		if len(subs) != 3 || subs[0].topic != Root("p1")+TopicStatus || subs[0].qos != 1 || subs[0].published != 0 {
			t.Fatalf("subscriptions %+v, want the status topic, at QoS 1, before the birth, then the commands", subs)
		}
		if subs[1].topic != Root("p1")+TopicCmd || subs[2].topic != MergeAbortFilter || subs[1].qos != 1 || subs[2].qos != 1 {
			t.Fatalf("subscriptions %+v, want the pod's cmd and the merge-wide aborts at QoS 1", subs)
		}

		status := Root("p1") + TopicStatus
		l.deliver(status, statusPayload(t, true, "b0"), true) // left by this pod's last start
		l.deliver(status, statusPayload(t, true, "b1"), false)
		l.deliver(status, statusPayload(t, false, "x9"), false)
		telemetry(t, u, 1)
		synctest.Wait()
		if !u.Connected() || u.Duplicate() != nil {
			t.Fatalf("connected %v, Duplicate() = %v: nothing foreign arrived yet", u.Connected(), u.Duplicate())
		}
		for _, r := range l.records() {
			r.tok.complete(nil)
		}
		synctest.Wait()

		l.deliver(status, statusPayload(t, true, "x9"), false)
		synctest.Wait()
		var d *DuplicateError
		if !errors.As(u.Duplicate(), &d) || d.Boot != "x9" || d.Evidence != evidenceConnected {
			t.Fatalf("Duplicate() = %v, want x9 seen while connected", u.Duplicate())
		}
		if u.Connected() {
			t.Fatal("still connected")
		}
		l.mu.Lock()
		disconnects := slices.Clone(l.disconnects)
		l.mu.Unlock()
		if !slices.Equal(disconnects, []uint{disconnectQuiesce}) {
			t.Fatalf("disconnects %v, want one clean DISCONNECT", disconnects)
		}
		telemetry(t, u, 2)
		synctest.Wait()
		if st := l.statuses(t); len(st) != 1 || !st[0].Online {
			t.Fatalf("statuses %+v, want only the birth: no offline status over the other pod's", st)
		}
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1}) {
			t.Fatalf("records %v, want only the one sent before", got)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{2, 3}) {
			t.Fatalf("outbox %v, want [2 3] kept", got)
		}
		if n := len(sc.attempts()); n != 1 {
			t.Fatalf("%d attempts, want none before the DuplicateBackoff", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(sc.attempts()); n != 2 || !u.Connected() || u.Duplicate() != nil {
			t.Fatalf("after the backoff: %d attempts, connected %v, Duplicate() = %v", n, u.Connected(), u.Duplicate())
		}
	})
}

func TestNewDefaultsOfTheDuplicateCheck(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), func(c *Config) { c.KeepAlive = 10 * time.Second; c.Boot = "" })
	if u.cfg.ProbeWait != 2*time.Second || u.cfg.DuplicateGrace != 30*time.Second || u.cfg.DuplicateBackoff != DefaultDuplicateBackoff {
		t.Fatalf("defaults: ProbeWait %v, DuplicateGrace %v, DuplicateBackoff %+v", u.cfg.ProbeWait, u.cfg.DuplicateGrace, u.cfg.DuplicateBackoff)
	}
	if len(u.cfg.Boot) != 16 {
		t.Fatalf("Boot %q, want one drawn at random", u.cfg.Boot)
	}
	if got := u.probeClientID(); got != "podd-p1-probe-"+u.cfg.Boot {
		t.Fatalf("probe client id %q", got)
	}
	if d := newTestUplink(t, openStore(t, nil), nil); d.cfg.DuplicateGrace != 70*time.Second {
		t.Fatalf("DuplicateGrace with the default KeepAlive %v, want 2 × 30s + 10s", d.cfg.DuplicateGrace)
	}
	for _, cfg := range []Config{{ProbeWait: -1}, {DuplicateGrace: -1}} {
		cfg.Broker, cfg.Pod = "tcp://h:1883", "p"
		if _, err := New(cfg, openStore(t, nil)); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}
