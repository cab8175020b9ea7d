package journal

import (
	"path/filepath"
	"testing"
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
	l, err := HoldRunLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("DaemonRunning while the run lock is held = false")
	}
	// Two daemons may hold it; the probe did not take it from them.
	l2, err := HoldRunLock(path)
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
	if _, err := HoldRunLock(filepath.Join(t.TempDir(), "missing", "podd.db")); err == nil {
		t.Fatal("HoldRunLock in a missing directory = nil error")
	}
}
