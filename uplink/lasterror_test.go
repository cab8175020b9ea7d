package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Finding: podctl status showed no last uplink error. The uplink keeps its
// last failure, in the connect log's words, with the broker and the time:
// a failed attempt, then a connection lost; it stays after a connection
// that works.
func TestTheLastUplinkErrorIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a = "ssl://a:8883"
		u := newTestUplink(t, openStore(t, nil), func(cfg *Config) {
			cfg.Broker, cfg.Brokers = "", []string{a}
			cfg.Backoff = BackoffPolicy{Initial: time.Second, Max: time.Second}
		})
		if e, ok := u.LastError(); ok {
			t.Fatalf("LastError before Run = %+v", e)
		}
		sc := &scriptedConnect{t: t, u: u, err: pahoNetworkError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})}
		u.connect = sc.connect
		sc.setDown(a, true)
		start := time.Now()
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()
		synctest.Wait()
		e, ok := u.LastError()
		want := LinkError{Broker: a, Error: "TLS: the broker's certificate is not trusted: x509: certificate signed by unknown authority", At: start}
		if !ok || e != want {
			t.Fatalf("LastError = %+v, %v; want %+v", e, ok, want)
		}

		sc.setDown(a, false)
		time.Sleep(time.Second)
		synctest.Wait()
		if !u.Connected() {
			t.Fatal("not connected once the broker is back")
		}
		if e, _ := u.LastError(); e != want {
			t.Fatalf("LastError after a connection = %+v, want it kept: %+v", e, want)
		}

		sc.setDown(a, true)
		lost := time.Now()
		sc.conns[0].markLost()
		synctest.Wait()
		e, _ = u.LastError()
		if e.Broker != a || !e.At.Equal(lost) || !strings.HasPrefix(e.Error, "the connection to the broker was lost: ") {
			t.Fatalf("LastError after a loss = %+v", e)
		}
	})
}
