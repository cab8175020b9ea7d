package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// mosquitto is a broker process this program started and stops.
type mosquitto struct {
	cmd     *exec.Cmd
	out     *lockedBuffer
	exited  chan struct{}
	port    int
	version string
}

// mosquittoBinary finds mosquitto on PATH or where Debian installs it.
func mosquittoBinary() (string, error) {
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin, nil
		}
	}
	return "", errors.New("mosquitto not found (apt-get install mosquitto, or make deps)")
}

// startMosquitto runs a plain, anonymous, non-persistent broker on a free
// loopback port, configured in dir, and waits until it listens.
func startMosquitto(dir string) (*mosquitto, error) {
	bin, err := mosquittoBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	var conf strings.Builder
	conf.WriteString("persistence false\nallow_anonymous true\n")
	if os.Geteuid() == 0 {
		// Otherwise mosquitto drops to a user that may not read dir.
		conf.WriteString("user root\n")
	}
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", port)
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		return nil, err
	}
	m := &mosquitto{out: &lockedBuffer{}, exited: make(chan struct{}), port: port, version: mosquittoVersion(bin)}
	m.cmd = exec.Command(bin, "-c", path)
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	go func() {
		_ = m.cmd.Wait()
		close(m.exited)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-m.exited:
			return nil, fmt.Errorf("mosquitto exited: %s", m.out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", m.addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return m, nil
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("mosquitto not listening on %s after 5s: %s", m.addr(), m.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *mosquitto) addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

func (m *mosquitto) url() string { return "tcp://" + m.addr() }

// stop ends the broker with SIGTERM, and kills it if it has not exited
// 5 s later.
func (m *mosquitto) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

// mosquittoVersion is the first line of mosquitto -h ("mosquitto version
// 2.0.11"), which exits non-zero.
func mosquittoVersion(bin string) string {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
