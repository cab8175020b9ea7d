package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/uplink"
)

// commandLoop hands each command the uplink received to handleCommand,
// until ctx is done. It runs beside the telemetry loop: a command never
// touches the safety core except through the gate's direct safe state.
//
// There are two paths, each with its own verifier, budgets and answers,
// owned by one goroutine each. The aborts (merge-wide ones, and those on
// the cmd topic whose name reads merge/abort, unverified) are handled here,
// by a verifier whose replay cache is in memory: an abort never waits for
// the disk, whose replay cache can hang on a stuck SD card, and a replayed
// abort can only end a merge the pod is in. Every other command goes to
// commandWorker, whose verifier records each jti in the store's replay
// cache; its queue is bounded, and a command that finds it full is let go
// and counted (the worker is stuck on the disk).
func (p *Pod) commandLoop(ctx context.Context) {
	in, aborts := p.parts.Uplink.Commands(), p.parts.Uplink.MergeAborts()
	work := make(chan uplink.Inbound, workQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.commandWorker(ctx, work)
	}()
	defer func() { <-done }()
	// Unreported refusals are flushed as soon as their budget has a report
	// again: one comes back every unauthenticatedRefill/unauthenticatedBurst.
	flush := time.NewTicker(unauthenticatedRefill / unauthenticatedBurst)
	defer flush.Stop()
	for {
		// A merge-wide abort goes before any command waiting.
		select {
		case m := <-aborts:
			p.handleCommand(&p.abortPath, m)
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return
		case m := <-aborts:
			p.handleCommand(&p.abortPath, m)
		case m := <-in:
			if name, ok := hubcmd.PeekName(m.Payload); ok && name == hubcmd.MergeAbortName {
				p.handleCommand(&p.abortPath, m)
				continue
			}
			select {
			case work <- m:
			default:
				if p.cmdsLetGo.Add(1) == 1 {
					p.log.Warn("hub commands let go: the command worker is stuck (the store's replay cache)")
				}
			}
		case <-flush.C:
			p.flushUnreported(&p.abortPath, time.Now())
		}
	}
}

// workQueue is how many commands wait for commandWorker.
const workQueue = 16

// commandWorker handles the commands that are not aborts, one at a time,
// until ctx is done.
func (p *Pod) commandWorker(ctx context.Context, work <-chan uplink.Inbound) {
	flush := time.NewTicker(unauthenticatedRefill / unauthenticatedBurst)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-work:
			p.handleCommand(&p.cmdPath, m)
		case <-flush.C:
			p.flushUnreported(&p.cmdPath, time.Now())
		}
	}
}

// commandPath is one path of the hub's commands (see commandLoop): its
// verifier, the answers it gave and its report budgets. Only the goroutine
// of the path touches it.
type commandPath struct {
	verifier *hubcmd.Verifier
	answered answeredCache
	unauth   unauthLog // refusals of what anyone could have sent
	copies   unauthLog // copies of signed commands
}

// handleCommand verifies a command, acts on it, replies and reports it in a
// "command" event. It never waits for the disk: replies and events go
// through the recorder's queue. A command the verifier refuses changes
// nothing. The hub can only make the pod safer: no command grants consent,
// clears a latch, loosens a limit or disarms a rule, and merge/start is
// accepted only on the pod's own conditions (StartMerge).
//
// What anyone could have sent (a refusal whose signature did not verify:
// malformed, unsigned, forged, an unknown key; or an unsigned merge/abort
// that changed nothing) gets an error reply (when it names a jti) and an
// event, each, up to unauthenticatedBurst of them, the budget coming back at
// unauthenticatedBurst a minute; beyond it they are only counted, in the
// next one's event: a flood on the cmd topic is not turned into records on
// the SD card, and a hub whose key the pod does not know is still told
// why. Their answers are not kept: an unsigned message must not spend a
// jti the hub may sign. A signed command answered before (a
// broker's redelivery, QoS 1 being at least once) gets the same reply
// again and nothing else; an unsigned abort that ended a merge is answered
// each time (a second one finds no merge, and changes nothing).
func (p *Pod) handleCommand(c *commandPath, m uplink.Inbound) {
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
	cmd, err := c.verifier.Verify(m.Payload, now, p.clockSynced())
	if err != nil {
		var ve *hubcmd.Error
		if !errors.As(err, &ve) || !ve.Signed {
			jti := ""
			if ve != nil {
				jti = ve.JTI
			}
			p.budgeted(c, &c.unauth, now, jti, false, err)
			return
		}
		if r, ok := c.answered.get(ve.JTI); ok {
			// A signed command answered before. Delivered again (the
			// broker's redelivery, QoS 1 being at least once): its first
			// answer, once. Any later copy (anyone who read the token on
			// the broker can publish it again, expired or not) is only
			// counted, and reported by flushUnreported: copies of one
			// token are not turned into a record each.
			if errors.Is(err, hubcmd.ReasonReplayed) && c.answered.resend(ve.JTI) {
				p.postReply(r, now)
				return
			}
			c.copies.suppressed++
			return
		}
		if errors.Is(err, hubcmd.ReasonExpired) || errors.Is(err, hubcmd.ReasonWrongAudience) || errors.Is(err, hubcmd.ReasonReplayed) {
			// What a copy of a token the hub signed for another time or
			// another pod is refused for, and one whose answer is no
			// longer kept: the copies' budget, so that cycling through
			// more tokens than the answers kept is not a record each.
			p.budgeted(c, &c.copies, now, ve.JTI, true, err)
			return
		}
		p.log.Warn("hub command refused", "jti", ve.JTI, "err", err)
		p.commandEvent(now, map[string]any{"source": "hub", "jti": ve.JTI, "signed": true}, err)
		p.reply(c, now, ve.JTI, true, err)
		return
	}
	err = p.act(cmd)
	if !cmd.Signed && err != nil {
		// An unsigned abort that changed nothing (no merge, or another
		// one): anyone could have sent it, so it is treated as any
		// unauthenticated message.
		p.budgeted(c, &c.unauth, now, cmd.ID, false, err)
		return
	}
	fields := map[string]any{"source": "hub", "jti": cmd.ID, "cmd": string(cmd.Name()), "signed": cmd.Signed}
	if cmd.KeyID != "" {
		fields["kid"] = cmd.KeyID
	}
	if cmd.Unverified != nil {
		fields["unverified"] = cmd.Unverified.Error()
	}
	p.log.Info("hub command", "cmd", cmd.Name(), "jti", cmd.ID, "signed", cmd.Signed, "err", err)
	p.commandEvent(now, fields, err)
	p.reply(c, now, cmd.ID, cmd.Signed, err)
}

// unauthenticatedBurst is how many refusals of commands that anyone could
// have sent are reported (an event and a reply each) at once; the budget
// refills at unauthenticatedBurst per unauthenticatedRefill. Copies of
// signed commands have a budget of their own: refusals for what a copy is
// refused for (expired, wrong audience, replayed), and copies of commands
// answered before, which are only counted.
const (
	unauthenticatedBurst  = 5
	unauthenticatedRefill = time.Minute
)

// budgeted reports a refusal by the verifier within the budget u: an
// event, and a reply to jti when there is one. Beyond the budget it is
// only counted, and the count goes in the next event of the same budget:
// the next refusal reported, or flushUnreported's once the budget is back.
func (p *Pod) budgeted(c *commandPath, u *unauthLog, now time.Time, jti string, signed bool, err error) {
	if !u.take(now) {
		u.suppressed++
		return
	}
	fields := map[string]any{"source": "hub", "signed": signed}
	if jti != "" {
		fields["jti"] = jti
	}
	if u.suppressed > 0 {
		fields["unreported_before"] = u.suppressed
	}
	p.log.Warn("hub command refused", "signed", signed, "jti", jti, "err", err, "unreported_before", u.suppressed)
	p.commandEvent(now, fields, err)
	p.reply(c, now, jti, signed, err)
	u.suppressed = 0
}

// ReasonUnreported is the error of the event that counts refusals that
// were not reported one by one, once their budget is back.
const ReasonUnreported = "unreported"

// flushUnreported reports, for each budget whose refusals went unreported
// and that has a report to spend again, how many: a flood that stops is
// accounted for without waiting for the next refusal.
func (p *Pod) flushUnreported(c *commandPath, now time.Time) {
	for _, b := range []struct {
		u      *unauthLog
		signed bool
	}{{&c.unauth, false}, {&c.copies, true}} {
		if b.u.suppressed == 0 || !b.u.take(now) {
			continue
		}
		n := b.u.suppressed
		p.log.Warn("hub command refusals not reported one by one", "signed", b.signed, "count", n)
		p.commandEvent(now, map[string]any{"source": "hub", "signed": b.signed, "unreported_before": n},
			&RefusedError{Reasons: []string{ReasonUnreported}, Detail: fmt.Sprintf("%d refused command(s) over the budget of %d a minute", n, unauthenticatedBurst)})
		b.u.suppressed = 0
	}
}

// unauthLog is a budget of reports, a token bucket; only the command loop
// touches it.
type unauthLog struct {
	tokens     float64
	at         time.Time // when tokens was last brought up to date
	suppressed int
}

// take spends one report of the budget, if there is one left at now.
func (u *unauthLog) take(now time.Time) bool {
	if u.at.IsZero() {
		u.tokens = unauthenticatedBurst
	} else if d := now.Sub(u.at); d > 0 {
		u.tokens = min(unauthenticatedBurst, u.tokens+unauthenticatedBurst*d.Seconds()/unauthenticatedRefill.Seconds())
	}
	u.at = now
	if u.tokens < 1 {
		return false
	}
	u.tokens--
	return true
}

// answeredCache keeps the replies given to the last answeredMax commands
// by jti, to answer a redelivery the same way; only the command loop
// touches it.
type answeredCache struct {
	byJTI map[string]*answer
	order []string
}

// answer is a reply given, and whether it was given again already.
type answer struct {
	reply  uplink.Reply
	resent bool
}

const answeredMax = 256

func (c *answeredCache) get(jti string) (uplink.Reply, bool) {
	a, ok := c.byJTI[jti]
	if !ok || jti == "" {
		return uplink.Reply{}, false
	}
	return a.reply, true
}

// resend reports whether jti's answer may be given again (once), and
// spends that.
func (c *answeredCache) resend(jti string) bool {
	a, ok := c.byJTI[jti]
	if !ok || a.resent {
		return false
	}
	a.resent = true
	return true
}

func (c *answeredCache) put(r uplink.Reply) {
	if r.JTI == "" {
		return
	}
	if c.byJTI == nil {
		c.byJTI = map[string]*answer{}
	}
	if _, ok := c.byJTI[r.JTI]; !ok {
		c.order = append(c.order, r.JTI)
	}
	c.byJTI[r.JTI] = &answer{reply: r}
	if len(c.order) > answeredMax {
		delete(c.byJTI, c.order[0])
		c.order = c.order[1:]
	}
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
		return p.Identify(a.Duration)
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
		return string(ve.Reason) + ": " + ve.Detail()
	}
	return "failed: " + err.Error()
}

func (p *Pod) commandEvent(now time.Time, fields map[string]any, err error) {
	fields["ok"] = err == nil
	if err != nil {
		fields["error"] = reasonOf(err)
	}
	p.post(uplink.Event{Type: "command", Fields: fields, Audit: true}, now)
}

// reply queues the reply to a command with a jti, and keeps it for a
// redelivery; one without a jti cannot be answered (the event reports it).
func (p *Pod) reply(c *commandPath, now time.Time, jti string, signed bool, err error) {
	if jti == "" {
		return
	}
	r := uplink.Reply{JTI: jti, OK: err == nil, Error: reasonOf(err)}
	if signed {
		// Only the answers to signed commands are kept: an unsigned one
		// must not spend a jti the hub may sign, nor push out its answers.
		c.answered.put(r)
	}
	p.postReply(r, now)
}

// postReply queues a reply for the recorder, which stores it in order with
// the events; it never blocks.
func (p *Pod) postReply(r uplink.Reply, at time.Time) {
	p.queue.pushReply(r, at)
	select {
	case p.wake <- struct{}{}:
	default:
	}
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
