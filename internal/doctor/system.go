package doctor

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"time"
)

// System is the operating system as the checks see it. OS returns the
// real one; tests replace any part.
type System struct {
	// Root is prefixed to every device path (/dev/i2c-1 is
	// Root/dev/i2c-1); "" or "/" for the real one.
	Root string
	// Statfs reports the space of the filesystem holding path.
	Statfs func(path string) (Space, error)
	// ClockSynced reports whether the kernel says the wall clock is
	// synchronised (adjtimex: STA_UNSYNC clear).
	ClockSynced func() (bool, error)
	// Now is the wall clock.
	Now func() time.Time
	// Dial opens a TCP connection (net.Dialer.DialContext).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Space is a filesystem's size and what an unprivileged user may still
// write, in bytes.
type Space struct {
	Available, Total uint64
}

// OS is the real system.
func OS() System {
	var d net.Dialer
	return System{Root: "/", Statfs: statfs, ClockSynced: clockSynced, Now: time.Now, Dial: d.DialContext}
}

// path is a device path under Root.
func (s System) path(p string) string {
	if s.Root == "" {
		return p
	}
	return filepath.Join(s.Root, p)
}

// openRW opens the device node at p for reading and writing, as podd
// does, and closes it at once.
func (s System) openRW(p string) error {
	f, err := os.OpenFile(s.path(p), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}
