package journal

import (
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// resignMetas recomputes the checksums of both meta pages of the bbolt file
// b, so that a mutation behind them reaches the pages they point to instead
// of stopping at a meta page that fails its checksum.
func resignMetas(b []byte) {
	ps := 4096
	if len(b) >= pageHeaderLen+metaLen {
		if v := int(ne.Uint32(b[pageHeaderLen+8:])); v >= 1024 && v <= 1<<16 && v&(v-1) == 0 {
			ps = v
		}
	}
	for _, off := range []int{0, ps} {
		if len(b) < off+pageHeaderLen+metaLen {
			return
		}
		m := b[off+pageHeaderLen : off+pageHeaderLen+metaLen]
		h := fnv.New64a()
		h.Write(m[:metaChecksumAt])
		ne.PutUint64(m[metaChecksumAt:], h.Sum64())
	}
}

// smallJournal is a journal of 1 KiB pages (bbolt reads the page size from
// the file): a few records, a deletion, a latch, in a few KiB, so the
// fuzzer mutates and minimises a small input.
func smallJournal(f *testing.F) []byte {
	path := filepath.Join(f.TempDir(), "j.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 1024})
	if err != nil {
		f.Fatal(err)
	}
	db.Close()
	s, err := Open(path, nil)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 12 {
		if _, err := s.Append("sleegation/v1/pods/p/telemetry", time.Unix(1700000000+int64(i), 0), payloadFor); err != nil {
			f.Fatal(err)
		}
	}
	if err := s.Delete(1, 2, 3); err != nil {
		f.Fatal(err)
	}
	if err := s.SetLatch([]byte(testLatch)); err != nil {
		f.Fatal(err)
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzOpen writes the fuzzed bytes as the store file (with or without a seq
// file beside it), opens it, calls every method, and recovers it: nothing
// may panic or fault, and a recovered store must work.
func FuzzOpen(f *testing.F) {
	healthy := smallJournal(f)
	f.Add(healthy, false, true)
	f.Add(healthy, true, false)
	f.Add(healthy[:len(healthy)/2], false, true)
	f.Add([]byte{}, false, true)
	f.Add([]byte("not a database"), false, false)
	f.Fuzz(func(t *testing.T, b []byte, resign, withSeq bool) {
		if resign {
			b = append([]byte{}, b...)
			resignMetas(b)
		}
		path := filepath.Join(t.TempDir(), "j.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if withSeq {
			if err := writeSeqFile(seqPath(path), seqFile{mark: 1999, base: 1000, pending: 3}); err != nil {
				t.Fatal(err)
			}
		}
		opts := &Options{Timeout: 100 * time.Millisecond, MaxOutbox: 4}
		if s, err := Open(path, opts); err == nil {
			exercise(t, s, nil)
			if s.Damage() != nil {
				s2, _, err := s.Reopen()
				if err == nil {
					exercise(t, s2, nil)
					s2.Close()
				}
			}
			s.Close()
		} else if !errors.Is(err, ErrDamaged) {
			t.Fatalf("Open = %v, want success or ErrDamaged", err)
		}

		s, rec, err := OpenOrRecover(path, opts)
		if err != nil {
			t.Fatalf("OpenOrRecover = %v (%+v)", err, rec)
		}
		defer s.Close()
		if rec != nil {
			if _, ok, err := s.Latch(); err != nil || !ok {
				t.Fatalf("recovered store not latched: %v", err)
			}
			_, err := s.Append("t", time.Now(), payloadFor)
			if withSeq != (err == nil) || (!withSeq && !errors.Is(err, ErrSeqUnknown)) {
				t.Fatalf("Append on the recovered store (seq file %v) = %v", withSeq, err)
			}
		}
		exercise(t, s, nil)
	})
}
