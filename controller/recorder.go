package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// recorderTick is how often the recorder checks whether the outputs may
// open; storeRetry is how often it retries a store that refused a write.
const (
	recorderTick = 200 * time.Millisecond
	storeRetry   = time.Second
)

// ackRequest is a local acknowledgement handed to the recorder.
type ackRequest struct {
	ctx   context.Context
	src   AckSource
	reply chan ackReply // buffered: the recorder never waits for the caller
	// fate is decided once, by whoever gets there first: the recorder
	// (ackCommitted, once the store has committed the acknowledgement) or
	// the caller giving up (ackAbandoned). A caller that gives up before
	// the recorder begins the store's transaction stops it; one that gives
	// up during it is told the acknowledgement is not confirmed: once the
	// transaction commits, the latch is gone from the disk and the
	// acknowledgement takes effect all the same, so that the watchdog's
	// latch and the stored one never disagree.
	fate *atomic.Int32
}

// Fates of an ackRequest.
const (
	ackPending int32 = iota
	ackCommitted
	ackAbandoned
)

type ackReply struct {
	a   safety.Abort
	err error
}

// latchState is what the recorder knows of the stored latch. Only the
// recorder writes it; Status reads it under p.mu.
type latchState struct {
	known  bool          // the store's latch was read
	stored *safety.Abort // the latch the store holds, as far as known
	failed bool          // the last write of the latch failed
	// reported: the stored latch says its abort event is stored too.
	reported bool
}

// storedLatch is the latch as the recorder writes it: the abort, and
// whether its abort event is stored too. The latch is written first (the
// safe state must outlive a power cut) and the event in a commit of its own
// after it, so a kill between the two would leave a latch whose event is
// lost. The latch is written again, Reported true, once its event is
// stored; a start that restores a latch with Reported false posts its
// abort event again. A latch without the field (the journal's
// store_damaged latch, or one written before the field existed) counts as
// reported.
type storedLatch struct {
	safety.Abort
	Reported *bool `json:"reported,omitempty"`
}

// Post queues an event for the store, stored in order with the pod's own
// events, with its time at. It never blocks. Parts use it to report what
// they found (a store set aside after damage).
func (p *Pod) Post(e uplink.Event, at time.Time) { p.post(e, at) }

// post queues an event for the store and wakes the recorder. It never blocks.
func (p *Pod) post(e uplink.Event, at time.Time) {
	p.queue.push(e, at)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// recorder is the single writer of the store and the single opener of the
// outputs (see the package doc).
func (p *Pod) recorder(ctx context.Context) error {
	t := time.NewTicker(recorderTick)
	defer t.Stop()
	var lastTry time.Time // of a store write that failed
	storeReady := p.parts.Store.Ready()
	for {
		force := false
		select {
		case <-ctx.Done():
			// The safety core has stopped: store what it reported last.
			for {
				select {
				case a := <-p.aborts:
					p.recordAbort(a)
					continue
				default:
				}
				break
			}
			p.syncStore()
			if n := p.queue.len(); n > 0 {
				p.log.Error("events not stored at stop", "count", n)
			}
			return nil
		case a := <-p.aborts:
			p.recordAbort(a)
			force = true
		case req := <-p.acks:
			if r := p.ack(req); r.err != nil {
				req.reply <- r
			}
			force = true
		case <-storeReady:
			storeReady = nil
			force = true
		case <-p.wake:
			force = true
		case <-t.C:
		}
		p.watchDuplicate()
		p.parts.Uplink.SetDegraded(p.degradedParts())
		if force || (!lastTry.IsZero() && time.Since(lastTry) >= storeRetry) {
			if p.syncStore() {
				lastTry = time.Time{}
			} else {
				lastTry = time.Now()
			}
		}
		p.openOutputs()
	}
}

// watchDuplicate reports, once when it starts and once when it ends, that
// another pod with this id is online and the uplink publishes nothing.
func (p *Pod) watchDuplicate() {
	err := p.parts.Uplink.Duplicate()
	if (err != nil) == p.duplicate {
		return
	}
	p.duplicate = err != nil
	fields := map[string]any{"part": "uplink", "fault": "duplicate_pod", "active": p.duplicate}
	if err != nil {
		fields["error"] = err.Error()
	}
	p.post(uplink.Event{Type: "fault", Fields: fields}, time.Now())
}

// recordAbort reports an abort the watchdog latched (its safe state is
// already applied); syncStore then stores the latch and the events.
func (p *Pod) recordAbort(a safety.Abort) {
	p.log.Error("ABORT", "rule", a.Rule, "detail", a.Detail, "latency_ms", a.LatencyMS)
	p.postAbort(a)
	p.abortPosted = &a
	p.setState(StateAborted, a.At, a.Rule)
	p.sessionAborted(time.Now(), a.Rule)
}

// postAbort queues the abort event of a.
func (p *Pod) postAbort(a safety.Abort) {
	fields := map[string]any{
		"rule": a.Rule, "detail": a.Detail, "values": a.Values, "limit": a.Limit,
		"detected_at": uplink.FormatTime(a.At), "latency_ms": a.LatencyMS,
	}
	if a.SafeStateError != "" {
		fields["safe_state_error"] = a.SafeStateError
	}
	if !a.Began.IsZero() {
		fields["began_at"] = uplink.FormatTime(a.Began)
	}
	if a.Priority != "" {
		fields["priority"] = a.Priority
	}
	p.post(uplink.Event{Type: "abort", Fields: fields, Audit: true}, a.At)
}

// syncStore reads the stored latch once the store is open, stores the
// watchdog's latch if the store does not hold it, and stores the queued
// events in order. It reports whether everything is stored.
func (p *Pod) syncStore() bool {
	select {
	case <-p.parts.Store.Ready():
	default:
		return p.queue.len() == 0
	}
	if !p.latch().known {
		p.readLatch()
		p.readLastAck()
	}
	ok := p.storeLatch()
	for {
		q, more := p.queue.head()
		if !more {
			break
		}
		var err error
		if q.reply != nil {
			_, err = p.parts.Uplink.Reply(*q.reply, q.at)
		} else {
			_, err = p.parts.Uplink.Event(q.e, q.at)
		}
		if err != nil {
			p.storeFailing(err)
			return false
		}
		if q.reply != nil {
			p.keepReply(*q.reply, q.at)
		} else {
			p.keepEvent(q.e, q.at)
		}
		p.queue.pop()
	}
	if ok && !p.markReported() {
		return false
	}
	if ok {
		p.storeFailing(nil)
	}
	return ok
}

// markReported writes the stored latch again, marked reported, once its
// abort event is stored: every queued event is, and the latest abort posted
// is the stored latch. It reports false when that write failed.
func (p *Pod) markReported() bool {
	ls := p.latch()
	if ls.stored == nil || ls.reported || !sameAbort(ls.stored, p.abortPosted) {
		return true
	}
	if err := p.writeLatch(*ls.stored, true); err != nil {
		p.storeFailing(err)
		return false
	}
	p.mu.Lock()
	if sameAbort(p.latchSt.stored, ls.stored) {
		p.latchSt.reported = true
	}
	p.mu.Unlock()
	return true
}

// writeLatch stores a as the latch, saying whether its abort event is
// stored.
func (p *Pod) writeLatch(a safety.Abort, reported bool) error {
	b, err := json.Marshal(storedLatch{Abort: a, Reported: &reported})
	if err != nil {
		return err
	}
	return p.parts.Store.SetLatch(b)
}

// storeFailing logs when the store starts and stops refusing writes.
func (p *Pod) storeFailing(err error) {
	was := p.storeErr
	p.storeErr = err
	switch {
	case err != nil && was == nil:
		p.log.Error("store refuses writes; events kept in memory and retried", "err", err)
	case err == nil && was != nil:
		p.log.Info("store accepts writes again")
	}
}

// readLatch reads the latch an earlier run stored and restores it into the
// watchdog; an unreadable latch may be an abort, so it latches too.
func (p *Pod) readLatch() {
	b, ok, err := p.parts.Store.Latch()
	now := time.Now()
	var stored *safety.Abort
	reported := true
	switch {
	case err != nil:
		p.log.Error("stored latch unreadable", "err", err)
		stored = &safety.Abort{Rule: "latch_unreadable", Detail: fmt.Sprintf("stored latch cannot be read: %v", err), At: now}
	case ok:
		var l storedLatch
		if err := json.Unmarshal(b, &l); err != nil || l.Rule == "" {
			l = storedLatch{Abort: safety.Abort{Rule: "latch_unreadable", Detail: fmt.Sprintf("stored latch cannot be read: %q", b), At: now}}
		}
		stored = &l.Abort
		reported = l.Reported == nil || *l.Reported
	}
	p.mu.Lock()
	p.latchSt.known = true
	p.latchSt.stored = stored
	p.latchSt.reported = reported
	if stored != nil && stored.Rule == "latch_unreadable" {
		p.latchSt.stored = nil // written back as it is latched now
	}
	p.mu.Unlock()
	if !reported {
		// The run that latched it stopped before the latch was marked:
		// its abort event may never have been stored, and the hub may
		// not have had it.
		p.log.Warn("the stored latch is not marked reported: its abort event may have been lost; reporting it again", "rule", stored.Rule)
		p.postAbort(*stored)
		if p.abortPosted == nil { // else a newer abort latched since the start, and replaces this one
			p.abortPosted = stored
		}
	}
	if stored == nil {
		// An abort latched meanwhile was reported by recordAbort.
		if p.wd.Status().Latched == nil {
			p.setState(StateIdle, now, "start")
		}
		return
	}
	if cur := p.wd.Status().Latched; cur != nil {
		// An abort latched while the store was unknown is newer; it replaces
		// the stored one when it is written.
		p.log.Warn("store held an earlier latch; keeping the newer one", "stored", stored.Rule, "latched", cur.Rule)
		return
	}
	if err := p.wd.Restore(*stored); err != nil {
		// ErrLatched: an abort latched an instant ago is newer and kept.
		p.log.Warn("stored latch not restored", "err", err)
		return
	}
	p.log.Warn("latched before restart", "rule", stored.Rule, "detail", stored.Detail)
	// Aborted since the abort, across the restart: State reports the
	// latch's time from the Restore on, and the retained status agrees.
	p.setStateSince(StateAborted, stored.At, time.Now(), "latched before restart: "+stored.Rule, nil)
}

// storeLatch writes the watchdog's latch if the store does not hold it. It
// reports whether the store holds what the watchdog latched.
func (p *Pod) storeLatch() bool {
	want := p.wd.Status().Latched
	ls := p.latch()
	if want == nil || sameAbort(want, ls.stored) {
		return true
	}
	err := p.writeLatch(*want, false)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if !p.latchSt.failed {
			p.log.Error("abort latch not stored; retrying", "rule", want.Rule, "err", err)
		}
		p.latchSt.failed = true
		return false
	}
	if p.latchSt.failed {
		p.log.Info("abort latch stored", "rule", want.Rule)
	}
	p.latchSt.stored, p.latchSt.failed, p.latchSt.reported = want, false, false
	return true
}

func sameAbort(a, b *safety.Abort) bool {
	return a != nil && b != nil && a.Rule == b.Rule && a.At.Equal(b.At)
}

func (p *Pod) latch() latchState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latchSt
}

// Ack clears the latched abort on a local acknowledgement by src, and
// returns the abort it cleared. The ack event and its audit entry carry the
// abort's rule and detected_at, src and the time of the acknowledgement;
// they are stored in the one store transaction that deletes the stored
// latch, and Ack answers only once it has committed: a store that refuses
// it (full, failing, read-only) makes Ack fail, and the pod stays latched.
// It waits for the recorder at most until ctx is done: a store that hangs
// makes it fail, and the pod stays latched (if the transaction commits
// after the caller gave up, the latch is written back; the stored ack
// event and its audit entry stay). A refusal wraps ErrRefused; a
// src that is not valid (an unknown kind, an API caller without
// credentials, a note CleanAckNote would change) is an error that changes
// nothing.
func (p *Pod) Ack(ctx context.Context, src AckSource) (safety.Abort, error) {
	if err := src.check(); err != nil {
		return safety.Abort{}, fmt.Errorf("controller: ack: %w", err)
	}
	req := ackRequest{ctx: ctx, src: src, reply: make(chan ackReply, 1), fate: new(atomic.Int32)}
	if err := ctx.Err(); err != nil {
		return safety.Abort{}, fmt.Errorf("controller: ack: %w", err)
	}
	select {
	case p.acks <- req:
	case <-ctx.Done():
		return safety.Abort{}, fmt.Errorf("controller: ack: the pod is busy (its store may be hung): %w", ctx.Err())
	case <-p.stopped:
		return safety.Abort{}, fmt.Errorf("%w: the pod is stopping", ErrRefused)
	}
	select {
	case r := <-req.reply:
		return r.a, r.err
	case <-ctx.Done():
		if req.fate.CompareAndSwap(ackPending, ackAbandoned) {
			return safety.Abort{}, fmt.Errorf("controller: ack: the store did not answer in time; the acknowledgement is not confirmed (it takes effect if the store completes it: see the status): %w", ctx.Err())
		}
		// The recorder acknowledged first: its answer is on its way.
		r := <-req.reply
		return r.a, r.err
	}
}

// ack runs an acknowledgement on the recorder's goroutine.
func (p *Pod) ack(req ackRequest) ackReply {
	if req.ctx.Err() != nil || req.fate.Load() == ackAbandoned {
		return ackReply{err: fmt.Errorf("controller: ack abandoned by its caller: %w", context.Canceled)}
	}
	st := p.wd.Status()
	if st.Latched == nil {
		return ackReply{err: fmt.Errorf("%w: no latched abort", ErrRefused)}
	}
	a := *st.Latched
	if ls := p.latch(); !ls.known || !sameAbort(&a, ls.stored) {
		return ackReply{err: fmt.Errorf("%w: the abort is not stored yet (the store is not accepting writes); try again", ErrRefused)}
	} else if !ls.reported {
		// Cleared now, the latch could no longer bring the abort's event
		// back after a restart: the hub would never learn of the abort.
		return ackReply{err: fmt.Errorf("%w: the abort's event is not stored yet (the store is not accepting writes); try again", ErrRefused)}
	}
	if err := p.wd.CanAck(); err != nil {
		return ackReply{err: fmt.Errorf("%w: %v", ErrRefused, err)}
	}
	// The events queued before the acknowledgement are stored before its
	// own, in order; a store that does not take them will not take it.
	if p.queue.len() > 0 && !p.syncStore() {
		return ackReply{err: errors.New("controller: ack: earlier events are not stored (the store is not accepting writes); the pod stays latched")}
	}
	// The latch's deletion, the ack event and its audit entry are one
	// transaction (uplink.Event.ClearLatch): the latch is never gone from
	// the disk without the record of who cleared it.
	if req.ctx.Err() != nil || req.fate.Load() == ackAbandoned {
		return ackReply{err: fmt.Errorf("controller: ack abandoned by its caller: %w", context.Canceled)}
	}
	now := time.Now()
	ackEvent := uplink.Event{Type: "ack", Fields: ackFields(a, req.src), Audit: true, ClearLatch: true}
	if _, err := p.parts.Uplink.Event(ackEvent, now); err != nil {
		return ackReply{err: fmt.Errorf("controller: ack: the acknowledgement was not stored; the pod stays latched: %w", err)}
	}
	p.keepEvent(ackEvent, now)
	p.mu.Lock()
	p.latchSt.stored = nil
	p.mu.Unlock()
	// The commit decides: a caller that gave up meanwhile was told the
	// acknowledgement is not confirmed (fate), and it takes effect, so
	// that the disk, which no longer holds the latch, and the watchdog
	// agree.
	req.fate.CompareAndSwap(ackPending, ackCommitted)
	p.sessionAborted(now, a.Rule)
	if err := p.wd.Ack(a); err != nil {
		// A condition came back since CanAck: the pod stays latched, and
		// the latch is written back at once (the stored ack event and its
		// entry stay, followed by the latch; readLastAck skips such an
		// ack).
		p.storeLatch()
		return ackReply{err: fmt.Errorf("%w: %v", ErrRefused, err)}
	}
	p.mu.Lock()
	p.lastAck = &LastAck{Rule: a.Rule, DetectedAt: a.At, At: now, AckSource: req.src}
	p.mu.Unlock()
	req.reply <- ackReply{a: a}
	p.log.Info("abort acknowledged locally", "rule", a.Rule, "source", req.src.Kind, "user", req.src.User)
	p.setState(StateIdle, now, "acknowledged locally: "+a.Rule)
	return ackReply{a: a}
}

// holds lists what keeps the outputs in their safe state now.
func (p *Pod) holds() []string {
	var h []string
	if p.parts.Gate.Sealed() {
		h = append(h, HoldStopping)
	}
	if p.wd.Status().Latched != nil {
		h = append(h, HoldLatched)
	}
	if !p.latch().known {
		h = append(h, HoldLatchUnknown)
	}
	if p.wd.SafeFor() < p.cfg.SettleTime {
		h = append(h, HoldSettling)
	}
	p.mu.Lock()
	held := time.Now().Before(p.heldUntil)
	p.mu.Unlock()
	if held {
		h = append(h, HoldMergeLeft)
	}
	if p.show != nil && (p.show.sinceFrame() > ShowStallAfter || time.Now().UnixNano() < p.stallHeldUntil.Load()) {
		h = append(h, HoldShowStalled)
	}
	return h
}

// openOutputs opens the gate and lights the pod once nothing holds it. The
// generation is read before the holds, so a safe state applied after the
// check (an abort, the shutdown) makes OpenSince refuse.
func (p *Pod) openOutputs() {
	if !p.parts.Gate.Safe() {
		return
	}
	gen := p.parts.Gate.Generation()
	if len(p.holds()) > 0 {
		return
	}
	err := p.parts.Gate.OpenSince(gen)
	switch {
	case err == nil:
		p.openFailing = false
		p.log.Info("outputs open: vitals within every limit", "settled", p.cfg.SettleTime)
		p.light()
	case errors.Is(err, actuators.ErrSafeStateSince), errors.Is(err, actuators.ErrSealed):
	default:
		// An output is still halting (its bus hung): retried next tick.
		if !p.openFailing {
			p.log.Error("outputs stay in safe state for now", "err", err)
		}
		p.openFailing = true
	}
}

// light shows the ambient light, unless the gate is closed or the show
// loop plays (it shows the ambient light or the program by itself).
func (p *Pod) light() {
	if p.show != nil {
		return
	}
	pixels := make([]apa102.Color, p.cfg.LEDCount)
	for i := range pixels {
		pixels[i] = p.cfg.AmbientLight
	}
	err := p.parts.Gate.Do(func() error { return p.parts.Strip.Write(pixels) })
	if err != nil && !errors.Is(err, actuators.ErrSafeState) {
		p.log.Warn("ambient light", "err", err)
	}
}
