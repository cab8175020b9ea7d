package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func mustAppendLazy(t *testing.T, s *Store) Record {
	t.Helper()
	rec, err := s.AppendLazy("telemetry", time.Unix(1700000000, 0), payloadFor)
	if err != nil {
		t.Fatalf("AppendLazy: %v", err)
	}
	return rec
}

func pendingSeqs(t *testing.T, s *Store) []uint64 {
	t.Helper()
	recs, err := s.Pending(0, 1000)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return seqsOf(recs)
}

func outboxLen(t *testing.T, s *Store) int {
	t.Helper()
	n, err := s.OutboxLen()
	if err != nil {
		t.Fatalf("OutboxLen: %v", err)
	}
	return n
}

// txCount is how many transactions committed the outbox.
func txCount(s *Store) int64 { return int64(s.commits.Load()) }

func TestALazyRecordIsCommittedAfterCommitIntervalAndNotBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: 10 * time.Second})
		start := time.Now()
		for i := range 3 {
			if rec := mustAppendLazy(t, s); rec.Seq != uint64(i+1) {
				t.Fatalf("lazy record %d got seq %d", i, rec.Seq)
			}
			time.Sleep(time.Second)
		}
		committed := s.Committed()
		if next, err := s.NextSeq(); err != nil || next != 4 {
			t.Fatalf("NextSeq with 3 queued = %d, %v; want 4", next, err)
		}
		time.Sleep(time.Until(start.Add(10*time.Second - time.Nanosecond)))
		synctest.Wait()
		if got := pendingSeqs(t, s); len(got) != 0 {
			t.Fatalf("Pending before CommitInterval = %v, want none", got)
		}
		if n := outboxLen(t, s); n != 3 {
			t.Fatalf("OutboxLen with 3 queued = %d, want 3", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		select {
		case <-committed:
		default:
			t.Fatal("Committed not closed by the commit")
		}
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("Pending after CommitInterval = %v, want [1 2 3]", got)
		}
	})
}

func TestAnAppendCommitsTheBatchFirstWithSeqsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
		mustAppendLazy(t, s)
		mustAppendLazy(t, s)
		before := txCount(s)
		if rec := mustAppend(t, s, "events"); rec.Seq != 3 {
			t.Fatalf("Append after two lazy records got seq %d, want 3", rec.Seq)
		}
		if n := txCount(s) - before; n != 1 {
			t.Fatalf("Append committed in %d transactions, want 1", n)
		}
		recs, err := s.Pending(0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqsOf(recs); !slices.Equal(got, []uint64{1, 2, 3}) || recs[2].Topic != "events" {
			t.Fatalf("Pending after Append = %v, want [1 2 3] with the event last", got)
		}
		if rec := mustAppendLazy(t, s); rec.Seq != 4 {
			t.Fatalf("lazy record after the Append got seq %d, want 4", rec.Seq)
		}
	})
}

func TestCloseCommitsTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "j.db")
		s := open(t, path, nil)
		mustAppendLazy(t, s)
		mustAppendLazy(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, path, nil)
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("after Close and reopen, Pending = %v, want [1 2]", got)
		}
	})
}

// A power cut: the file as it is on disk while records wait in the batch.
func TestAPowerCutLosesOnlyTheUncommittedLazyRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "j.db")
		s := open(t, path, nil)
		mustAppendLazy(t, s)
		mustAppend(t, s, "events") // commits 1 and 2
		mustAppendLazy(t, s)
		mustAppendLazy(t, s)
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("Pending = %v, want [1 2]", got)
		}
		cut := filepath.Join(dir, "cut")
		if err := os.Mkdir(cut, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"j.db", "j.db.seq"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cut, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}

		after := open(t, filepath.Join(cut, "j.db"), nil)
		if got := pendingSeqs(t, after); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("after the cut, Pending = %v, want [1 2]", got)
		}
		if next, err := after.NextSeq(); err != nil || next != 3 {
			t.Fatalf("after the cut, NextSeq = %d, %v; want 3, the committed counter", next, err)
		}
		if rec := mustAppendLazy(t, after); rec.Seq != 3 {
			t.Fatalf("after the cut, a lazy record got seq %d, want 3 (never seen by the hub)", rec.Seq)
		}
	})
}

func TestQueuedDeletionsAreHiddenAndAppliedInTheNextCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "j.db")
		s := open(t, path, &Options{CommitInterval: 10 * time.Second})
		for range 4 {
			mustAppend(t, s, "events")
		}
		before := txCount(s)
		if err := s.Delete(1, 3); err != nil {
			t.Fatal(err)
		}
		if n := txCount(s) - before; n != 0 {
			t.Fatalf("Delete committed %d transactions, want none", n)
		}
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2, 4}) {
			t.Fatalf("Pending with 1 and 3 queued for deletion = %v, want [2 4]", got)
		}
		if n := outboxLen(t, s); n != 2 {
			t.Fatalf("OutboxLen with 2 of 4 queued for deletion = %d, want 2", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := txCount(s) - before; n != 1 {
			t.Fatalf("%d commits at CommitInterval, want 1", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, path, nil)
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2, 4}) {
			t.Fatalf("after reopen, Pending = %v, want [2 4]", got)
		}
		if n := outboxLen(t, s); n != 2 {
			t.Fatalf("after reopen, OutboxLen = %d, want 2", n)
		}
	})
}

func TestAnAppendAppliesTheQueuedDeletions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
		mustAppend(t, s, "events")
		if err := s.Delete(1); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, "events")
		s.qmu.Lock()
		queued := len(s.deletes)
		s.qmu.Unlock()
		if queued != 0 {
			t.Fatalf("%d deletions still queued after an Append", queued)
		}
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2}) {
			t.Fatalf("Pending = %v, want [2]", got)
		}
	})
}

func TestMaxBatchCommitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxBatch: 4})
		for range 3 {
			mustAppendLazy(t, s)
		}
		if got := pendingSeqs(t, s); len(got) != 0 {
			t.Fatalf("Pending with 3 of 4 queued = %v, want none", got)
		}
		mustAppendLazy(t, s)
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Fatalf("Pending once MaxBatch records are queued = %v, want [1 2 3 4]", got)
		}
		before, start := txCount(s), time.Now()
		if err := s.Delete(1, 2, 3, 4); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := txCount(s) - before; n != 1 {
			t.Fatalf("MaxBatch deletions committed in %d transactions, want 1", n)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("MaxBatch deletions committed after %v, want at once", waited)
		}
		if n := outboxLen(t, s); n != 0 {
			t.Fatalf("OutboxLen = %d, want 0", n)
		}
	})
}

// Delete queues and returns: the commit of MaxBatch deletions is the
// writer's, so a caller is never held by a commit in progress, nor makes
// one itself.
func TestDeleteNeverCommitsNorWaitsForTheWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxBatch: 4, CommitInterval: time.Hour})
	for range 8 {
		mustAppend(t, s, "events")
	}
	before := txCount(s)
	committed := s.Committed()
	s.wmu.Lock() // a commit in progress
	done := make(chan error, 1)
	go func() { done <- s.Delete(1, 2, 3, 4, 5) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Delete waited for the commit in progress")
	}
	if n := txCount(s) - before; n != 0 {
		t.Fatalf("Delete committed %d transactions, want none", n)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{6, 7, 8}) {
		t.Fatalf("Pending with 1..5 queued for deletion = %v, want [6 7 8]", got)
	}
	s.wmu.Unlock()
	<-committed // the writer's, CommitInterval (an hour) early
	if n := txCount(s) - before; n != 1 {
		t.Fatalf("%d commits for MaxBatch deletions, want 1", n)
	}
	s.qmu.Lock()
	queued := len(s.deletes)
	s.qmu.Unlock()
	if queued != 0 {
		t.Fatalf("%d deletions still queued after the writer's commit, want 0", queued)
	}
}

// The outbox full: a lazy record commits at once, so that the caller learns
// what was dropped and reports it.
func TestALazyRecordIntoAFullOutboxReportsTheDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 4})
		for range 3 {
			mustAppendLazy(t, s)
		}
		rec := mustAppendLazy(t, s)
		if rec.Seq != 4 || !rec.Dropped.Empty() {
			t.Fatalf("lazy record 4 = seq %d, dropped %+v; want 4, none", rec.Seq, rec.Dropped)
		}
		rec = mustAppendLazy(t, s)
		if rec.Seq != 5 || !sameDropped(rec.Dropped, Dropped{From: 1, To: 2, Count: 2}) {
			t.Fatalf("lazy record into a full outbox = seq %d, dropped %+v; want 5, 1..2", rec.Seq, rec.Dropped)
		}
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{3, 4, 5}) {
			t.Fatalf("Pending = %v, want [3 4 5]", got)
		}
	})
}

// The seq file's mark covers every seq committed, also when a batch
// crosses it.
func TestABatchAcrossTheSeqMarkReservesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "j.db")
		s := open(t, path, &Options{SeqBlock: 3})
		for range 7 {
			mustAppendLazy(t, s)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		sf, state, err := readSeqFile(seqPath(path))
		if state != seqValid || err != nil {
			t.Fatalf("seq file: %v, %v", state, err)
		}
		if sf.mark < 7 || sf.base != 1 {
			t.Fatalf("seq file after committing 1..7 = %+v, want a mark of at least 7 from base 1", sf)
		}
	})
}

// At 1 Hz telemetry, each record acknowledged a moment later: the commits
// a minute, where a commit per record and per deletion made 120.
func TestOneHertzTelemetryWithAcksCommitsSixTimesAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
		// A minute to settle into the steady state, a minute measured.
		var before int64
		for i := range 120 {
			if i == 60 {
				before = txCount(s)
			}
			rec := mustAppendLazy(t, s)
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			for _, r := range must(s.Pending(0, 100)) {
				if r.Seq <= rec.Seq {
					if err := s.Delete(r.Seq); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
		n := txCount(s) - before
		t.Logf("%d commits in a minute at 1 Hz telemetry with acknowledgements", n)
		if n < 5 || n > 7 {
			t.Fatalf("%d commits in a minute, want 6 (one per CommitInterval)", n)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSlotForwardsAppendLazyAndCommittedFollowsTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sl := NewSlot()
		if _, err := sl.AppendLazy("telemetry", time.Now(), payloadFor); !errors.Is(err, ErrNotOpen) {
			t.Fatalf("AppendLazy before Set = %v, want ErrNotOpen", err)
		}
		waiting := sl.Committed()
		if err := sl.Set(open(t, filepath.Join(t.TempDir(), "j.db"), nil)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-waiting:
		default:
			t.Fatal("Committed before Set not closed by Set")
		}
		if rec, err := sl.AppendLazy("telemetry", time.Now(), payloadFor); err != nil || rec.Seq != 1 {
			t.Fatalf("AppendLazy after Set = %d, %v; want seq 1", rec.Seq, err)
		}
		committed := sl.Committed()
		if err := sl.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-committed:
		default:
			t.Fatal("Committed not closed by Commit")
		}
		if err := sl.Close(); err != nil {
			t.Fatal(err)
		}
		if sl.Committed() != nil {
			t.Fatal("Committed after Close is not nil")
		}
	})
}
