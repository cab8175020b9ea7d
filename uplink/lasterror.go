package uplink

import (
	"errors"
	"time"
)

// LinkError is the uplink's last failure: a connection attempt that
// failed, or a connection that ended other than by the pod's stop.
type LinkError struct {
	// Broker is the broker's URL, as configured.
	Broker string `json:"broker"`
	// Error says what went wrong, in the words of the log's "connect
	// failed" line (a TLS certificate not trusted, credentials refused, a
	// connection refused) or the error that ended the connection.
	Error string `json:"error"`
	// At is when it happened (wall clock).
	At time.Time `json:"at"`
}

// LastError returns the uplink's last failure since the pod started, and
// whether there has been one. It stays after a later connection that
// works, so a technician sees what went wrong in the night.
func (u *Uplink) LastError() (LinkError, bool) {
	e := u.lastError.Load()
	if e == nil {
		return LinkError{}, false
	}
	return *e, true
}

// recordConnectFailure keeps a failed connection attempt as the last
// error, in the connect log's words.
func (u *Uplink) recordConnectFailure(broker string, err error) {
	_, reason := u.connectFault.describe(err)
	u.lastError.Store(&LinkError{Broker: broker, Error: reason, At: u.now()})
}

// recordConnectionEnded keeps the error that ended a connection as the
// last error; a nil err (an end the uplink chose) is not one.
func (u *Uplink) recordConnectionEnded(broker string, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if errors.Is(err, errConnectionLost) {
		msg = "the connection to the broker was lost: " + msg
	}
	u.lastError.Store(&LinkError{Broker: broker, Error: msg, At: u.now()})
}
