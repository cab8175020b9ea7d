package journal

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotOpen is wrapped by the error of every call on a Slot that has no
// Store yet: the journal may still open later, so the caller keeps what it
// can in memory and tries again.
var ErrNotOpen = errors.New("journal not open")

// ErrAlreadySet is wrapped by the error of a second Set on a Slot.
var ErrAlreadySet = errors.New("journal slot already set")

// Slot is a journal that opens later, or never: the daemon starts its safety
// watchdog and its uplink before the file can be opened (it may be locked by
// another process, its directory missing, its disk failing), and whoever
// opens it hands the Store over with Set. Until then every call fails with
// an error wrapping ErrNotOpen; after Close, with one wrapping ErrClosed.
//
// A Slot is safe for concurrent use. Its lock guards only which Store it
// holds, never a call on that Store: a call stuck in an fsync delays nobody
// else's learning of the Slot's state, and does not delay Close in marking
// the Slot closed (Close itself waits for it, as bbolt does).
type Slot struct {
	mu     sync.Mutex
	store  *Store
	closed bool
	ready  chan struct{}
	// histNotOpen counts the history entries dropped while no Store was
	// held.
	histNotOpen atomic.Uint64
}

// NewSlot returns an empty Slot.
func NewSlot() *Slot { return &Slot{ready: make(chan struct{})} }

// Set hands s over to the Slot, which owns it from then on and closes it in
// Close, and closes Ready. It fails, leaving s to the caller to close, when s
// is nil, when a Store was set already (ErrAlreadySet) or when the Slot was
// closed (ErrClosed).
func (sl *Slot) Set(s *Store) error {
	if s == nil {
		return errors.New("journal.Slot.Set: nil store")
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	switch {
	case sl.closed:
		return fmt.Errorf("journal.Slot.Set: %w", ErrClosed)
	case sl.store != nil:
		return fmt.Errorf("journal.Slot.Set: %w", ErrAlreadySet)
	}
	sl.store = s
	close(sl.ready)
	return nil
}

// Replace hands s over in place of old, the Store the Slot holds, after
// old.Reopen returned s: calls from then on go to s. It fails, leaving s to
// the caller to close, when s is nil, when the Slot holds another Store than
// old, or when it was closed (ErrClosed).
func (sl *Slot) Replace(old, s *Store) error {
	if s == nil {
		return errors.New("journal.Slot.Replace: nil store")
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	switch {
	case sl.closed:
		return fmt.Errorf("journal.Slot.Replace: %w", ErrClosed)
	case sl.store == nil || sl.store != old:
		return errors.New("journal.Slot.Replace: the slot does not hold the store to replace")
	}
	sl.store = s
	return nil
}

// Store is the Store given to Set, or nil before Set. After Close it is
// still that Store, closed.
func (sl *Slot) Store() *Store {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.store
}

// Ready is closed by Set. Close does not close it: a Slot closed before any
// Set never becomes ready, so a waiter also watches its own context.
func (sl *Slot) Ready() <-chan struct{} { return sl.ready }

// Close marks the Slot closed, then closes its Store if one was set and
// returns that Close's error. Every call made once Close has begun fails
// with ErrClosed at once, even while Close still waits for a Store call in
// progress (bbolt lets a transaction finish before it closes the file). A
// Slot closed before Set returns nil. A second Close returns nil at once,
// without waiting for the first.
func (sl *Slot) Close() error {
	sl.mu.Lock()
	if sl.closed {
		sl.mu.Unlock()
		return nil
	}
	sl.closed = true
	s := sl.store
	sl.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}

// get returns the Store to forward op to; the lock is released before the
// call is made.
func (sl *Slot) get(op string) (*Store, error) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	switch {
	case sl.closed:
		return nil, fmt.Errorf("journal.%s: %w", op, ErrClosed)
	case sl.store == nil:
		return nil, fmt.Errorf("journal.%s: %w", op, ErrNotOpen)
	}
	return sl.store, nil
}

// Append is Store.Append; see there.
func (sl *Slot) Append(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (Record, error) {
	s, err := sl.get("Append")
	if err != nil {
		return Record{}, err
	}
	return s.Append(topic, created, build)
}

// Pending is Store.Pending; see there.
func (sl *Slot) Pending(after uint64, max int) ([]Record, error) {
	s, err := sl.get("Pending")
	if err != nil {
		return nil, err
	}
	return s.Pending(after, max)
}

// Delete is Store.Delete; see there.
func (sl *Slot) Delete(seqs ...uint64) error {
	s, err := sl.get("Delete")
	if err != nil {
		return err
	}
	return s.Delete(seqs...)
}

// NextSeq is Store.NextSeq; see there.
func (sl *Slot) NextSeq() (uint64, error) {
	s, err := sl.get("NextSeq")
	if err != nil {
		return 0, err
	}
	return s.NextSeq()
}

// OutboxLen is Store.OutboxLen; see there.
func (sl *Slot) OutboxLen() (int, error) {
	s, err := sl.get("OutboxLen")
	if err != nil {
		return 0, err
	}
	return s.OutboxLen()
}

// SetSeqFloor is Store.SetSeqFloor; see there.
func (sl *Slot) SetSeqFloor(next uint64) error {
	s, err := sl.get("SetSeqFloor")
	if err != nil {
		return err
	}
	return s.SetSeqFloor(next)
}

// SetLatch is Store.SetLatch; see there.
func (sl *Slot) SetLatch(b []byte) error {
	s, err := sl.get("SetLatch")
	if err != nil {
		return err
	}
	return s.SetLatch(b)
}

// Latch is Store.Latch; see there.
func (sl *Slot) Latch() ([]byte, bool, error) {
	s, err := sl.get("Latch")
	if err != nil {
		return nil, false, err
	}
	return s.Latch()
}

// ClearLatch is Store.ClearLatch; see there.
func (sl *Slot) ClearLatch() error {
	s, err := sl.get("ClearLatch")
	if err != nil {
		return err
	}
	return s.ClearLatch()
}

// AppendLazy is Store.AppendLazy; see there.
func (sl *Slot) AppendLazy(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (Record, error) {
	s, err := sl.get("AppendLazy")
	if err != nil {
		return Record{}, err
	}
	return s.AppendLazy(topic, created, build)
}

// Committed is Store.Committed; see there. Before Set it returns Ready,
// which Set closes: the waiter then asks the Store. After Close it returns
// nil, which is never closed.
func (sl *Slot) Committed() <-chan struct{} {
	sl.mu.Lock()
	s, closed := sl.store, sl.closed
	sl.mu.Unlock()
	switch {
	case closed:
		return nil
	case s == nil:
		return sl.ready
	}
	return s.Committed()
}

// Commit is Store.Commit; see there.
func (sl *Slot) Commit() error {
	s, err := sl.get("Commit")
	if err != nil {
		return err
	}
	return s.Commit()
}
