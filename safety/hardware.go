package safety

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// HardwareWatchdog is the kernel's watchdog device (/dev/watchdog): a timer
// with its own time base that reboots the board unless pinged within its
// timeout. The pod pings it only while the safety watchdog is evaluating, so
// a hung daemon or a hung kernel ends in a reboot, after which podd starts
// with every output in its safe state and any stored latch restored.
type HardwareWatchdog struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
}

// MinHardwareTimeout and MaxHardwareTimeout bound the timeout (the Raspberry
// Pi's bcm2835 watchdog allows 1..15 s; 2 s leaves room for one missed ping).
const (
	MinHardwareTimeout = 2 * time.Second
	MaxHardwareTimeout = 15 * time.Second
)

// OpenHardwareWatchdog opens (and so arms) the watchdog device at path and
// sets its timeout.
func OpenHardwareWatchdog(path string, timeout time.Duration) (*HardwareWatchdog, error) {
	return openHardwareWatchdog(path, timeout, func(fd uintptr, seconds int) error {
		return unix.IoctlSetPointerInt(int(fd), unix.WDIOC_SETTIMEOUT, seconds)
	})
}

func openHardwareWatchdog(path string, timeout time.Duration, setTimeout func(fd uintptr, seconds int) error) (*HardwareWatchdog, error) {
	if timeout < MinHardwareTimeout || timeout > MaxHardwareTimeout {
		return nil, fmt.Errorf("safety: hardware watchdog timeout %v is outside %v..%v", timeout, MinHardwareTimeout, MaxHardwareTimeout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("safety: open hardware watchdog: %w", err)
	}
	w := &HardwareWatchdog{f: f}
	if err := setTimeout(f.Fd(), int(timeout/time.Second)); err != nil {
		// Disarm before giving up, or the board reboots for a watchdog nobody pings.
		cerr := w.Close()
		return nil, errors.Join(fmt.Errorf("safety: set hardware watchdog timeout on %s: %w", path, err), cerr)
	}
	return w, nil
}

// Ping restarts the watchdog's timer.
func (w *HardwareWatchdog) Ping() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("safety: hardware watchdog closed")
	}
	if _, err := w.f.Write([]byte{0}); err != nil {
		return fmt.Errorf("safety: ping hardware watchdog: %w", err)
	}
	return nil
}

// Close disarms the watchdog with the magic close ('V' written just before
// closing), for a clean stop. It is safe to call twice.
func (w *HardwareWatchdog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	_, werr := w.f.Write([]byte{'V'})
	cerr := w.f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("safety: close hardware watchdog: %w", err)
	}
	return nil
}
