package journal

import (
	"os"
	"path/filepath"
	"strings"
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
	dir := otherUserDir(t, 0o755)
	path := filepath.Join(dir, "podd.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil { // the store, readable
		t.Fatal(err)
	}
	if err := os.WriteFile(path+RunLockSuffix, nil, 0o600); err != nil { // root's, unreadable
		t.Fatal(err)
	}
	out := runAsNobody(t, dir, "TestReviewAToolThatCannotOpenAnExistingRunFileDoesNotProceedUnclaimed", "PODD_REVIEW_CLAIM_CHILD="+path)
	if !strings.Contains(out, "RESULT error ") {
		t.Fatalf("ClaimHardware on an existing run lock file the tool cannot open: %s\nwant an error: without a claim the tool would drive the hardware and podd, started meanwhile, would not be held off", out)
	}
}
