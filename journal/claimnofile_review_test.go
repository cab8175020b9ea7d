package journal

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// ClaimHardware on a store whose run lock file does not exist yet (a pod
// being brought up, its state directory new or wiped: the technician's
// first podctl doctor or test comes before podd's first start) creates
// the file (group-readable) and claims it, so a podd that systemd starts
// meanwhile waits rather than configuring the chips under the running
// check. podd opens a run lock file it cannot write read-only
// (TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite), so the
// tool may own it.
func TestReviewAClaimHoldsOffADaemonAlsoWhenNoRunFileExistedYet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	claim, err := ClaimHardware(path)
	if err != nil {
		t.Fatalf("ClaimHardware on a new store: %v", err)
	}
	defer claim.Release()
	l, err := HoldRunLock(context.Background(), path, 200*time.Millisecond)
	if err == nil {
		l.Release()
		t.Fatal("a daemon took the run lock at once while a tool claimed the hardware of a store with no run file yet: it drives the chips under the tool")
	}
	if !errors.Is(err, ErrToolHolds) {
		t.Fatalf("HoldRunLock under a tool's claim = %v; want ErrToolHolds", err)
	}
}
