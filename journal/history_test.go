package journal

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func event(at time.Time, typ string, i int) HistoryEntry {
	return HistoryEntry{At: at, Type: typ, Data: fmt.Appendf(nil, `{"i":%d}`, i)}
}

func mustHistory(t *testing.T, s interface {
	History(HistoryKind, HistoryQuery) (HistoryPage, error)
}, kind HistoryKind, q HistoryQuery) HistoryPage {
	t.Helper()
	p, err := s.History(kind, q)
	if err != nil {
		t.Fatalf("History(%v, %+v): %v", kind, q, err)
	}
	return p
}

func historySeqs(p HistoryPage) []uint64 {
	var s []uint64
	for _, e := range p.Entries {
		s = append(s, e.Seq)
	}
	return s
}

func TestHistoryEntriesAreStoredByTheGroupCommitAndSelectedByTheQuery(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: time.Hour})
	// Within the retention by the store's clock: pruning takes entries
	// older than it, and entries dated after the clock, as expired.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	types := []string{"abort", "fault", "state", "fault", "command"}
	for i, typ := range types {
		e := event(t0.Add(time.Duration(i)*time.Minute), typ, i)
		if i >= 3 {
			e.Session = "m-7"
		}
		if !s.AppendHistory(HistoryEvents, e) {
			t.Fatalf("AppendHistory %d = false", i)
		}
	}
	if !s.AppendHistory(HistoryVitals, HistoryEntry{At: t0, Type: "vitals", Data: []byte(`{"hr":[60,61,62]}`)}) {
		t.Fatal("AppendHistory vitals = false")
	}
	if p := mustHistory(t, s, HistoryEvents, HistoryQuery{}); len(p.Entries) != 0 {
		t.Fatalf("entries visible before the commit: %v", historySeqs(p))
	}
	if st := s.HistoryStats(); st.Queued != 6 {
		t.Fatalf("Queued = %d, want 6", st.Queued)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	p := mustHistory(t, s, HistoryEvents, HistoryQuery{})
	if got := historySeqs(p); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) || p.Cursor != 5 || p.First != 1 || p.More {
		t.Fatalf("all events: seqs %v cursor %d first %d more %v", got, p.Cursor, p.First, p.More)
	}
	e := p.Entries[1]
	if e.Type != "fault" || !e.At.Equal(t0.Add(time.Minute)) || string(e.Data) != `{"i":1}` || e.Session != "" {
		t.Fatalf("entry 2 = %+v", e)
	}
	if got := historySeqs(mustHistory(t, s, HistoryEvents, HistoryQuery{Types: []string{"fault"}})); !slices.Equal(got, []uint64{2, 4}) {
		t.Fatalf("faults: %v", got)
	}
	if got := historySeqs(mustHistory(t, s, HistoryEvents, HistoryQuery{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)})); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("[+1m, +3m): %v", got)
	}
	if got := historySeqs(mustHistory(t, s, HistoryEvents, HistoryQuery{Session: "m-7"})); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("session m-7: %v", got)
	}
	p = mustHistory(t, s, HistoryEvents, HistoryQuery{After: 1, Limit: 2})
	if got := historySeqs(p); !slices.Equal(got, []uint64{2, 3}) || !p.More || p.Cursor != 3 {
		t.Fatalf("after 1, limit 2: %v more %v cursor %d", got, p.More, p.Cursor)
	}
	// The cursor passes entries the filter leaves out: a follower asking
	// for faults after 4 is not shown 4 again.
	p = mustHistory(t, s, HistoryEvents, HistoryQuery{After: 4, Types: []string{"fault"}})
	if len(p.Entries) != 0 || p.Cursor != 5 {
		t.Fatalf("faults after 4: %v cursor %d, want none and cursor 5", historySeqs(p), p.Cursor)
	}
	sess, err := s.HistorySessions(HistoryEvents)
	if err != nil || len(sess) != 1 || sess[0].Session != "m-7" || sess[0].Entries != 2 || !sess[0].First.Equal(t0.Add(3*time.Minute)) || !sess[0].Last.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("HistorySessions = %+v, %v; want m-7 from +3m to +4m, 2 entries", sess, err)
	}
	v := mustHistory(t, s, HistoryVitals, HistoryQuery{})
	if len(v.Entries) != 1 || v.Entries[0].Seq != 1 || string(v.Entries[0].Data) != `{"hr":[60,61,62]}` {
		t.Fatalf("vitals: %+v", v.Entries)
	}
	if st := s.HistoryStats(); st.Queued != 0 || st.Stored != 6 {
		t.Fatalf("stats %+v, want 0 queued, 6 stored", st)
	}
	for _, q := range []HistoryQuery{{Limit: -1}, {Limit: MaxHistoryReply + 1}, {From: t0, To: t0}} {
		if _, err := s.History(HistoryEvents, q); err == nil {
			t.Errorf("History(%+v) = nil error", q)
		}
	}
}

func TestHistoryBoundPrunesTheOldestAndSeqsAreNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	opts := &Options{CommitInterval: time.Hour, MaxHistoryEvents: 10}
	s := open(t, path, opts)
	now := time.Now()
	for i := range 25 {
		s.AppendHistory(HistoryEvents, event(now, "fault", i))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	p := mustHistory(t, s, HistoryEvents, HistoryQuery{})
	if got := historySeqs(p); !slices.Equal(got, []uint64{16, 17, 18, 19, 20, 21, 22, 23, 24, 25}) || p.First != 16 {
		t.Fatalf("after 25 with a bound of 10: %v first %d", got, p.First)
	}
	if st := s.HistoryStats(); st.Stored != 25 || st.Pruned != 15 {
		t.Fatalf("stats %+v, want 25 stored and 15 pruned", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened with a bound of 1: everything but the newest goes at the
	// next commit, and numbering goes on from 26.
	s = open(t, path, &Options{CommitInterval: time.Hour, MaxHistoryEvents: 1})
	defer s.Close()
	s.AppendHistory(HistoryEvents, event(now, "fault", 25))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := historySeqs(mustHistory(t, s, HistoryEvents, HistoryQuery{})); !slices.Equal(got, []uint64{26}) {
		t.Fatalf("after reopening with a bound of 1: %v, want [26]", got)
	}
}

func TestHistoryRetentionPrunesEntriesOlderThanItAtTheGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: 10 * time.Second, HistoryRetention: 2 * time.Hour})
		start := time.Now()
		// One point every 10 minutes for three hours, each committed by
		// the writer CommitInterval after it.
		for i := range 18 {
			s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now(), Type: "vitals", Data: fmt.Appendf(nil, `{"i":%d}`, i)})
			time.Sleep(10 * time.Minute)
		}
		synctest.Wait()
		p := mustHistory(t, s, HistoryVitals, HistoryQuery{})
		// At start+180m, the last commit (point 17's, at 170m+10s)
		// pruned what was older than 50m+10s: points 0..5.
		if got := historySeqs(p); !slices.Equal(got, []uint64{7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}) {
			t.Fatalf("kept %v, want seqs 7..18", got)
		}
		if first := p.Entries[0].At; !first.Equal(start.Add(60 * time.Minute)) {
			t.Fatalf("oldest kept at %v after start, want 60m", first.Sub(start))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAFullHistoryQueueDropsAndCountsWithoutWaitingForACommitThatHangs(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: time.Hour, MaxHistoryQueue: 3})
	defer s.Close()
	// A commit stuck in its fsync holds wmu for as long as it takes; the
	// appends below run on this goroutine while it is held, so one that
	// waited for it would never return.
	s.wmu.Lock()
	var returned []bool
	for i := range 5 {
		returned = append(returned, s.AppendHistory(HistoryEvents, event(time.Now(), "fault", i)))
	}
	if !slices.Equal(returned, []bool{true, true, true, false, false}) {
		t.Fatalf("AppendHistory returned %v, want 3 queued then 2 dropped", returned)
	}
	if st := s.HistoryStats(); st.Queued != 3 || st.DroppedFull != 2 {
		t.Fatalf("stats %+v, want 3 queued and 2 dropped_full", st)
	}
	s.wmu.Unlock()
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := historySeqs(mustHistory(t, s, HistoryEvents, HistoryQuery{})); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("stored %v once the commit came back, want [1 2 3]", got)
	}
}

func TestAFailedCommitLetsItsHistoryGoAndKeepsTheOutboxBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{SeqBlock: 1, CommitInterval: time.Hour})
	defer s.Close()
	mustAppend(t, s, "e") // 1: the seq Open reserved
	fix := breakSeq(t, path)
	mustAppendLazy(t, s) // 2
	s.AppendHistory(HistoryEvents, event(time.Now(), "fault", 1))
	if err := s.Commit(); err == nil {
		t.Fatal("Commit = nil while the seq file cannot be written")
	}
	if st := s.HistoryStats(); st.Queued != 0 || st.DroppedFailed != 1 {
		t.Fatalf("stats after the failed commit %+v, want 0 queued, 1 dropped_failed", st)
	}
	fix()
	s.AppendHistory(HistoryEvents, event(time.Now(), "abort", 2))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("outbox %v, want the telemetry kept for the retry", got)
	}
	p := mustHistory(t, s, HistoryEvents, HistoryQuery{})
	if len(p.Entries) != 1 || p.Entries[0].Type != "abort" || p.Entries[0].Seq != 1 {
		t.Fatalf("history %+v, want only the abort, seq 1", p.Entries)
	}
}

func TestAnAppendsTransactionCarriesNoHistory(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: time.Hour})
	defer s.Close()
	s.AppendHistory(HistoryEvents, event(time.Now(), "fault", 1))
	mustAppend(t, s, "e")
	if st := s.HistoryStats(); st.Queued != 1 || st.Stored != 0 {
		t.Fatalf("stats after an Append %+v: history must wait for a group commit", st)
	}
}

func TestAppendHistoryRefusesWhatItCannotStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	for _, c := range []struct {
		kind HistoryKind
		e    HistoryEntry
	}{
		{HistoryKind(7), event(time.Now(), "x", 0)},
		{HistoryEvents, HistoryEntry{At: time.Now(), Type: "fault", Data: make([]byte, MaxHistoryValue)}},
		{HistoryEvents, HistoryEntry{At: time.Now(), Type: string(make([]byte, 256))}},
	} {
		if s.AppendHistory(c.kind, c.e) {
			t.Errorf("AppendHistory(%v, %d bytes of data) = true", c.kind, len(c.e.Data))
		}
	}
	if st := s.HistoryStats(); st.DroppedInvalid != 3 || st.Queued != 0 {
		t.Fatalf("stats %+v, want 3 dropped_invalid", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.AppendHistory(HistoryEvents, event(time.Now(), "fault", 0)) {
		t.Fatal("AppendHistory on a closed store = true")
	}
	var sl Slot
	sl.ready = make(chan struct{})
	if sl.AppendHistory(HistoryEvents, event(time.Now(), "fault", 0)) || sl.HistoryStats().DroppedFailed != 1 {
		t.Fatalf("a Slot without a store: stats %+v", sl.HistoryStats())
	}
}

func TestHistoryOptionsOutsideTheirBoundsAreRefused(t *testing.T) {
	for _, o := range []Options{{HistoryRetention: 59 * time.Minute}, {HistoryRetention: 91 * 24 * time.Hour}, {MaxHistoryVitals: -1}, {MaxHistoryEvents: -1}, {MaxHistoryQueue: -1}} {
		if _, err := o.resolve(); err == nil {
			t.Errorf("resolve(%+v) = nil error", o)
		}
	}
}

func TestTheHistoryReaderWaitsForPoddsLockThenReadsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	s.AppendHistory(HistoryEvents, event(time.Now().Add(-time.Hour), "abort", 1))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenHistoryReader(path, 100*time.Millisecond); !errors.Is(err, ErrInUse) {
		t.Fatalf("OpenHistoryReader while the store is open = %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 { // readers share the lock
		wg.Go(func() {
			r, err := OpenHistoryReader(path, time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			p, err := r.History(HistoryEvents, HistoryQuery{})
			if err != nil || len(p.Entries) != 1 || p.Entries[0].Type != "abort" {
				t.Errorf("History = %+v, %v", p.Entries, err)
			}
		})
	}
	wg.Wait()
	if _, err := OpenHistoryReader(filepath.Join(t.TempDir(), "none.db"), time.Second); err == nil {
		t.Fatal("OpenHistoryReader of a missing file = nil error")
	}
}

func FuzzDecodeHistory(f *testing.F) {
	v, _ := encodeHistory(HistoryEntry{At: time.Unix(1, 2), Type: "abort", Session: "m", Data: []byte(`{}`)})
	f.Add(v)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeHistory(1, b)
		if err != nil {
			return
		}
		back, err := encodeHistory(e)
		if err == nil && string(back) != string(b) {
			t.Fatalf("decode then encode changed the value: %x -> %x", b, back)
		}
	})
}

// A query whose filter matches nothing looks at historyScanLimit entries
// at most, and says where to go on: a follower paging from the cursor
// sees every entry once.
func TestAHistoryQueryLooksAtABoundedNumberOfEntries(t *testing.T) {
	defer func(n int) { historyScanLimit = n }(historyScanLimit)
	historyScanLimit = 7
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: time.Hour})
	for i := range 20 {
		typ := "state"
		if i == 15 {
			typ = "abort"
		}
		s.AppendHistory(HistoryEvents, event(time.Now(), typ, i))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	var cursors []uint64
	q := HistoryQuery{Types: []string{"abort"}}
	for range 10 {
		p, err := s.History(HistoryEvents, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			got = append(got, e.Seq)
		}
		cursors = append(cursors, p.Cursor)
		if !p.More {
			break
		}
		q.After = p.Cursor
	}
	if !slices.Equal(got, []uint64{16}) || !slices.Equal(cursors, []uint64{7, 14, 20}) {
		t.Fatalf("entries %v, cursors %v; want [16] over pages ending at 7, 14, 20", got, cursors)
	}
}
