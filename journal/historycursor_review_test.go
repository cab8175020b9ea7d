package journal

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DEFECT: readHistory moves its Cursor past a stray key (strayCursor)
// even when the stray lies after the last entry, at a seq the store has
// not assigned yet. The entries appended afterwards (historyNext takes
// their seq from the counter: Last() is the stray) sort before the stray,
// but below the cursor a follower already holds, so a follower (podctl
// events --follow, report paging) never sees any of them: every later
// record is lost to it. Here entries 1..3, then a stray key of seq 1000
// plus a byte: the follower's cursor jumps to 1000 and entry 4, appended
// next, is never returned. Correct: a stray never moves the cursor beyond
// the seq the next entry will get less one (e.g. stop there with More
// false), so that entries still to come are not passed.
func TestReviewAStrayAfterTheLastEntryDoesNotHideLaterEntriesFromAFollower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	for i := range 3 {
		s.AppendHistory(HistoryVitals, event(time.Now(), "vitals", i))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageHistory(t, path, func(b *bolt.Bucket) error {
		return b.Put(binary.BigEndian.AppendUint16(seqKey(1000), 7), []byte("x"))
	})
	s = open(t, path, &Options{CommitInterval: time.Hour})
	// The follower reads to the end.
	var q HistoryQuery
	for pages := 0; ; pages++ {
		if pages == 100 {
			t.Fatal("no end after 100 pages")
		}
		p := mustHistory(t, s, HistoryVitals, q)
		q.After = p.Cursor
		if !p.More {
			break
		}
	}
	// A new record is stored; the follower's next poll must return it.
	s.AppendHistory(HistoryVitals, event(time.Now(), "vitals", 3))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	all := mustHistory(t, s, HistoryVitals, HistoryQuery{})
	if n := len(all.Entries); n != 4 {
		t.Fatalf("the store holds %d entries, want 4", n)
	}
	newSeq := all.Entries[3].Seq
	p := mustHistory(t, s, HistoryVitals, q)
	if len(p.Entries) != 1 || p.Entries[0].Seq != newSeq {
		t.Fatalf("follower at cursor %d after the stray: got %d entries, want the new entry %d: the cursor passed where later entries go", q.After, len(p.Entries), newSeq)
	}
}
