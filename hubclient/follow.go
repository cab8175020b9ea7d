package hubclient

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// UpdateKind is what an Update says.
type UpdateKind string

const (
	// UpdateRecord is a record seen for the first time: a telemetry,
	// event or reply message new on (pod, seq), or a status (which has no
	// seq and is never deduplicated).
	UpdateRecord UpdateKind = "record"
	// UpdateGap is a range of seqs (From..To) missing: a later seq arrived,
	// and neither these nor a dropped event reporting them lost did (a seq
	// a dropped event lists in kept is not lost: it stays a gap until it
	// arrives). It may still be in flight.
	UpdateGap UpdateKind = "gap"
	// UpdateFilled is a range of a gap closed by its records arriving late
	// (By "record") or by a dropped event reporting them lost (By
	// "dropped").
	UpdateFilled UpdateKind = "filled"
)

// Update is one thing a Follower reports, in the order it learnt it.
type Update struct {
	Kind   UpdateKind
	Record *Record // UpdateRecord
	Pod    string
	// From and To are the seqs of a gap or of what filled it, inclusive.
	From, To uint64
	By       string // UpdateFilled: "record" or "dropped"
}

// Record is one message of a pod.
type Record struct {
	Pod  string
	Kind string // status, telemetry, events or reply (the topic's last level)
	// Seq, Boot and Historical are the envelope's; Seq is 0 for a status.
	Seq        uint64
	Boot       string
	TS         string
	Historical bool
	// Type is an event's type ("state", "dropped", ...).
	Type string
	// Retained is set on a status the broker kept.
	Retained bool
	Body     map[string]any // the payload, decoded
	Raw      []byte
	// Lost is, for a dropped event, the seqs it reports lost, in order:
	// its from..to less its kept (see "Receipts" in the package doc for
	// when that is all or none of it).
	Lost []Range
}

// Range is a closed range of seqs.
type Range struct{ From, To uint64 }

// PodStats is what a Follower knows of one pod.
type PodStats struct {
	Received   int     // distinct seqs received
	Duplicates int     // records received again, not delivered
	First, Max uint64  // the lowest and the highest seq received
	Gaps       []Range // seqs missing now (above First, below Max): neither received nor reported dropped
	Dropped    []Range // seqs reported lost by dropped events: each one's from..to less its kept
	Historical int     // records received marked historical
}

// maxQueued bounds the updates waiting for a reader of Updates; beyond
// it they are let go and counted (Lost), while the stats stay exact.
const maxQueued = 1 << 16

// Follower follows pods' status, telemetry, events and reply topics,
// delivers each record once per (pod, seq), and reports gaps in the seqs:
// a seq is missing when a later one arrived and it has neither arrived nor
// been reported lost by a dropped event (its from..to less its kept). Records below the first seq
// it saw of a pod are delivered (a backlog), never counted as gaps.
//
// Updates are delivered in order on Updates by the Follower's own
// goroutine; the stats (Stats, Records) can be read at any time. Close
// stops it.
type Follower struct {
	cl   *Client
	pods map[string]bool
	out  chan Update
	wake chan struct{}
	stop chan struct{}
	once sync.Once
	// filters are the topics subscribed, set once subscribed.
	filters []string
	opts    FollowOptions
	wg      sync.WaitGroup // pump and receipts

	mu      sync.Mutex
	queue   []Update
	lost    int
	state   map[string]*podState
	records []Record
}

type podState struct {
	seen    map[uint64]bool
	stats   PodStats
	dropped []Range
	gaps    []Range
	rc      receiptState
}

// Follow subscribes (QoS 1) to the status, telemetry, events and reply
// topics of each pod; it publishes no receipts.
func (cl *Client) Follow(pods ...string) (*Follower, error) {
	return cl.FollowWith(FollowOptions{}, pods...)
}

// FollowOptions configure a Follower.
type FollowOptions struct {
	// Receipts makes the Follower publish each pod's receipt (see
	// "Receipts" in the package doc) and announce the hub online once it
	// is subscribed.
	Receipts bool
	// ReceiptEvery is the least time between two receipts of one pod; 1 s
	// when 0.
	ReceiptEvery time.Duration
}

// FollowWith subscribes (QoS 1) to the status, telemetry, events and reply
// topics of each pod, and with o.Receipts to its receipt topic; once
// subscribed it then publishes the hub's status, online, again, which
// makes every pod requiring the hub send what it has not receipted.
func (cl *Client) FollowWith(o FollowOptions, pods ...string) (*Follower, error) {
	if len(pods) == 0 {
		return nil, errUsage("hubclient.Follow: no pod")
	}
	if o.ReceiptEvery < 0 {
		return nil, errUsage("hubclient.Follow: negative ReceiptEvery")
	}
	if o.ReceiptEvery == 0 {
		o.ReceiptEvery = time.Second
	}
	f := &Follower{
		cl: cl, pods: map[string]bool{}, out: make(chan Update), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), state: map[string]*podState{}, opts: o,
	}
	kinds := []string{"status", "telemetry", "events", "reply"}
	if o.Receipts {
		kinds = append(kinds, "receipt")
	}
	var filters []string
	for _, p := range pods {
		if err := checkPod(p); err != nil {
			return nil, err
		}
		f.pods[p] = true
		for _, k := range kinds {
			filters = append(filters, PodTopic(p, k))
		}
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, ErrClosed
	}
	cl.followers[f] = true
	cl.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.pump()
	}()
	if o.Receipts {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.receipts()
		}()
	}
	if err := cl.subscribe(filters...); err != nil {
		f.close(false)
		return nil, err
	}
	f.filters = filters
	if o.Receipts {
		if err := cl.Announce(); err != nil {
			f.Close()
			return nil, fmt.Errorf("hubclient.Follow: announcing the hub: %w", err)
		}
	}
	return f, nil
}

type errUsage string

func (e errUsage) Error() string { return string(e) }

// Updates delivers the updates in order; it is closed by Close.
func (f *Follower) Updates() <-chan Update { return f.out }

// Lost is how many updates were let go because nobody read Updates.
func (f *Follower) Lost() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

// Stats is what the Follower knows of pod.
func (f *Follower) Stats(pod string) PodStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[pod]
	if !ok {
		return PodStats{}
	}
	s := st.stats
	s.Gaps = slices.Clone(st.gaps)
	s.Dropped = slices.Clone(st.dropped)
	return s
}

// Records is the records delivered so far, in order: every one, or
// the latest 32768 to 65536 of a long follow.
func (f *Follower) Records() []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.records)
}

// Close unsubscribes, stops the Follower's goroutine and closes Updates.
func (f *Follower) Close() { f.close(true) }

func (f *Follower) close(unsubscribe bool) {
	f.once.Do(func() {
		f.cl.mu.Lock()
		delete(f.cl.followers, f)
		f.cl.mu.Unlock()
		if unsubscribe && f.filters != nil {
			f.cl.unsubscribe(f.filters...)
		}
		close(f.stop)
		f.wg.Wait()
	})
}

// pump delivers the queue on out until stop.
func (f *Follower) pump() {
	defer close(f.out)
	for {
		f.mu.Lock()
		var next *Update
		if len(f.queue) > 0 {
			u := f.queue[0]
			f.queue[0] = Update{}
			f.queue = f.queue[1:]
			next = &u
		}
		f.mu.Unlock()
		if next == nil {
			select {
			case <-f.wake:
				continue
			case <-f.stop:
				return
			}
		}
		select {
		case f.out <- *next:
			if f.opts.Receipts {
				f.handed(*next)
			}
		case <-f.stop:
			return
		}
	}
}

// receive takes one message from the client's handler. It never blocks.
func (f *Follower) receive(pod, kind string, payload []byte, retained bool) {
	if !f.pods[pod] {
		return
	}
	switch kind {
	case "status", "telemetry", "events", "reply":
	case "receipt":
		if f.opts.Receipts && retained {
			f.retainedReceipt(pod, payload)
		}
		return
	default:
		return
	}
	r := Record{Pod: pod, Kind: kind, Retained: retained, Raw: payload}
	if json.Unmarshal(payload, &r.Body) != nil {
		return // not the contract's; nothing to report on
	}
	r.Boot, _ = r.Body["boot"].(string)
	r.TS, _ = r.Body["ts"].(string)
	r.Historical, _ = r.Body["historical"].(bool)
	r.Type, _ = r.Body["type"].(string)
	if n, ok := r.Body["seq"].(float64); ok && n >= 1 && kind != "status" {
		r.Seq = uint64(n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[pod]
	if st == nil {
		st = &podState{seen: map[uint64]bool{}}
		f.state[pod] = st
	}
	if r.Seq == 0 {
		f.deliver(Update{Kind: UpdateRecord, Record: &r, Pod: pod})
		return
	}
	if st.seen[r.Seq] {
		st.stats.Duplicates++
		return
	}
	st.seen[r.Seq] = true
	st.stats.Received++
	if r.Historical {
		st.stats.Historical++
	}
	if r.Kind == "events" && r.Type == "dropped" {
		r.Lost = droppedLost(r.Body, st.dropped)
	}
	f.deliver(Update{Kind: UpdateRecord, Record: &r, Pod: pod})
	switch {
	case st.stats.Received == 1:
		st.stats.First, st.stats.Max = r.Seq, r.Seq
	case r.Seq > st.stats.Max:
		if r.Seq > st.stats.Max+1 {
			for _, g := range subtract(Range{st.stats.Max + 1, r.Seq - 1}, st.dropped) {
				st.gaps = append(st.gaps, g)
				f.deliver(Update{Kind: UpdateGap, Pod: pod, From: g.From, To: g.To})
			}
		}
		st.stats.Max = r.Seq
	default:
		f.fill(pod, st, Range{r.Seq, r.Seq}, "record")
		st.stats.First = min(st.stats.First, r.Seq)
	}
	for _, d := range r.Lost {
		st.dropped = append(st.dropped, d)
		f.fill(pod, st, d, "dropped")
	}
}

// droppedLost is what a dropped event's body reports lost, as ranges in
// order, given the ranges earlier dropped events of the pod reported lost:
//
//   - with kept (the records a full outbox kept between the ones it
//     dropped, which arrive on their own): its from..to less the kept seqs;
//   - without kept, when count says every seq of from..to not reported
//     lost before was dropped now: all of from..to;
//   - without kept, when count says fewer (a pod that does not list what
//     it kept: any seq of the range may be a record still to come):
//     nothing.
//
// A body that is not a range (from >= 1, to >= from, count >= 1,
// integers), or whose kept is not a list of integer seqs, ascending,
// within from..to and leaving room for count, reports nothing: a seq
// wrongly taken for lost would be receipted without being held.
func droppedLost(body map[string]any, before []Range) []Range {
	from, ok1 := seqOf(body["from"])
	to, ok2 := seqOf(body["to"])
	count, ok3 := seqOf(body["count"])
	if !ok1 || !ok2 || !ok3 || to < from {
		return nil
	}
	r := Range{from, to}
	span := to - from + 1
	v, ok := body["kept"]
	if !ok {
		var left uint64
		for _, g := range subtract(r, before) {
			left += g.To - g.From + 1
		}
		if count != left {
			return nil
		}
		return []Range{r}
	}
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var kept []Range
	for _, e := range list {
		s, ok := seqOf(e)
		if !ok || s < from || s > to || len(kept) > 0 && s <= kept[len(kept)-1].From {
			return nil
		}
		kept = append(kept, Range{s, s})
	}
	if count > span-uint64(len(kept)) {
		return nil
	}
	return subtract(r, kept)
}

// seqOf reads a seq (an integer >= 1) from a decoded JSON number.
func seqOf(v any) (uint64, bool) {
	n, ok := v.(float64)
	if !ok || n < 1 || n >= 1<<53 || n != float64(uint64(n)) {
		return 0, false
	}
	return uint64(n), true
}

// fill removes c from the pod's gaps, reporting each part it closed.
func (f *Follower) fill(pod string, st *podState, c Range, by string) {
	var left []Range
	for _, g := range st.gaps {
		lo, hi := max(g.From, c.From), min(g.To, c.To)
		if lo > hi {
			left = append(left, g)
			continue
		}
		f.deliver(Update{Kind: UpdateFilled, Pod: pod, From: lo, To: hi, By: by})
		left = append(left, subtract(g, []Range{c})...)
	}
	st.gaps = left
}

// subtract is r without the ranges of cut, in order.
func subtract(r Range, cut []Range) []Range {
	out := []Range{r}
	for _, c := range cut {
		var next []Range
		for _, o := range out {
			if c.To < o.From || c.From > o.To {
				next = append(next, o)
				continue
			}
			if c.From > o.From {
				next = append(next, Range{o.From, c.From - 1})
			}
			if c.To < o.To {
				next = append(next, Range{c.To + 1, o.To})
			}
		}
		out = next
	}
	return out
}

// deliver queues u for Updates; f.mu is held.
func (f *Follower) deliver(u Update) {
	if u.Kind == UpdateRecord {
		if len(f.records) >= maxQueued {
			f.records = append(f.records[:0], f.records[maxQueued/2:]...)
		}
		f.records = append(f.records, *u.Record)
	}
	if len(f.queue) >= maxQueued {
		f.lost++
		if u.Kind == UpdateRecord && u.Record.Seq > 0 {
			// Not held: the record is forgotten, so that the pod's next
			// sending of it is delivered.
			if st := f.state[u.Pod]; st != nil && st.seen[u.Record.Seq] {
				delete(st.seen, u.Record.Seq)
				st.stats.Received--
			}
		}
		return
	}
	f.queue = append(f.queue, u)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
