package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakePod struct {
	mu       sync.Mutex
	state    string
	ackErr   error
	acks     int
	ackSrc   []controller.AckSource // each call's source
	consent  []string               // each call: "grant <d> by <source>" or "withdraw by <source>"
	audit    AuditReport
	auditErr error
}

func (p *fakePod) Audit() (AuditReport, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audit, p.auditErr
}

func (p *fakePod) GrantConsent(source string, d time.Duration) (Consent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.consent = append(p.consent, fmt.Sprintf("grant %v by %s", d, source))
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	return Consent{Granted: true, ExpiresAt: &at, Source: source}, nil
}

func (p *fakePod) WithdrawConsent(source string) Consent {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.consent = append(p.consent, "withdraw by "+source)
	return Consent{Source: source}
}

func (p *fakePod) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	hr := 61.5
	return Status{Pod: "pod-7", State: p.state, Simulated: true, Vitals: Vitals{HeartRateBPM: &hr},
		Safety: SafetyStatus{Level: safety.LevelAbort, Latched: &safety.Abort{Rule: safety.RuleHeartRateHigh}},
		Sensors: []SensorStatus{
			{Name: "max30102", State: "ok"},
			{Name: "tmp117", State: "bus_error", PollErrors: 4, OpenErrors: 3, Reopens: 1},
		}}
}

func (p *fakePod) Ack(_ context.Context, src controller.AckSource) (safety.Abort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acks++
	p.ackSrc = append(p.ackSrc, src)
	if p.ackErr != nil {
		return safety.Abort{}, p.ackErr
	}
	p.state = "idle"
	return safety.Abort{Rule: safety.RuleHeartRateHigh}, nil
}

func shortSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "podd-api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "podd.sock")
}

// serve runs a server for pod and returns a client; both stop at cleanup.
func serve(t *testing.T, pod Pod) (*Client, string) {
	t.Helper()
	path := shortSocket(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(pod, path, nil).Run(ctx, nil) }()
	c := NewClient(path)
	t.Cleanup(func() {
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left behind after shutdown: %v", err)
		}
	})
	// The socket file appears at bind, before listen: wait for one that
	// accepts a connection, or a request made at once can be refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return c, path
		}
		if time.Now().After(deadline) {
			t.Fatal("socket never accepted a connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStatusOverTheSocket(t *testing.T) {
	c, path := serve(t, &fakePod{state: "aborted"})
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pod != "pod-7" || st.State != "aborted" || !st.Simulated || st.Vitals.HeartRateBPM == nil || *st.Vitals.HeartRateBPM != 61.5 ||
		st.Vitals.SpO2Pct != nil || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh {
		t.Fatalf("status = %+v", st)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o660 {
		t.Fatalf("socket mode = %o, want 660", perm)
	}
}

func TestAckReplies(t *testing.T) {
	tests := []struct {
		name    string
		ackErr  error
		wantErr string
		refused bool
	}{
		{"cleared", nil, "", false},
		{"refused while unsafe", fmt.Errorf("%w: safety: cannot acknowledge while vitals are not valid", ErrRefused), "refused: safety: cannot acknowledge while vitals are not valid", true},
		{"store failure", errors.New("journal: clear latch: disk full"), "api: ack: 500: journal: clear latch: disk full", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &fakePod{state: "aborted", ackErr: tt.ackErr}
			c, _ := serve(t, pod)
			r, err := c.Ack(context.Background(), "")
			if tt.wantErr == "" {
				if err != nil || !r.OK || r.Cleared == nil || r.Cleared.Rule != safety.RuleHeartRateHigh {
					t.Fatalf("Ack = %+v, %v", r, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || errors.Is(err, ErrRefused) != tt.refused {
				t.Fatalf("Ack error = %v, want %q (refused %v)", err, tt.wantErr, tt.refused)
			}
		})
	}
}

func TestListenRefusesALiveSocketAndReplacesAStaleOne(t *testing.T) {
	_, path := serve(t, &fakePod{})
	if _, err := Listen(path); err == nil || err.Error() != fmt.Sprintf("api: %s is in use by another process", path) {
		t.Fatalf("Listen on a live socket = %v", err)
	}

	stale := shortSocket(t)
	ln, err := Listen(stale)
	if err != nil {
		t.Fatal(err)
	}
	// A crashed daemon leaves its socket file behind.
	ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	ln.Close()
	ln, err = Listen(stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()

	notSocket := shortSocket(t)
	if err := os.WriteFile(notSocket, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(notSocket); err == nil || err.Error() != fmt.Sprintf("api: %s exists and is not a socket", notSocket) {
		t.Fatalf("Listen over a file = %v", err)
	}
}
