package journal

import (
	"errors"
	"path/filepath"
	"testing"
)

// ClaimHardware fails with ErrDaemonRunning while a daemon holds the run
// lock or the store. Without a run lock file it returns no claim and no
// error before it looks at the store: a daemon that runs with its store
// open yet without a run lock file (one that could not create it and
// "runs on without it", or a podd older than the run lock, still running
// through a package upgrade) has its hardware driven under it by doctor,
// scan or the sensors' self-test.
func TestClaimHardwareRefusesWhileTheStoreIsHeldWithoutARunLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if running, err := DaemonRunning(path); err != nil || !running {
		t.Fatalf("DaemonRunning with the store open = %v, %v; want true", running, err)
	}
	l, err := ClaimHardware(path)
	if !errors.Is(err, ErrDaemonRunning) {
		l.Release()
		t.Fatalf("ClaimHardware with the store held open by a daemon = %v, %v; want ErrDaemonRunning", l, err)
	}
}
