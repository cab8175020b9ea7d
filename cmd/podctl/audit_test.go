package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

func TestFormatAudit(t *testing.T) {
	tests := []struct {
		r    api.AuditReply
		want string
	}{
		{api.AuditReply{Intact: true, AuditReport: journal.AuditReport{Entries: 57, First: 1, Last: 57}},
			"audit log intact: entries 1-57 (0 pruned)\n"},
		{api.AuditReply{Intact: true, AuditReport: journal.AuditReport{Entries: 20000, First: 20001, Last: 40000, Pruned: 20000}},
			"audit log intact: entries 20001-40000 (20000 pruned)\n"},
		{api.AuditReply{Intact: true}, "audit log intact: no entries (0 pruned)\n"},
		{api.AuditReply{AuditReport: journal.AuditReport{Entries: 57, First: 1, Last: 57,
			Broken: &journal.AuditBreak{N: 12, Reason: journal.AuditBreakPrevMismatch, Detail: "prev hash does not match entry 11"}}},
			"audit log broken at entry 12: prev hash does not match entry 11\n           kept: entries 1-57 (0 pruned)\n"},
		{api.AuditReply{AuditReport: journal.AuditReport{Entries: 3, First: 8, Last: 10, Pruned: 7,
			Broken: &journal.AuditBreak{N: 4, Reason: journal.AuditBreakMissing, Detail: "entry 3 is missing", Pruned: true}}},
			"audit log broken at entry 4 (pruned since): entry 3 is missing\n           kept: entries 8-10 (7 pruned)\n"},
	}
	for _, tt := range tests {
		if got := formatAudit(tt.r); got != tt.want {
			t.Errorf("formatAudit(%+v) =\n%q\nwant\n%q", tt.r, got, tt.want)
		}
	}
}

// auditPod is a pod whose audit report is given; the rest is unused.
type auditPod struct {
	report journal.AuditReport
	err    error
}

func (p auditPod) Status() api.Status { return api.Status{} }
func (p auditPod) Ack(context.Context, controller.AckSource) (safety.Abort, error) {
	return safety.Abort{}, errors.New("unused")
}
func (p auditPod) GrantConsent(string, time.Duration) (controller.Consent, error) {
	return controller.Consent{}, errors.New("unused")
}
func (p auditPod) WithdrawConsent(string) controller.Consent { return controller.Consent{} }
func (p auditPod) Audit() (journal.AuditReport, error)       { return p.report, p.err }

// serveAPI runs the local API for pod on a socket and returns its path.
func serveAPI(t *testing.T, pod api.Pod) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "podctl")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "podd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	up := make(chan struct{})
	go func() { done <- api.NewServer(pod, path, nil).Run(ctx, func() { close(up) }) }()
	t.Cleanup(func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	})
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("API server: %v", err)
	}
	return path
}

// audit verify against a pod over its socket: the line, the JSON, and the
// error (exit status 4) only when the chain is broken.
func TestAuditVerifyOverTheSocket(t *testing.T) {
	run := func(pod api.Pod, args ...string) (string, error) {
		var out strings.Builder
		root := newRoot(&out)
		root.SetArgs(append([]string{"--socket", serveAPI(t, pod), "audit", "verify"}, args...))
		err := root.Execute()
		return out.String(), err
	}
	out, err := run(auditPod{report: journal.AuditReport{Entries: 5, First: 1, Last: 5}})
	if err != nil || out != "audit log intact: entries 1-5 (0 pruned)\n" {
		t.Fatalf("intact: %q, %v", out, err)
	}
	broken := journal.AuditReport{Entries: 5, First: 1, Last: 5, Broken: &journal.AuditBreak{N: 3, Reason: journal.AuditBreakMissing, Detail: "entry 2 is missing"}}
	out, err = run(auditPod{report: broken})
	if !errors.Is(err, errAuditBroken) || out != "audit log broken at entry 3: entry 2 is missing\n           kept: entries 1-5 (0 pruned)\n" {
		t.Fatalf("broken: %q, %v; want the line and errAuditBroken", out, err)
	}
	out, err = run(auditPod{report: broken}, "--json")
	if !errors.Is(err, errAuditBroken) || !strings.Contains(out, `"intact": false`) || !strings.Contains(out, `"reason": "missing"`) {
		t.Fatalf("broken --json: %q, %v", out, err)
	}
	_, err = run(auditPod{err: errors.New("journal.VerifyAudit: journal not open")})
	if err == nil || errors.Is(err, errAuditBroken) || err.Error() != "api: audit: 503: journal.VerifyAudit: journal not open" {
		t.Fatalf("store not open: %v", err)
	}
}
