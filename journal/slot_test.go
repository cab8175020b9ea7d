package journal

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// slotCalls are every forwarding method of Slot, each reduced to its error.
var slotCalls = []struct {
	name string
	call func(*Slot) error
}{
	{"Append", func(s *Slot) error { _, err := s.Append("t", time.Unix(1700000000, 0), payloadFor); return err }},
	{"Pending", func(s *Slot) error { _, err := s.Pending(0, 10); return err }},
	{"Delete", func(s *Slot) error { return s.Delete(1) }},
	{"NextSeq", func(s *Slot) error { _, err := s.NextSeq(); return err }},
	{"OutboxLen", func(s *Slot) error { _, err := s.OutboxLen(); return err }},
	{"SetLatch", func(s *Slot) error { return s.SetLatch([]byte("x")) }},
	{"Latch", func(s *Slot) error { _, _, err := s.Latch(); return err }},
	{"ClearLatch", func(s *Slot) error { return s.ClearLatch() }},
	{"SetSeqFloor", func(s *Slot) error { return s.SetSeqFloor(1) }},
}

func isReady(s *Slot) bool {
	select {
	case <-s.Ready():
		return true
	default:
		return false
	}
}

func TestSlotBeforeSetEveryCallFailsWithErrNotOpen(t *testing.T) {
	s := NewSlot()
	if s.Store() != nil || isReady(s) {
		t.Fatalf("new slot: Store() = %v, ready %v; want nil and not ready", s.Store(), isReady(s))
	}
	for _, c := range slotCalls {
		err := c.call(s)
		if !errors.Is(err, ErrNotOpen) || errors.Is(err, ErrClosed) {
			t.Errorf("%s before Set = %v, want ErrNotOpen", c.name, err)
		}
		if want := "journal." + c.name + ": journal not open"; err == nil || err.Error() != want {
			t.Errorf("%s before Set: message %q, want %q", c.name, err, want)
		}
	}
}

func TestSlotForwardsEveryCallToTheStoreOnceSet(t *testing.T) {
	s := NewSlot()
	st := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	ready := s.Ready()
	if err := s.Set(st); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	default:
		t.Fatal("Ready not closed by Set")
	}
	if s.Store() != st {
		t.Fatal("Store() is not the Store given to Set")
	}

	rec, err := s.Append("t", time.Unix(1700000000, 0), payloadFor)
	if err != nil || rec.Seq != 1 {
		t.Fatalf("Append = %+v, %v; want seq 1", rec, err)
	}
	mustAppend(t, st, "t") // through the Store itself: the Slot sees it
	if seq, err := s.NextSeq(); err != nil || seq != 3 {
		t.Fatalf("NextSeq = %d, %v; want 3", seq, err)
	}
	recs, err := s.Pending(0, 10)
	if err != nil || !slices.Equal(seqsOf(recs), []uint64{1, 2}) {
		t.Fatalf("Pending = %v, %v; want [1 2]", seqsOf(recs), err)
	}
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	if n, err := s.OutboxLen(); err != nil || n != 1 {
		t.Fatalf("OutboxLen = %d, %v; want 1", n, err)
	}
	latch := []byte(`{"rule":"hr_high"}`)
	if err := s.SetLatch(latch); err != nil {
		t.Fatal(err)
	}
	if b, ok, err := st.Latch(); err != nil || !ok || !bytes.Equal(b, latch) {
		t.Fatalf("Store.Latch after Slot.SetLatch = %q, %v, %v", b, ok, err)
	}
	if b, ok, err := s.Latch(); err != nil || !ok || !bytes.Equal(b, latch) {
		t.Fatalf("Slot.Latch = %q, %v, %v", b, ok, err)
	}
	if err := s.ClearLatch(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.Latch(); err != nil || ok {
		t.Fatalf("latch still set after Slot.ClearLatch: %v, %v", ok, err)
	}
}

func TestSlotSecondSetIsAnErrorAndKeepsTheFirstStore(t *testing.T) {
	s := NewSlot()
	first := open(t, filepath.Join(t.TempDir(), "a.db"), nil)
	second := open(t, filepath.Join(t.TempDir(), "b.db"), nil)
	if err := s.Set(first); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(second); !errors.Is(err, ErrAlreadySet) {
		t.Fatalf("second Set = %v, want ErrAlreadySet", err)
	}
	if s.Store() != first {
		t.Fatal("a refused Set replaced the Store")
	}
	// The refused Store is still the caller's, and still open.
	if _, err := second.NextSeq(); err != nil {
		t.Fatalf("refused Store: %v", err)
	}
	if err := s.Set(nil); err == nil {
		t.Fatal("Set(nil) succeeded")
	}
}

func TestSlotSetNilIsAnErrorAndLeavesItEmpty(t *testing.T) {
	s := NewSlot()
	if err := s.Set(nil); err == nil {
		t.Fatal("Set(nil) succeeded")
	}
	if isReady(s) || s.Store() != nil {
		t.Fatal("Set(nil) made the slot ready")
	}
}

func TestSlotCloseClosesTheStoreAndEveryLaterCallFailsWithErrClosed(t *testing.T) {
	s := NewSlot()
	st := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	if err := s.Set(st); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	for _, c := range slotCalls {
		if err := c.call(s); !errors.Is(err, ErrClosed) || errors.Is(err, ErrNotOpen) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
		}
	}
	// The Store is closed too, and says so in the same terms.
	if _, err := st.NextSeq(); !errors.Is(err, ErrClosed) {
		t.Errorf("Store.NextSeq after Slot.Close = %v, want ErrClosed", err)
	}
	if _, err := st.Append("t", time.Now(), payloadFor); !errors.Is(err, ErrClosed) {
		t.Errorf("Store.Append after Slot.Close = %v, want ErrClosed", err)
	}
	if s.Store() != st {
		t.Error("Store() changed by Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := s.Set(open(t, filepath.Join(t.TempDir(), "k.db"), nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
}

func TestSlotClosedBeforeSetRefusesTheStoreAndNeverBecomesReady(t *testing.T) {
	s := NewSlot()
	if err := s.Close(); err != nil {
		t.Fatalf("Close of an empty slot = %v, want nil", err)
	}
	for _, c := range slotCalls {
		if err := c.call(s); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
		}
	}
	st := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	if err := s.Set(st); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	if s.Store() != nil || isReady(s) {
		t.Fatal("a closed slot took a Store")
	}
	// Refused, so not closed by the slot: the caller still owns it.
	if _, err := st.NextSeq(); err != nil {
		t.Fatalf("refused Store: %v", err)
	}
}

// A call that hangs inside the Store (here a payload builder that blocks
// inside Append's transaction, as a stuck fsync would) must not hold the
// Slot's lock: other calls still run, and Close marks the Slot closed at
// once even though it must wait for the transaction to close the file.
func TestSlotCallsDoNotWaitForAStoreCallInProgress(t *testing.T) {
	s := NewSlot()
	if err := s.Set(open(t, filepath.Join(t.TempDir(), "j.db"), nil)); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append("t", time.Now(), func(seq uint64) ([]byte, error) {
			close(entered)
			<-release
			return payloadFor(seq)
		})
		appended <- err
	}()
	<-entered

	if seq, err := s.NextSeq(); err != nil || seq != 1 {
		t.Fatalf("NextSeq during a hung Append = %d, %v; want 1", seq, err)
	}
	if s.Store() == nil {
		t.Fatal("Store() nil during a hung Append")
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close marks the slot before it waits for the file: the others learn it
	// now, not when the transaction ends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.OutboxLen()
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatalf("OutboxLen while closing = %v, want nil or ErrClosed", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot was not marked closed within 5s of Close")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a transaction was still open", err)
	default:
	}

	close(release)
	if err := <-appended; err != nil {
		t.Fatalf("the Append in progress = %v, want it committed", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// Many callers racing Set and Close: each sees ErrNotOpen, then the Store,
// then ErrClosed, never out of that order, and no seq is handed out twice.
func TestSlotConcurrentCallersSeeNotOpenThenTheStoreThenClosed(t *testing.T) {
	s := NewSlot()
	st, err := Open(filepath.Join(t.TempDir(), "j.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	const callers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		seqs    []uint64
		started = make(chan struct{})
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			phase := 0 // 0 not open, 1 open, 2 closed
			for phase < 2 {
				var err error
				if i%2 == 0 {
					var rec Record
					rec, err = s.Append("t", time.Now(), payloadFor)
					if err == nil {
						mu.Lock()
						seqs = append(seqs, rec.Seq)
						mu.Unlock()
					}
				} else {
					_, err = s.Pending(0, 5)
				}
				var now int
				switch {
				case err == nil:
					now = 1
				case errors.Is(err, ErrNotOpen):
					now = 0
				case errors.Is(err, ErrClosed):
					now = 2
				default:
					t.Errorf("caller %d: unexpected error %v", i, err)
					return
				}
				if now < phase {
					t.Errorf("caller %d went from phase %d back to %d (%v)", i, phase, now, err)
					return
				}
				phase = now
			}
		}()
	}
	close(started)
	if err := s.Set(st); err != nil {
		t.Fatal(err)
	}
	// Let the open store take a few appends before closing it.
	for {
		n, err := s.OutboxLen()
		if err != nil {
			t.Fatal(err)
		}
		if n >= callers {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	slices.Sort(seqs)
	if len(seqs) < callers/2 {
		t.Fatalf("only %d appends succeeded", len(seqs))
	}
	for i, seq := range seqs {
		if seq != uint64(i+1) {
			t.Fatalf("appended seqs %v: want 1..%d, each once", seqs, len(seqs))
		}
	}
}

func TestSlotReplaceHandsOverTheReopenedStore(t *testing.T) {
	s := NewSlot()
	path := filepath.Join(t.TempDir(), "j.db")
	first := open(t, path, nil)
	other := open(t, filepath.Join(t.TempDir(), "o.db"), nil)
	if err := s.Replace(nil, other); err == nil {
		t.Fatal("Replace on an empty slot succeeded")
	}
	if err := s.Set(first); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, first, "t")
	if err := s.Replace(other, other); err == nil {
		t.Fatal("Replace of a store the slot does not hold succeeded")
	}
	first.markDamaged(damagef("test"))
	if _, err := s.NextSeq(); !errors.Is(err, ErrDamaged) {
		t.Fatalf("NextSeq through the slot on a damaged store = %v", err)
	}
	second, rec, err := first.Reopen()
	if err != nil || rec != nil {
		t.Fatalf("Reopen = %v, %+v", err, rec)
	}
	if err := s.Replace(first, second); err != nil {
		t.Fatal(err)
	}
	if s.Store() != second {
		t.Fatal("Store() is not the replacement")
	}
	if seq, err := s.NextSeq(); err != nil || seq != 2 {
		t.Fatalf("NextSeq after Replace = %d, %v; want 2", seq, err)
	}
	if err := s.Replace(second, nil); err == nil {
		t.Fatal("Replace with nil succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	third := open(t, filepath.Join(t.TempDir(), "t.db"), nil)
	if err := s.Replace(second, third); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replace after Close = %v, want ErrClosed", err)
	}
}
