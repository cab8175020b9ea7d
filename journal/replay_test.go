package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const testLifetime = 10 * time.Minute

// testClock is a clock a test sets.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// replaySlot opens the journal at path into a new Slot, closed at the end of
// the test, and a ReplayCache over it.
func replaySlot(t *testing.T, path string, capacity int, clock *testClock) (*Slot, *ReplayCache) {
	t.Helper()
	sl := NewSlot()
	t.Cleanup(func() { _ = sl.Close() })
	if err := sl.Set(open(t, path, nil)); err != nil {
		t.Fatal(err)
	}
	c, err := NewReplayCache(sl, ReplayLimits{Capacity: capacity, Lifetime: testLifetime}, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	return sl, c
}

func mustSeen(t *testing.T, c *ReplayCache, jti string, exp time.Time, want bool) {
	t.Helper()
	seen, err := c.Seen(jti, exp)
	if err != nil || seen != want {
		t.Fatalf("Seen(%q, %s) = %v, %v; want %v, nil", jti, exp.Format(time.RFC3339Nano), seen, err, want)
	}
}

var t0 = time.Date(2031, 3, 4, 22, 0, 0, 0, time.UTC)

func TestReplayCacheRemembersAJTIAcrossACloseAndReopenOfTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	clock := newTestClock(t0)
	sl, c := replaySlot(t, path, 0, clock)
	mustSeen(t, c, "cmd-1", t0.Add(5*time.Minute), false)
	mustSeen(t, c, "cmd-1", t0.Add(5*time.Minute), true)
	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seen("cmd-1", t0.Add(5*time.Minute)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Seen on a closed slot = %v, want ErrClosed", err)
	}

	clock.add(time.Minute) // the pod restarts a minute later
	_, c = replaySlot(t, path, 0, clock)
	mustSeen(t, c, "cmd-1", t0.Add(5*time.Minute), true)
	mustSeen(t, c, "cmd-2", t0.Add(5*time.Minute), false)
	if n, err := c.Len(); err != nil || n != 2 {
		t.Fatalf("Len = %d, %v; want 2", n, err)
	}
}

func TestReplayCacheForgetsAJTIAtItsExpNotBefore(t *testing.T) {
	clock := newTestClock(t0)
	_, c := replaySlot(t, filepath.Join(t.TempDir(), "j.db"), 0, clock)
	exp := t0.Add(2 * time.Minute)
	mustSeen(t, c, "a", exp, false)
	mustSeen(t, c, "b", t0.Add(3*time.Minute), false)

	clock.set(exp.Add(-time.Nanosecond))
	mustSeen(t, c, "a", exp, true)
	if n, _ := c.Len(); n != 2 {
		t.Fatalf("Len before exp = %d, want 2", n)
	}

	clock.set(exp) // the Verifier refuses a command at its exp: "a" may go
	mustSeen(t, c, "b", t0.Add(3*time.Minute), true)
	if n, _ := c.Len(); n != 1 {
		t.Fatalf("Len at a's exp = %d, want 1 (a forgotten, b kept)", n)
	}
	mustSeen(t, c, "a", exp.Add(time.Minute), false)
}

func TestReplayCacheKeepsTheLaterExpOfAJTISeenAgain(t *testing.T) {
	clock := newTestClock(t0)
	_, c := replaySlot(t, filepath.Join(t.TempDir(), "j.db"), 0, clock)
	mustSeen(t, c, "a", t0.Add(time.Minute), false)
	mustSeen(t, c, "a", t0.Add(4*time.Minute), true)
	mustSeen(t, c, "a", t0.Add(2*time.Minute), true)
	clock.set(t0.Add(4*time.Minute - time.Nanosecond))
	mustSeen(t, c, "a", t0.Add(4*time.Minute), true)
}

func TestReplayCacheFullOfLiveJTIsRefusesAndForgetsNone(t *testing.T) {
	clock := newTestClock(t0)
	_, c := replaySlot(t, filepath.Join(t.TempDir(), "j.db"), 3, clock)
	for i := range 3 {
		mustSeen(t, c, fmt.Sprintf("j%d", i), t0.Add(time.Duration(i+1)*time.Minute), false)
	}
	seen, err := c.Seen("j3", t0.Add(5*time.Minute))
	if !errors.Is(err, ErrReplayFull) || seen {
		t.Fatalf("Seen on a full cache = %v, %v; want false, ErrReplayFull", seen, err)
	}
	for i := range 3 {
		mustSeen(t, c, fmt.Sprintf("j%d", i), t0.Add(time.Duration(i+1)*time.Minute), true)
	}
	if n, _ := c.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	clock.set(t0.Add(time.Minute)) // j0 expires
	mustSeen(t, c, "j3", t0.Add(5*time.Minute), false)
	mustSeen(t, c, "j3", t0.Add(5*time.Minute), true)
}

func TestReplayCacheConcurrentSeenOfOneJTIIsFalseExactlyOnce(t *testing.T) {
	clock := newTestClock(t0)
	_, c := replaySlot(t, filepath.Join(t.TempDir(), "j.db"), 0, clock)
	const n = 16
	var (
		wg     sync.WaitGroup
		fresh  atomic.Int32
		failed atomic.Int32
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			seen, err := c.Seen("same", t0.Add(time.Minute))
			switch {
			case err != nil:
				failed.Add(1)
			case !seen:
				fresh.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if fresh.Load() != 1 || failed.Load() != 0 {
		t.Fatalf("%d of %d calls reported the jti new, %d failed; want exactly 1 and 0", fresh.Load(), n, failed.Load())
	}
}

func TestReplayCacheFollowsTheStoreTheSlotHolds(t *testing.T) {
	clock := newTestClock(t0)
	c, err := NewReplayCache(NewSlot(), ReplayLimits{Lifetime: testLifetime}, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seen("a", t0.Add(time.Minute)); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("Seen before Set = %v, want ErrNotOpen", err)
	}

	sl, c := replaySlot(t, filepath.Join(t.TempDir(), "j.db"), 0, clock)
	first := sl.Store()
	mustSeen(t, c, "a", t0.Add(time.Minute), false)
	first.markDamaged(damagef("test"))
	if _, err := c.Seen("b", t0.Add(time.Minute)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Seen on a damaged store = %v, want ErrDamaged", err)
	}
	second, rec, err := first.Reopen()
	if err != nil || rec != nil {
		t.Fatalf("Reopen = %v, %+v", err, rec)
	}
	if err := sl.Replace(first, second); err != nil {
		_ = second.Close()
		t.Fatal(err)
	}
	mustSeen(t, c, "a", t0.Add(time.Minute), true)
	mustSeen(t, c, "b", t0.Add(time.Minute), false)
}

// putJTIValue writes v under key in the jti bucket of the closed file at path.
func putJTIValue(t *testing.T, path string, key, v []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketJTI).Put(key, v) }); err != nil {
		t.Fatal(err)
	}
}

func TestACorruptJTIEntryRefusesEveryJTIForALifetime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	clock := newTestClock(t0)
	sl, c := replaySlot(t, path, 0, clock)
	mustSeen(t, c, "kept", t0.Add(time.Hour), false)
	_ = sl.Close()

	// "lost" was accepted; a damaged page changed a byte of its value.
	v := encodeJTI([]byte("lost"), t0.Add(5*time.Minute))
	v[7] ^= 0x10
	putJTIValue(t, path, []byte("lost"), v)

	clock.add(time.Minute)
	found := clock.now()
	_, c = replaySlot(t, path, 0, clock)
	for _, jti := range []string{"lost", "other", "kept"} {
		if seen, err := c.Seen(jti, found.Add(time.Minute)); !errors.Is(err, ErrReplayUnknown) || seen {
			t.Fatalf("Seen(%q) with a corrupt entry = %v, %v; want false, ErrReplayUnknown", jti, seen, err)
		}
	}
	clock.set(found.Add(testLifetime - time.Nanosecond))
	if _, err := c.Seen("other", found.Add(testLifetime)); !errors.Is(err, ErrReplayUnknown) {
		t.Fatalf("Seen just before found + lifetime = %v, want ErrReplayUnknown", err)
	}
	clock.set(found.Add(testLifetime))
	mustSeen(t, c, "lost", found.Add(testLifetime+time.Minute), false)
	mustSeen(t, c, "kept", t0.Add(time.Hour), true)
	if n, _ := c.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2 (kept and lost; the corrupt entry and the marker gone)", n)
	}
}

func TestAFreshStoreAfterDamageKnowsNoJTIForALifetime(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 50, nil)
	if err := os.Truncate(fx.path, 0); err != nil {
		t.Fatal(err)
	}
	s, rec := openDamaged(t, fx)
	sl := NewSlot()
	if err := sl.Set(s); err != nil {
		t.Fatal(err)
	}
	clock := newTestClock(rec.At.Add(time.Second))
	c, err := NewReplayCache(sl, ReplayLimits{Lifetime: testLifetime}, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seen("a", clock.now().Add(time.Minute)); !errors.Is(err, ErrReplayUnknown) {
		t.Fatalf("Seen on the fresh store = %v, want ErrReplayUnknown", err)
	}
	clock.set(rec.At.Add(time.Second + testLifetime)) // a Lifetime after the first Seen dated the mark
	mustSeen(t, c, "a", clock.now().Add(time.Minute), false)
	mustSeen(t, c, "a", clock.now().Add(time.Minute), true)
}

func TestOpenAddsTheJTIBucketToAFileWithoutItAndKeepsTheFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, nil)
	mustAppend(t, s, "t")
	_ = s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketJTI) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	clock := newTestClock(t0)
	sl, c := replaySlot(t, path, 0, clock)
	mustSeen(t, c, "a", t0.Add(time.Minute), false)
	if seq, err := sl.NextSeq(); err != nil || seq != 2 {
		t.Fatalf("NextSeq = %d, %v; want 2", seq, err)
	}
	_ = sl.Close()
	db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		if f := tx.Bucket(bucketMeta).Get(keyFormat); !bytes.Equal(f, u64(formatVersion)) {
			t.Errorf("format = %x, want %d", f, formatVersion)
		}
		if tx.Bucket(bucketJTI).Get([]byte("a")) == nil {
			t.Error("the jti is not in the file")
		}
		return nil
	})
}

func TestNewReplayCacheRefusesBadLimits(t *testing.T) {
	sl := NewSlot()
	for _, tc := range []struct {
		name string
		lim  ReplayLimits
		now  func() time.Time
		sl   *Slot
	}{
		{"no lifetime", ReplayLimits{}, time.Now, sl},
		{"negative capacity", ReplayLimits{Capacity: -1, Lifetime: time.Minute}, time.Now, sl},
		{"no clock", ReplayLimits{Lifetime: time.Minute}, nil, sl},
		{"no slot", ReplayLimits{Lifetime: time.Minute}, time.Now, nil},
	} {
		if c, err := NewReplayCache(tc.sl, tc.lim, tc.now); err == nil || c != nil {
			t.Errorf("%s: NewReplayCache = %v, %v; want an error", tc.name, c, err)
		}
	}
}

func FuzzDecodeJTI(f *testing.F) {
	f.Add([]byte("a"), encodeJTI([]byte("a"), t0))
	f.Add([]byte{0}, encodeJTI([]byte{0}, t0))
	f.Add([]byte("b"), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, key, v []byte) {
		got, err := decodeJTI(key, v)
		if err != nil {
			return
		}
		if again := encodeJTI(key, got); !bytes.Equal(again, v) {
			t.Fatalf("decoded %s from %x, which encodes back as %x", got, v, again)
		}
	})
}
