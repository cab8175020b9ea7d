package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

// ackPod is a latched pod that records the sources of the acks it gets.
type ackPod struct {
	mu   sync.Mutex
	srcs []controller.AckSource
}

var ackedAbort = safety.Abort{Rule: "spo2_low", Detail: "spo2_pct 86.0 below 90 for 10.2 s (delay 10.0 s)", At: time.Date(2026, 11, 30, 3, 12, 0, 0, time.UTC)}

func (p *ackPod) Status() api.Status { return api.Status{} }
func (p *ackPod) Ack(_ context.Context, src controller.AckSource) (safety.Abort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.srcs = append(p.srcs, src)
	return ackedAbort, nil
}
func (p *ackPod) GrantConsent(string, time.Duration) (controller.Consent, error) {
	return controller.Consent{}, nil
}
func (p *ackPod) WithdrawConsent(string) controller.Consent { return controller.Consent{} }
func (p *ackPod) Audit() (journal.AuditReport, error)       { return journal.AuditReport{}, nil }

// podctl ack --note sends the note; the pod records this process's own
// uid and pid, and podctl prints what was recorded.
func TestAckWithANote(t *testing.T) {
	pod := &ackPod{}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, pod), "ack", "--note", "refixed the sensor;\nsleeper fine"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if len(pod.srcs) != 1 || pod.srcs[0].Note != "refixed the sensor; sleeper fine" || *pod.srcs[0].UID != uint32(os.Getuid()) || *pod.srcs[0].PID != int32(os.Getpid()) {
		t.Fatalf("the pod heard %+v", pod.srcs)
	}
	who := fmt.Sprintf("(uid %d, pid %d)", os.Getuid(), os.Getpid())
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		who = "user " + u.Username + " " + who
	}
	want := "cleared abort spo2_low (spo2_pct 86.0 below 90 for 10.2 s (delay 10.0 s))\nrecorded as by api, " + who + `: "refixed the sensor; sleeper fine"` + "\n"
	if out.String() != want {
		t.Fatalf("podctl ack said\n%s\nwant\n%s", out.String(), want)
	}
}

// A note the pod would not record (an escape sequence) is refused before
// any acknowledgement: exit status 1, nothing cleared.
func TestAckWithABadNoteIsRefused(t *testing.T) {
	pod := &ackPod{}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, pod), "ack", "--note", "\x1b[2Jgone"})
	err := root.Execute()
	if err == nil || err.Error() != "api: ack: 400: note has the control or format character U+001B at byte 0: write plain text" {
		t.Fatalf("podctl ack with an escape = %v (output %q)", err, out.String())
	}
	if len(pod.srcs) != 0 {
		t.Fatalf("the pod heard %+v", pod.srcs)
	}
}

func TestFormatAckSource(t *testing.T) {
	uid, pid := uint32(1000), int32(4242)
	for _, tt := range []struct {
		s    controller.AckSource
		want string
	}{
		{controller.AckSource{Kind: "button"}, "button"},
		{controller.AckSource{Kind: "api", UID: &uid, PID: &pid, User: "tech", Note: "ok"}, `api, user tech (uid 1000, pid 4242): "ok"`},
		{controller.AckSource{Kind: "api", UID: &uid, PID: &pid}, "api (uid 1000, pid 4242)"},
	} {
		if got := formatAckSource(tt.s); got != tt.want {
			t.Errorf("formatAckSource(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
