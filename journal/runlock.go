package journal

import (
	"context"
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
//
// A tool that drives the hardware itself while no daemon runs holds the
// same file exclusively for that time (ClaimHardware), so that a daemon
// starting meanwhile (systemd restarting it) waits for the tool rather
// than configuring the same chips under it.
type RunLock struct {
	f *os.File
}

// ToolWait is how long a daemon waits at start for a technician's tool
// to let the hardware go (ClaimHardware): longer than podctl's longest
// direct check (the sensors' self-test reads them for at most 20 s,
// doctor.MaxSensorTestTime), well within systemd's default start timeout
// (90 s).
const ToolWait = 30 * time.Second

// ErrToolHolds is HoldRunLock's error while a tool holds the hardware
// (ClaimHardware).
var ErrToolHolds = errors.New("a technician's tool (podctl doctor, scan or test) is using the hardware")

// HoldRunLock takes the run lock of the store at storePath, creating its
// file (mode 0640) if needed. It waits at most wait for a tool holding
// the hardware (ClaimHardware) to let it go, and then fails with
// ErrToolHolds; it stops waiting when ctx is done (its error wraps
// ctx.Err()); a directory that does not exist is an error too. A daemon
// that cannot take it runs on without it.
func HoldRunLock(ctx context.Context, storePath string, wait time.Duration) (*RunLock, error) {
	f, err := os.OpenFile(storePath+RunLockSuffix, os.O_RDWR|os.O_CREATE, 0o640)
	if errors.Is(err, fs.ErrPermission) {
		// A file it may only read (left by a podd run as another user):
		// flock needs no more.
		f, err = os.Open(storePath + RunLockSuffix)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: run lock: %w", err)
	}
	err = flockContext(ctx, f, unix.LOCK_SH, wait)
	if errors.Is(err, errLocked) {
		err = ErrToolHolds
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: run lock %s: %w", f.Name(), err)
	}
	return &RunLock{f: f}, nil
}

// ErrDaemonRunning is ClaimHardware's error while a daemon runs on the
// store.
var ErrDaemonRunning = errors.New("podd runs on this store")

// ToolLock is a tool's exclusive hold of the run lock (ClaimHardware).
type ToolLock struct {
	f *os.File
}

// ClaimHardware is for a technician's tool about to drive the hardware
// itself: it takes the run lock of the store at storePath exclusively,
// without waiting, and holds it until Release, so that a daemon starting
// meanwhile waits for the tool (HoldRunLock). It fails with
// ErrDaemonRunning when a daemon holds the run lock or the store (the
// check and the claim are one step: no daemon can start between them),
// and with ErrToolHolds when another tool holds the claim.
// A run lock file that does not exist is created, mode 0644 whatever the
// tool's umask, so that the daemon (another user) can open it; where the
// tool may not create it (no permission, a read-only file system, no
// directory), there is no claim: a nil ToolLock and no error, unless a
// daemon holds the store (ErrDaemonRunning). An existing run lock file the
// tool cannot open is an error: the tool must not drive the hardware
// unclaimed.
func ClaimHardware(storePath string) (*ToolLock, error) {
	f, err := openRunLockForTool(storePath + RunLockSuffix)
	if errors.Is(err, errCannotCreate) {
		// No run lock file, and none it may create: a daemon may still
		// hold its store.
		return nil, storeFree(storePath)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	switch err := flock(f, unix.LOCK_EX, 0); {
	case errors.Is(err, errLocked):
		_ = f.Close()
		if tool, _ := lockHeld(storePath+RunLockSuffix, unix.LOCK_SH); tool {
			return nil, ErrToolHolds // held exclusively: another tool's claim
		}
		return nil, ErrDaemonRunning
	case err != nil:
		_ = f.Close()
		return nil, fmt.Errorf("journal: %s: %w", f.Name(), err)
	}
	// A daemon that could not take the run lock still holds its store.
	if err := storeFree(storePath); err != nil {
		unlockFile(f)
		_ = f.Close()
		return nil, err
	}
	return &ToolLock{f: f}, nil
}

// errCannotCreate says that a run lock file does not exist and the tool
// may not create it.
var errCannotCreate = errors.New("no run lock file, and none may be created")

// openRunLockForTool opens the run lock file at path read-only, creating it
// if it does not exist with mode 0644 set explicitly (a umask of 077 would
// leave it 0600, which a daemon of another user could never open): a
// daemon opens a file it cannot write read-only (HoldRunLock). It returns
// errCannotCreate when the file is missing and cannot be created.
func openRunLockForTool(path string) (*os.File, error) {
	for range 2 {
		f, err := os.Open(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err // opened, or an existing file it cannot open
		}
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case errors.Is(err, fs.ErrExist):
			continue // created meanwhile (a daemon): open that one
		case errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.EROFS):
			return nil, errCannotCreate
		case err != nil:
			return nil, err
		}
		if err := f.Chmod(0o644); err != nil {
			_ = f.Close()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s: created and removed again while it was opened", path)
}

// storeFree is nil when no process holds the store at storePath,
// ErrDaemonRunning when one does.
func storeFree(storePath string) error {
	held, err := lockHeld(storePath, unix.LOCK_SH)
	if err == nil && held {
		err = ErrDaemonRunning
	}
	return err
}

// Release lets the hardware go. A nil ToolLock is released at once.
func (l *ToolLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	unlockFile(l.f)
	_ = l.f.Close()
	l.f = nil
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
// (HoldRunLock). While a tool holds the hardware (ClaimHardware) it is
// false with ErrToolHolds: whether a daemon waits for the tool cannot be
// told then. A missing file is no daemon; a file that cannot be opened or
// locked for another reason is an error.
func DaemonRunning(storePath string) (bool, error) {
	held, err := lockHeld(storePath, unix.LOCK_SH)
	if err != nil || held {
		return held, err
	}
	run := storePath + RunLockSuffix
	if held, err = lockHeld(run, unix.LOCK_EX); err != nil || !held {
		return held, err
	}
	if tool, err := lockHeld(run, unix.LOCK_SH); err != nil || tool {
		if err == nil {
			err = ErrToolHolds
		}
		return false, err
	}
	return true, nil
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
