package journal

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// HoldRunLock takes the run lock through a read-only descriptor when it
// may not write the file (flock needs no more; lockHeld and ClaimHardware
// open it read-only too). A run lock file podd can read but not write
// (left by a podd run once as root with the same storage.path: systemd's
// StateDirectory= re-owns the directory, not files in it that some other
// user owns) would otherwise make every start run on without the lock,
// and podd would configure the chips under a running doctor, scan or
// self-test. Here a file of root's, mode 0644, is claimed by a tool; podd,
// run as another user, waits for it (ErrToolHolds), not failing with a
// permission error.
func TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite(t *testing.T) {
	if testing.Short() && os.Getenv("PODD_REVIEW_RUNLOCK_CHILD") == "" {
		// The short pass runs under qemu-user (-exec), where the test
		// binary cannot run itself again as another user.
		t.Skip("re-runs its own binary as another user: not under -short")
	}
	if os.Getenv("PODD_REVIEW_RUNLOCK_CHILD") != "" {
		_, err := HoldRunLock(context.Background(), os.Getenv("PODD_REVIEW_RUNLOCK_CHILD"), 200*time.Millisecond)
		switch {
		case errors.Is(err, ErrToolHolds):
			os.Stdout.WriteString("RESULT waits\n")
		case err == nil:
			os.Stdout.WriteString("RESULT took\n")
		default:
			os.Stdout.WriteString("RESULT error " + err.Error() + "\n")
		}
		return
	}
	dir := otherUserDir(t, 0o777)
	path := filepath.Join(dir, "podd.db")
	if err := os.WriteFile(path+RunLockSuffix, nil, 0o644); err != nil { // root's, readable by podd
		t.Fatal(err)
	}
	claim, err := ClaimHardware(path)
	if err != nil || claim == nil {
		t.Fatalf("ClaimHardware = %v, %v", claim, err)
	}
	defer claim.Release()
	out := runAsNobody(t, dir, "TestReviewHoldRunLockWaitsForAToolOnARunFileItCannotWrite", "PODD_REVIEW_RUNLOCK_CHILD="+path)
	if !strings.Contains(out, "RESULT waits") {
		t.Fatalf("a tool holds the claim on a run file podd may read but not write; podd's HoldRunLock: %s\nwant it to wait for the tool (ErrToolHolds)", out)
	}
}

// otherUserDir is a fresh directory outside the test's TempDir (which
// another user may not enter) of mode perm, for a test that runs its own
// binary again as another user (runAsNobody); it skips the test without
// root.
func otherUserDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a side of the test as another user")
	}
	dir, err := os.MkdirTemp("", "journal-otheruser")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runAsNobody runs the test named test of this test binary, copied into
// dir where the other user can run it, as uid and gid 65534 with env
// added to the environment, and returns its output.
func runAsNobody(t *testing.T, dir, test, env string) string {
	t.Helper()
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "journal.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+test+"$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as uid 65534: %v\n%s", test, err, out)
	}
	return string(out)
}
