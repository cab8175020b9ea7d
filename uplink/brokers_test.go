package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/sleegation/podd/internal/mqtttest"
)

func TestNewValidatesEveryBrokerAndTheTransport(t *testing.T) {
	store := openStore(t, nil)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error; "" when New must accept cfg
	}{
		{"one plain broker", Config{Broker: "tcp://h:1883"}, ""},
		{"mqtt scheme", Config{Broker: "mqtt://h:1883"}, ""},
		{"TLS with the system roots", Config{Broker: "ssl://h:8883"}, ""},
		{"every TLS scheme", Config{Brokers: []string{"ssl://a:8883", "tls://b:8883", "mqtts://c:8883"}, TLS: &tls.Config{}}, ""},
		{"a plain list", Config{Brokers: []string{"tcp://a:1883", "mqtt://[::1]:1883"}}, ""},
		{"credentials", Config{Broker: "ssl://h:8883", Username: "pod-7", Password: "s3cret"}, ""},
		{"both fields", Config{Broker: "tcp://a:1883", Brokers: []string{"tcp://b:1883"}}, `broker "tcp://a:1883" and brokers ["tcp://b:1883"]: set one or the other`},
		{"no broker", Config{}, "no broker"},
		{"empty list", Config{Brokers: []string{}}, "no broker"},
		{"a bad scheme in the list", Config{Brokers: []string{"tcp://a:1883", "ws://b:80"}}, `broker "ws://b:80": scheme "ws" is not tcp, mqtt, ssl, tls or mqtts`},
		{"no port", Config{Brokers: []string{"ssl://a:8883", "ssl://b"}}, `broker "ssl://b": want tcp://host:port or ssl://host:port`},
		{"no host", Config{Broker: "tcp://:1883"}, `broker "tcp://:1883": want`},
		{"an empty entry", Config{Brokers: []string{"tcp://a:1883", ""}}, `broker "": want`},
		{"credentials in the URL", Config{Broker: "ssl://pod:s3cret@h:8883"}, "broker ssl://h:8883: user information in the URL: use Username and Password"},
		{"twice", Config{Brokers: []string{"tcp://a:1883", "tcp://a:1883"}}, `broker "tcp://a:1883" listed twice`},
		{"plain and TLS mixed", Config{Brokers: []string{"ssl://a:8883", "tcp://b:1883"}}, `brokers ["tcp://b:1883"] use plain TCP and ["ssl://a:8883"] TLS: use TLS for all`},
		{"TLS config with a plain broker", Config{Broker: "tcp://a:1883", TLS: &tls.Config{}}, `broker "tcp://a:1883" is plain TCP but a TLS configuration is set: use ssl://`},
		{"TLS capped below 1.2", Config{Broker: "ssl://a:8883", TLS: &tls.Config{MaxVersion: tls.VersionTLS11}}, "TLS MaxVersion below TLS 1.2"},
		{"password alone", Config{Broker: "ssl://a:8883", Password: "s3cret"}, "password without a username"},
	} {
		tc.cfg.Pod = "p"
		_, err := New(tc.cfg, store)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: New = %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: New = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestNewKeepsItsOwnTLSConfigAtTLS12AndNamesEachBroker(t *testing.T) {
	base := &tls.Config{MinVersion: tls.VersionTLS10}
	u := newTestUplink(t, openStore(t, nil), func(c *Config) {
		c.Broker, c.Brokers = "", []string{"ssl://hub-a.example:8883", "mqtts://10.0.0.2:8883"}
		c.TLS = base
	})
	base.MinVersion = tls.VersionTLS13 // New made its copy already
	for b, name := range map[string]string{"ssl://hub-a.example:8883": "hub-a.example", "mqtts://10.0.0.2:8883": "10.0.0.2"} {
		got := u.tlsConf[b]
		if got == nil || got == base || got.MinVersion != tls.VersionTLS12 || got.ServerName != name {
			t.Errorf("%s: TLS %p (base %p) min %x server name %q, want a copy, TLS 1.2, %q", b, got, base, got.MinVersion, got.ServerName, name)
		}
	}

	u = newTestUplink(t, openStore(t, nil), func(c *Config) {
		c.Broker = "ssl://10.0.0.2:8883"
		c.TLS = &tls.Config{ServerName: "hub.example", MinVersion: tls.VersionTLS13}
	})
	if got := u.tlsConf["ssl://10.0.0.2:8883"]; got.ServerName != "hub.example" || got.MinVersion != tls.VersionTLS13 {
		t.Errorf("server name %q min %x, want the configured hub.example and TLS 1.3 kept", got.ServerName, got.MinVersion)
	}

	u = newTestUplink(t, openStore(t, nil), func(c *Config) { c.Broker = "tcp://h:1883" })
	if got := u.tlsConf["tcp://h:1883"]; got != nil {
		t.Errorf("plain broker has TLS %+v", got)
	}
}

// On start the brokers are tried in order; after a failed attempt the next
// one in the list is tried, after the backoff; after a connection that
// worked, the same broker first.
func TestRunTriesTheBrokersInOrderThenRoundRobin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b, c = "tcp://a:1883", "tcp://b:1883", "tcp://c:1883"
		u := newTestUplink(t, openStore(t, nil), func(cfg *Config) {
			cfg.Broker, cfg.Brokers = "", []string{a, b, c}
			cfg.Backoff = BackoffPolicy{Initial: time.Second, Max: 4 * time.Second}
		})
		sc := &scriptedConnect{t: t, u: u}
		u.connect = sc.connect
		sc.setDown(a, true)
		sc.setDown(b, true)
		if got := u.Broker(); got != "" {
			t.Fatalf("Broker() = %q before Run", got)
		}
		start := time.Now()
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()

		time.Sleep(3 * time.Second) // a at 0, b at 1s, c at 1s+2s
		synctest.Wait()
		if got, want := sc.attempted(), []string{a, b, c}; !slices.Equal(got, want) {
			t.Fatalf("attempts %v, want %v", got, want)
		}
		if got, want := offsets(start, sc.attempts()), []time.Duration{0, time.Second, 3 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("attempts at %v, want %v", got, want)
		}
		if !u.Connected() || u.Broker() != c {
			t.Fatalf("Connected %v to %q, want %q", u.Connected(), u.Broker(), c)
		}

		// c's connection is lost and c is down now: c again first, then a
		// (still down), then b, which is back.
		sc.setDown(c, true)
		sc.setDown(b, false)
		sc.conns[0].markLost()
		synctest.Wait()
		if u.Connected() || u.Broker() != "" {
			t.Fatalf("Connected %v to %q after the loss", u.Connected(), u.Broker())
		}
		time.Sleep(time.Second + 2*time.Second + 4*time.Second)
		synctest.Wait()
		if got, want := sc.attempted(), []string{a, b, c, c, a, b}; !slices.Equal(got, want) {
			t.Fatalf("attempts %v, want %v", got, want)
		}
		if !u.Connected() || u.Broker() != b {
			t.Fatalf("Connected %v to %q, want %q", u.Connected(), u.Broker(), b)
		}

		// A loss while b is still up: b again, one first backoff step later.
		sc.conns[1].markLost()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := sc.attempted(); !slices.Equal(got[6:], []string{b}) {
			t.Fatalf("attempts after the second loss %v, want [%s]", got[6:], b)
		}
		if u.Broker() != b {
			t.Fatalf("Broker() = %q, want %q", u.Broker(), b)
		}
	})
}

// The same failure on every retry is logged once; a different one, another
// broker's, or one after a connection starts a new episode.
func TestAConnectFailureIsLoggedOncePerEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b = "ssl://a:8883", "ssl://b:8883"
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, openStore(t, nil), func(cfg *Config) {
			withLogs(cfg)
			cfg.Broker, cfg.Brokers = "", []string{a, b}
			cfg.Backoff = BackoffPolicy{Initial: time.Second, Max: time.Second}
		})
		sc := &scriptedConnect{t: t, u: u, err: pahoNetworkError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})}
		u.connect = sc.connect
		sc.setDown(a, true)
		sc.setDown(b, true)
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()

		time.Sleep(9 * time.Second) // ten attempts, five to each
		synctest.Wait()
		if n := len(sc.attempts()); n != 10 {
			t.Fatalf("%d attempts, want 10", n)
		}
		lines := logs.logged("connect failed")
		if len(lines) != 2 {
			t.Fatalf("connect failed logged %d times in 10 attempts to 2 brokers, want once per broker: %q", len(lines), lines)
		}
		for i, broker := range []string{a, b} {
			if want := "connect failed broker=" + broker + " reason=TLS: the broker's certificate is not trusted: x509: certificate signed by unknown authority"; !strings.HasPrefix(lines[i], want) {
				t.Errorf("line %q\nwant it to start %q", lines[i], want)
			}
		}
		if n := logs.count("connect attempt failed"); n != 8 {
			t.Errorf("%d retries logged at debug level, want 8", n)
		}

		sc.mu.Lock()
		sc.err = nil // a refused connection now: a new cause
		sc.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		if lines := logs.logged("connect failed"); len(lines) != 3 || !strings.Contains(lines[2], "broker="+a+" reason=dial tcp: connect: connection refused") {
			t.Fatalf("after the cause changed: %q", lines)
		}

		sc.setDown(b, false)
		time.Sleep(time.Second)
		synctest.Wait()
		if lines := logs.logged("connected"); len(lines) != 1 || !strings.Contains(lines[0], "broker="+b) || !strings.HasSuffix(lines[0], "failed_attempts=11") {
			t.Fatalf("connected lines %q, want one to %s after 11 failed attempts", lines, b)
		}

		// A new episode after the connection: the same cause is news again.
		sc.setDown(b, true)
		sc.conns[0].markLost()
		time.Sleep(time.Second)
		synctest.Wait()
		if lines := logs.logged("connect failed"); len(lines) != 4 || !strings.Contains(lines[3], "broker="+b) {
			t.Fatalf("after a connection, a failure is logged again: %q", lines)
		}
	})
}

// pahoNetworkError wraps err as paho's Connect token reports a failed
// dial, and connectPaho after it.
func pahoNetworkError(err error) error {
	return fmt.Errorf("uplink.connect: %w", fmt.Errorf("%w : %w", packets.ErrorNetworkError, err))
}

func TestAConnectFailureIsDescribedByItsCause(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"hub.example"}}
	for _, tc := range []struct {
		name, user string
		err        error
		reason     string
	}{
		{"unknown CA", "", pahoNetworkError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			"TLS: the broker's certificate is not trusted: x509: certificate signed by unknown authority"},
		{"wrong name", "", pahoNetworkError(&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: cert, Host: "other.example"}}),
			"TLS: the broker's certificate is not trusted: x509: certificate is valid for hub.example, not other.example"},
		{"expired, clock unknown", "", pahoNetworkError(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired, Detail: "current time 1970-01-01T00:00:10Z is before 2031-01-01T00:00:00Z"}}),
			"TLS: the broker's certificate is not trusted: x509: certificate has expired or is not yet valid: current time 1970-01-01T00:00:10Z is before 2031-01-01T00:00:00Z (the pod's clock is not known to be synchronised)"},
		{"not TLS", "", pahoNetworkError(fmt.Errorf("TLS handshake: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"})),
			"TLS: the broker does not speak TLS on this port: tls: first record does not look like a TLS handshake"},
		{"alert", "", pahoNetworkError(&net.OpError{Op: "remote error", Err: errors.New("tls: unknown certificate authority")}),
			"TLS: the broker refused the handshake: remote error: tls: unknown certificate authority"},
		{"no client certificate", "", fmt.Errorf("uplink.connect: %w", fmt.Errorf("%w: %w", errNoClientCertificate, pahoNetworkError(syscall.ECONNRESET))),
			"TLS: the broker asks for a client certificate and the pod has none"},
		{"bad password", "pod-7", fmt.Errorf("uplink.connect: %w", packets.ErrorRefusedNotAuthorised),
			`not authorized: the broker refused the credentials of user "pod-7"`},
		{"bad user name", "pod-7", fmt.Errorf("uplink.connect: %w", packets.ErrorRefusedBadUsernameOrPassword),
			`not authorized: the broker refused the credentials of user "pod-7"`},
		{"anonymous", "", fmt.Errorf("uplink.connect: %w", packets.ErrorRefusedNotAuthorised),
			"not authorized: the broker refused the connection, and no username is set"},
		{"client id", "", fmt.Errorf("uplink.connect: %w", packets.ErrorRefusedIDRejected), "the broker rejected the client id"},
		{"refused", "", pahoNetworkError(errors.New("dial tcp 10.0.0.2:8883: connect: connection refused")),
			"dial tcp 10.0.0.2:8883: connect: connection refused"},
	} {
		l := connectLog{username: tc.user}
		if _, reason := l.describe(tc.err); reason != tc.reason {
			t.Errorf("%s: reason\n%q\nwant\n%q", tc.name, reason, tc.reason)
		}
	}

	// The cause of an expired certificate does not change with the time in
	// its message, so retries are not logged as news.
	l := connectLog{clockSynced: func() bool { return true }}
	expired := func(detail string) error {
		return pahoNetworkError(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired, Detail: detail}})
	}
	c1, r1 := l.describe(expired("current time 2031-01-01T00:00:01Z is after 2030-12-31T00:00:00Z"))
	c2, _ := l.describe(expired("current time 2031-01-01T00:00:02Z is after 2030-12-31T00:00:00Z"))
	if c1 != c2 || strings.Contains(r1, "clock") {
		t.Errorf("causes %q and %q, reason %q: want one cause, and no word on a synchronised clock", c1, c2, r1)
	}
}

// A broker that accepts TCP and never answers the TLS handshake: the
// handshake is part of the connection attempt, bounded by ConnectTimeout.
func TestTheTLSHandshakeCountsInTheConnectTimeout(t *testing.T) {
	ln := silentListener(t)
	logs, withLogs := recordingLogger(t)
	u := newTestUplink(t, openStore(t, nil), func(c *Config) {
		withLogs(c)
		c.Broker = "ssl://" + ln.Addr().String()
		// Long enough for the dial to be done within it on a loaded
		// machine (with 200 ms the deadline sometimes fell in the dial).
		c.ConnectTimeout = 3 * time.Second
		c.Backoff = BackoffPolicy{Initial: time.Hour, Max: time.Hour}
	})
	cancel, done := startRun(u)
	defer func() { cancel(); <-done }()
	mqtttest.WaitFor(t, 15*time.Second, "the attempt to fail", func() bool { return len(logs.logged("connect failed")) > 0 })
	line := logs.logged("connect failed")[0]
	if want := "reason=TLS handshake: not done within the connect timeout (3s): context deadline exceeded"; !strings.Contains(line, want) {
		t.Fatalf("%q, want %q", line, want)
	}
}

// Cancelling Run abandons a TLS handshake in progress, whatever
// ConnectTimeout says.
func TestRunAbandonsATLSHandshakeInProgress(t *testing.T) {
	ln := silentListener(t)
	u := newTestUplink(t, openStore(t, nil), func(c *Config) {
		c.Broker = "ssl://" + ln.Addr().String()
		c.ConnectTimeout = time.Hour
	})
	cancel, done := startRun(u)
	defer cancel()
	nc := accept(t, ln)
	defer nc.Close()
	// The ClientHello arrives: the pod is in the handshake.
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err != nil {
		t.Fatalf("reading the ClientHello: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(systemdStopDeadline):
		t.Fatalf("Run still in the TLS handshake %v after cancel", systemdStopDeadline)
	}
}

// silentListener accepts TCP connections and says nothing on them.
func silentListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- nc
	}()
	select {
	case nc := <-ch:
		if nc == nil {
			t.Fatal("accept failed")
		}
		return nc
	case <-time.After(5 * time.Second):
		t.Fatal("the uplink did not connect within 5s")
		return nil
	}
}

func TestNewWarnsOfAPasswordSentInTheClear(t *testing.T) {
	for _, tc := range []struct {
		brokers []string
		warned  bool
	}{
		{[]string{"tcp://10.0.0.2:1883"}, true},
		{[]string{"tcp://127.0.0.1:1883", "tcp://hub.example:1883"}, true},
		{[]string{"tcp://127.0.0.1:1883", "mqtt://localhost:1883", "tcp://[::1]:1883"}, false},
		{[]string{"ssl://hub.example:8883"}, false},
	} {
		logs, withLogs := recordingLogger(t)
		newTestUplink(t, openStore(t, nil), func(c *Config) {
			withLogs(c)
			c.Broker, c.Brokers = "", tc.brokers
			c.Username, c.Password = "p1", "s3cret"
		})
		lines := logs.logged("the password goes to the broker in the clear: use an ssl:// broker")
		if warned := len(lines) == 1; warned != tc.warned || len(lines) > 1 {
			t.Errorf("%v: warnings %q, want one: %v", tc.brokers, lines, tc.warned)
		}
		for _, l := range logs.lines {
			if strings.Contains(l, "s3cret") {
				t.Errorf("the password was logged: %q", l)
			}
		}
	}
}
