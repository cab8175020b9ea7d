package journal

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DEFECT: readHistory skips a key that is not an 8-byte seq (damage, or
// a key of another format: the pruning's own doc names both) without
// counting it against historyScanLimit, so the limit bounds only the
// entries a History call looks at, not the keys. A bucket whose keys lie
// between the entries (pruneHistory deletes strays only up to the first
// entry it keeps, so those behind it stay for the whole retention) makes
// every technician's query walk all of them in one read transaction:
// exactly the long read that the limit is there to prevent, since a
// commit that must grow the file (the latch's among them) waits for it to
// end. Here 5000 stray keys lie between the first and second of three
// entries; with the limit at 7 the call must stop (More, Cursor 1) after
// looking at 7 keys, and the follower's next page, from Seek(seqKey(2)),
// skips the rest. Correct: count every key the cursor visits.
func TestReviewStrayKeysCountAgainstTheHistoryScanLimit(t *testing.T) {
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
		for i := range 5000 {
			k := binary.BigEndian.AppendUint16(seqKey(1), uint16(i)) // sorts between seq 1 and 2
			if err := b.Put(k, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	s = open(t, path, &Options{CommitInterval: time.Hour})
	defer func(n int) { historyScanLimit = n }(historyScanLimit)
	historyScanLimit = 7
	p := mustHistory(t, s, HistoryVitals, HistoryQuery{Types: []string{"none"}})
	if !p.More || p.Cursor != 1 {
		t.Fatalf("More %v, Cursor %d: the call walked past the 5000 stray keys in one transaction (limit %d); want More at Cursor 1",
			p.More, p.Cursor, historyScanLimit)
	}
}
