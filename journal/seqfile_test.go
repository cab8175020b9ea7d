package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sleegation/podd/safety"
)

func mustReadSeqFile(t *testing.T, path string) seqFile {
	t.Helper()
	sf, state, err := readSeqFile(seqPath(path))
	if state != seqValid {
		t.Fatalf("seq file of %s: state %d, %v", path, state, err)
	}
	return sf
}

func TestSeqsAreReservedInBlocksBeforeTheyAreHandedOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{SeqBlock: 5})
	// A new store reserves its first block at once.
	if sf := mustReadSeqFile(t, path); sf != (seqFile{mark: 5, base: 1, pending: 1}) {
		t.Fatalf("new store's seq file %+v, want mark 5 base 1 pending 1", sf)
	}
	var marks []uint64
	for range 12 {
		rec := mustAppend(t, s, "t")
		sf := mustReadSeqFile(t, path)
		if rec.Seq > sf.mark {
			t.Fatalf("seq %d handed out above the mark %d", rec.Seq, sf.mark)
		}
		if len(marks) == 0 || marks[len(marks)-1] != sf.mark {
			marks = append(marks, sf.mark)
		}
		if rec.Seq == 4 {
			if err := s.Delete(1, 2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(marks, []uint64{5, 10, 15}) {
		t.Fatalf("marks %v, want [5 10 15]", marks)
	}
	// Written when seq 11 was reserved: 3..10 were still in the outbox.
	if sf := mustReadSeqFile(t, path); sf.base != 11 || sf.pending != 3 {
		t.Fatalf("seq file %+v, want base 11 and pending 3 (the oldest record in the outbox)", sf)
	}
}

func TestOpenRewritesAMissingOrDamagedSeqFileFromASoundStore(t *testing.T) {
	behind := seqFile{mark: 2, base: 1, pending: 1}.encode()
	for _, damage := range []func(path string) error{
		os.Remove,
		func(path string) error { return os.WriteFile(path, []byte("PSEQ garbage"), 0o600) },
		func(path string) error { return os.WriteFile(path, behind, 0o600) },
	} {
		path := filepath.Join(t.TempDir(), "j.db")
		s := open(t, path, &Options{SeqBlock: 5})
		for range 7 {
			mustAppend(t, s, "t")
		}
		s.Close()
		if err := damage(seqPath(path)); err != nil {
			t.Fatal(err)
		}
		s = open(t, path, &Options{SeqBlock: 5})
		if sf := mustReadSeqFile(t, path); sf.mark != 12 || sf.base != 8 {
			t.Fatalf("seq file after reopen %+v, want mark 12 base 8", sf)
		}
		if rec := mustAppend(t, s, "t"); rec.Seq != 8 {
			t.Fatalf("seq %d after reopen, want 8", rec.Seq)
		}
	}
}

// A store file older than its seq file (a copy put back, or a counter gone
// back) would hand out seqs again: it is damage.
func TestAStoreOlderThanItsSeqFileIsDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s := open(t, path, &Options{SeqBlock: 5})
	for range 3 {
		mustAppend(t, s, "t")
	}
	s.Close()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path, &Options{SeqBlock: 5})
	for range 5 {
		mustAppend(t, s, "t")
	}
	s.Close()
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, &Options{SeqBlock: 5})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "older than its seq file") {
		t.Fatalf("Open of an old copy = %v, want ErrDamaged", err)
	}
	s, rec, err := OpenOrRecover(path, &Options{SeqBlock: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec.NextSeq != 11 || rec.Lost != (SeqRange{From: 1, To: 10}) {
		t.Fatalf("Recovery %+v: want next seq 11 and lost 1..10", rec)
	}
}

func TestANewStoreWhereAnotherWasNumbersAfterIt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	if err := writeSeqFile(seqPath(path), seqFile{mark: 40, base: 30, pending: 25}); err != nil {
		t.Fatal(err)
	}
	// An initialised bbolt file that never held a bucket of ours: a first
	// start cut short after the seq file was written.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, path, nil)
	if rec := mustAppend(t, s, "t"); rec.Seq != 41 {
		t.Fatalf("first seq %d, want 41", rec.Seq)
	}
	if _, ok, _ := s.Latch(); ok {
		t.Fatal("latched: a store that never held a record lost no latch")
	}
}

func TestAStoreMissingOrEmptyBesideItsSeqFileIsDamage(t *testing.T) {
	for _, what := range []string{"missing", "empty"} {
		t.Run(what, func(t *testing.T) {
			fx := writeJournal(t, t.TempDir(), 20, nil)
			if what == "missing" {
				os.Remove(fx.path)
			} else {
				os.Truncate(fx.path, 0)
			}
			_, err := Open(fx.path, nil)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "the store is "+what) {
				t.Fatalf("Open = %v, want ErrDamaged saying the store is %s", err, what)
			}
			if _, err := os.Stat(fx.path); (what == "missing") != os.IsNotExist(err) {
				t.Fatalf("Open changed the store file: %v", err)
			}
			openDamaged(t, fx)
		})
	}
}

func TestWithoutASeqFileARecoveredStoreHandsOutNoSeqUntilAFloorIsSet(t *testing.T) {
	for _, seqDamage := range []string{"missing", "damaged"} {
		t.Run(seqDamage, func(t *testing.T) {
			fx := writeJournal(t, t.TempDir(), 20, nil)
			if seqDamage == "missing" {
				os.Remove(seqPath(fx.path))
			} else {
				os.WriteFile(seqPath(fx.path), []byte("garbage"), 0o600)
			}
			os.Truncate(fx.path, 5000)
			s, rec, err := OpenOrRecover(fx.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.NextSeq != 0 || !rec.Lost.Empty() || !rec.Latched || rec.MovedTo == "" {
				t.Fatalf("Recovery %+v: want no next seq, nothing lost known, latched, moved", rec)
			}
			b, _, err := s.Latch()
			var a safety.Abort
			if err != nil || json.Unmarshal(b, &a) != nil || a.Rule != RuleStoreDamaged ||
				!strings.Contains(a.Detail, "seq floor") || !strings.Contains(a.Detail, rec.MovedTo) {
				t.Fatalf("latch %s (%v): want store_damaged naming the move and the seq floor", b, err)
			}
			if seqDamage == "damaged" {
				kept, _ := filepath.Glob(seqPath(fx.path) + ".damaged-*")
				if len(kept) != 1 {
					t.Fatalf("damaged seq file not kept aside: %v", kept)
				}
			}
			// Across a restart too.
			s.Close()
			s = open(t, fx.path, nil)
			if _, err := s.Append("t", time.Now(), payloadFor); !errors.Is(err, ErrSeqUnknown) {
				t.Fatalf("Append = %v, want ErrSeqUnknown", err)
			}
			if _, err := s.NextSeq(); !errors.Is(err, ErrSeqUnknown) {
				t.Fatalf("NextSeq = %v, want ErrSeqUnknown", err)
			}
			if _, err := s.AppendLazy("t", time.Now(), payloadFor); !errors.Is(err, ErrSeqUnknown) {
				t.Fatalf("AppendLazy = %v, want ErrSeqUnknown", err)
			}
			if err := s.SetSeqFloor(5000); err != nil {
				t.Fatal(err)
			}
			if rec := mustAppendLazy(t, s); rec.Seq != 5000 {
				t.Fatalf("AppendLazy's seq after SetSeqFloor(5000) = %d", rec.Seq)
			}
			if rec := mustAppend(t, s, "t"); rec.Seq != 5001 {
				t.Fatalf("seq after SetSeqFloor(5000) and one AppendLazy = %d", rec.Seq)
			}
			if err := s.SetSeqFloor(10); err != nil {
				t.Fatal(err)
			}
			if next, _ := s.NextSeq(); next != 5002 {
				t.Fatalf("SetSeqFloor lowered the seq: next %d", next)
			}
			if sf := mustReadSeqFile(t, fx.path); sf.mark < 5000 {
				t.Fatalf("seq file %+v below the floor", sf)
			}
			if err := s.SetSeqFloor(0); err == nil {
				t.Fatal("SetSeqFloor(0) succeeded")
			}
		})
	}
}

// The seq file is written atomically, so it is either the old mark or the
// new; a truncated or changed one is refused, never misread.
func TestDecodeSeqFileRejectsDamage(t *testing.T) {
	good := seqFile{mark: 1999, base: 1000, pending: 900}.encode()
	if sf, err := decodeSeqFile(good); err != nil || sf.mark != 1999 {
		t.Fatalf("decode good = %+v, %v", sf, err)
	}
	for i := range good {
		b := append([]byte{}, good...)
		b[i] ^= 0x10
		if _, err := decodeSeqFile(b); err == nil {
			t.Errorf("byte %d changed: decoded", i)
		}
	}
	for n := range len(good) {
		if _, err := decodeSeqFile(good[:n]); err == nil {
			t.Errorf("cut to %d bytes: decoded", n)
		}
	}
	bad := seqFile{mark: 5, base: 9, pending: 1}.encode()
	if _, err := decodeSeqFile(bad); err == nil {
		t.Error("base above the mark: decoded")
	}
}

func FuzzDecodeSeqFile(f *testing.F) {
	f.Add(seqFile{mark: 1999, base: 1000, pending: 900}.encode())
	f.Add([]byte("PSEQ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := decodeSeqFile(b)
		if err != nil {
			return
		}
		if sf.base == 0 || sf.base > sf.mark || sf.pending > sf.base {
			t.Fatalf("decoded an inconsistent seq file %+v", sf)
		}
	})
}

// A file written before checksums (format 1: bare counters and latch,
// version 1 records) is upgraded on Open and its records still read.
func TestAFormat1FileIsUpgradedAndItsRecordsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	created := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	v1 := func(seq uint64) []byte {
		v := encodeValue(seq, "old/topic", created, []byte(`{"old":true}`))
		return append([]byte{recordV1}, v[5:]...)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		out, _ := tx.CreateBucket(bucketOutbox)
		for seq := uint64(1); seq <= 3; seq++ {
			if err := out.Put(seqKey(seq), v1(seq)); err != nil {
				return err
			}
		}
		meta.Put(keyFormat, u64(1))
		meta.Put(keyNextSeq, u64(4))
		meta.Put(keyOutboxLen, u64(3))
		return meta.Put(keyLatch, []byte(testLatch))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path, nil)
	recs, err := s.Pending(0, 10)
	if err != nil || len(recs) != 3 {
		t.Fatalf("Pending = %v, %v", recs, err)
	}
	for _, r := range recs {
		if r.Corrupt != nil || r.Topic != "old/topic" || !r.Created.Equal(created) || string(r.Payload) != `{"old":true}` {
			t.Fatalf("version 1 record read as %+v", r)
		}
	}
	if b, ok, err := s.Latch(); err != nil || !ok || string(b) != testLatch {
		t.Fatalf("latch = %q %v %v", b, ok, err)
	}
	if n, _ := s.OutboxLen(); n != 3 {
		t.Fatalf("OutboxLen = %d", n)
	}
	if rec := mustAppend(t, s, "t"); rec.Seq != 4 {
		t.Fatalf("first seq after the upgrade %d, want 4", rec.Seq)
	}
	if sf := mustReadSeqFile(t, path); sf.base > 4 || sf.mark < 4 {
		t.Fatalf("seq file %+v does not cover seq 4", sf)
	}
	// From the upgrade on, every record carries a checksum: a version 1
	// value at or above it is damage, not a record.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyFormat); binary.BigEndian.Uint64(v) != formatVersion {
			t.Errorf("format after upgrade %x", v)
		}
		return tx.Bucket(bucketOutbox).Put(seqKey(4), v1(4))
	}); err != nil {
		t.Fatal(err)
	}
	recs, _ = s.Pending(3, 10)
	if len(recs) != 1 || recs[0].Corrupt == nil {
		t.Fatalf("version 1 record at seq 4 = %+v, want it corrupt", recs)
	}
}
