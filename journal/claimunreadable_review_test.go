package journal

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An existing run lock file the tool may not open (EACCES: owned by
// another user, not readable by the tool's user) is an error, not "no
// claim": the tool must not drive the chips unclaimed while a podd that
// systemd starts meanwhile takes its run lock at once and configures the
// same chips. Only a file that does not exist and cannot be created means
// no claim. Here root's run lock file is 0600, the store readable; the
// tool runs as uid 65534.
func TestReviewAToolThatCannotOpenAnExistingRunFileDoesNotProceedUnclaimed(t *testing.T) {
	if child := os.Getenv("PODD_REVIEW_CLAIM_CHILD"); child != "" {
		c, err := ClaimHardware(child)
		switch {
		case err != nil:
			os.Stdout.WriteString("RESULT error " + err.Error() + "\n")
		case c == nil:
			os.Stdout.WriteString("RESULT unclaimed\n")
		default:
			os.Stdout.WriteString("RESULT claimed\n")
			c.Release()
		}
		return
	}
	if testing.Short() {
		t.Skip("re-runs its own binary as another user: not under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the tool's side as another user")
	}
	dir, err := os.MkdirTemp("", "claimunreadable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "podd.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil { // the store, readable
		t.Fatal(err)
	}
	if err := os.WriteFile(path+RunLockSuffix, nil, 0o600); err != nil { // root's, unreadable
		t.Fatal(err)
	}
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "journal.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestReviewAToolThatCannotOpenAnExistingRunFileDoesNotProceedUnclaimed$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PODD_REVIEW_CLAIM_CHILD="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tool's side as uid 65534: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "RESULT unclaimed") {
		t.Fatalf("ClaimHardware on an existing run lock file the tool cannot open: %s\nno claim and no error: the tool drives the hardware and podd, started meanwhile, is not held off", out)
	}
}
