package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// connectLog reports failed connection attempts once per failure episode:
// a broker's failure is logged when it starts or its cause changes, not at
// every retry, and the episode ends with the next connection. A pod whose
// CA is wrong retries all night; one line says why, not one per minute.
type connectLog struct {
	log         *slog.Logger
	username    string
	clockSynced func() bool
	// failing holds, per broker, the cause of the failure last logged,
	// while the episode lasts.
	failing  map[string]string
	failures int // attempts failed since the last connection
}

func (l *connectLog) fail(broker string, err error) {
	l.failures++
	cause, reason := l.describe(err)
	if l.failing[broker] == cause {
		l.log.Debug("connect attempt failed", "broker", broker, "reason", reason, "failed_attempts", l.failures)
		return
	}
	if l.failing == nil {
		l.failing = make(map[string]string)
	}
	l.failing[broker] = cause
	args := []any{"broker", broker, "reason", reason}
	if cause != reason {
		// The reason is a summary: the error says what happened in full.
		args = append(args, "err", err)
	}
	l.log.Warn("connect failed", args...)
}

func (l *connectLog) connected(broker string, epoch uint64) {
	args := []any{"broker", broker, "epoch", epoch}
	if l.failures > 0 {
		args = append(args, "failed_attempts", l.failures)
	}
	l.log.Info("connected", args...)
	clear(l.failing)
	l.failures = 0
}

// describe says why a connection attempt failed, in words a technician can
// act on, and names the cause with a key that stays the same from one
// attempt to the next (an expired certificate's message carries the time).
func (l *connectLog) describe(err error) (cause, reason string) {
	var (
		verify  *tls.CertificateVerificationError
		invalid x509.CertificateInvalidError
		header  tls.RecordHeaderError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &verify):
		reason = "TLS: the broker's certificate is not trusted: " + verify.Err.Error()
		cause = fmt.Sprintf("tls verify %T", verify.Err)
		if errors.As(err, &invalid) {
			cause = fmt.Sprintf("tls verify invalid %d", invalid.Reason)
			if invalid.Reason == x509.Expired && (l.clockSynced == nil || !l.clockSynced()) {
				reason += " (the pod's clock is not known to be synchronised)"
			}
		}
		return cause, reason
	case errors.Is(err, errNoClientCertificate):
		return "tls no client certificate", "TLS: the broker asks for a client certificate and the pod has none"
	case errors.As(err, &header):
		return "tls not tls", "TLS: the broker does not speak TLS on this port: " + header.Error()
	case errors.As(err, &op) && op.Op == "remote error":
		return "tls alert " + op.Err.Error(), "TLS: the broker refused the handshake: " + op.Error()
	case errors.Is(err, packets.ErrorRefusedNotAuthorised), errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		if l.username == "" {
			return "not authorized", "not authorized: the broker refused the connection, and no username is set"
		}
		return "not authorized", fmt.Sprintf("not authorized: the broker refused the credentials of user %q", l.username)
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return "id rejected", "the broker rejected the client id"
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return "unavailable", "the broker says it is unavailable"
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return "protocol", "the broker refused MQTT 3.1.1"
	}
	reason = err.Error()
	for _, prefix := range []string{"uplink.connect: ", packets.ErrorNetworkError.Error() + " : "} {
		reason = strings.TrimPrefix(reason, prefix)
	}
	return reason, reason
}
