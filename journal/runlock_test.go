package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// A daemon is seen running while it holds the run lock (before its store
// is open) or the store itself, and not once it let both go; a missing
// file is no daemon, and the probe leaves the lock to the daemon.
func TestDaemonRunningSeesTheRunLockAndTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	running := func() bool {
		t.Helper()
		r, err := DaemonRunning(path)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if running() {
		t.Fatal("DaemonRunning with no files = true")
	}
	l, err := HoldRunLock(context.Background(), path, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("DaemonRunning while the run lock is held = false")
	}
	// Two daemons may hold it; the probe did not take it from them.
	l2, err := HoldRunLock(context.Background(), path, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("a second HoldRunLock: %v", err)
	}
	l2.Release()
	if !running() {
		t.Fatal("DaemonRunning after the probe and a second holder left = false")
	}
	l.Release()
	l.Release() // twice is harmless
	if running() {
		t.Fatal("DaemonRunning after the run lock was released = true")
	}
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("DaemonRunning while the store is open = false")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if running() {
		t.Fatal("DaemonRunning after the store closed = true")
	}
	if _, err := HoldRunLock(context.Background(), filepath.Join(t.TempDir(), "missing", "podd.db"), 0); err == nil {
		t.Fatal("HoldRunLock in a missing directory = nil error")
	}
}

// A tool's claim is exclusive of a daemon: it fails while a daemon holds
// the run lock or the store, a daemon starting under it gets
// ErrToolHolds, a second tool too, and DaemonRunning says a tool holds
// it rather than that a daemon runs. A missing run lock file is created
// by the claim (mode 0644); in a directory the tool may not write there
// is no claim.
func TestClaimHardwareExcludesTheDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	c, err := ClaimHardware(path)
	if c == nil || err != nil {
		t.Fatalf("ClaimHardware with no run lock file = %v, %v; want a claim", c, err)
	}
	if st, err := os.Stat(path + RunLockSuffix); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("the run lock file the claim created: %v, %v; want mode 0644", st, err)
	}
	c.Release()
	if c, err := ClaimHardware(filepath.Join(t.TempDir(), "missing", "podd.db")); c != nil || err != nil {
		t.Fatalf("ClaimHardware where no run lock file can be created = %v, %v; want nil, nil", c, err)
	}

	l, err := HoldRunLock(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimHardware(path); !errors.Is(err, ErrDaemonRunning) {
		t.Fatalf("ClaimHardware while a daemon holds the run lock: %v, want ErrDaemonRunning", err)
	}
	l.Release()

	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimHardware(path); !errors.Is(err, ErrDaemonRunning) {
		t.Fatalf("ClaimHardware while a daemon holds the store: %v, want ErrDaemonRunning", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	c, err = ClaimHardware(path)
	if err != nil || c == nil {
		t.Fatalf("ClaimHardware with no daemon = %v, %v", c, err)
	}
	if _, err := HoldRunLock(context.Background(), path, 0); !errors.Is(err, ErrToolHolds) {
		t.Fatalf("HoldRunLock under a tool's claim: %v, want ErrToolHolds", err)
	}
	if _, err := ClaimHardware(path); !errors.Is(err, ErrToolHolds) {
		t.Fatalf("a second tool's ClaimHardware: %v, want ErrToolHolds", err)
	}
	if running, err := DaemonRunning(path); running || !errors.Is(err, ErrToolHolds) {
		t.Fatalf("DaemonRunning under a tool's claim = %v, %v; want false, ErrToolHolds", running, err)
	}
	c.Release()
	c.Release() // twice is harmless
	l, err = HoldRunLock(context.Background(), path, 0)
	if err != nil {
		t.Fatalf("HoldRunLock after the claim was released: %v", err)
	}
	l.Release()
}

// A daemon waits for a tool's claim, up to the wait it is given: it
// takes the run lock as soon as the tool lets it go, and gives up with
// ErrToolHolds when the tool holds on for longer.
func TestHoldRunLockWaitsForTheTool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "podd.db")
		l, err := HoldRunLock(context.Background(), path, 0) // creates the file, as a daemon's first start does
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		c, err := ClaimHardware(path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		go func() {
			time.Sleep(12 * time.Second)
			c.Release()
		}()
		if _, err := HoldRunLock(context.Background(), path, 10*time.Second); !errors.Is(err, ErrToolHolds) {
			t.Fatalf("HoldRunLock for 10 s under a 12 s claim: %v, want ErrToolHolds", err)
		}
		if d := time.Since(start); d < 10*time.Second || d > 10*time.Second+20*time.Millisecond {
			t.Fatalf("gave up after %v, want 10 s", d)
		}
		l, err = HoldRunLock(context.Background(), path, ToolWait)
		if err != nil {
			t.Fatalf("HoldRunLock for ToolWait: %v", err)
		}
		defer l.Release()
		if d := time.Since(start); d < 12*time.Second || d > 12*time.Second+20*time.Millisecond {
			t.Fatalf("took the run lock %v after the claim, want 12 s (when the tool let it go)", d)
		}
	})
}

// A daemon told to stop while it waits for a tool stops waiting at once.
func TestHoldRunLockStopsWaitingWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "podd.db")
		l, err := HoldRunLock(context.Background(), path, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		c, err := ClaimHardware(path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := HoldRunLock(ctx, path, ToolWait); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("HoldRunLock after its context ended: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("stopped waiting after %v, want 2 s (when its context ended)", d)
		}
	})
}
