package controller

import (
	"sort"
	"sync"
	"time"

	"github.com/sleegation/podd/uplink"
)

// maxUnstored is how many events the pod keeps in memory while the store
// refuses them: at most a few per minute arise on a pod in trouble (faults,
// state changes), so this covers hours of a dead SD card.
const maxUnstored = 256

// queued is an event waiting to be stored, with the time it happened; or,
// with reply set, a reply to a hub command (e is then unset).
type queued struct {
	e     uplink.Event
	at    time.Time
	reply *uplink.Reply
}

// eventQueue is the recorder's in-memory queue of events, in the order they
// were posted. Posting never blocks and never fails: when the queue is full,
// the oldest event that is neither an abort nor the start's config (one
// per start, the head of its audit entries) is let go and counted, so the
// loss itself can be reported; the report is audited when an audited event
// was let go (the audit log then says what it lacks).
type eventQueue struct {
	mu    sync.Mutex
	items []queued
	max   int

	lost        map[string]int // event type -> events let go, not yet reported
	lostAudited bool           // one of them was audited
	first, last time.Time      // times of the first and last event let go
	report      *queued        // the loss report head gave, until pop
	dropped     uint64         // events let go since the start
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{max: max, lost: map[string]int{}}
}

// push appends e, letting the oldest event that is neither an abort nor a
// config go if the queue is full (the oldest if it holds nothing else).
func (q *eventQueue) push(e uplink.Event, at time.Time) { q.add(queued{e: e, at: at}) }

// replyEntry is the type a reply counts under in a loss report.
const replyEntry = "reply"

// pushReply appends a reply to a hub command, under the same rules.
func (q *eventQueue) pushReply(r uplink.Reply, at time.Time) { q.add(queued{at: at, reply: &r}) }

// kind is what an entry counts as in a loss report.
func (it queued) kind() string {
	if it.reply != nil {
		return replyEntry
	}
	return it.e.Type
}

func (q *eventQueue) add(it queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.max {
		victim := 0
		for i, it := range q.items {
			if k := it.kind(); k != "abort" && k != "config" {
				victim = i
				break
			}
		}
		v := q.items[victim]
		q.items = append(q.items[:victim], q.items[victim+1:]...)
		q.lost[v.kind()]++
		q.dropped++
		q.lostAudited = q.lostAudited || v.e.Audit
		if q.first.IsZero() || v.at.Before(q.first) {
			q.first = v.at
		}
		if v.at.After(q.last) {
			q.last = v.at
		}
	}
	q.items = append(q.items, it)
}

// head returns the oldest event without removing it. When events were let
// go, the head is a "dropped" event reporting them, which pop then clears.
func (q *eventQueue) head() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.report != nil {
		return *q.report, true
	}
	if len(q.lost) > 0 {
		count := 0
		types := map[string]any{}
		names := make([]string, 0, len(q.lost))
		for t := range q.lost {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			types[t] = q.lost[t]
			count += q.lost[t]
		}
		// The losses move into the report: those that happen while it is
		// being stored go into the next one.
		q.report = &queued{e: uplink.Event{Type: "dropped", Fields: map[string]any{
			"reason": "unstored_overflow", "count": count, "types": types,
			"first_at": uplink.FormatTime(q.first), "last_at": uplink.FormatTime(q.last),
		}, Audit: q.lostAudited}, at: q.last}
		clear(q.lost)
		q.lostAudited = false
		q.first, q.last = time.Time{}, time.Time{}
		return *q.report, true
	}
	if len(q.items) == 0 {
		return queued{}, false
	}
	return q.items[0], true
}

// pop removes what head returned.
func (q *eventQueue) pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.report != nil {
		q.report = nil
		return
	}
	if len(q.items) > 0 {
		q.items[0] = queued{}
		q.items = q.items[1:]
	}
}

// droppedTotal is the number of events let go since the queue was made.
func (q *eventQueue) droppedTotal() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// len is the number of events waiting, a pending loss report included.
func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	if q.report != nil {
		n++
	}
	if len(q.lost) > 0 {
		n++
	}
	return n
}
