package journal

import (
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

// urgent is the record of an Append, committed after the batch.
type urgent struct {
	topic   string
	created time.Time
	build   func(uint64) ([]byte, error)
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
// as Append would, so the caller knows the record is lost. When the outbox is full, AppendLazy
// commits at once, as Append does, and returns the dropped range in
// Record.Dropped.
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
	var next, n uint64
	err = s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if next, err = nextSeq(meta); err != nil {
			return err
		}
		n, _, err = decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen))
		return err
	})
	if err != nil {
		return Record{}, s.opError("AppendLazy", err)
	}
	if n+uint64(len(s.batch)) >= s.maxOutbox {
		// The drop must reach the caller, for its report.
		rec, err := s.commitLocked(&urgent{topic: topic, created: created, build: build})
		if err != nil {
			return Record{}, s.opError("AppendLazy", err)
		}
		return rec, nil
	}
	seq := next + uint64(len(s.batch))
	payload, err := callBuild(build, seq)
	if err != nil {
		return Record{}, fmt.Errorf("journal.AppendLazy: build seq %d: %w", seq, err)
	}
	s.batch = append(s.batch, queued{seq: seq, value: encodeValue(seq, topic, created, payload)})
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
	s.qmu.Unlock()
	if u == nil && len(dels) == 0 && len(s.batch) == 0 {
		return Record{}, nil
	}
	var rec Record
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
		n, _, err := decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen))
		if err != nil {
			return err
		}
		for _, seq := range dels {
			k := seqKey(seq)
			if out.Get(k) == nil {
				continue
			}
			if err := out.Delete(k); err != nil {
				return err
			}
			if n > 0 {
				n--
			}
		}
		for _, q := range s.batch {
			if err := out.Put(seqKey(q.seq), q.value); err != nil {
				return err
			}
			n++
		}
		if u != nil {
			seq := top - 1
			if n >= s.maxOutbox {
				dropped, count, err := dropOldest(out, min(s.dropBatch, n))
				if err != nil {
					return err
				}
				n -= count
				rec.Dropped = dropped
			}
			payload, err := callBuild(u.build, seq)
			if err != nil {
				return fmt.Errorf("build seq %d: %w", seq, err)
			}
			if err := out.Put(seqKey(seq), encodeValue(seq, u.topic, u.created, payload)); err != nil {
				return err
			}
			n++
			rec.Seq, rec.Topic, rec.Created, rec.Payload = seq, u.topic, u.created, payload
		}
		if top > next {
			if err := meta.Put(keyNextSeq, encodeCounter(keyNextSeq, top)); err != nil {
				return err
			}
		}
		return meta.Put(keyOutboxLen, encodeCounter(keyOutboxLen, n))
	})
	if err != nil {
		s.commitFailed = true
		return Record{}, err
	}
	s.commitFailed = false
	s.commits.Add(1)
	clear(s.batch)
	s.batch = s.batch[:0]
	s.qmu.Lock()
	for _, seq := range dels {
		delete(s.deletes, seq)
	}
	s.batchLen = 0
	s.since = time.Time{}
	s.flush = false
	if len(s.deletes) > 0 {
		// Queued while the transaction ran.
		s.since = time.Now()
		s.flushIfFullLocked()
	}
	close(s.committed)
	s.committed = make(chan struct{})
	s.qmu.Unlock()
	return rec, nil
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
