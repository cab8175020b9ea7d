package uplink

import (
	"math"
	"slices"
	"time"
)

// The drainer's side of Config.RequireHub: the hub's status and receipts,
// applied in serve's goroutine (see "The hub's receipts" in the package doc).

// hubTurn applies what paho's handlers learnt of the hub since the last
// turn: a receipt that advanced deletes what it covers; an announcement of
// the hub (online again, or a hub that started) sends the backlog again
// from its oldest record.
func (d *drainer) hubTurn() {
	d.applyReceipt()
	if a := d.u.hub.announced.Load(); a != d.announced {
		d.announced, d.timeouts = a, 0
		d.startOver()
	}
}

// applyReceipt takes the latest receipt if it is above the one applied and
// below the journal's next seq (a receipt for seqs the pod never made is
// the hub's mistake, or another pod's under this id: ignored, logged once
// per value), and deletes the records it covers among those the broker
// acknowledged (awaiting): never one this pod has not sent.
func (d *drainer) applyReceipt() {
	u := d.u
	offered := u.hub.offered.Load()
	if offered == math.MaxUint64 || offered == u.rejected {
		return
	}
	if cur := u.hub.receipt.Load(); cur != math.MaxUint64 && offered <= cur {
		return // no news, or lower than the one applied: ignored
	}
	next, err := u.store.NextSeq()
	if err != nil {
		return // tried again at the next turn
	}
	if offered >= next {
		u.rejected = offered
		u.log.Warn("receipt above every seq this pod made: ignored", "upto", offered, "next_seq", next)
		return
	}
	u.hub.receipt.Store(offered)
	d.progress, d.timeouts = time.Now(), 0
	n, _ := slices.BinarySearch(u.awaiting, offered+1)
	done := slices.Clone(u.awaiting[:n])
	u.awaiting = slices.Delete(u.awaiting, 0, n)
	d.delete(done...)
}

// receipted reports whether the hub has receipted seq.
func (d *drainer) receipted(seq uint64) bool {
	r := d.u.hub.receipt.Load()
	return r != math.MaxUint64 && seq <= r
}

// await keeps seq, acknowledged by the broker, until the hub receipts it;
// one a receipt applied earlier covers is deleted at once.
func (d *drainer) await(seq uint64) {
	if d.receipted(seq) {
		// The receipt came before the PUBACK.
		d.delete(seq)
		return
	}
	a := d.u.awaiting
	if n := len(a); n == 0 || a[n-1] < seq {
		d.u.awaiting = append(a, seq)
		return
	}
	if i, found := slices.BinarySearch(a, seq); !found {
		d.u.awaiting = slices.Insert(a, i, seq)
	}
}

// maxReceiptBackoff bounds the doubling of the wait between resends that
// no receipt follows: ReceiptTimeout times 2^4 (8 min at the default).
const maxReceiptBackoff = 4

// receiptDue is when the records acknowledged and not receipted are sent
// again, while the hub is online: ReceiptTimeout after the receipt last
// advanced, and after each resend that no receipt followed twice as long
// as before, up to 2^maxReceiptBackoff times ReceiptTimeout (a hub that
// reads but does not receipt, or one that is stuck, is not sent the whole
// backlog every ReceiptTimeout all night). A receipt that advances, a hub
// that announces itself and a new connection start again from
// ReceiptTimeout. ok is false when nothing waits.
func (d *drainer) receiptDue() (due time.Time, ok bool) {
	if len(d.u.awaiting) == 0 || d.u.hub.state.Load() != hubOnline {
		return time.Time{}, false
	}
	return d.progress.Add(d.u.cfg.ReceiptTimeout << min(d.timeouts, maxReceiptBackoff)), true
}

// receiptTimedOut sends the backlog again from its oldest record: the hub
// missed some of it (a broker that lost what it had acknowledged, a
// subscriber queue it overflowed), and dedups what it already holds.
func (d *drainer) receiptTimedOut() {
	u := d.u
	r, _ := u.HubReceipt()
	u.log.Info("no receipt from the hub: sending the records it has not receipted again",
		"receipted_upto", r, "awaiting", len(u.awaiting), "waited", u.cfg.ReceiptTimeout<<min(d.timeouts, maxReceiptBackoff))
	d.timeouts++
	d.startOver()
}

// startOver makes the drain start again from the oldest record in the
// journal once the window has settled.
func (d *drainer) startOver() {
	d.rewind = true
	d.progress = time.Now()
	d.resetIfSettled()
}

// hubSubscriptionSettled checks the first of the subscriptions to the
// hub's status and the pod's receipt still waiting. One the broker refused
// leaves the backlog held (no hub status) or never deleted (no receipt)
// on this connection: an error in the log.
func (d *drainer) hubSubscriptionSettled() {
	tok := d.hubToks[0]
	d.hubToks = d.hubToks[1:]
	topic := d.u.root + TopicReceipt
	if len(d.hubToks) == 1 {
		topic = HubStatusTopic
	}
	err := tok.Error()
	if err == nil && !refused(tok) {
		return
	}
	select {
	case <-d.c.lost:
		return
	default:
	}
	d.u.log.Error("subscription refused: with require_hub the pod sends nothing without the hub's status and deletes nothing without its receipt",
		"topic", topic, "err", err, "remedy", "let the pod's user read "+topic)
}
