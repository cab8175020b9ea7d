package journal

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
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
	path := threeVitalsDamaged(t, func(b *bolt.Bucket) error {
		for i := range 5000 {
			k := binary.BigEndian.AppendUint16(seqKey(1), uint16(i)) // sorts between seq 1 and 2
			if err := b.Put(k, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	s := open(t, path, &Options{CommitInterval: time.Hour})
	defer func(n int) { historyScanLimit = n }(historyScanLimit)
	historyScanLimit = 7
	p := mustHistory(t, s, HistoryVitals, HistoryQuery{Types: []string{"none"}})
	if !p.More || p.Cursor != 1 {
		t.Fatalf("More %v, Cursor %d: the call walked past the 5000 stray keys in one transaction (limit %d); want More at Cursor 1",
			p.More, p.Cursor, historyScanLimit)
	}
}

// A follower paging through a bucket with stray keys everywhere (before
// the first entry, between entries, short ones and ones of the highest
// seq after the last) gets every entry once and comes to an end: each
// page looks at a bounded number of keys, and its cursor moves past the
// strays it stopped on without passing an entry.
func TestAFollowerPagesPastStrayKeysToTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	for i := range 6 {
		s.AppendHistory(HistoryVitals, event(time.Now(), "vitals", i))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageHistory(t, path, func(b *bolt.Bucket) error {
		var keys [][]byte
		for i := range 20 {
			keys = append(keys, binary.BigEndian.AppendUint16(seqKey(uint64(i%7)), uint16(i))) // around seqs 0..6
		}
		keys = append(keys, []byte{0}, append(seqKey(math.MaxUint64), 1), seqKey(math.MaxUint64)[:7])
		for i := range 10 { // more after the last entry than a page looks at
			keys = append(keys, []byte{'a', 'b', byte('0' + i)}, append(seqKey(uint64(100+i)), 7))
		}
		for _, k := range keys {
			if err := b.Put(k, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	s = open(t, path, &Options{CommitInterval: time.Hour})
	defer func(n int) { historyScanLimit = n }(historyScanLimit)
	historyScanLimit = 3
	var got []uint64
	q := HistoryQuery{}
	pages := 0
	for ; pages < 100; pages++ {
		p := mustHistory(t, s, HistoryVitals, q)
		for _, e := range p.Entries {
			got = append(got, e.Seq)
		}
		if !p.More {
			break
		}
		if p.Cursor < q.After {
			t.Fatalf("page %d: cursor %d went back from %d", pages, p.Cursor, q.After)
		}
		q.After = p.Cursor
	}
	if pages == 100 || !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("after %d pages: entries %v, want 1..6 once each and an end", pages, got)
	}
}

// strayCursor's cursor never passes an entry that sorts after the key.
func TestStrayCursor(t *testing.T) {
	for _, tt := range []struct {
		key  []byte
		want uint64
		ok   bool
	}{
		{append(seqKey(5), 0), 5, true},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 6}[:7], 0, true},
		{[]byte("abc"), 0x6162630000000000 - 1, true},
		{[]byte{}, 0, true},
		{append(seqKey(math.MaxUint64), 9), 0, false},
	} {
		got, ok := strayCursor(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("strayCursor(%x) = %d, %v; want %d, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
