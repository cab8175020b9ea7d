// Package mqtttest runs a real mosquitto broker for integration tests, plain
// or with TLS (a throwaway CA makes its certificates) and a password file,
// and collects what a subscriber receives. It is test support: nothing in
// the daemon imports it.
package mqtttest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Mosquitto is a broker process owned by one test.
type Mosquitto struct {
	t          *testing.T
	bin        string
	conf       string
	tls        bool
	persistent bool
	// Port is the broker's listener on 127.0.0.1, the one URL names: TLS
	// and password-protected when Options say so.
	Port int
	// ObserverPort is a plain, anonymous listener of the same broker, for
	// a test's own subscribers; it is Port when Port is plain and
	// anonymous itself.
	ObserverPort int

	cmd    *exec.Cmd
	out    *LockedBuffer
	exited chan struct{}
	frozen bool
}

// Binary finds mosquitto. Without it the test is skipped, except under CI
// (CI set), where a missing broker is a failure.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("mosquitto not installed (make deps installs it)")
	}
	t.Fatal("mosquitto not installed, and CI is set")
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Options configure a broker; the zero value is a plain, anonymous broker
// that keeps nothing across a restart.
type Options struct {
	// Persistent: sessions and queued messages survive Stop and Start
	// (SIGTERM makes mosquitto write them out).
	Persistent bool
	// TLS, when set, makes Port speak TLS only.
	TLS *TLS
	// PasswordFile, when set (see PasswordFile), makes Port refuse
	// anonymous clients and those whose password it does not hold.
	PasswordFile string
}

// TLS is what a TLS listener needs: PEM files.
type TLS struct {
	CAFile   string // the CA that signs the clients' certificates
	CertFile string // the broker's certificate
	KeyFile  string // its private key
	// RequireCertificate makes the broker refuse a client without a
	// certificate signed by CAFile.
	RequireCertificate bool
}

// Start runs mosquitto on a free loopback port until the test ends. With
// persistent, sessions and queued messages survive Stop and Start.
func Start(t *testing.T, persistent bool) *Mosquitto {
	t.Helper()
	return StartWith(t, Options{Persistent: persistent})
}

// StartWith runs mosquitto configured by opts on free loopback ports until
// the test ends.
func StartWith(t *testing.T, opts Options) *Mosquitto {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	m := &Mosquitto{t: t, bin: bin, tls: opts.TLS != nil, persistent: opts.Persistent, Port: FreePort(t), conf: filepath.Join(dir, "mosquitto.conf")}
	m.ObserverPort = m.Port
	var conf strings.Builder
	guarded := opts.TLS != nil || opts.PasswordFile != ""
	if guarded {
		// allow_anonymous and password_file then apply to the listener
		// they follow, so the observers' listener stays open.
		conf.WriteString("per_listener_settings true\n")
	}
	if opts.Persistent {
		conf.WriteString("persistence true\npersistence_location " + dir + "/\n")
	} else {
		conf.WriteString("persistence false\n")
	}
	if os.Geteuid() == 0 {
		conf.WriteString("user root\n") // otherwise mosquitto drops to a user that cannot write dir
	}
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", m.Port)
	if tl := opts.TLS; tl != nil {
		fmt.Fprintf(&conf, "cafile %s\ncertfile %s\nkeyfile %s\n", tl.CAFile, tl.CertFile, tl.KeyFile)
		if tl.RequireCertificate {
			conf.WriteString("require_certificate true\n")
		}
	}
	if opts.PasswordFile != "" {
		fmt.Fprintf(&conf, "allow_anonymous false\npassword_file %s\n", opts.PasswordFile)
	} else {
		conf.WriteString("allow_anonymous true\n")
	}
	if guarded {
		m.ObserverPort = FreePort(t)
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\nallow_anonymous true\n", m.ObserverPort)
	}
	if err := os.WriteFile(m.conf, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// URL is the address of Port for paho and podd: ssl:// when it speaks
// TLS, tcp:// otherwise.
func (m *Mosquitto) URL() string {
	scheme := "tcp://"
	if m.tls {
		scheme = "ssl://"
	}
	return scheme + "127.0.0.1:" + strconv.Itoa(m.Port)
}

// ObserverURL is the address of ObserverPort, for Subscribe.
func (m *Mosquitto) ObserverURL() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.ObserverPort) }

// Start starts the broker again after Stop, on the same port.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.out = &LockedBuffer{}
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.cmd, m.exited)
	for _, port := range []int{m.Port, m.ObserverPort} {
		WaitFor(m.t, 5*time.Second, "mosquitto to listen on "+strconv.Itoa(port), func() bool {
			select {
			case <-m.exited:
				m.t.Fatalf("mosquitto exited: %s", m.out.String())
			default:
			}
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}

// Freeze stops the broker process (SIGSTOP) and returns once it is stopped.
// It then behaves as a hung broker: its sockets stay open and the kernel
// still accepts connections and bytes for it, but nothing is answered, not
// even a CONNACK or a PINGRESP. Thaw resumes it; Stop works on a frozen
// broker too.
func (m *Mosquitto) Freeze() {
	m.t.Helper()
	if m.cmd == nil {
		m.t.Fatal("mqtttest: Freeze of a broker that is not running")
	}
	if err := m.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		m.t.Fatalf("freeze mosquitto: %v", err)
	}
	m.frozen = true
	// The signal is delivered asynchronously; a test that goes on before the
	// process is stopped would race the broker's last answers.
	pid := m.cmd.Process.Pid
	WaitFor(m.t, 5*time.Second, "mosquitto to stop", func() bool { return processStopped(pid) })
}

// Thaw resumes a frozen broker (SIGCONT); it then answers what arrived
// meanwhile.
func (m *Mosquitto) Thaw() {
	m.t.Helper()
	if m.cmd == nil || !m.frozen {
		return
	}
	if err := m.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		m.t.Fatalf("thaw mosquitto: %v", err)
	}
	m.frozen = false
	pid := m.cmd.Process.Pid
	WaitFor(m.t, 5*time.Second, "mosquitto to resume", func() bool { return !processStopped(pid) })
}

// processStopped reports whether pid is in the stopped state, from
// /proc/PID/stat (Linux, where mosquitto runs for these tests). Elsewhere it
// cannot tell and reports that the signal took effect.
func processStopped(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return b[i+2] == 'T' || b[i+2] == 't'
}

// Stop ends the broker with SIGTERM, as a service manager would. A frozen
// broker is thawed first, since a stopped process does not act on SIGTERM;
// one that has not exited 5 s later is killed.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	if m.frozen {
		// SIGCONT before SIGTERM: a stopped process handles no signal but
		// SIGKILL and SIGCONT.
		_ = m.cmd.Process.Signal(syscall.SIGCONT)
		m.frozen = false
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

// Kill ends the broker with SIGKILL, as a crash or the OOM killer would,
// and returns once it has exited: it writes nothing out, so a persistent
// broker starts again from what Save (or an earlier Stop) last wrote, and
// whatever it held only in memory (messages acknowledged to their publisher
// and not yet delivered, sessions made since) is gone. A frozen broker is
// killed as it is. Start runs it again on the same port.
func (m *Mosquitto) Kill() {
	m.t.Helper()
	if m.cmd == nil {
		m.t.Fatal("mqtttest: Kill of a broker that is not running")
	}
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		m.t.Fatalf("kill mosquitto: %v", err)
	}
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		m.t.Fatal("mosquitto still running 5 s after SIGKILL")
	}
	m.cmd, m.frozen = nil, false
}

// Save makes a persistent broker write its sessions, subscriptions, queued
// and retained messages to its persistence file now (SIGUSR1), and returns
// once the new file is in place: what a Kill then keeps. The broker must be
// running, not frozen.
func (m *Mosquitto) Save() {
	m.t.Helper()
	if !m.persistent {
		m.t.Fatal("mqtttest: Save of a broker started without persistence")
	}
	if m.cmd == nil || m.frozen {
		m.t.Fatal("mqtttest: Save of a broker that is not running")
	}
	db := filepath.Join(filepath.Dir(m.conf), "mosquitto.db")
	before, _ := os.Stat(db)
	if err := m.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		m.t.Fatalf("signal mosquitto to save: %v", err)
	}
	// mosquitto writes mosquitto.db.new and renames it over mosquitto.db:
	// a file that is not the one from before is the complete new one. The
	// wait returns as soon as it is; its bound is for a machine loaded by
	// other test binaries (5 s once ran out there).
	WaitFor(m.t, 30*time.Second, "mosquitto to write its persistence file", func() bool {
		now, err := os.Stat(db)
		return err == nil && (before == nil || !os.SameFile(before, now))
	})
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Subscriber collects every message on its subscription, in arrival order.
type Subscriber struct {
	client mqtt.Client
	mu     sync.Mutex
	msgs   []mqtt.Message
}

// Subscribe connects a subscriber to topic at QoS 1. With clean false it keeps
// a persistent session and reconnects by itself, so it receives what was
// published while it was away.
func Subscribe(t *testing.T, broker, topic, clientID string, clean bool) *Subscriber {
	t.Helper()
	s := &Subscriber{}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}
	s.client = mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		SetCleanSession(clean).
		SetAutoReconnect(!clean).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(2 * time.Second).
		// In order, so arrival order is the broker's order; the handler
		// only appends under a lock.
		SetOrderMatters(true).
		SetDefaultPublishHandler(handler))
	if tok := s.client.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(100) })
	if tok := s.client.Subscribe(topic, 1, handler); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return s
}

// Messages returns what arrived so far.
func (s *Subscriber) Messages() []mqtt.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mqtt.Message(nil), s.msgs...)
}

// LockedBuffer is an output buffer safe for concurrent use: a process's
// stdout or a logger's, written by one goroutine and read by the test.
type LockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// Publish publishes one message to broker at QoS 1 from a client of its
// own, clientID, and waits for the broker's acknowledgement: a test's
// stand-in for another publisher.
func Publish(t *testing.T, broker, clientID, topic string, payload []byte, retained bool) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectTimeout(2 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
