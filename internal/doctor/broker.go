package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/sleegation/podd/configs"
)

// CertWarnWithin: a broker certificate that expires sooner is a warning.
const CertWarnWithin = 30 * 24 * time.Hour

// brokerTimeout bounds each broker's check: the TCP connection, the TLS
// handshake and the MQTT CONNECT.
const brokerTimeout = 5 * time.Second

// DoctorClientSuffix is appended to pod.id for the check's MQTT client
// id: the pod's own id would take over podd's session (the broker drops
// the older of two connections with one id).
const DoctorClientSuffix = "-doctor"

var tlsSchemes = []string{"ssl", "tls", "mqtts"}

// checkBrokers checks each broker: a TCP connection, the TLS handshake
// (TLS brokers: the certificate chain under uplink.tls.ca, the host name,
// and how long it stays valid), then an MQTT CONNECT with the pod's
// credentials, refused or accepted by the broker.
func (d *Doctor) checkBrokers(ctx context.Context, cfg *configs.Config, state podState) []Result {
	u := cfg.Uplink
	if u.Embedded() {
		check := "broker embedded (" + u.EmbeddedListen + ")"
		if state != podUp {
			return []Result{warn(check, "the embedded broker runs inside podd, which is not running", "start podd (make run)")}
		}
		host, port, err := net.SplitHostPort(u.EmbeddedListen)
		if err != nil {
			return []Result{fail(check, err.Error(), "correct uplink.embedded_listen")}
		}
		switch host {
		case "0.0.0.0", "":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		}
		return d.checkBroker(ctx, cfg, check, net.JoinHostPort(host, port), false, "")
	}
	var out []Result
	for _, b := range u.Brokers {
		check := "broker " + b
		pu, err := url.Parse(b)
		if err != nil || pu.Host == "" {
			out = append(out, fail(check, fmt.Sprintf("not a broker URL: %v", err), "correct uplink.broker"))
			continue
		}
		out = append(out, d.checkBroker(ctx, cfg, check, pu.Host, slices.Contains(tlsSchemes, pu.Scheme), pu.Hostname())...)
	}
	return out
}

func (d *Doctor) checkBroker(ctx context.Context, cfg *configs.Config, check, addr string, useTLS bool, host string) []Result {
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	conn, err := d.System.Dial(ctx, "tcp", addr)
	if err != nil {
		return []Result{fail(check, fmt.Sprintf("cannot connect to %s: %v", addr, err),
			"check that the broker runs and listens there, the network (ping, a firewall) and uplink.broker")}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var out []Result
	if useTLS {
		c, r := d.handshake(ctx, cfg, check, conn, host)
		out = append(out, r)
		if c == nil {
			return append([]Result{fail(check, "connected to "+addr+", but the TLS handshake failed", "see the certificate's line")}, out...)
		}
		conn = c
	}
	user := cfg.Uplink.Username
	password, err := cfg.Uplink.Password()
	if err != nil {
		return append([]Result{fail(check, fmt.Sprintf("uplink.password_file %s: %v", cfg.Uplink.PasswordFile, err), "the file's first line is the password; podd's user must read it (mode 0640 root:podd)")}, out...)
	}
	code, err := mqttConnect(conn, cfg.Pod.ID+DoctorClientSuffix, user, password)
	as := "anonymously"
	if user != "" {
		as = "as " + user
	}
	var r Result
	switch {
	case err != nil:
		r = fail(check, fmt.Sprintf("connected to %s, but no MQTT CONNACK: %v", addr, err), "is it an MQTT broker? is the scheme right (tcp:// or ssl://)?")
	case code == 0:
		r = pass(check, fmt.Sprintf("MQTT CONNECT accepted %s at %s", as, addr))
	case code == 4 || code == 5:
		r = fail(check, fmt.Sprintf("MQTT CONNECT %s refused: %s", as, connackText(code)), "check uplink.username and uplink.password_file against the broker's password file and ACL")
	default:
		r = fail(check, fmt.Sprintf("MQTT CONNECT refused: %s", connackText(code)), "check the broker's log")
	}
	return append([]Result{r}, out...)
}

// handshake runs the TLS handshake and judges the broker's certificate.
func (d *Doctor) handshake(ctx context.Context, cfg *configs.Config, check string, conn net.Conn, host string) (net.Conn, Result) {
	check += " certificate"
	base, err := cfg.Uplink.ClientTLS()
	if err != nil {
		return nil, fail(check, fmt.Sprintf("uplink.tls: %v", err), "correct uplink.tls.ca, .cert and .key")
	}
	tc := base.Clone()
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	c := tls.Client(conn, tc)
	if err := c.HandshakeContext(ctx); err != nil {
		var (
			hostErr x509.HostnameError
			authErr x509.UnknownAuthorityError
			invErr  x509.CertificateInvalidError
		)
		switch {
		case errors.As(err, &hostErr):
			return nil, fail(check, fmt.Sprintf("not valid for %s: %v", tc.ServerName, hostErr), "set uplink.tls.server_name to a name the certificate carries, or have the broker's certificate issued for "+tc.ServerName)
		case errors.As(err, &authErr):
			return nil, fail(check, fmt.Sprintf("not signed by a CA of uplink.tls.ca (%s): %v", orSystem(cfg.Uplink.TLS.CA), authErr), "put the broker's CA certificate in uplink.tls.ca")
		case errors.As(err, &invErr) && invErr.Reason == x509.Expired:
			return nil, fail(check, fmt.Sprintf("expired or not yet valid: %v", invErr), "renew the broker's certificate; check this pod's clock too (the clock line)")
		}
		return nil, fail(check, fmt.Sprintf("TLS handshake: %v", err), "check uplink.tls and the broker's TLS listener")
	}
	leaf := c.ConnectionState().PeerCertificates[0]
	left := leaf.NotAfter.Sub(d.System.Now())
	detail := fmt.Sprintf("valid for %s, signed by %s, until %s", tc.ServerName, leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
	if left < CertWarnWithin {
		return c, warn(check, detail+fmt.Sprintf(": expires within %d days", int(CertWarnWithin.Hours()/24)), "renew the broker's certificate before it expires: the pod then cannot reach the hub")
	}
	return c, pass(check, detail)
}

func orSystem(ca string) string {
	if ca == "" {
		return "empty: the system's roots"
	}
	return ca
}

// mqttConnect sends an MQTT 3.1.1 CONNECT (clean session, keep-alive 10
// s, no will) as clientID with the credentials given, reads the CONNACK
// and sends DISCONNECT once accepted. It returns the CONNACK's return
// code.
func mqttConnect(rw io.ReadWriter, clientID, user, password string) (byte, error) {
	str := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		return append(b, s...)
	}
	flags := byte(0x02) // clean session
	var payload []byte
	payload = str(payload, clientID)
	if user != "" {
		flags |= 0x80
		payload = str(payload, user)
		if password != "" {
			flags |= 0x40
			payload = str(payload, password)
		}
	}
	body := str(nil, "MQTT")
	body = append(body, 4, flags, 0, 10)
	body = append(body, payload...)
	pkt := []byte{0x10}
	for n := len(body); ; {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	pkt = append(pkt, body...)
	if _, err := rw.Write(pkt); err != nil {
		return 0, fmt.Errorf("send CONNECT: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(rw, ack[:]); err != nil {
		return 0, fmt.Errorf("read CONNACK: %w", err)
	}
	code, err := ParseConnAck(ack[:])
	if err != nil {
		return 0, err
	}
	if code == 0 {
		_, _ = rw.Write([]byte{0xE0, 0x00})
	}
	return code, nil
}

// ParseConnAck reads an MQTT 3.1.1 CONNACK packet (4 bytes: 0x20, 0x02,
// the acknowledge flags, the return code) and returns its return code,
// 0..5; anything else is an error.
func ParseConnAck(b []byte) (byte, error) {
	if len(b) != 4 || b[0] != 0x20 || b[1] != 0x02 {
		return 0, fmt.Errorf("not an MQTT CONNACK: % X", b)
	}
	if b[2]&^0x01 != 0 {
		return 0, fmt.Errorf("CONNACK with reserved flags set: % X", b)
	}
	if b[3] > 5 {
		return 0, fmt.Errorf("CONNACK return code %d: not MQTT 3.1.1's", b[3])
	}
	return b[3], nil
}

// connackText is a CONNACK return code's meaning (MQTT 3.1.1, 3.2.2.3).
func connackText(code byte) string {
	return [...]string{
		"accepted",
		"unacceptable protocol version (1)",
		"client identifier rejected (2)",
		"server unavailable (3)",
		"bad user name or password (4)",
		"not authorized (5)",
	}[code]
}
