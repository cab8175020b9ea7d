package uplink

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/journal"
)

func TestAnAcknowledgedRecordIsDeletedAndHistoricalFollowsTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil)
		telemetry(t, u, 2) // made before the connection: historical

		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if !u.Connected() {
			t.Fatal("not Connected while serving")
		}
		telemetry(t, u, 1) // made on the connection: not historical
		synctest.Wait()

		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("published seqs %v, want [1 2 3]", got)
		}
		for i, want := range []bool{true, true, false} {
			if m := decode(t, recs[i].payload); m.Historical != want || m.Pod != "p1" || m.Boot != "b1" {
				t.Errorf("seq %d: %+v, want historical %v", m.Seq, m.Header, want)
			}
			if recs[i].topic != "sleegation/v1/pods/p1/telemetry" {
				t.Errorf("seq %d on topic %q", i+1, recs[i].topic)
			}
		}
		if st := l.statuses(t); len(st) != 1 || !st[0].Online || st[0].State != "starting" {
			t.Fatalf("birth status = %+v", st)
		}

		recs[1].tok.complete(nil) // out of order: settles once the head does
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v before the head was acknowledged", got)
		}
		recs[0].tok.complete(nil)
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{3}) {
			t.Fatalf("outbox %v, want [3]", got)
		}
		if err := stop(); err == nil {
			t.Fatal("serve returned nil after cancel")
		}
		if u.Connected() {
			t.Fatal("Connected after serve returned")
		}
	})
}

// paho completes a publish token without error when it gives it up around a
// reconnect (see TestPahoCompletesAnUnacknowledgedPublishOnReconnect): such a
// success must not delete the record.
func TestASuccessReportedAfterTheConnectionChangedIsNotTrusted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil)
		telemetry(t, u, 3)

		l1 := &fakeLink{}
		c1 := fakeConn(t, u, l1)
		_, done := serveInBackground(t, u, c1)
		synctest.Wait()
		recs := l1.records()
		if len(recs) != 3 {
			t.Fatalf("%d records published, want 3", len(recs))
		}

		// What paho's OnConnectionLost handler does, then paho "succeeds".
		u.epoch.Add(1)
		recs[0].tok.complete(nil)
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v after an untrusted success, want [1 2 3]", got)
		}
		if n := len(l1.records()); n != 3 {
			t.Fatalf("%d publications on the lost connection, want no resend there", n)
		}
		c1.markLost()
		if err := <-done; !errors.Is(err, errConnectionLost) {
			t.Fatalf("serve = %v, want errConnectionLost", err)
		}

		l2 := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l2))
		synctest.Wait()
		recs = l2.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("resent seqs %v, want [1 2 3]", got)
		}
		for _, r := range recs {
			if !decode(t, r.payload).Historical {
				t.Errorf("resent %s is not historical", r.payload)
			}
			r.tok.complete(nil)
		}
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v after acknowledgements on the current connection", got)
		}
		_ = stop()
	})
}

func TestAFailedPublishIsResentOnceTheWindowSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil) // window 4
		telemetry(t, u, 6)

		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Fatalf("first window %v, want [1 2 3 4]", got)
		}
		// The failure first: the drainer waits on the head, so it sees both
		// at once whatever the scheduling.
		recs[1].tok.complete(errors.New("publish was broken by timeout"))
		recs[0].tok.complete(nil)
		synctest.Wait()
		// Nothing new goes out while the failed window settles.
		if n := len(l.records()); n != 4 {
			t.Fatalf("%d publications before the window settled, want 4", n)
		}
		recs[2].tok.complete(nil)
		recs[3].tok.complete(nil)
		synctest.Wait()
		if got := seqsOf(t, l.records()[4:]); !slices.Equal(got, []uint64{2, 5, 6}) {
			t.Fatalf("after the rewind %v were sent, want [2 5 6]", got)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{2, 5, 6}) {
			t.Fatalf("outbox %v, want [2 5 6]", got)
		}
		_ = stop()
	})
}

func TestAWindowWithoutAcknowledgementEndsTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil)
		telemetry(t, u, 1)
		start := time.Now()
		_, done := serveInBackground(t, u, fakeConn(t, u, &fakeLink{}))
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "seq 1") {
			t.Fatalf("serve = %v, want a stall on seq 1", err)
		}
		if waited := time.Since(start); waited != u.cfg.PublishTimeout {
			t.Fatalf("gave up after %v, want PublishTimeout %v", waited, u.cfg.PublishTimeout)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{1}) {
			t.Fatalf("outbox %v, want [1]", got)
		}
	})
}

func TestACorruptRecordIsReportedAndDeliveryGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, nil)
		telemetry(t, u, 1)
		if _, err := store.Append(u.topicTelemetry, time.Now(), func(uint64) ([]byte, error) { return []byte("not json"), nil }); err != nil {
			t.Fatal(err)
		}
		telemetry(t, u, 1)

		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 3, 4}) {
			t.Fatalf("published %v, want [1 3 4]", got)
		}
		var ev Event
		if err := ev.UnmarshalJSON(recs[2].payload); err != nil {
			t.Fatal(err)
		}
		if recs[2].topic != "sleegation/v1/pods/p1/events" || ev.Type != "dropped" ||
			ev.Fields["from"] != 2.0 || ev.Fields["to"] != 2.0 || ev.Fields["reason"] != "corrupt" {
			t.Fatalf("report = %s on %s", recs[2].payload, recs[2].topic)
		}
		for _, r := range recs {
			r.tok.complete(nil)
		}
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}
		_ = stop()
	})
}

func TestStatusIsPublishedOnChangeOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), func(c *Config) { c.Simulated = true; c.Version = "1.0" })
		since := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
		u.SetStatus("idle", since) // before any connection: becomes the birth
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		u.SetStatus("idle", since)
		synctest.Wait()
		u.SetStatus("merging", since.Add(time.Minute))
		synctest.Wait()
		want := []Status{
			{Online: true, State: "idle", Version: "1.0", Simulated: true, Since: "2031-01-01T00:00:00.000000000Z", Boot: "b1"},
			{Online: true, State: "merging", Version: "1.0", Simulated: true, Since: "2031-01-01T00:01:00.000000000Z", Boot: "b1"},
		}
		if got := l.statuses(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("statuses %+v\nwant %+v", got, want)
		}
		_ = stop()
	})
}

func TestTelemetryWithAnUnknownSafetyLevelIsRefused(t *testing.T) {
	store := openStore(t, nil)
	u := newTestUplink(t, store, nil)
	if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "fine"}, time.Now()); err == nil {
		t.Fatal("safety \"fine\" accepted")
	}
	if n, _ := store.OutboxLen(); n != 0 {
		t.Fatalf("refused telemetry left %d records", n)
	}
}

func TestAFullOutboxReportsTheDroppedRange(t *testing.T) {
	store := openStore(t, &journal.Options{MaxOutbox: 4})
	u := newTestUplink(t, store, nil)
	telemetry(t, u, 5) // the fifth drops 1 and 2 and is followed by the report
	recs, err := store.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []uint64{3, 4, 5, 6}) {
		t.Fatalf("outbox %v, want [3 4 5 6]", seqs)
	}
	var ev Event
	if err := ev.UnmarshalJSON(recs[3].Payload); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"from": 1.0, "to": 2.0, "count": 2.0, "reason": "outbox_full"} // no kept: none
	if ev.Type != "dropped" || !reflect.DeepEqual(ev.Fields, want) {
		t.Fatalf("report %s, want a dropped event with %v", recs[3].Payload, want)
	}
}

// Telemetry is dropped around the events a full outbox keeps: the report
// says the first and last seq dropped, how many records went, not the
// span between them, and which seqs between them were kept.
func TestADroppedReportCountsTheRecordsNotTheSpan(t *testing.T) {
	store := openStore(t, &journal.Options{MaxOutbox: 4})
	u := newTestUplink(t, store, nil)
	telemetry(t, u, 1) // 1
	if _, err := u.Event(Event{Type: "state", Fields: map[string]any{"state": "idle"}}, time.Now()); err != nil {
		t.Fatal(err) // 2
	}
	telemetry(t, u, 3) // 3 4, then 5 drops 1 and 3 and is followed by the report, 6
	recs, err := store.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []uint64{2, 4, 5, 6}) {
		t.Fatalf("outbox %v, want [2 4 5 6]", seqs)
	}
	var ev Event
	if err := ev.UnmarshalJSON(recs[3].Payload); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"from": 1.0, "to": 3.0, "count": 2.0, "kept": []any{2.0}, "reason": "outbox_full"}
	if ev.Type != "dropped" || !reflect.DeepEqual(ev.Fields, want) {
		t.Fatalf("report %s, want a dropped event with %v", recs[3].Payload, want)
	}
}

func TestAReportThatFillsTheOutboxReportsWhatItPushedOut(t *testing.T) {
	store := openStore(t, &journal.Options{MaxOutbox: 4})
	u := newTestUplink(t, store, nil)
	telemetry(t, u, 4) // full: [1 2 3 4]
	// The drainer discards corrupt seq 1 and reports it: that report pushes 1 and 2 out.
	u.appendMu.Lock()
	_, err := u.reportDropped(journal.Dropped{From: 1, To: 1, Count: 1}, "corrupt", "bad record")
	u.appendMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []uint64{3, 4, 5, 6}) {
		t.Fatalf("outbox %v, want [3 4 5 6]", seqs)
	}
	for i, want := range []struct {
		from, to float64
		reason   string
	}{{1, 1, "corrupt"}, {1, 2, "outbox_full"}} {
		var ev Event
		if err := ev.UnmarshalJSON(recs[2+i].Payload); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "dropped" || ev.Fields["from"] != want.from || ev.Fields["to"] != want.to || ev.Fields["reason"] != want.reason {
			t.Fatalf("report %d = %s, want %+v", i, recs[2+i].Payload, want)
		}
	}
}

// Telemetry waits in the journal's batch: it is sent once the journal
// commits it, CommitInterval after the first was queued, and not before. An
// event is durable at once, the telemetry queued before it with it, and
// sent at once, in seq order.
func TestTelemetryIsSentOnceCommittedAndAnEventCommitsItAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, &journal.Options{CommitInterval: 10 * time.Second})
		u := newTestUplink(t, store, nil)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		for range 2 {
			if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		if got := seqsOf(t, l.records()); len(got) != 0 {
			t.Fatalf("sent %v before the journal committed them", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("sent %v once committed, want [1 2]", got)
		}

		if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		seq, err := u.Event(Event{Type: "fault", Fields: map[string]any{"device": "max30102"}}, time.Now())
		if err != nil || seq != 4 {
			t.Fatalf("Event = %d, %v; want seq 4", seq, err)
		}
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Fatalf("sent %v after the event, want [1 2 3 4]", got)
		}
	})
}

// The journal is read a window's worth at a time, not once per freed slot:
// what was read ahead is sent as the window frees, in seq order.
func TestTheDrainerReadsTheJournalAWindowAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		u := newTestUplink(t, fj, nil) // Window 4
		telemetry(t, u, 10)
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Fatalf("sent %v, want [1 2 3 4]", got)
		}
		if n := fj.count("Pending"); n != 1 {
			t.Fatalf("%d journal reads for the first window, want 1", n)
		}
		ack := func(seqs ...uint64) {
			t.Helper()
			recs := l.records()
			for _, seq := range seqs {
				recs[seq-1].tok.complete(nil)
			}
			synctest.Wait()
		}
		ack(1, 2) // frees 2 slots: one read of 4 (5..8), two of them sent
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6}) {
			t.Fatalf("sent %v, want [1 .. 6]", got)
		}
		if n := fj.count("Pending"); n != 2 {
			t.Fatalf("%d journal reads, want 2", n)
		}
		ack(3, 4) // 7 and 8 were read already
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("sent %v, want [1 .. 8]", got)
		}
		if n := fj.count("Pending"); n != 2 {
			t.Fatalf("%d journal reads, want still 2", n)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{5, 6, 7, 8, 9, 10}) {
			t.Fatalf("outbox %v, want [5 .. 10]", got)
		}
		ack(5, 6, 7, 8)
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
			t.Fatalf("sent %v, want [1 .. 10]", got)
		}
		ack(9, 10)
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}
		if err := stop(); err == nil {
			t.Fatal("serve returned nil after cancel")
		}
	})
}

// Once a read of the journal came back short, it is not read again for
// every acknowledgement, only after its next commit, which is the only way
// a record becomes visible.
func TestACaughtUpDrainerReadsTheJournalAgainOnlyAfterACommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		u := newTestUplink(t, fj, nil) // Window 4
		telemetry(t, u, 2)
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("sent %v, want [1 2]", got)
		}
		if n := fj.count("Pending"); n != 1 {
			t.Fatalf("%d journal reads, want 1", n)
		}
		l.records()[0].tok.complete(nil)
		synctest.Wait()
		l.records()[1].tok.complete(nil)
		synctest.Wait()
		if n := fj.count("Pending"); n != 1 {
			t.Fatalf("%d journal reads after two acknowledgements and no commit, want still 1", n)
		}
		if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := fj.count("Pending"); n != 1 {
			t.Fatalf("%d journal reads after an append not yet committed, want still 1", n)
		}
		commitJournal(t, store)
		synctest.Wait()
		if n := fj.count("Pending"); n != 2 {
			t.Fatalf("%d journal reads after the commit, want 2", n)
		}
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v, want [1 2 3]", got)
		}
		if _, err := u.Event(Event{Type: "fault"}, time.Now()); err != nil { // committed at once
			t.Fatal(err)
		}
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Fatalf("sent %v after an event, want [1 2 3 4]", got)
		}
		if n := fj.count("Pending"); n != 3 {
			t.Fatalf("%d journal reads, want 3", n)
		}
		if err := stop(); err == nil {
			t.Fatal("serve returned nil after cancel")
		}
	})
}
