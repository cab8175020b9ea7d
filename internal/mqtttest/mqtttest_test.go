package mqtttest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Frozen, the broker still has its socket (the kernel completes the TCP
// handshake) but sends no CONNACK; thawed, it serves again.
func TestAFrozenBrokerAnswersNothingUntilThawed(t *testing.T) {
	m := Start(t, false)
	m.Freeze()

	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port), time.Second)
	if err != nil {
		t.Fatalf("dial a frozen broker: %v, want its socket still open", err)
	}
	nc.Close()

	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(m.URL()).
		SetClientID("frozen-probe").
		SetAutoReconnect(false).
		SetProtocolVersion(4).
		SetConnectTimeout(300 * time.Millisecond))
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect attempt still pending after 5s")
	}
	if tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("connected to a frozen broker")
	}

	m.Thaw()
	s := Subscribe(t, m.URL(), "probe", "thawed-probe", true)
	if s.client == nil || !s.client.IsConnected() {
		t.Fatal("subscriber not connected after Thaw")
	}
}

func TestStopEndsAFrozenBroker(t *testing.T) {
	m := Start(t, false)
	m.Freeze()
	exited := m.exited
	m.Stop()
	select {
	case <-exited:
	default:
		t.Fatal("Stop returned with the broker still running")
	}
	m.Stop() // a second Stop, as the test's cleanup does, is harmless
}

// connectErr makes one MQTT connection to broker and reports its error.
func connectErr(t *testing.T, broker string, tc *tls.Config, user, password string) error {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID("probe-" + t.Name()).
		SetAutoReconnect(false).
		SetProtocolVersion(4).
		SetTLSConfig(tc).
		SetUsername(user).
		SetPassword(password).
		SetConnectTimeout(3 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect attempt still pending after 10s")
	}
	if tok.Error() == nil {
		c.Disconnect(0)
	}
	return tok.Error()
}

func trusting(t *testing.T, ca *CA, client *Issued) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("CA certificate does not parse")
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if client != nil {
		pair, err := tls.X509KeyPair(client.CertPEM, client.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc
}

func TestATLSListenerServesClientsThatTrustItsCA(t *testing.T) {
	ca := NewCA(t, "test CA")
	m := StartWith(t, Options{TLS: ca.Listener(t, false)})
	if !strings.HasPrefix(m.URL(), "ssl://") || m.ObserverPort == m.Port {
		t.Fatalf("URL %s, observer port %d: want ssl:// and a port of its own", m.URL(), m.ObserverPort)
	}
	if err := connectErr(t, m.URL(), trusting(t, ca, nil), "", ""); err != nil {
		t.Fatalf("connect with the CA: %v", err)
	}
	err := connectErr(t, m.URL(), trusting(t, NewCA(t, "another CA"), nil), "", "")
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) {
		t.Fatalf("connect with another CA: %v, want a certificate verification error", err)
	}
	if err := connectErr(t, m.ObserverURL(), nil, "", ""); err != nil {
		t.Fatalf("connect to the observers' listener: %v", err)
	}
}

func TestATLSListenerCanRequireAClientCertificate(t *testing.T) {
	ca := NewCA(t, "test CA")
	m := StartWith(t, Options{TLS: ca.Listener(t, true)})
	if err := connectErr(t, m.URL(), trusting(t, ca, nil), "", ""); err == nil {
		t.Fatal("connected without a client certificate")
	} else {
		t.Logf("without a client certificate: %v", err)
	}
	other := NewCA(t, "another CA").Client(t, "stranger")
	if err := connectErr(t, m.URL(), trusting(t, ca, &other), "", ""); err == nil {
		t.Fatal("connected with a client certificate from another CA")
	} else {
		t.Logf("with a stranger's certificate: %v", err)
	}
	pod := ca.Client(t, "pod")
	if err := connectErr(t, m.URL(), trusting(t, ca, &pod), "", ""); err != nil {
		t.Fatalf("connect with a client certificate: %v", err)
	}
}

func TestAPasswordFileRefusesStrangersOnlyOnThePodsListener(t *testing.T) {
	m := StartWith(t, Options{PasswordFile: PasswordFile(t, map[string]string{"pod-7": "s3cret", "hub": "other"})})
	for name, tc := range map[string]struct {
		user, password string
		ok             bool
	}{
		"anonymous":      {"", "", false},
		"wrong password": {"pod-7", "guess", false},
		"unknown user":   {"eve", "s3cret", false},
		"right":          {"pod-7", "s3cret", true},
		"second user":    {"hub", "other", true},
	} {
		err := connectErr(t, m.URL(), nil, tc.user, tc.password)
		if tc.ok != (err == nil) {
			t.Errorf("%s: connect = %v", name, err)
		}
		if !tc.ok && !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			t.Errorf("%s: connect = %v, want a refusal of the credentials", name, err)
		}
	}
	if err := connectErr(t, m.ObserverURL(), nil, "", ""); err != nil {
		t.Fatalf("anonymous on the observers' listener: %v", err)
	}
}

func TestPublishLeavesARetainedMessageForLaterSubscribers(t *testing.T) {
	m := Start(t, false)
	Publish(t, m.URL(), "publisher", "probe/status", []byte("up"), true)
	s := Subscribe(t, m.URL(), "probe/#", "late", true)
	WaitFor(t, 3*time.Second, "the retained message", func() bool { return len(s.Messages()) == 1 })
	msg := s.Messages()[0]
	if msg.Topic() != "probe/status" || string(msg.Payload()) != "up" || !msg.Retained() {
		t.Fatalf("got %s %q retained=%v, want probe/status \"up\" retained", msg.Topic(), msg.Payload(), msg.Retained())
	}
}

// Kill works on a frozen broker, as it would on a hung one, and Start then
// serves again on the same port.
func TestKillEndsAFrozenBrokerAndStartServesOnItsPort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills a real mosquitto")
	}
	m := Start(t, false)
	port := m.Port
	m.Freeze()
	exited := m.exited
	m.Kill()
	select {
	case <-exited:
	default:
		t.Fatal("Kill returned with the broker still running")
	}
	m.Start()
	if m.Port != port {
		t.Fatalf("port %d after Start, want %d", m.Port, port)
	}
	s := Subscribe(t, m.URL(), "probe/#", "after-kill", true)
	Publish(t, m.URL(), "publisher", "probe/x", []byte("up"), false)
	WaitFor(t, 3*time.Second, "the message on the restarted broker", func() bool { return len(s.Messages()) == 1 })
}

// What Save wrote outlives a Kill: a persistent session and its
// subscription, so a message published after the restart is queued for the
// subscriber and reaches it once it is back.
func TestASavedSessionOutlivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills a real mosquitto")
	}
	m := Start(t, true)
	s := Subscribe(t, m.URL(), "probe/#", "saved", false)
	m.Save()
	m.Save() // a second save replaces the file, and is waited for too
	m.Kill()
	m.Start()
	Publish(t, m.URL(), "publisher", "probe/x", []byte("after"), false)
	WaitFor(t, 5*time.Second, "the message at the restored session", func() bool {
		msgs := s.Messages()
		return len(msgs) == 1 && string(msgs[0].Payload()) == "after"
	})
}
