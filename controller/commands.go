package controller

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/uplink"
)

// Command reasons of the pod's own, beside hubcmd's (the verification) and
// the Refuse* ones (the merge's conditions).
const (
	// ReasonNotSupported: identify needs a light the pod can blink
	// outside its ambient light, which it does not have yet.
	ReasonNotSupported = "not_supported"
)

// commandLoop hands each command the uplink received to handleCommand,
// until ctx is done. It runs beside the telemetry loop: a command never
// touches the safety core except through the gate's direct safe state.
func (p *Pod) commandLoop(ctx context.Context) {
	in := p.parts.Uplink.Commands()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			p.handleCommand(m)
		}
	}
}

// handleCommand verifies a command, acts on it, replies (when it carries a
// jti to reply to) and reports it in a "command" event. A command the
// verifier refuses changes nothing. The hub can only make the pod safer:
// no command grants consent, clears a latch, loosens a limit or disarms a
// rule, and merge/start is accepted only on the pod's own conditions
// (StartMerge).
func (p *Pod) handleCommand(m uplink.Inbound) {
	now := time.Now()
	if m.Session != "" {
		// A merge-wide abort names its merge in its topic; like any
		// merge/abort it only makes the pod safer, so it needs no signature.
		if err := p.AbortMerge(m.Session, "merge-wide abort"); err != nil {
			return // not this pod's merge: nothing to do, nothing to say
		}
		p.commandEvent(now, map[string]any{"cmd": string(hubcmd.MergeAbortName), "source": "merge-wide", "session": m.Session, "signed": false}, nil)
		return
	}
	cmd, err := p.verifier.Verify(m.Payload, now, p.clockSynced())
	if err != nil {
		var ve *hubcmd.Error
		fields := map[string]any{"source": "hub"}
		jti := ""
		if errors.As(err, &ve) {
			jti = ve.JTI
		}
		if jti != "" {
			fields["jti"] = jti
		}
		p.log.Warn("hub command refused", "jti", jti, "err", err)
		p.commandEvent(now, fields, err)
		p.reply(now, jti, err)
		return
	}
	fields := map[string]any{"source": "hub", "jti": cmd.ID, "cmd": string(cmd.Name()), "signed": cmd.Signed}
	if cmd.KeyID != "" {
		fields["kid"] = cmd.KeyID
	}
	if cmd.Unverified != nil {
		fields["unverified"] = cmd.Unverified.Error()
	}
	err = p.act(cmd)
	p.log.Info("hub command", "cmd", cmd.Name(), "jti", cmd.ID, "signed", cmd.Signed, "err", err)
	p.commandEvent(now, fields, err)
	p.reply(now, cmd.ID, err)
}

// act carries out a verified command.
func (p *Pod) act(cmd hubcmd.Command) error {
	switch a := cmd.Args.(type) {
	case hubcmd.MergeStart:
		return p.StartMerge(MergeRequest{Session: a.Session, Dreamscape: a.Dreamscape, StartAt: a.Start, MaxDuration: a.MaxDuration})
	case hubcmd.MergeEnd:
		return p.EndMerge(a.Session, "merge/end")
	case hubcmd.MergeAbort:
		return p.AbortMerge(a.Session, "hub")
	case hubcmd.TelemetryInterval:
		p.SetTelemetryInterval(a.Interval)
		return nil
	case hubcmd.Identify:
		return &RefusedError{Reasons: []string{ReasonNotSupported}, Detail: "identify is not supported by this pod yet"}
	}
	return &RefusedError{Reasons: []string{string(hubcmd.ReasonUnknownCommand)}, Detail: "unknown command"}
}

// reasonOf is a reply's error: the stable reason code(s), then the detail.
func reasonOf(err error) string {
	var re *RefusedError
	var ve *hubcmd.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return strings.Join(re.Reasons, ",") + ": " + re.Detail
	case errors.As(err, &ve):
		return string(ve.Reason) + ": " + ve.Error()
	}
	return "failed: " + err.Error()
}

func (p *Pod) commandEvent(now time.Time, fields map[string]any, err error) {
	fields["ok"] = err == nil
	if err != nil {
		fields["error"] = reasonOf(err)
	}
	p.post(uplink.Event{Type: "command", Fields: fields}, now)
}

// reply journals the reply to a command with a jti; one without a jti
// cannot be answered (the event reports it).
func (p *Pod) reply(now time.Time, jti string, err error) {
	if jti == "" {
		return
	}
	if _, rerr := p.parts.Uplink.Reply(uplink.Reply{JTI: jti, OK: err == nil, Error: reasonOf(err)}, now); rerr != nil {
		p.log.Error("reply not recorded", "jti", jti, "err", rerr)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (p *Pod) clockSynced() bool {
	return p.cfg.ClockSynced != nil && p.cfg.ClockSynced()
}

// SetTelemetryInterval changes the telemetry cadence (a hub's
// telemetry/interval, already bounded by hubcmd); the next record comes one
// new interval after the change.
func (p *Pod) SetTelemetryInterval(d time.Duration) {
	p.telemetryEvery.Store(int64(d))
	select {
	case p.intervalChanged <- struct{}{}:
	default:
	}
}
