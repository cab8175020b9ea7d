package journal

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// DEFECT: ClaimHardware on a store whose run lock file does not exist yet
// (a pod being brought up, its state directory new or wiped: the
// technician's first podctl doctor or test comes before podd's first
// start) returns no claim at all, so a podd that systemd starts meanwhile
// takes the run lock at once and configures the chips under the running
// check: the very collision the claim is for, on the pod where it is most
// likely. The tool does not create the file because podd opens it
// read-write and could not open one the tool owns; with podd opening it
// read-only when it cannot write it (see
// TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite) the tool can
// create it (group-readable) and claim it. Correct: a tool's claim holds
// a daemon off whether or not the file existed before.
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
