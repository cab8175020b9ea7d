package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Check verifies the store file at path for a technician, without changing
// anything: it opens the file read-only, takes a shared lock without
// waiting (ErrInUse when a writer such as podd holds its exclusive lock),
// and runs the page-by-page check Open runs before bbolt maps a file (see
// "Damage" in the package doc), reading with pread only. A missing or
// empty file is sound only when its seq file is missing too (a new pod);
// otherwise it is damage, as Open would find. Damage is an error wrapping
// ErrDamaged; a file that cannot be read is an error naming the call.
//
// Check covers the file's structure, not what Open checks inside it (the
// counters, the records against the next seq, the seq file's mark): a file
// that passes Check may still be found damaged, or healed, by Open.
func Check(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return mustBeNew(path, "missing")
	}
	if err != nil {
		return fmt.Errorf("journal: check: %w", err)
	}
	defer f.Close()
	switch err := flock(f, unix.LOCK_SH, 0); {
	case errors.Is(err, errLocked):
		return ErrInUse
	case err != nil:
		return fmt.Errorf("journal: check: %w", err)
	}
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: check: %w", err)
	}
	if fi.Size() == 0 {
		return mustBeNew(path, "empty")
	}
	return checkFile(f, fi.Size())
}
