package uplink

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func requireHub(c *Config) { c.RequireHub = true; c.ReceiptTimeout = 30 * time.Second }

func hubStatusMsg(online bool) []byte {
	if online {
		return []byte(`{"online":true,"ts":"2026-11-29T23:00:00Z"}`)
	}
	return []byte(`{"online":false,"ts":"2026-11-29T23:00:00Z"}`)
}

func receiptMsg(upto string) []byte {
	return []byte(`{"upto":` + upto + `,"ts":"2026-11-29T23:00:01.5Z"}`)
}

// ackAll completes every record publication not yet completed.
func ackAll(l *fakeLink) {
	for _, p := range l.records() {
		p.tok.complete(nil)
	}
}

func TestRequireHubHoldsTheBacklogUntilTheHubIsOnlineAndDeletesOnlyWhatIsReceipted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		rec := &logRecorder{}
		u := newTestUplink(t, store, func(c *Config) { requireHub(c); c.Logger = slog.New(rec) })
		telemetry(t, u, 3)

		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if got := l.subscribed(); !slices.Contains(got, HubStatusTopic) || !slices.Contains(got, "sleegation/v1/pods/p1/receipt") {
			t.Fatalf("subscribed %v: want the hub's status and the pod's receipt", got)
		}
		if n := len(l.records()); n != 0 {
			t.Fatalf("%d records sent while the hub's status is unknown", n)
		}
		l.deliver(HubStatusTopic, hubStatusMsg(false), true)
		synctest.Wait()
		if n := len(l.records()); n != 0 {
			t.Fatalf("%d records sent while the hub is offline", n)
		}
		if on, known := u.HubOnline(); on || !known {
			t.Fatalf("HubOnline = %v, %v; want false, true", on, known)
		}

		l.deliver(HubStatusTopic, hubStatusMsg(true), false)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v once the hub is online, want [1 2 3]", got)
		}
		ackAll(l)
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v after the broker's PUBACKs: want all three kept until the hub's receipt", got)
		}

		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("2"), false)
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{3}) {
			t.Fatalf("outbox %v after a receipt up to 2, want [3]", got)
		}
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("1"), false) // lower: ignored
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("4"), false) // seq 4 not made yet: ignored
		l.deliver("sleegation/v1/pods/p1/receipt", []byte(`{"upto":3}`), false)
		synctest.Wait()
		if r, ok := u.HubReceipt(); !ok || r != 2 {
			t.Fatalf("HubReceipt = %d, %v; want 2, true", r, ok)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{3}) {
			t.Fatalf("outbox %v after refused receipts, want [3]", got)
		}
		if n := rec.count("receipt above every seq this pod made: ignored"); n != 1 {
			t.Fatalf("a receipt above every seq logged %d times, want 1", n)
		}
		if n := rec.count("receipt refused"); n != 1 {
			t.Fatalf("a malformed receipt logged %d times, want 1", n)
		}
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("3"), false)
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v after a receipt up to 3, want empty", got)
		}
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v, want [1 2 3]: nothing sent twice while receipts advance", got)
		}
	})
}

func TestRecordsNotReceiptedAreSentAgainAfterReceiptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, requireHub)
		telemetry(t, u, 3)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		l.deliver(HubStatusTopic, hubStatusMsg(true), true)
		synctest.Wait()
		ackAll(l)
		synctest.Wait()
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("1"), false)
		synctest.Wait()

		time.Sleep(30*time.Second - time.Millisecond)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v before ReceiptTimeout, want [1 2 3]", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 2, 3}) {
			t.Fatalf("sent %v after ReceiptTimeout without a receipt, want [1 2 3 2 3]", got)
		}
		ackAll(l)
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("3"), false)
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 2, 3}) {
			t.Fatalf("sent %v once everything was receipted, want nothing more", got)
		}
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}
	})
}

// The hub going offline stops the sending; coming back (its will, then a
// new hub's online status) sends again everything it has not receipted.
func TestTheHubComingBackOnlineGetsTheBacklogFromItsOldestRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, requireHub)
		telemetry(t, u, 2)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		l.deliver(HubStatusTopic, hubStatusMsg(true), true)
		synctest.Wait()
		ackAll(l)
		synctest.Wait()

		l.deliver(HubStatusTopic, hubStatusMsg(false), false) // the hub's will
		synctest.Wait()
		telemetry(t, u, 1)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("sent %v while the hub is offline, want [1 2] (from before)", got)
		}
		time.Sleep(time.Hour) // no resend while the hub is offline
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("sent %v during an hour with the hub offline, want [1 2]", got)
		}

		l.deliver(HubStatusTopic, hubStatusMsg(true), false)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 1, 2, 3}) {
			t.Fatalf("sent %v once the hub is back, want [1 2 1 2 3]", got)
		}
		// A new hub announcing itself while this one seems online (its
		// will not fired yet) gets the backlog too.
		ackAll(l)
		synctest.Wait()
		l.deliver(HubStatusTopic, hubStatusMsg(true), false)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 1, 2, 3, 1, 2, 3}) {
			t.Fatalf("sent %v after a hub announced itself, want [1 2 1 2 3 1 2 3]", got)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v with no receipt, want [1 2 3]", got)
		}
	})
}

// A receipt read at the start of a connection (retained) deletes records
// of an earlier connection, acknowledged by the broker there, without
// sending them again; the hub's status is unknown again on every
// connection.
func TestARetainedReceiptOnANewConnectionDeletesWithoutSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, requireHub)
		telemetry(t, u, 3)
		l1 := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l1))
		synctest.Wait()
		l1.deliver(HubStatusTopic, hubStatusMsg(true), true)
		synctest.Wait()
		ackAll(l1)
		synctest.Wait()
		_ = stop()

		l2 := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l2))
		synctest.Wait()
		if on, known := u.HubOnline(); on || known {
			t.Fatalf("HubOnline = %v, %v on a new connection, want unknown", on, known)
		}
		l2.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("2"), true)
		l2.deliver(HubStatusTopic, hubStatusMsg(true), true)
		synctest.Wait()
		if got := seqsOf(t, l2.records()); !slices.Equal(got, []uint64{3}) {
			t.Fatalf("sent %v on the new connection, want [3]", got)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{3}) {
			t.Fatalf("outbox %v, want [3]", got)
		}
	})
}

func TestWithoutRequireHubThePodNeitherReadsTheHubNorWaitsForIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil)
		telemetry(t, u, 2)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if got := l.subscribed(); slices.Contains(got, HubStatusTopic) || slices.Contains(got, "sleegation/v1/pods/p1/receipt") {
			t.Fatalf("subscribed %v without require_hub", got)
		}
		ackAll(l)
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v after the PUBACKs, want empty", got)
		}
	})
}

// A broker that refuses the subscriptions to the hub's status and receipt
// leaves the backlog held: each refusal is an error in the log, naming the
// topic.
func TestARefusedHubSubscriptionIsLoggedAndHoldsTheBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		rec := &logRecorder{}
		u := newTestUplink(t, store, func(c *Config) { requireHub(c); c.Logger = slog.New(rec) })
		telemetry(t, u, 2)
		l := &fakeLink{refuse: true}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		lines := rec.logged("subscription refused: with require_hub the pod sends nothing without the hub's status and deletes nothing without its receipt")
		if len(lines) != 2 || !strings.Contains(lines[0], "topic="+HubStatusTopic) || !strings.Contains(lines[1], "topic=sleegation/v1/pods/p1/receipt") {
			t.Fatalf("logged %q, want the hub's status then the receipt", lines)
		}
		if n := len(l.records()); n != 0 {
			t.Fatalf("%d records sent without the hub's status", n)
		}
	})
}

// A hub that stays online and never receipts is sent the backlog again
// after ReceiptTimeout, then after twice as long each time, up to 16 times
// ReceiptTimeout; a receipt that advances starts again from ReceiptTimeout.
func TestResendsWithoutAReceiptBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, requireHub)
		telemetry(t, u, 2)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		l.deliver(HubStatusTopic, hubStatusMsg(true), true)
		synctest.Wait()
		ackAll(l)
		synctest.Wait()
		start := time.Now()
		var resentAt []time.Duration
		for len(resentAt) < 7 {
			before := len(l.records())
			time.Sleep(time.Second)
			synctest.Wait()
			ackAll(l)
			synctest.Wait()
			if len(l.records()) > before {
				resentAt = append(resentAt, time.Since(start).Truncate(time.Second))
			}
		}
		// 30 s, then 60, 120, 240, 480, 480, 480 s after each resend.
		want := []time.Duration{30 * time.Second, 90 * time.Second, 210 * time.Second, 450 * time.Second, 930 * time.Second, 1410 * time.Second, 1890 * time.Second}
		if !slices.Equal(resentAt, want) {
			t.Fatalf("resent at %v, want %v", resentAt, want)
		}
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("1"), false)
		synctest.Wait()
		from := time.Now()
		for before := len(l.records()); len(l.records()) == before; {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if d := time.Since(from).Truncate(time.Second); d != 30*time.Second {
			t.Fatalf("resent %v after a receipt advanced, want 30s", d)
		}
		ackAll(l)
	})
}
