package controller

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// SystemdNotify sends sd_notify messages to systemd; outside systemd it does nothing.
func SystemdNotify(state string) (bool, error) { return daemon.SdNotify(false, state) }

// watchdogInterval is systemd's WatchdogSec for this process, or 0.
func watchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}
