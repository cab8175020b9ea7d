package journal

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ErrInUse is what Check returns, and what OpenHistoryReader's error
// wraps, when another process (a running podd) holds the store's lock: the
// file is then the daemon's; only the daemon can say whether it is sound
// (its status reports damage), and its history is read through podd's
// local API instead.
var ErrInUse = errors.New("the store is in use by another process")

// HistoryReader reads the history of a store file that no daemon holds:
// read-only, under a shared lock, after the file passed the same page
// check Open makes (so a damaged file is an error, never a fault). It
// writes nothing: not even the buckets of a file without a history.
type HistoryReader struct {
	db *bolt.DB
}

// OpenHistoryReader opens the store at path for reading its history. It
// waits at most timeout for the lock; a file held by a running podd (which
// holds it exclusively while it runs) fails then with an error wrapping
// ErrInUse.
func OpenHistoryReader(path string, timeout time.Duration) (_ *HistoryReader, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicDamage("OpenHistoryReader", r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := lockShared(f, timeout); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(f, fi.Size())
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: timeout, OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil }})
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return &HistoryReader{db: db}, nil
}

// History is Store.History on the file.
func (r *HistoryReader) History(kind HistoryKind, q HistoryQuery) (p HistoryPage, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if rec := recover(); rec != nil {
			err = panicDamage("History", rec)
		}
	}()
	err = r.db.View(func(tx *bolt.Tx) error {
		p, err = readHistory(tx, kind, q)
		return err
	})
	return p, err
}

// Close releases the file and its lock.
func (r *HistoryReader) Close() error { return r.db.Close() }

// lockShared takes a shared flock on f, waiting at most timeout: it is
// compatible with other readers and refused while a Store holds the file.
func lockShared(f *os.File, timeout time.Duration) error {
	err := flock(f, unix.LOCK_SH, timeout)
	if errors.Is(err, errLocked) {
		return fmt.Errorf("%w: its lock was not released within %v (a running podd holds it)", ErrInUse, timeout)
	}
	return err
}

// HistorySessions is Store.HistorySessions on the file.
func (r *HistoryReader) HistorySessions(kind HistoryKind) (out []HistorySession, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if rec := recover(); rec != nil {
			err = panicDamage("HistorySessions", rec)
		}
	}()
	err = r.db.View(func(tx *bolt.Tx) error {
		out, err = historySessions(tx, kind)
		return err
	})
	return out, err
}
