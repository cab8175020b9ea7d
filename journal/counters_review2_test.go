package journal

import (
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The record and byte counters only steer when and what a full outbox
// drops; audit heals them from the records when they disagree, because
// "setting the file aside, and latching the pod, for it would cost far
// more than it protects". A byte counter that fails its checksum (one bit
// of it flipped on the card) is the same disagreement, yet it is damage:
// OpenOrRecover sets the whole file aside with every undelivered record
// and starts the pod latched (store_damaged).
func TestAByteCounterThatFailsItsChecksumIsHealedNotDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, nil)
	for range 3 {
		appendEvent(t, s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		v := append([]byte(nil), meta.Get(keyOutboxBytes)...)
		v[7] ^= 1 // one bit of the count
		return meta.Put(keyOutboxBytes, v)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec, err := OpenOrRecover(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec != nil {
		t.Fatalf("recovery %+v: a flipped bit of the byte counter set the file aside (latched %v, lost %v)", rec, rec.Latched, rec.Lost)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("outbox %v, want [1 2 3]", got)
	}
}
