package hubclient

import (
	"encoding/json"
	"time"
)

// ReceiptTopic is the hub's retained receipt for pod:
// sleegation/v1/pods/{pod}/receipt.
func ReceiptTopic(pod string) string { return PodTopic(pod, "receipt") }

// ReceiptPayload is a receipt as a Follower publishes it:
// {"upto":upto,"ts":now in RFC 3339, UTC}.
func ReceiptPayload(upto uint64, now time.Time) []byte {
	b, _ := json.Marshal(struct {
		Upto uint64 `json:"upto"`
		TS   string `json:"ts"`
	}{upto, now.UTC().Format(time.RFC3339Nano)}) // a number and a string: Marshal cannot fail
	return b
}

// receiptState is what a receipting Follower knows of one pod's receipt.
type receiptState struct {
	// base is the seq up to which the hub held the pod's records before
	// this Follower: a retained receipt, or the first record handed on,
	// less one. known once set.
	base      uint64
	known     bool
	retained  uint64 // the retained receipt read on subscribing
	hasRet    bool
	upto      uint64          // every seq in base+1..upto is held (or reported lost by a dropped event)
	held      map[uint64]bool // seqs above upto handed on
	published uint64          // the latest receipt published
	lowest    uint64          // the lowest seq handed on before base was known
}

// retainedReceipt takes the receipt the broker kept for pod, the one a
// previous hub published: where this Follower's receipts start.
func (f *Follower) retainedReceipt(pod string, payload []byte) {
	var r struct {
		Upto *uint64 `json:"upto"`
	}
	if json.Unmarshal(payload, &r) != nil || r.Upto == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.podStateLocked(pod)
	if !st.rc.known {
		st.rc.retained, st.rc.hasRet = *r.Upto, true
	}
}

func (f *Follower) podStateLocked(pod string) *podState {
	st := f.state[pod]
	if st == nil {
		st = &podState{seen: map[uint64]bool{}}
		f.state[pod] = st
	}
	return st
}

// handed records that u was handed to the reader of Updates: a record is
// held from then on, and what a dropped event reports lost with it (its
// range less its kept, droppedLost).
func (f *Follower) handed(u Update) {
	if u.Kind != UpdateRecord || u.Record.Seq == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.podStateLocked(u.Pod)
	rc := &st.rc
	if rc.held == nil {
		rc.held = map[uint64]bool{}
	}
	if !rc.known && (rc.lowest == 0 || u.Record.Seq < rc.lowest) {
		rc.lowest = u.Record.Seq
	}
	rc.held[u.Record.Seq] = true
	if u.Record.Kind == "events" && u.Record.Type == "dropped" {
		// Only what it reports lost: a seq it lists kept is held once it
		// arrives, never before.
		lost := u.Record.Lost
		if len(lost) > 0 && lost[len(lost)-1].To-lost[0].From < 1<<20 {
			for _, d := range lost {
				for s := d.From; s <= d.To; s++ {
					rc.held[s] = true
				}
			}
		}
	}
	rc.advance()
}

// advance moves upto over every held seq that follows it.
func (rc *receiptState) advance() {
	if !rc.known {
		return
	}
	for rc.held[rc.upto+1] {
		delete(rc.held, rc.upto+1)
		rc.upto++
	}
	for s := range rc.held {
		if s <= rc.upto {
			delete(rc.held, s)
		}
	}
}

// receipts publishes, every ReceiptEvery, the receipt of each pod whose
// upto advanced, until the Follower stops. A pod's base is fixed at the
// first turn that has seen a record of it.
func (f *Follower) receipts() {
	t := time.NewTicker(f.opts.ReceiptEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		type due struct {
			pod  string
			upto uint64
		}
		var out []due
		f.mu.Lock()
		for pod, st := range f.state {
			rc := &st.rc
			if !rc.known && rc.lowest > 0 {
				rc.known = true
				rc.base = rc.lowest - 1
				if rc.hasRet {
					rc.base = rc.retained
				}
				rc.upto = rc.base
				rc.published = rc.base
				rc.advance()
			}
			if rc.known && rc.upto > rc.published {
				out = append(out, due{pod, rc.upto})
			}
		}
		f.mu.Unlock()
		for _, d := range out {
			if f.cl.publish(ReceiptTopic(d.pod), ReceiptPayload(d.upto, f.cl.opts.Now()), true) != nil {
				continue // tried again at the next turn
			}
			f.mu.Lock()
			if st := f.state[d.pod]; st != nil && d.upto > st.rc.published {
				st.rc.published = d.upto
			}
			f.mu.Unlock()
		}
	}
}

// Receipted is the latest receipt the Follower published for pod; ok
// false before the first.
func (f *Follower) Receipted(pod string) (upto uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[pod]
	if st == nil || !st.rc.known || st.rc.published == st.rc.base {
		return 0, false
	}
	return st.rc.published, true
}

// Announce publishes the hub's status, online, retained: a pod requiring
// the hub then sends what it has not receipted. Connect does it unless
// ConnectOptions.DeferOnline; FollowWith with receipts does it once
// subscribed.
func (cl *Client) Announce() error { return cl.publishStatus(true) }
