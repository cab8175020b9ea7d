package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// counters reads the committed outbox counters, and the seqs the telemetry
// index holds.
func counters(t *testing.T, s *Store) (n, b uint64, telemetry []uint64) {
	t.Helper()
	if err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if n, _, err = decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen)); err != nil {
			return err
		}
		if b, _, err = decodeCounter(keyOutboxBytes, meta.Get(keyOutboxBytes)); err != nil {
			return err
		}
		return tx.Bucket(bucketTelemetry).ForEach(func(k, _ []byte) error {
			telemetry = append(telemetry, seqKeyValue(k))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return n, b, telemetry
}

func seqKeyValue(k []byte) uint64 {
	var seq uint64
	for _, c := range k {
		seq = seq<<8 | uint64(c)
	}
	return seq
}

func appendEvent(t *testing.T, s *Store) Record {
	t.Helper()
	return mustAppend(t, s, "events")
}

// Events and telemetry interleaved: a full outbox drops the oldest
// telemetry, around the events, and reports the seqs it spans and how many
// it dropped; events go only once no telemetry is left.
func TestAFullOutboxDropsTelemetryBeforeEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 10}) // batch 2
		for seq := uint64(1); seq <= 10; seq++ {
			var r Record
			if seq%2 == 1 {
				r = appendEvent(t, s)
			} else {
				r = mustAppendLazy(t, s)
			}
			if r.Seq != seq || !r.Dropped.Empty() {
				t.Fatalf("record %d = seq %d, dropped %+v", seq, r.Seq, r.Dropped)
			}
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		// Full: events 1 3 5 7 9, telemetry 2 4 6 8 10.
		steps := []struct {
			lazy bool
			want Dropped
		}{ // lazy: telemetry into a full outbox; see TestALazyRecordIntoAFullOutboxReportsTheDrop
			{false, Dropped{From: 2, To: 4, Count: 2, Kept: []uint64{3}}}, // 11
			{false, Dropped{}}, // 12: the room left for the report
			{false, Dropped{From: 6, To: 8, Count: 2, Kept: []uint64{7}}}, // 13
			{false, Dropped{}}, // 14
			{false, Dropped{From: 1, To: 10, Count: 2, Kept: []uint64{3, 5, 7, 9}}}, // 15: the last telemetry, then the oldest event
			{false, Dropped{}},                         // 16
			{false, Dropped{From: 3, To: 5, Count: 2}}, // 17: events only now, none kept between
		}
		for i, st := range steps {
			var r Record
			if st.lazy {
				r = mustAppendLazy(t, s)
			} else {
				r = appendEvent(t, s)
			}
			if r.Seq != uint64(11+i) || !sameDropped(r.Dropped, st.want) {
				t.Fatalf("seq %d: dropped %+v, want %+v", r.Seq, r.Dropped, st.want)
			}
		}
		want := []uint64{7, 9, 11, 12, 13, 14, 15, 16, 17}
		if got := pendingSeqs(t, s); !slices.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		n, _, tel := counters(t, s)
		if n != uint64(len(want)) || len(tel) != 0 {
			t.Fatalf("outbox_len %d, telemetry index %v; want %d, empty", n, tel, len(want))
		}
	})
}

// The drop batch is max(2, MaxOutbox/100) records: one report per batch.
func TestTheDropBatchIsAHundredthOfTheOutbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 500, MaxBatch: 1000}) // batch 5
		appendEvent(t, s)
		for range 499 {
			mustAppendLazy(t, s)
		}
		r := mustAppendLazy(t, s)
		if r.Seq != 501 || !sameDropped(r.Dropped, Dropped{From: 2, To: 6, Count: 5}) {
			t.Fatalf("seq %d dropped %+v, want 501, 2..6 (5)", r.Seq, r.Dropped)
		}
		if n := outboxLen(t, s); n != 496 {
			t.Fatalf("OutboxLen %d, want 496", n)
		}
	})
}

// Big records: the byte bound trips long before the count bound, and the
// byte counter follows every put, drop and deletion.
func TestTheByteBoundTripsBeforeTheCountBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 1000, MaxOutboxBytes: 64 << 10})
		big := bytes.Repeat([]byte("x"), 8000)
		build := func(uint64) ([]byte, error) { return big, nil }
		size := uint64(len(encodeValue(1, "t", time.Time{}, big))) // 8019
		for seq := uint64(1); seq <= 8; seq++ {
			r, err := s.AppendLazy("t", time.Time{}, build)
			if err != nil || !r.Dropped.Empty() {
				t.Fatalf("record %d: dropped %+v, err %v", seq, r.Dropped, err)
			}
		}
		// 8 × 8019 = 64152 bytes; a ninth passes 65536. One record frees
		// more than MaxOutboxBytes/100 and leaves 1 KiB for the report.
		r, err := s.AppendLazy("t", time.Time{}, build)
		if err != nil || r.Seq != 9 || !sameDropped(r.Dropped, Dropped{From: 1, To: 1, Count: 1}) {
			t.Fatalf("ninth = seq %d, dropped %+v, err %v; want 9, 1..1 (1)", r.Seq, r.Dropped, err)
		}
		n, b, tel := counters(t, s)
		if n != 8 || b != 8*size || len(tel) != 8 {
			t.Fatalf("outbox %d records, %d bytes, %d indexed; want 8, %d, 8", n, b, len(tel), 8*size)
		}
		if r := appendEvent(t, s); !r.Dropped.Empty() {
			t.Fatalf("the report dropped %+v", r.Dropped)
		}
		if err := s.Delete(2, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		_, b2, tel := counters(t, s)
		if b2 != b+uint64(len(encodeValue(10, "events", time.Unix(1700000000, 0), []byte(`{"seq":10}`))))-2*size ||
			slices.Contains(tel, 2) || slices.Contains(tel, 3) {
			t.Fatalf("after deleting 2 and 3: %d bytes, index %v", b2, tel)
		}
		// A record that could never fit is refused, and costs no seq.
		huge := bytes.Repeat([]byte("x"), 64<<10)
		for _, f := range []func(string, time.Time, func(uint64) ([]byte, error)) (Record, error){s.Append, s.AppendLazy} {
			if _, err := f("t", time.Time{}, func(uint64) ([]byte, error) { return huge, nil }); err == nil ||
				!strings.Contains(err.Error(), "MaxOutboxBytes") {
				t.Fatalf("a record of 64 KiB: err %v, want one naming MaxOutboxBytes", err)
			}
		}
		if seq, _ := s.NextSeq(); seq != 11 {
			t.Fatalf("NextSeq %d, want 11", seq)
		}
	})
}

func TestOpenRejectsAMaxOutboxBytesTooSmall(t *testing.T) {
	for _, m := range []int64{1, 65535, -1} {
		if _, err := Open(filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutboxBytes: m}); err == nil ||
			!strings.Contains(err.Error(), "MaxOutboxBytes") {
			t.Errorf("Open with MaxOutboxBytes %d: err = %v, want a MaxOutboxBytes error", m, err)
		}
	}
}

// writeFormat2 writes a journal as format 2 laid it out (no telemetry
// index, no byte counter) holding records 1..n.
func writeFormat2(t *testing.T, path string, n uint64) (bytes uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		out, _ := tx.CreateBucket(bucketOutbox)
		for seq := uint64(1); seq <= n; seq++ {
			p, _ := payloadFor(seq)
			v := encodeValue(seq, "old", time.Unix(1700000000, 0), p)
			bytes += uint64(len(v))
			if err := out.Put(seqKey(seq), v); err != nil {
				return err
			}
		}
		meta.Put(keyFormat, u64(2))
		meta.Put(keyNextSeq, encodeCounter(keyNextSeq, n+1))
		meta.Put(keyOutboxLen, encodeCounter(keyOutboxLen, n))
		return meta.Put(keyLatch, encodeLatch([]byte(testLatch)))
	}); err != nil {
		t.Fatal(err)
	}
	return bytes
}

// A format 2 file is upgraded: its records kept, counted, and treated as
// events (dropped only after telemetry).
func TestAFormat2FileIsUpgradedItsRecordsKeptAsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "j.db")
		size := writeFormat2(t, path, 3)
		s := open(t, path, &Options{MaxOutbox: 4})
		n, b, tel := counters(t, s)
		if n != 3 || b != size || len(tel) != 0 {
			t.Fatalf("after the upgrade: %d records, %d bytes, index %v; want 3, %d, none", n, b, tel, size)
		}
		if err := s.db.View(func(tx *bolt.Tx) error {
			if f := seqKeyValue(tx.Bucket(bucketMeta).Get(keyFormat)); f != formatVersion {
				t.Errorf("format %d after the upgrade", f)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if doc, ok, err := s.Latch(); err != nil || !ok || string(doc) != testLatch {
			t.Fatalf("latch %q %v %v", doc, ok, err)
		}
		if r := mustAppendLazy(t, s); r.Seq != 4 {
			t.Fatalf("first seq %d, want 4", r.Seq)
		}
		// Full: telemetry 4 goes first, then the oldest old record.
		if r := appendEvent(t, s); r.Seq != 5 || !sameDropped(r.Dropped, Dropped{From: 1, To: 4, Count: 2, Kept: []uint64{2, 3}}) {
			t.Fatalf("seq %d dropped %+v, want 5, 1..4 (2) kept [2 3]", r.Seq, r.Dropped)
		}
		if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{2, 3, 5}) {
			t.Fatalf("outbox %v, want [2 3 5]", got)
		}
	})
}

// The counters and the index are checked against the records at Open: a
// disagreement is healed (they steer drops, never seqs), a counter failing
// its checksum is damage, as every counter.
func TestOpenHealsTheIndexAndCounters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s := open(t, path, nil)
	appendEvent(t, s)
	mustAppendLazy(t, s)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	_, size, _ := counters(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tamper := func(f func(meta, tel *bolt.Bucket) error) {
		t.Helper()
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error {
			return f(tx.Bucket(bucketMeta), tx.Bucket(bucketTelemetry))
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	tamper(func(meta, tel *bolt.Bucket) error {
		tel.Put(seqKey(1000), nil) // no record
		tel.Put([]byte("x"), nil)  // not a seq
		meta.Put(keyOutboxLen, encodeCounter(keyOutboxLen, 7))
		return meta.Put(keyOutboxBytes, encodeCounter(keyOutboxBytes, 1))
	})
	s = open(t, path, nil)
	if n, b, tel := counters(t, s); n != 2 || b != size || !slices.Equal(tel, []uint64{2}) {
		t.Fatalf("healed: %d records, %d bytes, index %v; want 2, %d, [2]", n, b, tel, size)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("outbox %v, want [1 2]", got)
	}
	s.Close()

	tamper(func(meta, _ *bolt.Bucket) error {
		v := encodeCounter(keyOutboxBytes, size)
		v[len(v)-1] ^= 1
		return meta.Put(keyOutboxBytes, v)
	})
	// A counter that fails its checksum is healed as one that disagrees:
	// it steers drops only, never a seq.
	s = open(t, path, nil)
	if n, b, _ := counters(t, s); n != 2 || b != size {
		t.Fatalf("after a corrupt byte counter: %d records, %d bytes; want 2, %d", n, b, size)
	}
	s.Close()
}

// An index entry whose record is gone, met by a drop, is removed and not
// counted as dropped.
func TestADropSkipsAnIndexEntryWithoutARecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 4})
		for range 4 {
			mustAppendLazy(t, s)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketOutbox).Delete(seqKey(1)) // behind the counters' back
		}); err != nil {
			t.Fatal(err)
		}
		r := appendEvent(t, s)
		if !sameDropped(r.Dropped, Dropped{From: 2, To: 3, Count: 2}) {
			t.Fatalf("dropped %+v, want 2..3 (2)", r.Dropped)
		}
		if _, _, tel := counters(t, s); !slices.Equal(tel, []uint64{4}) {
			t.Fatalf("index %v, want [4]", tel)
		}
	})
}

// A leftover compacted copy (a power cut during compaction) is removed by
// the next Open, which opens the file as it was.
func TestOpenRemovesALeftoverCompactedCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, nil)
	appendEvent(t, s)
	s.Close()
	if err := os.WriteFile(compactPath(path), []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, nil)
	if _, err := os.Stat(compactPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover copy still there: %v", err)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("outbox %v, want [1]", got)
	}
}

// A file grown by a backlog and then emptied is compacted at the next
// Open: smaller, and with its latch, counters, seqs and records.
func TestOpenCompactsAFileMostlyFree(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30 MB")
	}
	path := filepath.Join(t.TempDir(), "j.db")
	big, n := growSparse(t, path)
	before := fileSize(t, path)
	if before <= compactMinSize {
		t.Fatalf("the backlog grew the file to %d bytes only", before)
	}
	s := open(t, path, nil)
	after := fileSize(t, path)
	if after > before/8 {
		t.Fatalf("file %d bytes after Open, %d before: not compacted", after, before)
	}
	t.Logf("file %d bytes with the backlog delivered, %d after compaction", before, after)
	if _, err := os.Stat(compactPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("compacted copy left behind: %v", err)
	}
	if doc, ok, err := s.Latch(); err != nil || !ok || string(doc) != testLatch {
		t.Fatalf("latch %q %v %v", doc, ok, err)
	}
	recs, err := s.Pending(0, 10)
	if err != nil || !slices.Equal(seqsOf(recs), []uint64{n - 1, n, n + 1}) || !bytes.Equal(recs[0].Payload, big) {
		t.Fatalf("outbox %v, %v; want [%d %d %d]", seqsOf(recs), err, n-1, n, n+1)
	}
	if c, b, tel := counters(t, s); c != 3 || b != 2*uint64(len(encodeValue(1, "telemetry", time.Time{}, big)))+uint64(len(recs[2].Payload))+17+1+6 ||
		!slices.Equal(tel, []uint64{n - 1, n}) {
		t.Fatalf("counters %d records, %d bytes, index %v", c, b, tel)
	}
	if seq, _ := s.NextSeq(); seq != n+2 {
		t.Fatalf("NextSeq %d, want %d", seq, n+2)
	}
	// The compacted file passes the check again, and is not compacted again.
	s.Close()
	s = open(t, path, nil)
	if got := pendingSeqs(t, s); len(got) != 3 {
		t.Fatalf("outbox %v at the second Open", got)
	}
	if got := fileSize(t, path); got != after {
		t.Fatalf("file %d bytes at the second Open, %d at the first", got, after)
	}
}

// A compaction that cannot write its copy is skipped: the file is opened
// as it is.
func TestAFailedCompactionOpensTheFileAsItIs(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30 MB")
	}
	path := filepath.Join(t.TempDir(), "j.db")
	_, n := growSparse(t, path)
	before := fileSize(t, path)
	// A directory in the copy's place: neither removed nor written.
	if err := os.MkdirAll(filepath.Join(compactPath(path), "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, nil)
	if got := fileSize(t, path); got != before {
		t.Fatalf("file %d bytes, %d before", got, before)
	}
	if got := pendingSeqs(t, s); !slices.Equal(got, []uint64{n - 1, n, n + 1}) {
		t.Fatalf("outbox %v", got)
	}
	if doc, ok, err := s.Latch(); err != nil || !ok || string(doc) != testLatch {
		t.Fatalf("latch %q %v %v", doc, ok, err)
	}
}

// growSparse makes a journal that a backlog grew past compactMinSize and
// that holds little once it was delivered: a latch, telemetry n-1 and n
// (payload big) and event n+1.
func growSparse(t *testing.T, path string) (big []byte, n uint64) {
	t.Helper()
	s, err := Open(path, &Options{MaxBatch: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetLatch([]byte(testLatch)); err != nil {
		t.Fatal(err)
	}
	big = bytes.Repeat([]byte("x"), 6000)
	n = 3000
	for range n {
		if _, err := s.AppendLazy("telemetry", time.Unix(1700000000, 0), func(uint64) ([]byte, error) { return big, nil }); err != nil {
			t.Fatal(err)
		}
	}
	appendEvent(t, s) // seq n+1
	seqs := make([]uint64, 0, n)
	for seq := uint64(1); seq <= n-2; seq++ {
		seqs = append(seqs, seq)
	}
	if err := s.Delete(seqs...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return big, n
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The telemetry index is a bucket of the file like the others: a page of
// it that is damaged fails the file check, and a format 3 file without it
// is damage, set aside as any.
func TestADamagedTelemetryIndexIsDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s := open(t, path, &Options{MaxBatch: 1000})
	for range 600 { // an index of its own pages, not inline
		mustAppendLazy(t, s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	db.View(func(tx *bolt.Tx) error {
		root = uint64(tx.Bucket(bucketTelemetry).Root())
		return nil
	})
	pageSize := db.Info().PageSize
	db.Close()
	if root == 0 {
		t.Fatal("the index is inline")
	}
	keep, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The index's root page says it is another page.
	id := make([]byte, 8)
	ne.PutUint64(id, root+1)
	patch(t, path, int64(root)*int64(pageSize), id)
	want := fmt.Sprintf("page %d: its header says page %d", root, root+1)
	if _, err := Open(path, nil); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open with a damaged index page = %v, want ErrDamaged: %s", err, want)
	}

	if err := os.WriteFile(path, keep, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketTelemetry) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path, nil); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "no telemetry bucket") {
		t.Fatalf("Open without the index = %v, want ErrDamaged naming it", err)
	}
}
