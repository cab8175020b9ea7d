package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

// consentPod is a pod that records the consent calls it receives.
type consentPod struct {
	mu    sync.Mutex
	calls []string
}

func (p *consentPod) record(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, s)
}

func (p *consentPod) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

func (p *consentPod) Status() api.Status { return api.Status{} }
func (p *consentPod) Ack(context.Context, controller.AckSource) (safety.Abort, error) {
	return safety.Abort{}, errors.New("unused")
}
func (p *consentPod) GrantConsent(source string, d time.Duration) (controller.Consent, error) {
	p.record("grant " + d.String())
	until := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return controller.Consent{Granted: true, ExpiresAt: &until, Source: source}, nil
}
func (p *consentPod) WithdrawConsent(string) controller.Consent {
	p.record("withdraw")
	return controller.Consent{}
}
func (p *consentPod) Audit() (journal.AuditReport, error) { return journal.AuditReport{}, nil }

// A mistyped subcommand of a command group (consent withdraw-it, audit
// verfy) is an error, as a mistyped top-level command is: exit status 1,
// not the group's help with exit status 0, which a technician's script
// takes for a consent withdrawn. Nothing reaches the pod.
func TestAMistypedSubcommandIsAnError(t *testing.T) {
	for _, args := range [][]string{
		{"consent", "withdraw-it"},
		{"consent", "grnat"},
		{"audit", "verfy"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			pod := &consentPod{}
			var out strings.Builder
			root := newRoot(&out)
			root.SetArgs(append([]string{"--socket", serveAPI(t, pod)}, args...))
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), `unknown command "`+args[1]+`"`) {
				t.Errorf("podctl %s = %v (output %q), want an unknown command error", strings.Join(args, " "), err, out.String())
			}
			if calls := pod.Calls(); len(calls) != 0 {
				t.Errorf("the pod received %v", calls)
			}
		})
	}
}

// --for 0s is outside the 1m..24h the flag's help gives: it is refused and
// nothing is granted, as --for 30s is (by the pod), not taken for "the
// pod's default" (12 h) as leaving --for out is.
func TestConsentGrantForZeroIsRefused(t *testing.T) {
	pod := &consentPod{}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, pod), "consent", "grant", "--for", "0s"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "1m0s..24h0m0s") {
		t.Errorf("consent grant --for 0s = %v (output %q), want refused as outside 1m0s..24h0m0s", err, out.String())
	}
	if calls := pod.Calls(); len(calls) != 0 {
		t.Errorf("the pod received %v, want nothing granted", calls)
	}
}
