package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/journal"
)

// inflight is one record published on the current connection and not yet
// settled.
type inflight struct {
	seq  uint64
	tok  mqtt.Token
	sent time.Time
}

// journalRetry is how soon a journal read that failed is tried again when
// nothing else wakes the drainer.
const journalRetry = time.Second

// serve subscribes to the pod's own status, publishes the birth status,
// then drains the outbox over c until the connection is lost
// (errConnectionLost), stalls, another pod's online status arrives (a
// *DuplicateError), or ctx is done (ctx.Err()). A journal that cannot be
// read does not end it: the birth is already out, and the drain starts once
// the journal answers.
func (u *Uplink) serve(ctx context.Context, c *conn) error {
	u.connected.Store(true)
	defer u.connected.Store(false)
	u.current.Store(c)
	defer u.current.Store(nil)

	d := drainer{u: u, c: c}
	// Subscribed before the birth, on the same connection: what the broker
	// holds retained then is what was there before this pod spoke.
	d.watchTok = c.link.Subscribe(u.topicStatus, 1, u.watchStatus(c))
	// The hub's commands, and every merge's merge-wide abort (the pod
	// acts only on its own merge's). paho delivers them to handle, which
	// never blocks; retained ones are ignored there.
	u.in.refused.Store(false)
	d.cmdToks = []mqtt.Token{c.link.Subscribe(u.root+TopicCmd, 1, u.handle), c.link.Subscribe(MergeAbortFilter, 1, u.handle)}
	if u.cfg.RequireHub {
		// What the pod knew of the hub is stale on a new connection: the
		// retained status, delivered on subscribing, tells it afresh.
		u.hub.state.Store(hubUnknown)
		d.announced = u.hub.announced.Load()
		d.progress = time.Now()
		d.hubToks = []mqtt.Token{c.link.Subscribe(HubStatusTopic, 1, u.handleHubStatus), c.link.Subscribe(u.root+TopicReceipt, 1, u.handleReceipt)}
	}
	// The birth carries the latest status, so a change signalled while
	// disconnected is already in it.
	select {
	case <-u.statusWake:
	default:
	}
	d.publishStatus()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	retry := time.NewTimer(journalRetry)
	retry.Stop()
	defer retry.Stop()
	receiptTimer := time.NewTimer(time.Hour)
	receiptTimer.Stop()
	defer receiptTimer.Stop()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var receiptC <-chan time.Time
		if u.cfg.RequireHub {
			d.hubTurn()
			if due, ok := d.receiptDue(); ok {
				receiptTimer.Reset(time.Until(due))
				receiptC = receiptTimer.C
			} else {
				receiptTimer.Stop()
			}
		}
		// Taken before the read: a commit after it wakes the loop.
		d.committed = u.store.Committed()
		var retryC <-chan time.Time
		if read, err := d.advance(ctx); err != nil {
			u.readFault.fail(err)
			retry.Reset(journalRetry)
			retryC = retry.C
		} else if read {
			u.readFault.ok()
		}

		var headDone, statusDone, watchDone, cmdDone, hubSubDone <-chan struct{}
		if d.watchTok != nil {
			watchDone = d.watchTok.Done()
		}
		if len(d.hubToks) > 0 {
			hubSubDone = d.hubToks[0].Done()
		}
		if len(d.cmdToks) > 0 && d.cmdToks[0] != nil {
			cmdDone = d.cmdToks[0].Done()
		}
		if len(d.window) > 0 {
			headDone = d.window[0].tok.Done()
			timer.Reset(time.Until(d.window[0].sent.Add(u.cfg.PublishTimeout)))
		} else {
			timer.Stop()
		}
		if d.statusTok != nil {
			statusDone = d.statusTok.Done()
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.lost:
			return errConnectionLost
		case <-c.watch.found:
			return c.watch.foreign
		case <-watchDone:
			d.watchSettled()
		case <-cmdDone:
			d.commandSubscriptionSettled()
		case <-hubSubDone:
			d.hubSubscriptionSettled()
		case <-u.hub.wake:
		case <-receiptC:
			d.receiptTimedOut()
		case <-u.wake:
		case <-d.committed:
		case <-u.statusWake:
			d.publishStatus()
		case <-statusDone:
			if err := d.statusTok.Error(); err != nil {
				u.log.Warn("status not published", "err", err)
			}
			d.statusTok = nil
		case <-headDone:
			d.reap()
		case <-retryC:
		case <-timer.C:
			return fmt.Errorf("no acknowledgement for seq %d within %v", d.window[0].seq, u.cfg.PublishTimeout)
		}
	}
}

// drainer is the state of one connection's drain; it lives in serve's
// goroutine only.
type drainer struct {
	u      *Uplink
	c      *conn
	window []inflight
	// ahead holds records read from the journal (so committed) and not yet
	// published on this connection, oldest first, all above the last one
	// published; read is the highest seq read, where the next read starts.
	// The journal is read a window's worth at a time, not once per freed
	// slot.
	ahead []journal.Record
	read  uint64
	// committed is the journal's Committed channel, taken at the top of
	// each turn of serve's loop, before the journal is read. caughtUp: a
	// read found fewer records than it asked for while the channel was
	// caughtUpAt, so there is nothing more to read until the journal's
	// next commit, the only way a record becomes visible to Pending, which
	// replaces the channel.
	committed, caughtUpAt <-chan struct{}
	caughtUp              bool
	rewind                bool // a send failed: stop, let the window settle, start over
	statusTok             mqtt.Token
	watchTok              mqtt.Token   // the subscription to the pod's own status, until acknowledged
	cmdToks               []mqtt.Token // the subscriptions to the commands and the merge-wide aborts, until acknowledged

	// With Config.RequireHub: hubToks are the subscriptions to the hub's
	// status and to the pod's receipt, until acknowledged; announced is the
	// hub's announcements already answered by a rewind; progress is when
	// the receipt last advanced, or the backlog was last sent again from
	// its oldest record; timeouts counts the resends since the receipt
	// last advanced (receiptDue backs off by it).
	hubToks   []mqtt.Token
	announced uint64
	progress  time.Time
	timeouts  int
}

// watchSettled reports a subscription to the pod's own status that did not
// take: refused by the broker, or failed on a connection still up (one
// that failed with its connection is that connection's end, reported as
// such).
func (d *drainer) watchSettled() {
	tok := d.watchTok
	d.watchTok = nil
	if err := tok.Error(); err != nil {
		select {
		case <-d.c.lost:
		default:
			d.u.log.Warn("subscription to this pod's own status failed: another pod coming online under this id is not watched for on this connection", "err", err)
		}
		return
	}
	if refused(tok) {
		d.u.watchRefused(d.u.topicStatus)
	}
}

// commandSubscriptionSettled checks the first of the command subscriptions
// still waiting. One the broker refused (an ACL that lets the pod publish
// but not read them) leaves the pod deaf to the hub's aborts on this
// connection: that is an error in the log, and CommandsRefused says so
// until the next connection subscribes again.
func (d *drainer) commandSubscriptionSettled() {
	tok := d.cmdToks[0]
	d.cmdToks = d.cmdToks[1:]
	topic := d.u.root + TopicCmd
	if len(d.cmdToks) == 0 {
		topic = MergeAbortFilter
	}
	err := tok.Error()
	if err == nil && !refused(tok) {
		return
	}
	select {
	case <-d.c.lost:
		return // the connection ended: the next one subscribes again
	default:
	}
	d.u.in.refused.Store(true)
	d.u.log.Error("subscription refused: the pod does not hear the hub's commands or merge-wide aborts on this connection",
		"topic", topic, "err", err, "remedy", "let the pod's user read "+topic)
}

func (d *drainer) publishStatus() {
	d.statusTok = d.c.link.Publish(d.u.topicStatus, 1, true, d.u.status(true, time.Time{}))
}

// advance learns the connection's historical boundary if it is still
// unknown, then, unless a rewind is settling, fills the window. read reports
// whether the journal was read at all; err is the first read that failed.
func (d *drainer) advance(ctx context.Context) (read bool, err error) {
	if d.c.startSeq.Load() == 0 {
		read = true
		// Under appendMu, so no append can take a seq between this read
		// and the boundary it sets (the append would then be marked
		// historical although it was made on this connection).
		d.u.appendMu.Lock()
		seq, err := d.u.store.NextSeq()
		if err == nil {
			d.c.startSeq.CompareAndSwap(0, seq)
		}
		d.u.appendMu.Unlock()
		if err != nil {
			return read, err
		}
	}
	if d.rewind {
		return read, nil
	}
	return true, d.fill(ctx)
}

// fill publishes the records after the last one published until the
// window is full, the outbox has no more, the link refuses a publish or ctx
// is done. It reads the journal only when what it read before is all
// published, and then a whole window's worth; once a read came back short,
// not again before the journal's next commit.
func (d *drainer) fill(ctx context.Context) error {
	u := d.u
	if u.cfg.RequireHub && u.hub.state.Load() != hubOnline {
		return nil // the backlog is held until the hub is online
	}
	startSeq := d.c.startSeq.Load()
	for len(d.window) < u.cfg.Window {
		if len(d.ahead) == 0 {
			if d.caughtUp && d.caughtUpAt == d.committed {
				return nil
			}
			recs, err := u.store.Pending(d.read, u.cfg.Window)
			if err != nil {
				return err
			}
			d.caughtUp, d.caughtUpAt = len(recs) < u.cfg.Window, d.committed
			if len(recs) == 0 {
				return nil
			}
			d.ahead, d.read = recs, recs[len(recs)-1].Seq
		}
		if ctx.Err() != nil {
			// Each Publish may block while paho's writer is stalled: a
			// stop must not wait for the rest of the window.
			return nil
		}
		r := d.ahead[0]
		d.ahead[0] = journal.Record{}
		d.ahead = d.ahead[1:]
		// A record a receipt already covers is sent all the same: a
		// receipt deletes only what a broker acknowledged (await), since
		// anyone who may publish on the receipt topic can write one.
		payload, ok := []byte(nil), r.Corrupt == nil
		if ok {
			payload, ok = withHistorical(r.Payload, r.Seq < startSeq)
		}
		if !ok {
			d.discard(r)
			continue
		}
		tok := d.c.link.Publish(r.Topic, 1, false, payload)
		d.window = append(d.window, inflight{seq: r.Seq, tok: tok, sent: time.Now()})
		if failed(tok) {
			// Not connected, or paho gave up handing it to its writer:
			// the ones after it would fail alike. Send nothing more until
			// the window settles and reap starts over.
			d.rewind = true
			return nil
		}
	}
	return nil
}

// failed reports whether tok has already completed with an error.
func failed(tok mqtt.Token) bool {
	select {
	case <-tok.Done():
		return tok.Error() != nil
	default:
		return false
	}
}

// reap settles every completed publish: trusted ones are deleted from the
// journal in one transaction, the others mark the drain for a rewind.
func (d *drainer) reap() {
	var acked []uint64
	kept := d.window[:0]
	for _, f := range d.window {
		select {
		case <-f.tok.Done():
		default:
			kept = append(kept, f)
			continue
		}
		// Read the epoch after seeing the token done. With paho's reconnect
		// off, a connection loss fails every pending token before its
		// OnConnectionLost advances the epoch; the epoch check guards the
		// tokens paho completes without a PUBACK when it resends (its own
		// reconnect) or when a connection this package closed is replaced.
		if err := f.tok.Error(); err != nil || d.u.epoch.Load() != d.c.epoch {
			d.rewind = true
			continue
		}
		acked = append(acked, f.seq)
	}
	clear(d.window[len(kept):])
	d.window = kept
	if d.u.cfg.RequireHub {
		// The broker's PUBACK only paces the window: the record waits in
		// the outbox for the hub's receipt.
		for _, seq := range acked {
			d.await(seq)
		}
	} else {
		d.delete(acked...)
	}
	d.resetIfSettled()
}

// resetIfSettled starts the drain over from the oldest record in the
// journal once a rewind's window has emptied: what was read ahead is read
// again.
func (d *drainer) resetIfSettled() {
	if d.rewind && len(d.window) == 0 {
		clear(d.ahead)
		d.rewind, d.ahead, d.read, d.caughtUp = false, nil, 0, false
	}
}

// delete queues the deletion of seqs in the journal.
func (d *drainer) delete(seqs ...uint64) {
	if len(seqs) == 0 {
		return
	}
	if err := d.u.store.Delete(seqs...); err != nil {
		// They stay in the outbox and go out again when the drain next
		// starts over (a rewind, the next connection): a duplicate, not
		// a loss.
		d.u.deleteFault.fail(err)
	} else {
		d.u.deleteFault.ok()
	}
}

// discard removes a record that cannot be sent and reports the gap.
func (d *drainer) discard(r journal.Record) {
	u := d.u
	cause := r.Corrupt
	if cause == nil {
		cause = errors.New("payload is not a JSON object")
	}
	u.log.Error("corrupt record discarded", "seq", r.Seq, "err", cause)
	u.appendMu.Lock()
	_, err := u.reportDropped(journal.Dropped{From: r.Seq, To: r.Seq, Count: 1}, "corrupt", cause.Error())
	u.appendMu.Unlock()
	if err != nil {
		// Keep the record: deleting it unreported would leave a silent gap.
		u.log.Error("reporting corrupt record", "seq", r.Seq, "err", err)
		return
	}
	if err := u.store.Delete(r.Seq); err != nil {
		u.log.Error("deleting corrupt record", "seq", r.Seq, "err", err)
	}
}
