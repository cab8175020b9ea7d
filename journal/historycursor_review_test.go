package journal

import (
	"encoding/binary"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A stray key (strayCursor) after the last entry, at a seq the store has
// not assigned yet, moves a reader's Cursor at most to the last seq
// assigned: the entries appended afterwards (historyNext gives them the
// seqs after the last entry, past the stray) sort before the stray, and a
// follower (podctl events --follow, report paging) whose cursor passed
// them would never see any. Here entries 1..3, then a stray key of seq
// 1000 plus a byte: the follower reads to the end, and entry 4, appended
// next, is its next poll.
func TestReviewAStrayAfterTheLastEntryDoesNotHideLaterEntriesFromAFollower(t *testing.T) {
	path := threeVitalsDamaged(t, func(b *bolt.Bucket) error {
		return b.Put(binary.BigEndian.AppendUint16(seqKey(1000), 7), []byte("x"))
	})
	s := open(t, path, &Options{CommitInterval: time.Hour})
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
