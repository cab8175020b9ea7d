package journal

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// On a read-only file system without a run lock file (an SD card the
// kernel remounted read-only after I/O errors, errors=remount-ro; a state
// directory never written because podd never started there) creating the
// file fails with EROFS. No daemon can hold a run lock file that does not
// exist, nor create one there, so ClaimHardware gives no claim and no
// error, and podctl doctor still checks the hardware on exactly the pod
// whose disk failed.
func TestReviewAClaimOnAReadOnlyFileSystemWithoutARunFileIsNoError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only file system")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot mount a read-only tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	path := filepath.Join(dir, "podd.db")
	c, err := ClaimHardware(path)
	if err != nil {
		t.Fatalf("ClaimHardware on a read-only file system with no run lock file (no daemon can hold it) = %v, %v; want no error, as before the change (os.Open: ErrNotExist), so that doctor can still check the hardware", c, err)
	}
	c.Release()
}
