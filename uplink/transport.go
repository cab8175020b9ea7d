package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Broker URL schemes: MQTT over plain TCP, and MQTT over TLS.
var (
	plainSchemes = []string{"tcp", "mqtt"}
	tlsSchemes   = []string{"ssl", "tls", "mqtts"}
)

// checkBrokers validates cfg's broker list and its transport, and returns
// the list with the TLS configuration of each broker (nil for plain TCP).
//
// Every broker of one Uplink uses the same transport: a list that mixed
// plain and TLS brokers would let whoever can block the TLS ones move the
// pod's vitals into the clear. A TLS configuration with plain brokers is
// refused for the same reason: it says the link should be private, and it
// would not be.
func checkBrokers(cfg Config) (brokers []string, confs map[string]*tls.Config, problems []string) {
	switch {
	case cfg.Broker != "" && len(cfg.Brokers) > 0:
		return nil, nil, []string{fmt.Sprintf("broker %q and brokers %q: set one or the other", cfg.Broker, cfg.Brokers)}
	case cfg.Broker != "":
		brokers = []string{cfg.Broker}
	case len(cfg.Brokers) > 0:
		brokers = slices.Clone(cfg.Brokers)
	default:
		return nil, nil, []string{"no broker"}
	}
	var plain, secure []string
	seen := make(map[string]bool, len(brokers))
	for _, b := range brokers {
		if seen[b] {
			problems = append(problems, fmt.Sprintf("broker %q listed twice", b))
			continue
		}
		seen[b] = true
		u, err := url.Parse(b)
		switch {
		case err != nil || u.Hostname() == "" || u.Port() == "":
			problems = append(problems, fmt.Sprintf("broker %q: want tcp://host:port or ssl://host:port", b))
		case u.User != nil:
			// paho would take them over Username and Password, and the URL
			// is logged.
			problems = append(problems, fmt.Sprintf("broker %s://%s: user information in the URL: use Username and Password", u.Scheme, u.Host))
		case slices.Contains(plainSchemes, u.Scheme):
			plain = append(plain, b)
		case slices.Contains(tlsSchemes, u.Scheme):
			secure = append(secure, b)
		default:
			problems = append(problems, fmt.Sprintf("broker %q: scheme %q is not tcp, mqtt, ssl, tls or mqtts", b, u.Scheme))
		}
	}
	if len(plain) > 0 && len(secure) > 0 {
		problems = append(problems, fmt.Sprintf("brokers %q use plain TCP and %q TLS: use TLS for all", plain, secure))
	}
	if cfg.TLS != nil && len(plain) > 0 {
		problems = append(problems, fmt.Sprintf("broker %q is plain TCP but a TLS configuration is set: use ssl://", plain[0]))
	}
	if cfg.TLS != nil && cfg.TLS.MaxVersion != 0 && cfg.TLS.MaxVersion < tls.VersionTLS12 {
		problems = append(problems, "TLS MaxVersion below TLS 1.2")
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	confs = make(map[string]*tls.Config, len(secure))
	for _, b := range secure {
		confs[b] = clientTLS(cfg.TLS, b)
	}
	return brokers, confs, nil
}

// clientTLS is the TLS configuration for one broker: a copy of base (the
// system's roots when base is nil), at least TLS 1.2, and the broker's host
// as the server name unless base names one.
func clientTLS(base *tls.Config, broker string) *tls.Config {
	c := &tls.Config{}
	if base != nil {
		c = base.Clone()
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if c.ServerName == "" {
		if u, err := url.Parse(broker); err == nil {
			c.ServerName = u.Hostname()
		}
	}
	return c
}

// loopback reports whether broker is on this machine, where a password in
// the clear crosses no network.
func loopback(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

var errAborted = errors.New("connection attempt abandoned")

// socket is the TCP connection of one connection attempt, kept so that it
// can be closed under paho: paho offers no way to abandon a CONNACK wait,
// nor a Publish blocked on its writer. With TLS it is still the TCP
// connection that is closed: tls.Conn.Close first writes a close_notify,
// which can block on a network that takes no more bytes.
type socket struct {
	mu     sync.Mutex
	nc     net.Conn
	closed bool
	// certAsked: the broker asked for a client certificate in the TLS
	// handshake and the pod had none to give. With TLS 1.3 a broker that
	// requires one only says so after the handshake, often in an alert
	// the client never reads (the connection is reset first); this is
	// what explains that failure.
	certAsked bool
}

// dial opens the connection, and with tc set makes the TLS handshake over
// it; both together take at most timeout, and cancelling ctx abandons
// either in progress.
func (s *socket) dial(ctx context.Context, timeout time.Duration, host string, tc *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return nil, errAborted
	}
	// Should paho dial again in the same attempt, it has closed the previous
	// connection itself: the latest one is the one to close.
	s.nc = nc
	s.mu.Unlock()
	if tc == nil {
		return nc, nil
	}
	if tc.GetClientCertificate == nil && len(tc.Certificates) == 0 {
		tc = tc.Clone()
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			s.mu.Lock()
			s.certAsked = true
			s.mu.Unlock()
			return &tls.Certificate{}, nil // none, as without this callback
		}
	}
	tlsConn := tls.Client(nc, tc)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("TLS handshake: not done within the connect timeout (%v): %w", timeout, err)
		}
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tlsConn, nil
}

// askedForCertificate reports whether the broker asked for a client
// certificate the pod did not have.
func (s *socket) askedForCertificate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certAsked
}

// errNoClientCertificate explains a connection the broker dropped after
// asking for a client certificate the pod did not have.
var errNoClientCertificate = errors.New("the broker asked for a client certificate and none is configured")

// close closes the connection, and any later one dial would open.
func (s *socket) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.nc != nil {
		_ = s.nc.Close()
	}
}
