package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// fileCounts reads the counters from the file, and counts the outbox's
// records and bytes.
func fileCounts(s *Store) (c committedCounts, records, bytes uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		var c2 Store
		if err := c2.loadCounters(tx); err != nil {
			return err
		}
		c = c2.counts
		records, bytes = outboxSize(tx.Bucket(bucketOutbox))
		return nil
	})
	return c, records, bytes, err
}

// checkCounts checks that the Store's copy of the counters is the file's,
// and the file's the outbox's. wmu is taken: no commit runs meanwhile.
func checkCounts(rt *rapid.T, s *Store, when string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	file, n, b, err := fileCounts(s)
	if err != nil {
		rt.Fatalf("%s: %v", when, err)
	}
	if s.counts != file {
		rt.Fatalf("%s: the Store's counters %+v, the file's %+v", when, s.counts, file)
	}
	if file.records != n || file.bytes != b {
		rt.Fatalf("%s: the file's counters %+v, its outbox %d records, %d bytes", when, file, n, b)
	}
}

// Random sequences of AppendLazy, Append, Delete, Commit, commits that fail
// (the seq file cannot be written, or a build fails inside Append's
// transaction) and reopens: the Store's copy of the committed counters is
// the file's after every step, whether the step committed, failed to, or
// only queued; and after a reopen.
func TestTheCommittedCountersInMemoryNeverDriftFromTheFile(t *testing.T) {
	dir := t.TempDir()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		path := filepath.Join(dir, fmt.Sprintf("%d.db", run))
		defer os.Remove(path)
		defer os.Remove(seqPath(path))
		opts := &Options{
			MaxOutbox:      rapid.IntRange(2, 20).Draw(rt, "maxOutbox"),
			MaxOutboxBytes: 64 << 10,
			MaxBatch:       rapid.IntRange(2, 8).Draw(rt, "maxBatch"),
			// Every commit is one of the sequence's own: the writer's
			// timer never fires, and fewer than MaxBatch deletions are
			// queued (see delete).
			CommitInterval: 24 * time.Hour,
			// Every commit of a new seq writes the seq file, so breaking
			// it fails every such commit.
			SeqBlock: 1,
		}
		s, err := Open(path, opts)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		broken := false
		var fix func()
		defer func() {
			if broken {
				fix()
			}
		}()
		checkCounts(rt, s, "open")
		payload := func(rt *rapid.T) []byte {
			return bytes.Repeat([]byte{'x'}, rapid.IntRange(0, 6000).Draw(rt, "size"))
		}
		rt.Repeat(map[string]func(*rapid.T){
			"appendLazy": func(rt *rapid.T) {
				p := payload(rt)
				_, err := s.AppendLazy("t", time.Unix(1700000000, 0), func(uint64) ([]byte, error) { return p, nil })
				if err != nil && !broken {
					rt.Fatalf("AppendLazy: %v", err)
				}
				checkCounts(rt, s, "after AppendLazy")
			},
			"append": func(rt *rapid.T) {
				p := payload(rt)
				_, err := s.Append("e", time.Unix(1700000000, 0), func(uint64) ([]byte, error) { return p, nil })
				if err != nil && !broken {
					rt.Fatalf("Append: %v", err)
				}
				checkCounts(rt, s, "after Append")
			},
			"appendBuildFails": func(rt *rapid.T) {
				// The transaction, with the batch and the deletions, is
				// rolled back.
				_, err := s.Append("e", time.Now(), func(uint64) ([]byte, error) { return nil, errors.New("no payload") })
				if err == nil {
					rt.Fatal("Append with a failing build succeeded")
				}
				checkCounts(rt, s, "after a failed build")
			},
			"delete": func(rt *rapid.T) {
				recs, err := s.Pending(0, 1000)
				if err != nil {
					rt.Fatal(err)
				}
				if len(recs) == 0 {
					rt.Skip("nothing committed")
				}
				// Fewer than MaxBatch queued: MaxBatch would have the writer
				// commit them, at a moment of its own, and a failing
				// sequence could not be replayed.
				s.qmu.Lock()
				room := opts.MaxBatch - 1 - len(s.deletes)
				s.qmu.Unlock()
				if room < 1 {
					rt.Skip("MaxBatch deletions would be queued")
				}
				seqs := seqsOf(recs)
				del := rapid.SliceOfNDistinct(rapid.SampledFrom(seqs), 1, min(room, len(seqs)), rapid.ID).Draw(rt, "seqs")
				if err := s.Delete(del...); err != nil {
					rt.Fatal(err)
				}
				checkCounts(rt, s, "after Delete")
			},
			"commit": func(rt *rapid.T) {
				err := s.Commit()
				if err != nil && !broken {
					rt.Fatalf("Commit: %v", err)
				}
				checkCounts(rt, s, "after Commit")
			},
			"break": func(rt *rapid.T) {
				if broken {
					rt.Skip("broken already")
				}
				fix, broken = breakSeq(t, path), true
			},
			"fix": func(rt *rapid.T) {
				if !broken {
					rt.Skip("not broken")
				}
				fix()
				broken = false
			},
			"reopen": func(rt *rapid.T) {
				if broken {
					// Close's commit would fail, and lose the batch: a
					// case of its own, not this test's.
					rt.Skip("commits fail")
				}
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				if s, err = Open(path, opts); err != nil {
					rt.Fatal(err)
				}
				checkCounts(rt, s, "after reopen")
			},
		})
	})
}
