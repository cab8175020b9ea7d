package journal

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ClaimHardware creates a missing run lock file mode 0644 whatever the
// tool's umask, so that podd, another user, can open it read-only and
// wait for the tool. A technician's shell or sudo with umask 077 (a
// common hardening, and sudo keeps the invoking umask) would otherwise
// create it 0600: podd could open it neither read-write nor read-only and
// would run without the run lock on every start from then on, configuring
// the chips under a running doctor, scan or self-test.
func TestReviewAToolCreatesTheRunLockFileReadableByPoddWhateverItsUmask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	old := syscall.Umask(0o077)
	c, err := ClaimHardware(path)
	syscall.Umask(old)
	if err != nil || c == nil {
		t.Fatalf("ClaimHardware on a new store = %v, %v", c, err)
	}
	defer c.Release()
	st, err := os.Stat(path + RunLockSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o044 != 0o044 {
		t.Fatalf("the run lock file a tool created under umask 077 has mode %v: podd (another user) can open it neither read-write nor read-only, so it never takes the run lock nor waits for a tool again", st.Mode().Perm())
	}
}

// The same, end to end: a tool run as root under umask 077 claims a new
// store's hardware; podd, run as another user (uid 65534), starts
// meanwhile and must wait for the tool (ErrToolHolds). It gets a
// permission error instead, and podd runs on without the run lock.
func TestReviewPoddWaitsForAToolThatCreatedTheRunFileUnderUmask077(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs its own binary as another user: not under -short")
	}
	dir := otherUserDir(t, 0o777)
	path := filepath.Join(dir, "podd.db")
	old := syscall.Umask(0o077)
	claim, err := ClaimHardware(path)
	syscall.Umask(old)
	if err != nil || claim == nil {
		t.Fatalf("ClaimHardware = %v, %v", claim, err)
	}
	defer claim.Release()
	// The child side of TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite:
	// HoldRunLock for 200 ms, and it prints what it got.
	out := runAsNobody(t, dir, "TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite", "PODD_REVIEW_RUNLOCK_CHILD="+path)
	if !strings.Contains(out, "RESULT waits") {
		t.Fatalf("a tool (umask 077) claims a new store; podd's HoldRunLock as another user: %s\nwant it to wait for the tool (ErrToolHolds)", out)
	}
}
