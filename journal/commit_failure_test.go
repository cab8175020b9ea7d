package journal

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// breakSeq makes every reserve fail (the seq file's temp path is a directory).
func breakSeq(t *testing.T, path string) func() {
	tmp := seqPath(path) + ".tmp"
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return func() { _ = os.Remove(tmp) }
}

func TestAFailedCommitKeepsItsBatchAndDeletionsForTheNextCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s, err := Open(path, &Options{SeqBlock: 1, CommitInterval: time.Hour, MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, "e") // 1
	mustAppend(t, s, "e") // 2
	fix := breakSeq(t, path)
	mustAppendLazy(t, s) // 3
	mustAppendLazy(t, s) // 4
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err == nil {
		t.Fatal("Commit = nil while the seq file cannot be written; want an error")
	}
	if n := outboxLen(t, s); n != 3 {
		t.Fatalf("OutboxLen = %d, want 3 (2 - 1 deleted + 2 queued)", n)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("Pending = %v", got)
	}
	if _, err := s.AppendLazy("t", time.Now(), payloadFor); err == nil {
		t.Fatal("AppendLazy = nil after a failed commit that still fails; want the error, nothing queued")
	}
	if _, err := s.Append("e", time.Now(), payloadFor); err == nil {
		t.Fatal("Append = nil while commits fail; want the error")
	}
	fix()
	r := mustAppend(t, s, "e")
	if r.Seq != 5 {
		t.Fatalf("Append seq %d want 5", r.Seq)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2, 3, 4, 5}) {
		t.Fatalf("Pending = %v", got)
	}
	if n := outboxLen(t, s); n != 4 {
		t.Fatalf("OutboxLen = %d", n)
	}
}

func TestACommitFailingWhileTheStoreClosesLeavesItConsistent(t *testing.T) {
	for i := 0; i < 30; i++ {
		dir := t.TempDir()
		path := filepath.Join(dir, "j.db")
		s, err := Open(path, &Options{SeqBlock: 1, CommitInterval: time.Millisecond, MaxBatch: 3})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, "e")
		fix := breakSeq(t, path)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Go(func() {
				for k := 0; k < 20; k++ {
					_, _ = s.AppendLazy("t", time.Now(), payloadFor)
					_ = s.Delete(1)
					_, _ = s.OutboxLen()
					_, _ = s.Pending(0, 10)
					_ = s.Commit()
				}
			})
		}
		time.Sleep(time.Millisecond)
		cerr := s.Close()
		wg.Wait()
		fix()
		t.Logf("close: %v", cerr)
		s2, err := Open(path, nil)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		n, _ := s2.OutboxLen()
		p, _ := s2.Pending(0, 1000)
		if n != len(p) {
			t.Fatalf("OutboxLen %d != Pending %d", n, len(p))
		}
		if _, err := s2.Append("e", time.Now(), payloadFor); err != nil {
			t.Fatal(err)
		}
		s2.Close()
	}
}
