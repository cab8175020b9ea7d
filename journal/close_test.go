package journal

import (
	"os"
	"sync"
	"testing"
	"time"
)

// A fault inside a write transaction (the file cut short under the writer)
// leaves bbolt's writer lock held, and Close gives up on bbolt. bbolt's map
// still references the open file description, and a flock lives until the
// last reference goes, so Close must release the lock itself: Reopen then
// gets the file, sets it aside, and a fresh store starts.
func TestAFaultInAWriteDoesNotLockTheFileForever(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 200, nil)
	s, err := Open(fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl := NewSlot()
	if err := sl.Set(s); err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the recorder
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = sl.Append("t", time.Now(), payloadFor)
		}
	})
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(50 * time.Millisecond)
	ps, _, _ := layout(t, fx.path)
	if err := os.Truncate(fx.path, int64(3*ps)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Damaged():
	case <-time.After(5 * time.Second):
		t.Fatal("damage not found")
	}
	t.Logf("damage: %v", s.Damage())
	for attempt := 1; attempt <= 2; attempt++ { // openStore's supervisor retries
		n, rec, err := s.Reopen()
		if err == nil {
			t.Logf("attempt %d: reopened, recovery %v", attempt, rec != nil)
			if err := sl.Replace(s, n); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Logf("attempt %d: Reopen = %v", attempt, err)
	}
	t.Fatal("Reopen never got the file: the lock outlived the Store")
}
