package journal

import (
	"errors"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// bbolt never gives pages back to the file system: a file grown by a long
// outage stays that size after the backlog is delivered. Open compacts it.
const (
	// compactMinSize: a file smaller than this is never compacted; the
	// copy would save less than it costs the card.
	compactMinSize = 16 << 20
	// compactRatio: a file is compacted when it is more than compactRatio
	// times the bytes of the pages in use.
	compactRatio = 2
	// compactTxSize bounds what one transaction of the copy holds in memory.
	compactTxSize = 4 << 20
)

// errCompacted is returned by openOnce after it replaced the file with a
// compacted copy and closed it: the copy is then opened, and checked, as
// any file.
var errCompacted = errors.New("compacted")

// compactPath is where Open builds the compacted copy of the file at path.
func compactPath(path string) string { return path + ".compact" }

// sizes returns the size of the file and the bytes of its pages in use:
// those below bbolt's high water mark, less those on its freelist.
func (s *Store) sizes() (file, live int64, err error) {
	fi, err := s.file.Stat()
	if err != nil {
		return 0, 0, err
	}
	free := int64(s.db.Stats().FreePageN) * int64(s.db.Info().PageSize)
	err = s.db.View(func(tx *bolt.Tx) error {
		live = tx.Size() - free
		return nil
	})
	return fi.Size(), live, err
}

// compact replaces the file with a compacted copy when it is more than
// compactMinSize and more than compactRatio times its pages in use, and
// reports whether it did; the caller then closes the Store and opens the
// file again. It runs in Open, with the file locked and checked, before
// the writer starts.
//
// The copy is bbolt's own (bolt.Compact: every bucket, key and value, the
// meta bucket's latch and counters with them) into path + ".compact",
// which is synced, checked as Open checks a file, renamed over the file,
// and the directory synced. A power cut before the rename leaves the old
// file (and a copy that the next Open removes); after it, the whole copy.
// A copy that fails (a full disk) is removed and the file kept as it is:
// compaction is an economy, never a reason not to open. A fault reading
// the file is damage, as in any method (the caller's guard).
func (s *Store) compact() bool {
	file, live, err := s.sizes()
	if err != nil || file <= compactMinSize || file <= compactRatio*live {
		return false
	}
	tmp := compactPath(s.path)
	if err := s.copyTo(tmp); err != nil {
		_ = os.Remove(tmp)
		return false
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		return false
	}
	// The rename is done: the copy is the file now, whether or not the
	// directory's sync succeeds (a power cut may then undo the rename,
	// leaving the old file: still sound).
	_ = syncDir(filepath.Dir(s.path))
	return true
}

// copyTo writes a compacted copy of the file to tmp, synced and checked.
func (s *Store) copyTo(tmp string) error {
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.opts.Timeout})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, s.db, compactTxSize)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	// bbolt synced each commit's data; this syncs the file's metadata too.
	if err := f.Sync(); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return checkFile(f, fi.Size())
}
