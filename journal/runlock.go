package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// RunLockSuffix names the run lock beside the store: the store's path
// with this suffix ("podd.db.run").
const RunLockSuffix = ".run"

// RunLock is a shared flock(2) on the file beside the store that a daemon
// holds from before it opens its buses until it exits, so a technician's
// tool can tell that the daemon runs while its API does not answer (at
// start, before the API listens, or while the API is being retried) and
// the store is not open yet. Any number of daemons may hold it; the
// kernel releases it when the process dies, however it dies.
type RunLock struct {
	f *os.File
}

// HoldRunLock takes the run lock of the store at storePath, creating its
// file (mode 0640) if needed. It never waits long: a lock held
// exclusively for more than about 100 ms (only a tool probing it holds it
// so, for microseconds) is an error, as is a directory that does not
// exist. A daemon that cannot take it runs on without it.
func HoldRunLock(storePath string) (*RunLock, error) {
	f, err := os.OpenFile(storePath+RunLockSuffix, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: run lock: %w", err)
	}
	if err := flock(f, unix.LOCK_SH, 100*time.Millisecond); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: run lock %s: %w", f.Name(), err)
	}
	return &RunLock{f: f}, nil
}

// Release lets the run lock go. A nil RunLock is released at once.
func (l *RunLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	unlockFile(l.f)
	_ = l.f.Close()
	l.f = nil
}

// DaemonRunning reports whether a daemon runs on the store at storePath,
// without waiting and without changing anything: true when a process
// holds the store open (bbolt's exclusive lock) or holds its run lock
// (HoldRunLock). A missing file is no daemon; a file that cannot be
// opened or locked for another reason is an error.
func DaemonRunning(storePath string) (bool, error) {
	for _, p := range []struct {
		path string
		how  int
	}{{storePath, unix.LOCK_SH}, {storePath + RunLockSuffix, unix.LOCK_EX}} {
		held, err := lockHeld(p.path, p.how)
		if err != nil || held {
			return held, err
		}
	}
	return false, nil
}

// lockHeld tries flock(how|LOCK_NB) on path, read-only, and lets it go at
// once: true when another process's lock is in the way.
func lockHeld(path string, how int) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	switch err := flock(f, how, 0); {
	case errors.Is(err, errLocked):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("journal: %s: %w", path, err)
	}
	unlockFile(f)
	return false, nil
}
