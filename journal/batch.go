package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// queued is a record of AppendLazy waiting in the batch, encoded as it will
// be stored.
type queued struct {
	seq   uint64
	value []byte
}

// urgent is the record of an Append, committed after the batch; or that of
// an AppendLazy into a full outbox (lazy), built already for seq: value and
// payload.
type urgent struct {
	topic   string
	created time.Time
	build   func(uint64) ([]byte, error)
	// audit, when set, is the audit entry of an AppendAudited: appended
	// in the same transaction, its link handed to its build.
	audit *auditAppend
	// clearLatch deletes the latched abort in the same transaction
	// (ClearLatchAudited).
	clearLatch bool

	lazy    bool
	seq     uint64
	value   []byte
	payload []byte
}

// AppendLazy is Append for records whose loss in a power cut costs little
// (telemetry): the record gets the next seq and its payload at once, but
// waits in memory, in a batch, until it is committed with the others in one
// transaction: CommitInterval after the oldest record or deletion queued, at
// once when the batch reaches MaxBatch records, with the next Append, and
// in Close. It returns once the record is queued, and it is durable within
// CommitInterval. Until then Pending does not return it (nothing is sent
// before it is stored), and a power cut loses it; its seq is then handed
// out again, which the hub, never having seen it, does not notice.
//
// build runs under the Store's write lock, so it must be quick and must not
// call the Store. If it fails (or panics) nothing is queued and the seq is
// not consumed.
//
// A commit that fails (a full disk) leaves the records in the batch, to be
// retried at the next. After it, AppendLazy first commits the batch, and
// while that still fails it returns the commit's error and queues nothing,
// as Append would, so the caller knows the record is lost. When the outbox
// is full, AppendLazy commits at once, as Append does, and returns what it
// dropped in Record.Dropped. Its record is telemetry: dropped before any
// event of Append (see Options.MaxOutbox). A record larger than
// MaxOutboxBytes less 1 KiB is refused, as a build that fails.
//
// It opens no transaction unless it commits: the seq and the bounds are
// taken from the Store's copy of the committed counters (see the package
// doc).
func (s *Store) AppendLazy(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (_ Record, err error) {
	if build == nil {
		return Record{}, errors.New("journal.AppendLazy: nil build function")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("AppendLazy", &err)
	if err := s.usable("AppendLazy"); err != nil {
		return Record{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("AppendLazy", &err)
	if s.closed.Load() {
		return Record{}, s.opError("AppendLazy", bolterrors.ErrDatabaseNotOpen)
	}
	if len(s.batch) >= s.opts.MaxBatch || s.commitFailed {
		if _, err := s.commitLocked(nil); err != nil {
			return Record{}, s.opError("AppendLazy", err)
		}
	}
	// The committed counters, from the Store's copy: no transaction.
	c := s.counts
	if c.seqUnknown {
		return Record{}, s.opError("AppendLazy", ErrSeqUnknown)
	}
	next, n, b := c.next, c.records, c.bytes
	seq := next + uint64(len(s.batch))
	payload, err := callBuild(build, seq)
	if err != nil {
		return Record{}, fmt.Errorf("journal.AppendLazy: build seq %d: %w", seq, err)
	}
	value := encodeValue(seq, topic, created, payload)
	if err := s.fits(value); err != nil {
		return Record{}, fmt.Errorf("journal.AppendLazy: seq %d: %w", seq, err)
	}
	if n+uint64(len(s.batch))+1 > s.maxOutbox || b+s.batchBytes+uint64(len(value)) > s.maxBytes {
		// The drop must reach the caller, for its report.
		rec, err := s.commitLocked(&urgent{topic: topic, created: created, lazy: true, seq: seq, value: value, payload: payload})
		if err != nil {
			return Record{}, s.opError("AppendLazy", err)
		}
		return rec, nil
	}
	s.batch = append(s.batch, queued{seq: seq, value: value})
	s.batchBytes += uint64(len(value))
	s.qmu.Lock()
	s.batchLen = len(s.batch)
	s.lazyNext = seq + 1
	s.queuedLocked()
	s.qmu.Unlock()
	rec := Record{Seq: seq, Topic: topic, Created: created, Payload: payload}
	if len(s.batch) >= s.opts.MaxBatch {
		// A failure leaves the batch to the next try; the record is queued.
		if _, err := s.commitLocked(nil); err != nil {
			_ = s.opError("AppendLazy", err)
		}
	}
	return rec, nil
}

// queuedLocked notes that something was queued: the oldest of what is
// queued starts the writer's CommitInterval. qmu must be held.
func (s *Store) queuedLocked() {
	if s.since.IsZero() {
		s.since = time.Now()
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// flushIfFullLocked asks the writer for a commit now when MaxBatch
// deletions are queued. qmu must be held.
func (s *Store) flushIfFullLocked() {
	if len(s.deletes) < s.opts.MaxBatch {
		return
	}
	s.flush = true
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// deleteQueued reports whether the deletion of seq is queued.
func (s *Store) deleteQueued(seq uint64) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	_, ok := s.deletes[seq]
	return ok
}

// Committed returns a channel closed by the next commit of the batch or of
// queued deletions: a record of AppendLazy becomes visible to Pending then.
func (s *Store) Committed() <-chan struct{} {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.committed
}

// commitLocked commits, in one transaction, the queued deletions, the batch
// and, if u is not nil, u's record after it; it returns u's record. The seq
// file's mark is written first if a seq above it is to be committed. On
// failure nothing is committed and everything stays queued. wmu must be
// held; the caller has set SetPanicOnFault and a guard.
func (s *Store) commitLocked(u *urgent) (Record, error) {
	if d := s.Damage(); d != nil {
		return Record{}, d
	}
	s.qmu.Lock()
	dels := make([]uint64, 0, len(s.deletes))
	for seq := range s.deletes {
		dels = append(dels, seq)
	}
	// History rides on the group commits only, never on an Append's
	// (an event's) transaction.
	var hist []historyQueued
	if u == nil {
		hist = s.takeHistoryLocked()
	}
	s.qmu.Unlock()
	if u == nil && len(dels) == 0 && len(s.batch) == 0 && len(hist) == 0 {
		return Record{}, nil
	}
	var histStored, histPruned uint64
	var rec Record
	// What the transaction writes to the counters, for the Store's copy
	// once (and only if) it committed.
	var committed committedCounts
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, out := tx.Bucket(bucketMeta), tx.Bucket(bucketOutbox)
		next, err := nextSeq(meta)
		if err != nil && (u != nil || len(s.batch) > 0 || !errors.Is(err, ErrSeqUnknown)) {
			return err
		}
		if len(s.batch) > 0 && s.batch[0].seq != next {
			return fmt.Errorf("the batch starts at seq %d, but the counter says the next seq is %d", s.batch[0].seq, next)
		}
		top := next + uint64(len(s.batch)) // one past the last seq committed
		if u != nil {
			top++
		}
		if top > next && top-1 > s.reserved {
			if err := s.reserve(next, top-1, out); err != nil {
				return err
			}
		}
		tel := tx.Bucket(bucketTelemetry)
		// Seqs only grow: full pages, not bbolt's half-full default for
		// random inserts, halve the pages a backlog takes.
		out.FillPercent, tel.FillPercent = 1, 1
		n, _, err := decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen))
		if err != nil {
			return err
		}
		b, _, err := decodeCounter(keyOutboxBytes, meta.Get(keyOutboxBytes))
		if err != nil {
			return err
		}
		for _, seq := range dels {
			k := seqKey(seq)
			v := out.Get(k)
			if v == nil {
				continue
			}
			b -= min(b, uint64(len(v)))
			if err := out.Delete(k); err != nil {
				return err
			}
			if err := tel.Delete(k); err != nil {
				return err
			}
			if n > 0 {
				n--
			}
		}
		for _, q := range s.batch {
			if err := putRecord(out, tel, q.seq, q.value, true); err != nil {
				return err
			}
			n++
			b += uint64(len(q.value))
		}
		if u != nil {
			seq := top - 1
			value, payload := u.value, u.payload
			if u.lazy && u.seq != seq {
				// wmu held since it was built: cannot happen.
				return fmt.Errorf("a record built for seq %d, but the next seq is %d", u.seq, seq)
			}
			if !u.lazy {
				build := u.build
				if u.audit != nil {
					if build, err = u.audit.put(tx, uint64(s.opts.MaxAuditEntries), u.created, seq); err != nil {
						return err
					}
				}
				payload, err = callBuild(build, seq)
				if err != nil {
					return fmt.Errorf("build seq %d: %w", seq, err)
				}
				value = encodeValue(seq, u.topic, u.created, payload)
				if err := s.fits(value); err != nil {
					return fmt.Errorf("seq %d: %w", seq, err)
				}
			}
			l := uint64(len(value))
			if n+1 > s.maxOutbox || b+l > s.maxBytes {
				if rec.Dropped, n, b, err = s.drop(out, tel, n, b, l); err != nil {
					return err
				}
			}
			if err := putRecord(out, tel, seq, value, u.lazy); err != nil {
				return err
			}
			n++
			b += l
			rec.Seq, rec.Topic, rec.Created, rec.Payload = seq, u.topic, u.created, payload
		}
		if u != nil && u.clearLatch {
			if err := meta.Delete(keyLatch); err != nil {
				return err
			}
		}
		if top > next {
			if err := meta.Put(keyNextSeq, encodeCounter(keyNextSeq, top)); err != nil {
				return err
			}
		}
		if err := meta.Put(keyOutboxBytes, encodeCounter(keyOutboxBytes, b)); err != nil {
			return err
		}
		if err := meta.Put(keyOutboxLen, encodeCounter(keyOutboxLen, n)); err != nil {
			return err
		}
		if u == nil {
			// The history never fails the outbox's commit: what it could
			// not store is let go and counted (HistoryStats.DroppedFailed).
			var herr error
			histStored, histPruned, herr = s.putHistory(tx, hist, time.Now())
			if herr != nil {
				s.hist.droppedFailed.Add(uint64(len(hist)) - min(histStored, uint64(len(hist))))
			}
		}
		// The file's counters now (next is 0 on a store without a seq
		// floor, which commits only deletions).
		committed = committedCounts{next: top, seqUnknown: next == 0, records: n, bytes: b}
		return nil
	})
	if err != nil {
		// The history taken is let go, not queued again: its queue stays
		// bounded whatever the store does.
		s.hist.droppedFailed.Add(uint64(len(hist)))
		s.commitFailed = true
		return Record{}, err
	}
	s.hist.stored.Add(histStored)
	s.hist.pruned.Add(histPruned)
	s.counts = committed
	if u != nil && u.clearLatch {
		s.setLatchMemo(latchMemo{known: true})
	}
	s.commitFailed = false
	s.commits.Add(1)
	clear(s.batch)
	s.batch = s.batch[:0]
	s.batchBytes = 0
	s.qmu.Lock()
	for _, seq := range dels {
		delete(s.deletes, seq)
	}
	s.batchLen = 0
	s.since = time.Time{}
	s.flush = false
	if len(s.deletes) > 0 || len(s.hist.queue) > 0 {
		// Queued while the transaction ran (or history left for the
		// next group commit by an Append's).
		s.since = time.Now()
		s.flushIfFullLocked()
	}
	close(s.committed)
	s.committed = make(chan struct{})
	s.qmu.Unlock()
	return rec, nil
}

// putRecord stores a record, and indexes it as telemetry when lazy.
func putRecord(out, tel *bolt.Bucket, seq uint64, value []byte, lazy bool) error {
	k := seqKey(seq)
	if err := out.Put(k, value); err != nil {
		return err
	}
	if lazy {
		return tel.Put(k, []byte{})
	}
	return nil
}

// fits refuses a record that could never be stored with the room for a
// report beside it, whatever was dropped.
func (s *Store) fits(value []byte) error {
	if uint64(len(value))+reportRoom > s.maxBytes {
		return fmt.Errorf("a record of %d bytes (stored) does not fit MaxOutboxBytes %d less %d bytes for a report", len(value), s.maxBytes, reportRoom)
	}
	return nil
}

// drop deletes the oldest records to make room for a new one of l bytes
// (stored), in a batch (see Options.MaxOutbox): telemetry first, oldest
// first, found through the telemetry index without walking the events
// before it; then, only once no telemetry is left, events, oldest first.
// n and b are the outbox's records and bytes before; it returns what was
// dropped and them after. An index entry with no record is deleted on the
// way (see audit). Keys are collected before deleting, because deleting
// under a bbolt cursor moves it.
//
// Two conditions stop it: room (the new record and its report fit) and
// the batch's target (Options.MaxOutbox). The events between the
// telemetry it takes are kept and listed in Dropped.Kept, found by a
// second cursor over the outbox that follows the telemetry taken; once
// the new record has room, the batch stops before a telemetry record that
// would bring more than maxKept kept seqs inside its range, target or not.
// Without room it goes on, and Kept lists every one.
func (s *Store) drop(out, tel *bolt.Bucket, n, b, l uint64) (Dropped, uint64, uint64, error) {
	overCount, overBytes := n+1 > s.maxOutbox, b+l > s.maxBytes
	var d Dropped
	var freed uint64
	room := func() bool { return n+2 <= s.maxOutbox && b+l+reportRoom <= s.maxBytes }
	target := func() bool {
		return (!overCount || d.Count >= s.dropBatch) && (!overBytes || freed >= s.dropBytes)
	}
	take := func(k, v []byte) []byte {
		seq := binary.BigEndian.Uint64(k)
		if d.Count == 0 || seq < d.From {
			d.From = seq
		}
		d.To = max(d.To, seq)
		d.Count++
		n -= min(n, 1)
		b -= min(b, uint64(len(v)))
		freed += uint64(len(v))
		return append([]byte(nil), k...)
	}
	var keys, orphans [][]byte
	var between []uint64
	oc := out.Cursor()
	c := tel.Cursor()
	k, _ := c.First()
	for ; k != nil && !(room() && target()); k, _ = c.Next() {
		var v []byte
		if len(k) == 8 {
			v = out.Get(k)
		}
		if v == nil {
			orphans = append(orphans, append([]byte(nil), k...))
			continue
		}
		if d.Count > 0 {
			// The records between the last telemetry taken and this one
			// are events (every telemetry record between them would have
			// been taken first): kept, inside the range once this is taken.
			seq := binary.BigEndian.Uint64(k)
			bounded := room()
			between = between[:0]
			for ek, _ := oc.Seek(seqKey(d.To + 1)); ek != nil && binary.BigEndian.Uint64(ek) < seq; ek, _ = oc.Next() {
				if len(ek) != 8 {
					continue
				}
				between = append(between, binary.BigEndian.Uint64(ek))
				if bounded && len(d.Kept)+len(between) > maxKept {
					break
				}
			}
			if bounded && len(d.Kept)+len(between) > maxKept {
				break
			}
			d.Kept = append(d.Kept, between...)
		}
		keys = append(keys, take(k, v))
	}
	exhausted := k == nil
	for _, k := range orphans {
		if err := tel.Delete(k); err != nil {
			return Dropped{}, 0, 0, damagef("telemetry index: entry %x: %v", k, err)
		}
	}
	for _, k := range keys {
		if err := out.Delete(k); err != nil {
			return Dropped{}, 0, 0, err
		}
		if err := tel.Delete(k); err != nil {
			return Dropped{}, 0, 0, err
		}
	}
	if !exhausted || room() && target() {
		return d, n, b, nil
	}
	// No telemetry is left: events, oldest first. Taking a prefix of the
	// outbox, up to an event below the telemetry's To, keeps the records
	// between it and that To, inside the range: once the new record has
	// room, the batch stops before that would be more than maxKept. The
	// records above a candidate only get fewer as the candidates rise, so
	// the first that passes is the last to check.
	to := d.To
	var last uint64
	checked := false
	keys = keys[:0]
	c = out.Cursor()
	for k, v := c.First(); k != nil && !(room() && target()); k, v = c.Next() {
		if len(k) != 8 {
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		if !checked && room() && seq < to {
			checked = true
			if len(keptIn(out, seq+1, to, maxKept+1)) > maxKept {
				break
			}
		}
		keys = append(keys, take(k, v))
		last = seq
	}
	for _, k := range keys {
		if err := out.Delete(k); err != nil {
			return Dropped{}, 0, 0, err
		}
	}
	if len(keys) > 0 {
		// Every record up to the last event taken is gone: kept are the
		// records above it, up to the telemetry's To.
		d.Kept = nil
		if last < to {
			d.Kept = keptIn(out, last+1, to, 0)
		}
	}
	return d, n, b, nil
}

// keptIn lists the seqs of the outbox's records in from..to, at most limit
// of them (0: all).
func keptIn(out *bolt.Bucket, from, to uint64, limit int) []uint64 {
	var seqs []uint64
	c := out.Cursor()
	for k, _ := c.Seek(seqKey(from)); k != nil && (limit == 0 || len(seqs) < limit); k, _ = c.Next() {
		if len(k) != 8 {
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		if seq > to {
			break
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// run is the writer goroutine: it commits what is queued CommitInterval
// after the oldest of it was queued, until stopc is closed.
func (s *Store) run() {
	defer close(s.donec)
	// The setting is per goroutine: this one runs bbolt too.
	debug.SetPanicOnFault(true)
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-s.kick:
		case <-t.C:
		}
		if wait := s.commitDue(); wait > 0 {
			t.Reset(wait)
		} else {
			t.Stop()
		}
	}
}

// commitDue commits what is queued if its oldest has waited CommitInterval,
// or at once when Delete asked for it (MaxBatch deletions queued), and
// returns how long until the next commit is due (0: nothing queued). A
// commit that fails is tried again CommitInterval later, or at the next
// Delete that finds MaxBatch deletions queued.
func (s *Store) commitDue() (wait time.Duration) {
	var err error
	defer s.guard("commit", &err)
	if s.Damage() != nil {
		return 0
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	defer s.guard("commit", &err)
	s.qmu.Lock()
	since, flush := s.since, s.flush
	s.qmu.Unlock()
	if since.IsZero() {
		return 0
	}
	if d := time.Until(since.Add(s.opts.CommitInterval)); d > 0 && !flush {
		return d
	}
	if _, err = s.commitLocked(nil); err != nil {
		if errors.Is(s.opError("commit", err), ErrDamaged) {
			return 0
		}
		return s.opts.CommitInterval
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.since.IsZero() {
		return 0
	}
	return s.opts.CommitInterval
}

// waitWriter waits for the writer goroutine to return after stopc was
// closed; on a damaged store at most damagedCloseWait, since a panic inside
// bbolt can leave it blocked for ever on bbolt's locks.
func (s *Store) waitWriter() {
	select {
	case <-s.donec:
	case <-s.damagedCh:
		t := time.NewTimer(damagedCloseWait)
		defer t.Stop()
		select {
		case <-s.donec:
		case <-t.C:
		}
	}
}

// commitOnClose commits what is queued, once, and refuses what comes after.
func (s *Store) commitOnClose() (err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	defer s.guard("Close", &err)
	n := len(s.batch)
	if n == 0 {
		_, err := s.commitLocked(nil)
		return err
	}
	from, to := s.batch[0].seq, s.batch[n-1].seq
	if _, err := s.commitLocked(nil); err != nil {
		return fmt.Errorf("%d records of AppendLazy not committed, seqs %d..%d lost: %w", n, from, to, err)
	}
	return nil
}

// Commit commits what is queued (the batch of AppendLazy and the queued
// deletions) now, in one transaction, as the writer would at
// CommitInterval: for a caller that needs them on disk at a known moment.
func (s *Store) Commit() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Commit", &err)
	if err := s.usable("Commit"); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("Commit", &err)
	if _, err := s.commitLocked(nil); err != nil {
		return s.opError("Commit", err)
	}
	return nil
}
