package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/goleak"
)

// A damaged store whose bbolt panicked inside a write (a fault while it
// rolled back) keeps bbolt's writer lock forever: Close leaves the goroutine
// that waits for it behind, by design (see Store.Close).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/sleegation/podd/journal.(*Store).closeDamaged.func1"))
}

func open(t *testing.T, path string, opts *Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func payloadFor(seq uint64) ([]byte, error) { return fmt.Appendf(nil, `{"seq":%d}`, seq), nil }

func mustAppend(t *testing.T, s *Store, topic string) Record {
	t.Helper()
	rec, err := s.Append(topic, time.Unix(1700000000, 0), payloadFor)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return rec
}

func seqsOf(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func TestSeqStartsAtOneAndIsNeverReusedAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	s := open(t, path, nil)
	if seq, err := s.NextSeq(); err != nil || seq != 1 {
		t.Fatalf("NextSeq on a new file = %d, %v; want 1", seq, err)
	}
	for want := uint64(1); want <= 3; want++ {
		if got := mustAppend(t, s, "t").Seq; got != want {
			t.Fatalf("Append seq = %d, want %d", got, want)
		}
	}
	// Emptying the outbox must not rewind the counter.
	if err := s.Delete(1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}

	s = open(t, path, nil)
	if seq, err := s.NextSeq(); err != nil || seq != 4 {
		t.Fatalf("NextSeq after reopen = %d, %v; want 4", seq, err)
	}
	if got := mustAppend(t, s, "t").Seq; got != 4 {
		t.Fatalf("first Append after reopen: seq %d, want 4", got)
	}
}

func TestAppendStoresWhatBuildReturnsForItsSeq(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	created := time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
	rec, err := s.Append("sleegation/v1/pods/p1/telemetry", created, payloadFor)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 1 || string(rec.Payload) != `{"seq":1}` || !rec.Dropped.Empty() {
		t.Fatalf("Append returned %+v", rec)
	}
	got, err := s.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Pending returned %d records, want 1", len(got))
	}
	g := got[0]
	if g.Seq != 1 || g.Topic != "sleegation/v1/pods/p1/telemetry" || !g.Created.Equal(created) ||
		string(g.Payload) != `{"seq":1}` || g.Corrupt != nil {
		t.Fatalf("Pending record = %+v", g)
	}
	// The returned payload is a copy: changing it must not change the store.
	g.Payload[0] = 'X'
	again, _ := s.Pending(0, 1)
	if string(again[0].Payload) != `{"seq":1}` {
		t.Fatalf("stored payload changed through a returned slice: %q", again[0].Payload)
	}
}

func TestAppendWithFailingBuildStoresNothingAndDoesNotConsumeTheSeq(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 2})
	mustAppend(t, s, "t")
	mustAppend(t, s, "t")
	boom := errors.New("boom")
	var built []uint64
	_, err := s.Append("t", time.Now(), func(seq uint64) ([]byte, error) {
		built = append(built, seq)
		return nil, boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "journal.Append") {
		t.Fatalf("Append error = %v, want wrapped boom", err)
	}
	if !slices.Equal(built, []uint64{3}) {
		t.Fatalf("build called with %v, want [3]", built)
	}
	// The outbox was full: the rolled-back transaction must also undo the drop.
	recs, _ := s.Pending(0, 10)
	if !slices.Equal(seqsOf(recs), []uint64{1, 2}) {
		t.Fatalf("Pending after failed build = %v, want [1 2]", seqsOf(recs))
	}
	if n, _ := s.OutboxLen(); n != 2 {
		t.Fatalf("OutboxLen = %d, want 2", n)
	}
	if seq, _ := s.NextSeq(); seq != 3 {
		t.Fatalf("NextSeq = %d, want 3 (failed build must not consume it)", seq)
	}
	if _, err := s.Append("t", time.Now(), nil); err == nil {
		t.Fatal("Append with nil build succeeded")
	}
}

func TestPendingIsOldestFirstAfterAndBoundedByMax(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	// More than 255 records so a little-endian or decimal key order would show.
	for range 300 {
		mustAppend(t, s, "t")
	}
	tests := []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{254, 4, []uint64{255, 256, 257, 258}},
		{298, 10, []uint64{299, 300}},
		{300, 10, nil},
	}
	for _, tt := range tests {
		got, err := s.Pending(tt.after, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(got), tt.want) {
			t.Errorf("Pending(%d, %d) = %v, want %v", tt.after, tt.max, seqsOf(got), tt.want)
		}
	}
	if _, err := s.Pending(0, 0); err == nil {
		t.Error("Pending with max 0 succeeded")
	}
}

func TestDeleteRemovesOnlyAcknowledgedRecords(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	for range 5 {
		mustAppend(t, s, "t")
	}
	// 9 was never stored and 2 is given twice: neither may skew the count.
	if err := s.Delete(2, 4, 9, 2); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Pending(0, 10)
	if !slices.Equal(seqsOf(recs), []uint64{1, 3, 5}) {
		t.Fatalf("Pending = %v, want [1 3 5]", seqsOf(recs))
	}
	if n, _ := s.OutboxLen(); n != 3 {
		t.Fatalf("OutboxLen = %d, want 3", n)
	}
	if err := s.Delete(); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
}

func TestFullOutboxDropsTheOldestBatchAndReportsIt(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 4}) // batch = 2
	for range 4 {
		if r := mustAppend(t, s, "t"); !r.Dropped.Empty() {
			t.Fatalf("seq %d dropped %+v below the limit", r.Seq, r.Dropped)
		}
	}
	r := mustAppend(t, s, "t")
	if r.Seq != 5 || !sameDropped(r.Dropped, Dropped{From: 1, To: 2, Count: 2}) {
		t.Fatalf("Append at full outbox = seq %d dropped %+v, want seq 5 dropped {1 2}", r.Seq, r.Dropped)
	}
	// Room was left for the caller's report.
	if r := mustAppend(t, s, "t"); !r.Dropped.Empty() {
		t.Fatalf("report append dropped %+v", r.Dropped)
	}
	// A delivered record in the middle: the next drop takes the oldest two
	// still present, so the range may span a hole.
	if err := s.Delete(4); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "t") // 7, outbox 3,5,6,7
	r = mustAppend(t, s, "t")
	if !sameDropped(r.Dropped, Dropped{From: 3, To: 5, Count: 2}) {
		t.Fatalf("drop = %+v, want 3..5, 2 records", r.Dropped)
	}
	recs, _ := s.Pending(0, 10)
	if !slices.Equal(seqsOf(recs), []uint64{6, 7, 8}) {
		t.Fatalf("Pending = %v, want [6 7 8]", seqsOf(recs))
	}
	if n, _ := s.OutboxLen(); n != 3 {
		t.Fatalf("OutboxLen = %d, want 3", n)
	}
}

func TestOpenRejectsAMaxOutboxWithNoRoomForTheDropReport(t *testing.T) {
	for _, m := range []int{1, -5} {
		if _, err := Open(filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: m}); err == nil ||
			!strings.Contains(err.Error(), "MaxOutbox") {
			t.Errorf("Open with MaxOutbox %d: err = %v, want a MaxOutbox error", m, err)
		}
	}
}

func TestLatchSurvivesReopenUntilCleared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, nil)
	if _, ok, err := s.Latch(); ok || err != nil {
		t.Fatalf("Latch on new file: ok=%v err=%v", ok, err)
	}
	latch := []byte(`{"rule":"spo2_low","value":84}`)
	if err := s.SetLatch(latch); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s = open(t, path, nil)
	got, ok, err := s.Latch()
	if err != nil || !ok || !bytes.Equal(got, latch) {
		t.Fatalf("Latch after reopen = %q, %v, %v", got, ok, err)
	}
	if err := s.ClearLatch(); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearLatch(); err != nil {
		t.Fatalf("clearing an absent latch: %v", err)
	}
	_ = s.Close()

	s = open(t, path, nil)
	if _, ok, _ := s.Latch(); ok {
		t.Fatal("latch still set after ClearLatch and reopen")
	}
	// An empty document is still a latch.
	if err := s.SetLatch(nil); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := s.Latch(); !ok || len(got) != 0 {
		t.Fatalf("empty latch: %q, %v", got, ok)
	}
}

func TestOpenOfALockedFileTimesOutWithAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	open(t, path, nil)
	_, err := Open(path, &Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Fatalf("second Open err = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not say the file is locked: %v", err)
	}
}

func TestOpenOfAFileThatIsNotAJournalIsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, nil)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of garbage = %v, want ErrDamaged naming the file", err)
	}
}

func TestPendingReturnsACorruptRecordInPlaceAndDeliveryGoesOn(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	for range 3 {
		mustAppend(t, s, "t")
	}
	bad := []byte{recordVersion, 0, 0}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).Put(seqKey(2), bad)
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqsOf(recs), []uint64{1, 2, 3}) {
		t.Fatalf("Pending = %v, want [1 2 3]", seqsOf(recs))
	}
	if recs[0].Corrupt != nil || recs[2].Corrupt != nil {
		t.Fatalf("good records marked corrupt: %v, %v", recs[0].Corrupt, recs[2].Corrupt)
	}
	if !errors.Is(recs[1].Corrupt, errShortValue) || !bytes.Equal(recs[1].Payload, bad) {
		t.Fatalf("corrupt record = %+v, want Corrupt=short value and the raw bytes", recs[1])
	}
	if err := s.Delete(2); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(); n != 2 {
		t.Fatalf("OutboxLen after deleting the corrupt record = %d, want 2", n)
	}
}

func TestACorruptSeqCounterIsAnErrorNotARestartAtOne(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	mustAppend(t, s, "t")
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyNextSeq, []byte{1, 2, 3})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append("t", time.Now(), payloadFor); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Append with a corrupt counter = %v, want an error", err)
	}
	if _, err := s.NextSeq(); err == nil {
		t.Fatal("NextSeq with a corrupt counter succeeded")
	}
}

// resum recomputes a version 2 value's checksum after a test changed it.
func resum(seq uint64, v []byte) []byte {
	binary.BigEndian.PutUint32(v[1:5], recordSum(seq, v[5:]))
	return v
}

func TestDecodeValueRejectsMalformedValues(t *testing.T) {
	good := encodeValue(1, "topic", time.Unix(5, 6), []byte("p"))
	with := func(i int, b ...byte) []byte {
		v := append([]byte{}, good...)
		copy(v[i:], b)
		return v
	}
	tests := map[string][]byte{
		"empty":              nil,
		"short":              good[:headerLen-1],
		"version":            with(0, 9),
		"checksum":           with(1, good[1]^1),
		"a changed byte":     with(len(good)-1, 'q'),
		"nanoseconds":        resum(1, with(13, 0xff, 0xff, 0xff, 0xff)),
		"no topic length":    resum(1, append([]byte{}, good[:headerLen]...)),
		"topic past the end": resum(1, append(append([]byte{}, good[:headerLen]...), 50, 'a')),
		"v1 short":           {recordV1, 0, 0},
		"v1 topic past end":  append(append([]byte{recordV1}, good[5:headerLen]...), 50, 'a'),
	}
	for name, v := range tests {
		if _, err := decodeValue(1, v); err == nil {
			t.Errorf("%s: decodeValue succeeded", name)
		}
	}
	if _, err := decodeValue(1, good); err != nil {
		t.Fatalf("good value: %v", err)
	}
	// The checksum covers the key: the same value under another seq fails.
	if _, err := decodeValue(2, good); !errors.Is(err, errChecksum) {
		t.Errorf("value of seq 1 read as seq 2: err = %v, want errChecksum", err)
	}
}

func TestRecordSumIsTheCRC32COfTheSeqThenTheBody(t *testing.T) {
	body := []byte("some record body")
	for _, seq := range []uint64{0, 1, 0x0102030405060708, ^uint64(0)} {
		want := crc32.Checksum(append(seqKey(seq), body...), crc32.MakeTable(crc32.Castagnoli))
		if got := recordSum(seq, body); got != want {
			t.Errorf("recordSum(%#x) = %08x, want %08x", seq, got, want)
		}
	}
}

func TestDecodeValueReadsVersion1(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	v2 := encodeValue(3, "a/b", created, []byte(`{"x":1}`))
	v1 := append([]byte{recordV1}, v2[5:]...)
	rec, err := decodeValue(3, v1)
	if err != nil || rec.Topic != "a/b" || !rec.Created.Equal(created) || string(rec.Payload) != `{"x":1}` {
		t.Fatalf("decode v1 = %+v, %v", rec, err)
	}
}

func FuzzDecodeValue(f *testing.F) {
	f.Add(uint64(7), encodeValue(7, "sleegation/v1/pods/p/events", time.Unix(1, 2), []byte(`{}`)))
	f.Add(uint64(7), []byte{recordVersion})
	f.Add(uint64(1), []byte{recordV1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 't'})
	f.Fuzz(func(t *testing.T, seq uint64, v []byte) {
		rec, err := decodeValue(seq, v)
		if err != nil {
			return
		}
		again := encodeValue(seq, rec.Topic, rec.Created, rec.Payload)
		if _, err := decodeValue(seq, again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "j.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := bytes.Repeat([]byte("x"), 300) // about one telemetry record
	created := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append("sleegation/v1/pods/p1/telemetry", created, func(uint64) ([]byte, error) { return payload, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendLazy is one telemetry append into the batch: with its
// share of the commits (one every MaxBatch records, their fsyncs most of
// the time), and queue alone, the commits made outside the timer.
func BenchmarkAppendLazy(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 300) // about one telemetry record
	created := time.Now()
	build := func(uint64) ([]byte, error) { return payload, nil }
	const topic = "sleegation/v1/pods/p1/telemetry"
	b.Run("commits", func(b *testing.B) {
		s, err := Open(filepath.Join(b.TempDir(), "j.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.AppendLazy(topic, created, build); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("queue", func(b *testing.B) {
		const batch = 1000
		s, err := Open(filepath.Join(b.TempDir(), "j.db"), &Options{MaxBatch: batch + 1, CommitInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		seqs := make([]uint64, 0, batch)
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.AppendLazy(topic, created, build)
			if err != nil {
				b.Fatal(err)
			}
			if seqs = append(seqs, r.Seq); len(seqs) == batch {
				// Committed and deleted, as the drain would: the outbox
				// never fills, and nothing is dropped.
				b.StopTimer()
				if err := s.Commit(); err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(seqs...); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(); err != nil {
					b.Fatal(err)
				}
				seqs = seqs[:0]
				b.StartTimer()
			}
		}
	})
}

func TestEveryCallOnAClosedStoreFailsWithErrClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	mustAppend(t, s, "t")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Append":     func() error { _, err := s.Append("t", time.Now(), payloadFor); return err },
		"Pending":    func() error { _, err := s.Pending(0, 1); return err },
		"Delete":     func() error { return s.Delete(1) },
		"OutboxLen":  func() error { _, err := s.OutboxLen(); return err },
		"NextSeq":    func() error { _, err := s.NextSeq(); return err },
		"SetLatch":   func() error { return s.SetLatch([]byte("x")) },
		"Latch":      func() error { _, _, err := s.Latch(); return err },
		"ClearLatch": func() error { return s.ClearLatch() },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrClosed) || !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			t.Errorf("%s after Close = %v, want ErrClosed wrapping bbolt's error", name, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "journal."+name+": journal closed") {
			t.Errorf("%s after Close: message %q does not name the call", name, err)
		}
	}
}
