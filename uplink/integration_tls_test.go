package uplink

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
)

func loadTLS(t *testing.T, ca, cert, key string) *tls.Config {
	t.Helper()
	c, err := LoadTLS(ca, cert, key, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allDelivered waits until every seq 1..n arrived at sub and the outbox is
// empty, and fails on a seq beyond n.
func allDelivered(t *testing.T, sub *mqtttest.Subscriber, store Journal, n int) map[uint64][]Header {
	t.Helper()
	mqtttest.WaitFor(t, 15*time.Second, fmt.Sprintf("seqs 1..%d at the subscriber", n), func() bool {
		got := telemetryBySeq(t, sub)
		for seq := uint64(1); seq <= uint64(n); seq++ {
			if len(got[seq]) == 0 {
				return false
			}
		}
		return true
	})
	mqtttest.WaitFor(t, 5*time.Second, "the outbox to empty", func() bool { return len(outbox(t, store)) == 0 })
	got := telemetryBySeq(t, sub)
	if len(got) != n {
		t.Fatalf("%d seqs at the subscriber, want %d", len(got), n)
	}
	return got
}

func TestIntegrationTLSWithTheBrokersCADeliversEveryRecord(t *testing.T) {
	t.Parallel()
	ca := mqtttest.NewCA(t, "hub CA")
	m := mqtttest.StartWith(t, mqtttest.Options{TLS: ca.Listener(t, false)})
	sub := mqtttest.Subscribe(t, m.ObserverURL(), Root("p1")+"#", "sub-tls", true)
	store := openStore(t, nil)
	u := integrationUplink(t, m.URL(), store, func(c *Config) { c.TLS = loadTLS(t, ca.CertFile, "", "") })
	telemetry(t, u, 10) // before the connection: historical
	runUplink(t, u)
	mqtttest.WaitFor(t, 10*time.Second, "the uplink to connect over TLS", u.Connected)
	if got := u.Broker(); got != m.URL() || !strings.HasPrefix(got, "ssl://") {
		t.Fatalf("Broker() = %q, want %q", got, m.URL())
	}
	telemetry(t, u, 20)
	got := allDelivered(t, sub, store, 30)
	for seq := uint64(1); seq <= 30; seq++ {
		if h := got[seq][0]; h.Historical != (seq <= 10) {
			t.Errorf("seq %d historical %v", seq, h.Historical)
		}
	}
	if st, _, ok := lastStatus(t, sub); !ok || !st.Online {
		t.Fatalf("status %+v, want the birth", st)
	}
}

// A pod given the wrong CA refuses the broker: one clear line, however
// many retries, and its outbox untouched. Given the right CA (a new Uplink
// over the same journal), it delivers everything.
func TestIntegrationAWrongCAIsRefusedAndNothingIsLost(t *testing.T) {
	t.Parallel()
	ca := mqtttest.NewCA(t, "hub CA")
	m := mqtttest.StartWith(t, mqtttest.Options{TLS: ca.Listener(t, false)})
	sub := mqtttest.Subscribe(t, m.ObserverURL(), Root("p1")+TopicTelemetry, "sub-wrong-ca", true)
	store := openStore(t, nil)
	logs, withLogs := recordingLogger(t)
	wrong := mqtttest.NewCA(t, "someone else's CA")
	u := integrationUplink(t, m.URL(), store, withLogs, func(c *Config) { c.TLS = loadTLS(t, wrong.CertFile, "", "") })
	telemetry(t, u, 5)
	stop := runUplink(t, u)
	telemetry(t, u, 5)
	mqtttest.WaitFor(t, 15*time.Second, "three attempts refused", func() bool { return logs.count("connect attempt failed") >= 2 })
	stop()

	lines := logs.logged("connect failed")
	if len(lines) != 1 {
		t.Fatalf("connect failed logged %d times, want once: %q", len(lines), lines)
	}
	if want := "connect failed broker=" + m.URL() + " reason=TLS: the broker's certificate is not trusted: x509: certificate signed by unknown authority"; !strings.HasPrefix(lines[0], want) {
		t.Fatalf("%q\nwant it to start %q", lines[0], want)
	}
	if n := logs.count("connected"); n != 0 {
		t.Fatalf("connected %d times with the wrong CA", n)
	}
	if got, want := outbox(t, store), []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	if n := len(sub.Messages()); n != 0 {
		t.Fatalf("%d records reached the broker", n)
	}

	fixed := integrationUplink(t, m.URL(), store, func(c *Config) { c.TLS = loadTLS(t, ca.CertFile, "", "") })
	runUplink(t, fixed)
	telemetry(t, fixed, 2)
	got := allDelivered(t, sub, store, 12)
	for seq := uint64(1); seq <= 10; seq++ {
		if !got[seq][0].Historical {
			t.Errorf("seq %d, made while refused, arrived with historical false", seq)
		}
	}
}

func TestIntegrationABrokerThatRequiresAClientCertificate(t *testing.T) {
	t.Parallel()
	ca := mqtttest.NewCA(t, "hub CA")
	m := mqtttest.StartWith(t, mqtttest.Options{TLS: ca.Listener(t, true)})
	sub := mqtttest.Subscribe(t, m.ObserverURL(), Root("p1")+TopicTelemetry, "sub-client-cert", true)
	store := openStore(t, nil)

	t.Run("none", func(t *testing.T) {
		logs, withLogs := recordingLogger(t)
		u := integrationUplink(t, m.URL(), store, withLogs, func(c *Config) { c.TLS = loadTLS(t, ca.CertFile, "", "") })
		runUplink(t, u)
		mqtttest.WaitFor(t, 15*time.Second, "the refusal", func() bool { return len(logs.logged("connect failed")) > 0 })
		line := logs.logged("connect failed")[0]
		if want := "connect failed broker=" + m.URL() + " reason=TLS: the broker asks for a client certificate and the pod has none"; !strings.HasPrefix(line, want) {
			t.Fatalf("%q\nwant it to start %q", line, want)
		}
		if logs.count("connected") != 0 {
			t.Fatal("connected without a client certificate")
		}
	})
	t.Run("another CA's", func(t *testing.T) {
		logs, withLogs := recordingLogger(t)
		stranger := mqtttest.NewCA(t, "another CA").Client(t, "p1")
		u := integrationUplink(t, m.URL(), store, withLogs, func(c *Config) { c.TLS = loadTLS(t, ca.CertFile, stranger.CertFile, stranger.KeyFile) })
		runUplink(t, u)
		mqtttest.WaitFor(t, 15*time.Second, "the refusal", func() bool { return len(logs.logged("connect failed")) > 0 })
		t.Logf("%s", logs.logged("connect failed")[0])
		if logs.count("connected") != 0 {
			t.Fatal("connected with a certificate of another CA")
		}
	})
	t.Run("the pod's", func(t *testing.T) {
		pod := ca.Client(t, "p1")
		u := integrationUplink(t, m.URL(), store, func(c *Config) { c.TLS = loadTLS(t, ca.CertFile, pod.CertFile, pod.KeyFile) })
		runUplink(t, u)
		mqtttest.WaitFor(t, 10*time.Second, "the uplink to connect with its certificate", u.Connected)
		telemetry(t, u, 5)
		allDelivered(t, sub, store, 5)
	})
}

// The first broker is down: the second gets the records. The second dies
// and the first is back: the pod moves to the first, and nothing is lost.
func TestIntegrationTheBrokerListFailsOverAndBack(t *testing.T) {
	t.Parallel()
	first := mqtttest.Start(t, false)
	first.Stop()
	second := mqtttest.Start(t, false)
	subSecond := mqtttest.Subscribe(t, second.URL(), Root("p1")+TopicTelemetry, "sub-second", true)
	store := openStore(t, nil)
	logs, withLogs := recordingLogger(t)
	u := integrationUplink(t, "", store, withLogs, func(c *Config) { c.Brokers = []string{first.URL(), second.URL()} })
	runUplink(t, u)
	mqtttest.WaitFor(t, 10*time.Second, "the uplink to connect to the second broker", func() bool { return u.Broker() == second.URL() })
	if lines := logs.logged("connect failed"); len(lines) != 1 || !strings.HasPrefix(lines[0], "connect failed broker="+first.URL()) {
		t.Fatalf("connect failed lines %q, want one for the first broker", lines)
	}
	telemetry(t, u, 5)
	allDelivered(t, subSecond, store, 5)

	first.Start()
	subFirst := mqtttest.Subscribe(t, first.URL(), Root("p1")+TopicTelemetry, "sub-first", true)
	second.Stop()
	telemetry(t, u, 3) // while it moves
	mqtttest.WaitFor(t, 15*time.Second, "the uplink to move to the first broker", func() bool { return u.Broker() == first.URL() })
	telemetry(t, u, 2)
	mqtttest.WaitFor(t, 15*time.Second, "seqs 6..10 at the first broker", func() bool {
		got := telemetryBySeq(t, subFirst)
		for seq := uint64(6); seq <= 10; seq++ {
			if len(got[seq]) == 0 {
				return false
			}
		}
		return true
	})
	mqtttest.WaitFor(t, 5*time.Second, "the outbox to empty", func() bool { return len(outbox(t, store)) == 0 })
}

func TestIntegrationCredentials(t *testing.T) {
	t.Parallel()
	m := mqtttest.StartWith(t, mqtttest.Options{PasswordFile: mqtttest.PasswordFile(t, map[string]string{"p1": "s3cret"})})
	sub := mqtttest.Subscribe(t, m.ObserverURL(), Root("p1")+TopicTelemetry, "sub-credentials", true)
	store := openStore(t, nil)

	for _, tc := range []struct{ name, user, password, reason string }{
		{"wrong password", "p1", "guess", `reason=not authorized: the broker refused the credentials of user "p1"`},
		{"none", "", "", "reason=not authorized: the broker refused the connection, and no username is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs, withLogs := recordingLogger(t)
			u := integrationUplink(t, m.URL(), store, withLogs, func(c *Config) { c.Username, c.Password = tc.user, tc.password })
			runUplink(t, u)
			mqtttest.WaitFor(t, 15*time.Second, "two attempts refused", func() bool { return logs.count("connect attempt failed") >= 1 })
			lines := logs.logged("connect failed")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "connect failed broker="+m.URL()+" "+tc.reason) {
				t.Fatalf("connect failed lines %q, want one with %q", lines, tc.reason)
			}
			if logs.count("connected") != 0 {
				t.Fatal("connected")
			}
		})
	}
	t.Run("right", func(t *testing.T) {
		u := integrationUplink(t, m.URL(), store, func(c *Config) { c.Username, c.Password = "p1", "s3cret" })
		runUplink(t, u)
		mqtttest.WaitFor(t, 10*time.Second, "the uplink to connect with its credentials", u.Connected)
		telemetry(t, u, 3)
		allDelivered(t, sub, store, 3)
	})
}
