package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// HistoryKind names one of the history's two buckets.
type HistoryKind int

// The history's buckets.
const (
	// HistoryVitals holds the downsampled vitals, one point per window.
	HistoryVitals HistoryKind = iota
	// HistoryEvents holds a copy of every event the pod stored.
	HistoryEvents
)

func (k HistoryKind) String() string {
	switch k {
	case HistoryVitals:
		return "vitals"
	case HistoryEvents:
		return "events"
	}
	return fmt.Sprintf("HistoryKind(%d)", int(k))
}

// The history's defaults and bounds (Options.HistoryRetention,
// MaxHistoryVitals, MaxHistoryEvents, MaxHistoryQueue).
const (
	DefaultHistoryRetention = 14 * 24 * time.Hour
	MinHistoryRetention     = time.Hour
	MaxHistoryRetention     = 90 * 24 * time.Hour
	// DefaultMaxHistoryVitals is 14 days of one point every 10 s.
	DefaultMaxHistoryVitals = 14 * 8640
	// DefaultMaxHistoryEvents is far more than a fortnight of a pod's
	// events (a few hundred a night).
	DefaultMaxHistoryEvents = 50000
	DefaultMaxHistoryQueue  = 1024
	// MaxHistoryValue is the largest entry (its data, type and session
	// with the header) AppendHistory accepts.
	MaxHistoryValue = 8 << 10
	// MaxHistoryReply is the most entries one History call returns.
	MaxHistoryReply = 5000
	// historyClockSlack is how far after the store's clock an entry may
	// be dated and still count as within the retention (pruneHistory).
	historyClockSlack = time.Minute
	// historyPruneBatch bounds the entries one commit prunes, so a
	// retention shortened by a restart prunes over several commits.
	historyPruneBatch = 4096
)

var (
	bucketHistoryVitals  = []byte("history_vitals")
	bucketHistoryEvents  = []byte("history_events")
	keyHistoryVitalsNext = []byte("history_vitals_next")
	keyHistoryEventsNext = []byte("history_events_next")
)

func (k HistoryKind) buckets() (bucket, next []byte, ok bool) {
	switch k {
	case HistoryVitals:
		return bucketHistoryVitals, keyHistoryVitalsNext, true
	case HistoryEvents:
		return bucketHistoryEvents, keyHistoryEventsNext, true
	}
	return nil, nil, false
}

// HistoryEntry is one entry of the history.
type HistoryEntry struct {
	// Seq numbers the entries of a bucket from 1, in the order they were
	// stored; a seq is never reused, so it is a reader's cursor.
	Seq uint64 `json:"seq"`
	// At is when the point or the event was made (the pod's wall clock).
	At time.Time `json:"at"`
	// Type is the event's type, or "vitals" for a point.
	Type string `json:"type"`
	// Session is the merge session under way when it was recorded, "" for
	// none.
	Session string `json:"session,omitempty"`
	// Data is the caller's JSON document: the event's body, or the point.
	Data []byte `json:"data"`
}

// HistoryQuery selects entries of one bucket.
type HistoryQuery struct {
	// After: only entries whose Seq is above it (a follower's cursor).
	After uint64
	// From and To bound At: From <= At < To. A zero time is unbounded.
	From, To time.Time
	// Types, if not empty: only entries of these types.
	Types []string
	// Session, if not empty: only entries of this session.
	Session string
	// Limit is the most entries returned: 1..MaxHistoryReply, 0 for
	// MaxHistoryReply.
	Limit int
}

// HistoryPage is the reply to a HistoryQuery.
type HistoryPage struct {
	Entries []HistoryEntry
	// Cursor is the Seq of the last entry looked at (returned or not): the
	// After of the next query, so a follower never sees an entry twice nor
	// misses one. It is the query's After when nothing was looked at.
	Cursor uint64
	// More is set when the page stopped with entries left: at Limit, or
	// after looking at historyScanLimit keys (a filter that matches
	// few); ask again from Cursor.
	More bool
	// First is the oldest Seq the bucket holds (0 when empty): a follower
	// whose After is below First-1 lost the entries between to pruning.
	First uint64
	// Corrupt counts the entries looked at that failed their checksum:
	// skipped.
	Corrupt int
}

// HistoryStats counts what happened to history entries since Open.
type HistoryStats struct {
	// Queued is how many wait for the next commit.
	Queued int `json:"queued"`
	// Stored counts the entries committed, Pruned those deleted for the
	// retention or the bounds.
	Stored uint64 `json:"stored"`
	Pruned uint64 `json:"pruned"`
	// DroppedFull counts the entries let go because MaxHistoryQueue were
	// already waiting (a slow or stuck store); DroppedFailed those of a
	// commit that failed; DroppedInvalid those refused (too large, an
	// unknown kind).
	DroppedFull    uint64 `json:"dropped_full"`
	DroppedFailed  uint64 `json:"dropped_failed"`
	DroppedInvalid uint64 `json:"dropped_invalid"`
}

// historyQueued is an entry waiting for a commit, encoded.
type historyQueued struct {
	kind  HistoryKind
	value []byte
}

// The history value:
//
//	[0]     historyVersion
//	[1:5]   CRC-32C, big-endian, of [5:]
//	[5:13]  At, Unix nanoseconds, big-endian
//	[13]    n, the type's length; then the type
//	[.]     m, the session's length; then the session
//	[...]   the data
const (
	historyVersion   = 1
	historyHeaderLen = 13
)

func encodeHistory(e HistoryEntry) ([]byte, error) {
	if len(e.Type) > 255 || len(e.Session) > 255 {
		return nil, errors.New("type or session longer than 255 bytes")
	}
	b := make([]byte, historyHeaderLen, historyHeaderLen+2+len(e.Type)+len(e.Session)+len(e.Data))
	b[0] = historyVersion
	binary.BigEndian.PutUint64(b[5:13], uint64(e.At.UnixNano()))
	b = append(b, byte(len(e.Type)))
	b = append(b, e.Type...)
	b = append(b, byte(len(e.Session)))
	b = append(b, e.Session...)
	b = append(b, e.Data...)
	if len(b) > MaxHistoryValue {
		return nil, fmt.Errorf("%d bytes, more than %d", len(b), MaxHistoryValue)
	}
	binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[5:], castagnoli))
	return b, nil
}

// decodeHistory decodes a value (a copy of its strings and data).
func decodeHistory(seq uint64, v []byte) (HistoryEntry, error) {
	if len(v) < historyHeaderLen+2 {
		return HistoryEntry{}, errShortValue
	}
	if v[0] != historyVersion {
		return HistoryEntry{}, fmt.Errorf("unknown version %d", v[0])
	}
	if want, got := binary.BigEndian.Uint32(v[1:5]), crc32.Checksum(v[5:], castagnoli); want != got {
		return HistoryEntry{}, errChecksum
	}
	e := HistoryEntry{Seq: seq, At: time.Unix(0, int64(binary.BigEndian.Uint64(v[5:13]))).UTC()}
	rest := v[historyHeaderLen:]
	n := int(rest[0])
	if len(rest) < 1+n+1 {
		return HistoryEntry{}, errShortValue
	}
	e.Type = string(rest[1 : 1+n])
	rest = rest[1+n:]
	m := int(rest[0])
	if len(rest) < 1+m {
		return HistoryEntry{}, errShortValue
	}
	e.Session = string(rest[1 : 1+m])
	e.Data = bytes.Clone(rest[1+m:])
	return e, nil
}

// historyAt reads only the time of a value that passes its checksum.
func historyAt(v []byte) (time.Time, bool) {
	if len(v) < historyHeaderLen || v[0] != historyVersion || binary.BigEndian.Uint32(v[1:5]) != crc32.Checksum(v[5:], castagnoli) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[5:13]))), true
}

// AppendHistory queues e for the history bucket of kind; its Seq is given
// when it is committed. It never waits for the disk: it takes only the
// lock of the queue, never the one a commit holds, so a slow or failing
// store cannot delay its caller. The entry is committed with the next
// group commit (see "History" in the package doc). It reports false, and
// counts the entry as dropped, when MaxHistoryQueue entries already wait,
// when the entry is larger than MaxHistoryValue, or when the Store is
// closed or damaged.
func (s *Store) AppendHistory(kind HistoryKind, e HistoryEntry) bool {
	if _, _, ok := kind.buckets(); !ok {
		s.hist.droppedInvalid.Add(1)
		return false
	}
	v, err := encodeHistory(e)
	if err != nil {
		s.hist.droppedInvalid.Add(1)
		return false
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	// Under qmu: Close sets closed before its last commit takes the queue
	// (under qmu), so an entry queued here is in that commit or refused.
	if s.closed.Load() || s.Damage() != nil {
		s.hist.droppedFailed.Add(1)
		return false
	}
	if len(s.hist.queue) >= s.opts.MaxHistoryQueue {
		s.hist.droppedFull.Add(1)
		return false
	}
	s.hist.queue = append(s.hist.queue, historyQueued{kind: kind, value: v})
	s.queuedLocked()
	return true
}

// HistoryStats returns the history's counters.
func (s *Store) HistoryStats() HistoryStats {
	s.qmu.Lock()
	q := len(s.hist.queue)
	s.qmu.Unlock()
	return s.hist.stats(q)
}

// historyState is the Store's history queue (guarded by qmu) and counters.
type historyState struct {
	queue          []historyQueued
	stored, pruned atomic.Uint64
	droppedFull    atomic.Uint64
	droppedFailed  atomic.Uint64
	droppedInvalid atomic.Uint64
}

func (h *historyState) stats(queued int) HistoryStats {
	return HistoryStats{
		Queued: queued, Stored: h.stored.Load(), Pruned: h.pruned.Load(),
		DroppedFull: h.droppedFull.Load(), DroppedFailed: h.droppedFailed.Load(), DroppedInvalid: h.droppedInvalid.Load(),
	}
}

// takeHistory takes the queued entries for a commit. qmu must be held.
func (s *Store) takeHistoryLocked() []historyQueued {
	q := s.hist.queue
	s.hist.queue = nil
	return q
}

// putHistory stores the entries taken for this transaction and prunes
// both buckets; it returns how many it stored and pruned, also with an
// error (what it wrote before the error stays in the transaction: each
// bolt write that fails changes nothing).
func (s *Store) putHistory(tx *bolt.Tx, q []historyQueued, now time.Time) (stored, pruned uint64, err error) {
	for _, kind := range []HistoryKind{HistoryVitals, HistoryEvents} {
		name, nextKey, _ := kind.buckets()
		b := tx.Bucket(name)
		if b == nil {
			return stored, pruned, fmt.Errorf("no %s bucket", name)
		}
		meta := tx.Bucket(bucketMeta)
		next := historyNext(meta, nextKey, b)
		wrote := false
		for _, e := range q {
			if e.kind != kind {
				continue
			}
			b.FillPercent = 1 // keys only grow
			if err := b.Put(seqKey(next), e.value); err != nil {
				return stored, pruned, err
			}
			next++
			stored++
			wrote = true
		}
		if wrote {
			if err := meta.Put(nextKey, encodeCounter(nextKey, next)); err != nil {
				return stored, pruned, err
			}
		}
		n, err := s.pruneHistory(b, kind, now)
		if err != nil {
			return stored, pruned, err
		}
		pruned += n
	}
	return stored, pruned, nil
}

// historyNext is the next seq of a history bucket: its counter, or one
// past its last entry's key when the counter is missing, damaged or behind (the
// counter only keeps seqs from being reused once pruning emptied the
// bucket, so it is healed rather than called damage).
func historyNext(meta *bolt.Bucket, key []byte, b *bolt.Bucket) uint64 {
	next, ok, err := decodeCounter(key, meta.Get(key))
	if err != nil || !ok || next == 0 {
		next = 1
	}
	// The last entry's key, past any stray keys after it (damage, a key
	// of another format), at most historyScanLimit of them.
	c := b.Cursor()
	k, _ := c.Last()
	for n := 0; k != nil && len(k) != 8 && n < historyScanLimit; n++ {
		k, _ = c.Prev()
	}
	if len(k) == 8 {
		next = max(next, binary.BigEndian.Uint64(k)+1)
	}
	return next
}

// maxEntries is the bound of kind's bucket.
func (s *Store) maxEntries(kind HistoryKind) uint64 {
	if kind == HistoryVitals {
		return uint64(s.opts.MaxHistoryVitals)
	}
	return uint64(s.opts.MaxHistoryEvents)
}

// pruneHistory deletes, oldest first, the entries beyond the bucket's
// bound and those older than the retention, at most historyPruneBatch.
// It stops at the first entry that is within both and not dated after
// now (historyClockSlack allowed): entries are in the order they were
// stored, so an entry stored while the clock ran ahead would otherwise
// hold every later one behind it after the clock stepped back; it is
// pruned as expired instead. An entry that fails its checksum is deleted
// when it is first.
//
// A key that is no entry's (not a seq of 8 bytes, or a nested bucket:
// damage, or a key of another format) is deleted wherever the walk meets
// it, those after the last entry too, and never stops the pruning of the
// entries.
func (s *Store) pruneHistory(b *bolt.Bucket, kind HistoryKind, now time.Time) (uint64, error) {
	type stray struct {
		key    []byte
		bucket bool
	}
	var strays []stray
	c := b.Cursor()
	// The last entry, and the strays after it.
	var last []byte
	for k, v := c.Last(); k != nil && len(strays) < historyPruneBatch; k, v = c.Prev() {
		if len(k) == 8 && v != nil {
			last = bytes.Clone(k)
			break
		}
		strays = append(strays, stray{bytes.Clone(k), v == nil})
	}
	var doomed [][]byte
	if last != nil {
		hi := binary.BigEndian.Uint64(last)
		limit := s.maxEntries(kind)
		cutoff := now.Add(-s.opts.HistoryRetention)
		var count uint64 // the entries from the first one to the last
		for k, v := c.First(); k != nil && bytes.Compare(k, last) <= 0 && len(doomed)+len(strays) < historyPruneBatch; k, v = c.Next() {
			if len(k) != 8 || v == nil {
				strays = append(strays, stray{bytes.Clone(k), v == nil})
				continue
			}
			if count == 0 {
				count = hi - binary.BigEndian.Uint64(k) + 1
			}
			over := count-uint64(len(doomed)) > limit
			at, ok := historyAt(v)
			// An entry dated after now (by more than the slack) was
			// stored while the clock ran ahead: it cannot vouch for the
			// entries behind it, and is pruned as expired.
			future := ok && at.After(now.Add(historyClockSlack))
			if !over && ok && !at.Before(cutoff) && !future {
				break
			}
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	for _, st := range strays {
		del := b.Delete
		if st.bucket {
			del = b.DeleteBucket
		}
		if err := del(st.key); err != nil {
			return 0, err
		}
	}
	return uint64(len(doomed) + len(strays)), nil
}

// History returns the entries of kind's bucket that q selects, oldest
// first (in the order stored), at most q.Limit. The walk starts after
// q.After and reads the bucket to its end at most (it holds at most
// MaxHistoryVitals or MaxHistoryEvents entries). Entries still queued are
// not seen until their commit.
func (s *Store) History(kind HistoryKind, q HistoryQuery) (_ HistoryPage, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("History", &err)
	if err := s.usable("History"); err != nil {
		return HistoryPage{}, err
	}
	var p HistoryPage
	err = s.db.View(func(tx *bolt.Tx) error {
		p, err = readHistory(tx, kind, q)
		return err
	})
	if err != nil {
		return HistoryPage{}, s.opError("History", err)
	}
	return p, nil
}

// CheckHistoryQuery reports what is wrong with q, if anything.
func CheckHistoryQuery(q HistoryQuery) error {
	if q.Limit < 0 || q.Limit > MaxHistoryReply {
		return fmt.Errorf("limit %d is outside 1..%d", q.Limit, MaxHistoryReply)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return nil
}

func readHistory(tx *bolt.Tx, kind HistoryKind, q HistoryQuery) (HistoryPage, error) {
	name, nextKey, ok := kind.buckets()
	if !ok {
		return HistoryPage{}, fmt.Errorf("unknown history %v", kind)
	}
	if err := CheckHistoryQuery(q); err != nil {
		return HistoryPage{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = MaxHistoryReply
	}
	p := HistoryPage{Cursor: q.After}
	b := tx.Bucket(name)
	if b == nil {
		return p, nil // a file opened read-only before its history existed
	}
	c := b.Cursor()
	if k, _ := c.First(); len(k) == 8 {
		p.First = binary.BigEndian.Uint64(k)
	}
	// A stray key moves the cursor at most to the last seq assigned: the
	// entries still to come (historyNext) must not sort below a cursor a
	// follower already holds.
	last := uint64(math.MaxUint64)
	if meta := tx.Bucket(bucketMeta); meta != nil {
		last = historyNext(meta, nextKey, b) - 1
	}
	looked := 0
	for k, v := c.Seek(seqKey(q.After + 1)); k != nil; k, v = c.Next() {
		if len(p.Entries) == limit || looked == historyScanLimit {
			p.More = true
			break
		}
		// Every key counts against the scan limit, also one that is no
		// entry's (damage, a key of another format): the read stays
		// short however many of them lie between the entries.
		looked++
		if len(k) != 8 {
			after, ok := strayCursor(k)
			if !ok || after >= last {
				// Nothing after it is an entry yet: the next ones
				// sort before it.
				p.Cursor = max(p.Cursor, min(after, last))
				break
			}
			p.Cursor = max(p.Cursor, after)
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		p.Cursor = seq
		e, err := decodeHistory(seq, v)
		if err != nil {
			p.Corrupt++
			continue
		}
		if (!q.From.IsZero() && e.At.Before(q.From)) || (!q.To.IsZero() && !e.At.Before(q.To)) {
			continue
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, e.Type) {
			continue
		}
		if q.Session != "" && e.Session != q.Session {
			continue
		}
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

// strayCursor is a cursor past key k, which is no entry's, that passes no
// entry: a query resumed after it seeks beyond k. A key of 8 bytes or
// more sorts after the entry of its first 8 bytes and before the next
// one: that seq. A shorter one sorts before the entry of itself padded
// with zeros: that seq less one. It reports false when no entry can sort
// after k (its first 8 bytes are the highest seq).
func strayCursor(k []byte) (uint64, bool) {
	var pad [8]byte
	copy(pad[:], k)
	seq := binary.BigEndian.Uint64(pad[:])
	switch {
	case len(k) < 8 && seq > 0:
		return seq - 1, true
	case len(k) < 8:
		return 0, true
	case seq == math.MaxUint64:
		return 0, false
	}
	return seq, true
}

// historyScanLimit bounds the keys one History call looks at: its read
// transaction is short whatever the filter, so a commit that must grow
// the file (bolt remaps it only once no read is open), the latch's among
// them, never waits long on a technician's query.
var historyScanLimit = 4 * MaxHistoryReply

// setUpHistory creates the history's buckets in a file without them.
func setUpHistory(tx *bolt.Tx) error {
	if tx.Bucket(bucketHistoryVitals) != nil && tx.Bucket(bucketHistoryEvents) != nil {
		return nil
	}
	if !tx.Writable() {
		return errNeedsWrite
	}
	for _, name := range [][]byte{bucketHistoryVitals, bucketHistoryEvents} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Slot's history methods follow the Store the Slot holds.

// AppendHistory is Store.AppendHistory on the Store held; it reports false,
// counted in the Slot's HistoryStats, while none is open.
func (sl *Slot) AppendHistory(kind HistoryKind, e HistoryEntry) bool {
	s, err := sl.get("AppendHistory")
	if err != nil {
		sl.histNotOpen.Add(1)
		return false
	}
	return s.AppendHistory(kind, e)
}

// History is Store.History on the Store held.
func (sl *Slot) History(kind HistoryKind, q HistoryQuery) (HistoryPage, error) {
	s, err := sl.get("History")
	if err != nil {
		return HistoryPage{}, err
	}
	return s.History(kind, q)
}

// HistoryStats is Store.HistoryStats on the Store held, with the entries
// dropped while no Store was open counted in DroppedFailed.
func (sl *Slot) HistoryStats() HistoryStats {
	var st HistoryStats
	if s, err := sl.get("HistoryStats"); err == nil {
		st = s.HistoryStats()
	}
	st.DroppedFailed += sl.histNotOpen.Load()
	return st
}

// HistorySession is the span of one session in a history bucket: the
// times of its first and last entries and how many it has.
type HistorySession struct {
	Session string    `json:"session"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Entries int       `json:"entries"`
}

// maxHistorySessions bounds HistorySessions' reply: the most recent are
// kept.
const maxHistorySessions = 1000

// historySessions walks kind's bucket reading only the entries' headers,
// and returns each session's span, in the order each first appears (at
// most the last maxHistorySessions).
func historySessions(tx *bolt.Tx, kind HistoryKind) ([]HistorySession, error) {
	name, _, ok := kind.buckets()
	if !ok {
		return nil, fmt.Errorf("unknown history %v", kind)
	}
	b := tx.Bucket(name)
	if b == nil {
		return nil, nil
	}
	var out []HistorySession
	index := map[string]int{}
	err := b.ForEach(func(k, v []byte) error {
		at, ok := historyAt(v)
		if !ok || len(v) < historyHeaderLen+2 {
			return nil
		}
		rest := v[historyHeaderLen:]
		n := int(rest[0])
		if len(rest) < 2+n || len(rest) < 2+n+int(rest[1+n]) {
			return nil
		}
		sess := string(rest[2+n : 2+n+int(rest[1+n])])
		if sess == "" {
			return nil
		}
		at = at.UTC()
		i, seen := index[sess]
		if !seen {
			i = len(out)
			index[sess] = i
			out = append(out, HistorySession{Session: sess, First: at, Last: at})
		}
		s := &out[i]
		if at.Before(s.First) {
			s.First = at
		}
		if at.After(s.Last) {
			s.Last = at
		}
		s.Entries++
		return nil
	})
	if len(out) > maxHistorySessions {
		out = out[len(out)-maxHistorySessions:]
	}
	return out, err
}

// HistorySessions returns the sessions kind's bucket holds entries of,
// each with the times of its first and last entry, in the order they
// first appear (the last 1000 at most).
func (s *Store) HistorySessions(kind HistoryKind) (_ []HistorySession, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("HistorySessions", &err)
	if err := s.usable("HistorySessions"); err != nil {
		return nil, err
	}
	var out []HistorySession
	err = s.db.View(func(tx *bolt.Tx) error {
		out, err = historySessions(tx, kind)
		return err
	})
	if err != nil {
		return nil, s.opError("HistorySessions", err)
	}
	return out, nil
}

// HistorySessions is Store.HistorySessions on the Store held.
func (sl *Slot) HistorySessions(kind HistoryKind) ([]HistorySession, error) {
	s, err := sl.get("HistorySessions")
	if err != nil {
		return nil, err
	}
	return s.HistorySessions(kind)
}
