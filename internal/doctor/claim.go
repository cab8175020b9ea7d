package doctor

import (
	"errors"
	"fmt"

	"github.com/sleegation/podd/journal"
)

// claimHardware opens the hardware for checks that drive it while podd is
// stopped (OpenHardware), holding podd's run lock exclusively for as long
// as it is open (journal.ClaimHardware): podd, started meanwhile (systemd
// restarting it), waits for the checks rather than configuring the same
// chips under them. It fails with an error wrapping ErrPoddRunning when
// podd took the run lock or its store since the socket said it was
// stopped. Close lets the hardware and the lock go.
func (d *Doctor) claimHardware() (Hardware, error) {
	lock, err := journal.ClaimHardware(d.Config.Storage.Path)
	switch {
	case errors.Is(err, journal.ErrDaemonRunning):
		return nil, fmt.Errorf("%w: it started while the checks ran, so the hardware is left to it; run them again", ErrPoddRunning)
	case errors.Is(err, journal.ErrToolHolds):
		return nil, fmt.Errorf("%w: wait for it to finish, then run this again", err)
	case err != nil:
		return nil, fmt.Errorf("cannot claim the hardware through podd's run lock (%s%s): %w", d.Config.Storage.Path, journal.RunLockSuffix, err)
	}
	hw, err := d.OpenHardware()
	if err != nil {
		lock.Release()
		return nil, err
	}
	return claimed{Hardware: hw, lock: lock}, nil
}

// claimed is hardware opened under a claim of podd's run lock.
type claimed struct {
	Hardware
	lock *journal.ToolLock
}

// Close closes the hardware, then lets the run lock go.
func (c claimed) Close() error {
	err := c.Hardware.Close()
	c.lock.Release()
	return err
}
