package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tune Open. A nil *Options means the defaults.
type Options struct {
	// Timeout bounds the wait for the file lock bbolt takes on open; another
	// process (or another Store in this one) holding the file makes Open fail
	// after it. Default 1s.
	Timeout time.Duration
	// MaxOutbox is the most records the outbox holds. At 1 Hz telemetry the
	// default, 200000, is more than two days without a broker. When it is
	// full, Append deletes the oldest max(2, MaxOutbox/100) records at once:
	// a batch, so a long outage costs one "dropped" report per batch instead
	// of one per record, and at least two, so the report itself fits. It must
	// be 0 (the default) or at least 2.
	MaxOutbox int
}

const (
	defaultTimeout   = time.Second
	defaultMaxOutbox = 200000

	// formatVersion is the layout of the buckets; a file with another version
	// is refused rather than misread.
	formatVersion = 1
)

var (
	bucketOutbox = []byte("outbox")
	bucketMeta   = []byte("meta")

	keyFormat    = []byte("format")
	keyNextSeq   = []byte("next_seq")
	keyOutboxLen = []byte("outbox_len")
	keyLatch     = []byte("latch")
)

// ErrClosed is wrapped by the error of every call on a Store (or a Slot) after
// Close: the journal was open and is not any more, which, unlike ErrNotOpen,
// is final.
var ErrClosed = errors.New("journal closed")

// Store is an open journal file. Its methods are safe for concurrent use;
// bbolt serialises the writers. After Close they fail with an error wrapping
// ErrClosed.
type Store struct {
	db        *bolt.DB
	path      string
	maxOutbox uint64
	dropBatch uint64

	closeOnce sync.Once
}

// Open opens or creates the journal at path. The directory must exist: it is
// the caller's (systemd's StateDirectory in production), not the journal's.
func Open(path string, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	switch {
	case o.MaxOutbox == 0:
		o.MaxOutbox = defaultMaxOutbox
	case o.MaxOutbox < 2:
		return nil, fmt.Errorf("journal.Open: MaxOutbox %d: must be 0 (default %d) or at least 2", o.MaxOutbox, defaultMaxOutbox)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("journal.Open: %s is locked by another process (waited %v): %w", path, o.Timeout, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("journal.Open: %s is not a readable journal (corrupt or not a bbolt file): %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("journal.Open: %s: %w", path, err)
	}

	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketOutbox); err != nil {
			return err
		}
		v := meta.Get(keyFormat)
		if v == nil {
			return meta.Put(keyFormat, u64(formatVersion))
		}
		if len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion {
			return fmt.Errorf("unsupported journal format %x (want %d)", v, formatVersion)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("journal.Open: %s: %w", path, err)
	}

	batch := uint64(o.MaxOutbox / 100)
	batch = max(batch, 2)
	return &Store{db: db, path: path, maxOutbox: uint64(o.MaxOutbox), dropBatch: batch}, nil
}

// Close closes the file. A call in progress is waited for (bbolt cannot
// abandon a transaction); calls after it fail with ErrClosed. Calling it
// again does nothing and returns nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("journal.Close: %w", cerr)
		}
	})
	return err
}

// Append stores a new record on topic. It assigns the next seq, calls
// build(seq) for the payload and stores both the record and the advanced
// counter in one transaction. build runs inside that transaction, so it must
// be quick and must not call the Store (bbolt allows one writer; it would
// deadlock). If build fails nothing is stored and the seq is not consumed.
//
// When the outbox is full the oldest records are deleted first, in the same
// transaction, and their range is returned in Record.Dropped.
func (s *Store) Append(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (Record, error) {
	if build == nil {
		return Record{}, errors.New("journal.Append: nil build function")
	}
	var rec Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, out := tx.Bucket(bucketMeta), tx.Bucket(bucketOutbox)
		seq, err := nextSeq(meta)
		if err != nil {
			return err
		}
		n, err := counter(meta, keyOutboxLen)
		if err != nil {
			return err
		}
		if n >= s.maxOutbox {
			dropped, count, err := dropOldest(out, min(s.dropBatch, n))
			if err != nil {
				return err
			}
			n -= count
			rec.Dropped = dropped
		}

		payload, err := build(seq)
		if err != nil {
			return fmt.Errorf("build seq %d: %w", seq, err)
		}
		if err := out.Put(seqKey(seq), encodeValue(topic, created, payload)); err != nil {
			return err
		}
		if err := meta.Put(keyNextSeq, u64(seq+1)); err != nil {
			return err
		}
		if err := meta.Put(keyOutboxLen, u64(n+1)); err != nil {
			return err
		}
		rec.Seq, rec.Topic, rec.Created, rec.Payload = seq, topic, created, payload
		return nil
	})
	if err != nil {
		return Record{}, opError("Append", err)
	}
	return rec, nil
}

// dropOldest deletes the first k records. Keys are collected before deleting
// because deleting under a bbolt cursor moves it.
func dropOldest(out *bolt.Bucket, k uint64) (SeqRange, uint64, error) {
	keys := make([][]byte, 0, k)
	c := out.Cursor()
	for key, _ := c.First(); key != nil && uint64(len(keys)) < k; key, _ = c.Next() {
		keys = append(keys, append([]byte(nil), key...))
	}
	if len(keys) == 0 {
		return SeqRange{}, 0, nil
	}
	for _, key := range keys {
		if err := out.Delete(key); err != nil {
			return SeqRange{}, 0, err
		}
	}
	r := SeqRange{From: binary.BigEndian.Uint64(keys[0]), To: binary.BigEndian.Uint64(keys[len(keys)-1])}
	return r, uint64(len(keys)), nil
}

// Pending returns up to max records with Seq > after, oldest first. A value
// that cannot be decoded is returned in its place with Corrupt set.
func (s *Store) Pending(after uint64, max int) ([]Record, error) {
	if max <= 0 {
		return nil, fmt.Errorf("journal.Pending: max %d: must be positive", max)
	}
	var recs []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(recs) < max; k, v = c.Next() {
			if len(k) != 8 {
				// Not a seq key: nothing this package writes. Skipping it keeps
				// delivery going; it cannot be addressed by Delete anyway.
				continue
			}
			seq := binary.BigEndian.Uint64(k)
			if seq <= after {
				continue
			}
			rec, err := decodeValue(seq, v)
			if err != nil {
				rec = Record{Seq: seq, Payload: append([]byte(nil), v...), Corrupt: fmt.Errorf("journal: record %d: %w", seq, err)}
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, opError("Pending", err)
	}
	return recs, nil
}

// Delete removes the records with the given seqs, in one transaction. Seqs
// not in the outbox (already deleted, or dropped) are ignored.
func (s *Store) Delete(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, out := tx.Bucket(bucketMeta), tx.Bucket(bucketOutbox)
		n, err := counter(meta, keyOutboxLen)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
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
		return meta.Put(keyOutboxLen, u64(n))
	})
	if err != nil {
		return opError("Delete", err)
	}
	return nil
}

// OutboxLen is the number of records waiting for an acknowledgement.
func (s *Store) OutboxLen() (int, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		n, err = counter(tx.Bucket(bucketMeta), keyOutboxLen)
		return err
	})
	if err != nil {
		return 0, opError("OutboxLen", err)
	}
	return int(n), nil
}

// NextSeq is the seq the next Append will use.
func (s *Store) NextSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		seq, err = nextSeq(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		return 0, opError("NextSeq", err)
	}
	return seq, nil
}

// SetLatch stores the latched abort, an opaque document owned by the safety
// package. It survives restarts until ClearLatch.
func (s *Store) SetLatch(b []byte) error {
	if b == nil {
		b = []byte{}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyLatch, b)
	})
	if err != nil {
		return opError("SetLatch", err)
	}
	return nil
}

// Latch returns the latched abort and whether one is set.
func (s *Store) Latch() ([]byte, bool, error) {
	var (
		b  []byte
		ok bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyLatch)
		if v != nil {
			b, ok = append([]byte{}, v...), true
		}
		return nil
	})
	if err != nil {
		return nil, false, opError("Latch", err)
	}
	return b, ok, nil
}

// ClearLatch removes the latched abort; clearing an absent latch is not an error.
func (s *Store) ClearLatch() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Delete(keyLatch)
	})
	if err != nil {
		return opError("ClearLatch", err)
	}
	return nil
}

// opError names the failing call and marks an error from a closed file with
// ErrClosed, so that callers can tell a closed journal from a failing one.
func opError(op string, err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("journal.%s: %w: %w", op, ErrClosed, err)
	}
	return fmt.Errorf("journal.%s: %w", op, err)
}

func u64(v uint64) []byte { return seqKey(v) }

// counter reads a persisted counter; absent reads as 0. A malformed value is
// an error rather than 0: reading the seq counter as 0 would reuse seqs.
func counter(b *bolt.Bucket, key []byte) (uint64, error) {
	v := b.Get(key)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	default:
		return 0, fmt.Errorf("counter %s is corrupt (%d bytes)", key, len(v))
	}
}

// nextSeq is the seq the next record gets; numbering starts at 1.
func nextSeq(meta *bolt.Bucket) (uint64, error) {
	seq, err := counter(meta, keyNextSeq)
	return max(seq, 1), err
}
