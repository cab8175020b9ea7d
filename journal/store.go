package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
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
	// MaxOutbox is the most records the outbox holds, and MaxOutboxBytes
	// the most bytes its stored values take (a record's value is its payload,
	// its topic and 18 bytes of header; keys and bbolt's pages are not
	// counted). When an append would pass either bound, the oldest records
	// are dropped in the same transaction, in a batch: telemetry (records
	// of AppendLazy) first, oldest first; events (records of Append) only
	// once no telemetry is left, so the bounds are the events' hard limit.
	// A batch is at least max(2, MaxOutbox/100) records when the count
	// would pass, and at least max(MaxOutboxBytes/100, 1 KiB) bytes when the
	// bytes would, so a long outage costs one "dropped" report per batch
	// instead of one per record; and it always leaves room, after the new
	// record, for one more record of up to 1 KiB: the caller's report of
	// the drop (Record.Dropped). Once that room is made, a batch stops
	// short of its size rather than keep more than 32 events inside its
	// range (Dropped.Kept), so that the report fits it.
	//
	// The defaults, 200000 records and 96 MiB, hold a night without a
	// broker, and two, with no drop. A telemetry record as the uplink stores
	// it (uplink's encodeRecord of a Telemetry body) is 295 bytes of payload
	// with both vitals valid, 325 with every field set; its value adds 18
	// bytes of header and the 37-byte topic: 350 to 380 bytes. At 1 Hz:
	//
	//   - 12 h is 43200 records, 15 MB of values; the file grows to 32 MiB
	//     (measured: uplink's TestTwelveHourOutageFileSize);
	//   - 48 h is 172800 records, 66 MB; the count bound, 200000 records,
	//     is 55 h, 76 MB at most, and its file 96 MiB (measured the same
	//     way): so at the default rates the count bound trips first, and
	//     the byte bound (100.7 MB) only stops records bigger than expected
	//     from filling the card.
	//
	// On a 512 MB armv6 board that file is mapped, not read into memory:
	// its pages are page cache, which the kernel drops under pressure. See
	// Open for how the file shrinks again.
	//
	// MaxOutbox must be 0 (the default) or at least 2; MaxOutboxBytes 0
	// (the default) or at least 64 KiB. A record bigger than MaxOutboxBytes
	// less 1 KiB is refused (an error, nothing stored or dropped).
	MaxOutbox      int
	MaxOutboxBytes int64
	// SeqBlock is how many seqs are reserved in the seq file at a time (see
	// the package doc): a store started after damage skips at most this many,
	// and every SeqBlock appends one costs a write of the seq file (two
	// fsyncs). Default 1000; 0 means the default.
	SeqBlock int
	// CommitInterval is how long a record from AppendLazy, or a queued
	// Delete, may wait in memory before it is committed. Default 10s: at 1
	// Hz telemetry that is 6 commits a minute, 12 fsyncs, where a commit per
	// record and per deletion is about 240; a power cut loses at most the
	// last 10 s of telemetry, which the hub never saw. 0 means the default.
	CommitInterval time.Duration
	// MaxBatch is the most records AppendLazy holds, and deletions Delete
	// queues, before they are committed at once. Default 256; 0 means the
	// default.
	MaxBatch int
	// MaxAuditEntries is the most entries the audit log keeps (see
	// AppendAudited); the oldest are deleted beyond it, in the transaction
	// that appends. Default DefaultMaxAuditEntries; 0 means the default.
	MaxAuditEntries int
	// HistoryRetention is how long history entries are kept (see
	// AppendHistory): MinHistoryRetention..MaxHistoryRetention, 0 for
	// DefaultHistoryRetention.
	HistoryRetention time.Duration
	// MaxHistoryVitals and MaxHistoryEvents bound the entries of each
	// history bucket (each entry is at most MaxHistoryValue bytes); the
	// oldest are pruned beyond them. 0 means DefaultMaxHistoryVitals and
	// DefaultMaxHistoryEvents.
	MaxHistoryVitals int
	MaxHistoryEvents int
	// MaxHistoryQueue is the most history entries waiting in memory for a
	// commit; beyond it AppendHistory drops them. 0 means
	// DefaultMaxHistoryQueue.
	MaxHistoryQueue int
}

// The defaults of Options.MaxOutbox (records) and Options.MaxOutboxBytes
// (bytes of stored values); see there for why.
const (
	DefaultMaxOutbox      = 200000
	DefaultMaxOutboxBytes = 96 << 20
)

const (
	defaultTimeout = time.Second
	// minMaxOutboxBytes is the least MaxOutboxBytes: a few records of a
	// few KiB, and the room for a report.
	minMaxOutboxBytes = 64 << 10
	// reportRoom is the bytes a drop leaves free after the record that
	// caused it, for the report of the drop.
	reportRoom = 1 << 10
	// maxKept is the most kept seqs a drop with room lets inside its
	// range (Dropped.Kept): 32 seqs of up to 11 digits and a comma are
	// 384 bytes, which with the rest of a report fit reportRoom.
	maxKept = 32

	defaultSeqBlock = 1000

	defaultCommitInterval = 10 * time.Second
	defaultMaxBatch       = 256

	// formatVersion is the layout of the buckets; a file with another version
	// is refused rather than misread. Format 2 added the checksums of the
	// counters and the latch; format 3 the telemetry index and the byte
	// counter. Open upgrades a format 1 or 2 file.
	formatVersion = 3

	// damagedCloseWait bounds Close on a damaged store: a panic inside bbolt
	// can leave its locks held, and bbolt's Close would wait for them forever.
	damagedCloseWait = 500 * time.Millisecond
)

var (
	bucketOutbox = []byte("outbox")
	bucketMeta   = []byte("meta")
	// bucketTelemetry indexes the records of the outbox that AppendLazy
	// stored: the same seq keys, empty values. A record not in it is an
	// event. It lets a full outbox drop its oldest telemetry without
	// walking the events before it.
	bucketTelemetry = []byte("telemetry")

	keyFormat    = []byte("format")
	keyNextSeq   = []byte("next_seq")
	keyOutboxLen = []byte("outbox_len")
	// keyOutboxBytes is the sum of the lengths of the outbox's values.
	keyOutboxBytes = []byte("outbox_bytes")
	keyLatch       = []byte("latch")
	// keySeqUnknown marks a store started after damage without a seq file:
	// it hands out no seq until SetSeqFloor.
	keySeqUnknown = []byte("seq_unknown")
	// keyChecksumsFrom is the first seq an upgraded format 1 file stored
	// with a checksum: a version 1 record at or above it is damage. A file
	// created in format 2 has none, and no version 1 record is trusted.
	keyChecksumsFrom = []byte("checksums_from")
)

// ErrClosed is wrapped by the error of every call on a Store (or a Slot) after
// Close: the journal was open and is not any more, which, unlike ErrNotOpen,
// is final.
var ErrClosed = errors.New("journal closed")

// ErrDamaged is wrapped by the error of Open for a file that fails its
// check, and of every call on a Store that found its file damaged: bbolt
// panicked, the map faulted (a file cut short), or a counter failed its
// checksum. OpenOrRecover sets such a file aside.
var ErrDamaged = errors.New("journal damaged")

// ErrSeqUnknown is wrapped by the error of Append and NextSeq on a store
// started after damage without a seq file to say where the seqs stood: it
// hands out none, rather than reuse one, until SetSeqFloor.
var ErrSeqUnknown = errors.New("journal seq floor unknown: a technician must set it (SetSeqFloor) above every seq the hub has from this pod")

// damagef returns an error wrapping ErrDamaged.
func damagef(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrDamaged, fmt.Errorf(format, args...))
}

// Store is an open journal file. Its methods are safe for concurrent use;
// bbolt serialises the writers. After Close they fail with an error wrapping
// ErrClosed. Once a call found the file damaged, every call fails with an
// error wrapping ErrDamaged, without touching the file again, and Damaged
// is closed.
type Store struct {
	db        *bolt.DB
	file      *os.File // bbolt's, from fileHook
	path      string
	opts      Options
	maxOutbox uint64
	dropBatch uint64
	maxBytes  uint64
	dropBytes uint64
	seqBlock  uint64
	// reserved is the mark in the seq file: no seq above it is committed
	// without writing a new one first. Only write transactions touch it,
	// and bbolt runs one at a time.
	reserved uint64

	// wmu serialises the batch: AppendLazy, Append and every commit of the
	// batch, so that seqs are handed out and committed in order.
	wmu sync.Mutex
	// batch holds the records of AppendLazy not yet committed, in seq
	// order, and batchBytes the length of their values; guarded by wmu.
	batch      []queued
	batchBytes uint64
	// commitFailed: the last commit failed; AppendLazy commits before it
	// queues. Guarded by wmu.
	commitFailed bool
	// counts holds the file's counters as last committed, so that
	// AppendLazy decides whether a record fits without a transaction.
	// Guarded by wmu.
	counts committedCounts
	// closed is set first thing in Close, whose last commit then takes
	// wmu: AppendLazy checks it under wmu, so no record is queued after
	// that commit.
	closed atomic.Bool

	// qmu guards the deletions queued by Delete, when the oldest thing
	// queued (a record or a deletion) was queued, and the commit signal.
	// It is never held across a transaction.
	qmu       sync.Mutex
	deletes   map[uint64]struct{}
	since     time.Time
	batchLen  int
	committed chan struct{}
	// flush: MaxBatch deletions are queued, and the writer commits them
	// at once rather than at CommitInterval.
	flush bool
	// lazyNext is one past the highest seq AppendLazy handed out.
	lazyNext uint64
	// commits counts the transactions commitLocked committed.
	commits atomic.Uint64
	// hist is the history's queue (guarded by qmu) and counters.
	hist historyState

	// The writer goroutine: kick wakes it when something is queued, stopc
	// stops it and donec is closed when it has returned.
	kick  chan struct{}
	stopc chan struct{}
	donec chan struct{}

	mu sync.Mutex
	// latch is the stored latch as last read or written through this Store,
	// for Reopen to carry over.
	latch     latchMemo
	damage    error
	damagedCh chan struct{}
	closeOnce sync.Once
}

// committedCounts is the Store's copy of the counters in meta, as committed: read
// from the file at Open (after its check and healing) and set by each
// commit that succeeded, to what it wrote, never by one that failed. The
// file stays the truth: every commit reads its counters from the file,
// and only AppendLazy decides from the copy.
type committedCounts struct {
	next       uint64 // the next seq; 0 when the seq floor is unknown
	seqUnknown bool   // ErrSeqUnknown: no seq until SetSeqFloor
	records    uint64 // outbox_len
	bytes      uint64 // outbox_bytes
}

// loadCounters reads the counters from the file into the Store's copy.
func (s *Store) loadCounters(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	var c committedCounts
	var err error
	c.next, err = nextSeq(meta)
	switch {
	case errors.Is(err, ErrSeqUnknown):
		c.next, c.seqUnknown = 0, true
	case err != nil:
		return err
	}
	if c.records, _, err = decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen)); err != nil {
		return err
	}
	if c.bytes, _, err = decodeCounter(keyOutboxBytes, meta.Get(keyOutboxBytes)); err != nil {
		return err
	}
	s.counts = c
	return nil
}

// latchMemo is what a Store knows of its stored latch.
type latchMemo struct {
	known bool // read or written successfully
	set   bool
	doc   []byte
}

func (o *Options) resolve() (Options, error) {
	r := Options{}
	if o != nil {
		r = *o
	}
	if r.Timeout <= 0 {
		r.Timeout = defaultTimeout
	}
	switch {
	case r.MaxOutbox == 0:
		r.MaxOutbox = DefaultMaxOutbox
	case r.MaxOutbox < 2:
		return r, fmt.Errorf("MaxOutbox %d: must be 0 (default %d) or at least 2", r.MaxOutbox, DefaultMaxOutbox)
	}
	switch {
	case r.MaxOutboxBytes == 0:
		r.MaxOutboxBytes = DefaultMaxOutboxBytes
	case r.MaxOutboxBytes < minMaxOutboxBytes:
		return r, fmt.Errorf("MaxOutboxBytes %d: must be 0 (default %d) or at least %d", r.MaxOutboxBytes, DefaultMaxOutboxBytes, minMaxOutboxBytes)
	}
	switch {
	case r.SeqBlock == 0:
		r.SeqBlock = defaultSeqBlock
	case r.SeqBlock < 0:
		return r, fmt.Errorf("SeqBlock %d: must be 0 (default %d) or positive", r.SeqBlock, defaultSeqBlock)
	}
	switch {
	case r.CommitInterval == 0:
		r.CommitInterval = defaultCommitInterval
	case r.CommitInterval < 0:
		return r, fmt.Errorf("CommitInterval %v: must be 0 (default %v) or positive", r.CommitInterval, defaultCommitInterval)
	}
	switch {
	case r.MaxBatch == 0:
		r.MaxBatch = defaultMaxBatch
	case r.MaxBatch < 0:
		return r, fmt.Errorf("MaxBatch %d: must be 0 (default %d) or positive", r.MaxBatch, defaultMaxBatch)
	}
	switch {
	case r.MaxAuditEntries == 0:
		r.MaxAuditEntries = DefaultMaxAuditEntries
	case r.MaxAuditEntries < 0:
		return r, fmt.Errorf("MaxAuditEntries %d: must be 0 (default %d) or positive", r.MaxAuditEntries, DefaultMaxAuditEntries)
	}
	switch {
	case r.HistoryRetention == 0:
		r.HistoryRetention = DefaultHistoryRetention
	case r.HistoryRetention < MinHistoryRetention || r.HistoryRetention > MaxHistoryRetention:
		return r, fmt.Errorf("HistoryRetention %v: must be 0 (default %v) or within %v..%v", r.HistoryRetention, DefaultHistoryRetention, MinHistoryRetention, MaxHistoryRetention)
	}
	for _, b := range []struct {
		name string
		v    *int
		def  int
	}{{"MaxHistoryVitals", &r.MaxHistoryVitals, DefaultMaxHistoryVitals}, {"MaxHistoryEvents", &r.MaxHistoryEvents, DefaultMaxHistoryEvents}, {"MaxHistoryQueue", &r.MaxHistoryQueue, DefaultMaxHistoryQueue}} {
		switch {
		case *b.v == 0:
			*b.v = b.def
		case *b.v < 0:
			return r, fmt.Errorf("%s %d: must be 0 (default %d) or positive", b.name, *b.v, b.def)
		}
	}
	return r, nil
}

// Open opens or creates the journal at path. The directory must exist: it is
// the caller's (systemd's StateDirectory in production), not the journal's.
//
// The file is locked, then checked page by page before bbolt maps it (see
// the package doc); a file that fails, or a store file that is missing or
// empty while its seq file exists, is an error wrapping ErrDamaged, which
// OpenOrRecover handles. Open never panics and never faults on a damaged
// file.
//
// bbolt never returns pages to the file system: a file grown by an outage
// keeps its size once the backlog is delivered. So Open, before it starts
// the writer, compacts a sound file that is larger than 16 MiB and more
// than twice the bytes of its pages in use (the pages below bbolt's high
// water mark less those on its freelist): bbolt's Compact copies every
// bucket into path + ".compact", which is synced, checked as the file was,
// renamed over it, and the directory synced; the copy is then opened as
// any file. A power cut leaves the old file or the whole copy, never part
// of one; a copy left by a cut is removed by the next Open. A copy that
// fails (a full disk) is removed and the file opened as it is. After a
// 12 h outage at the default rates, the 32 MiB file is 32 KiB again at the
// next start.
func Open(path string, opts *Options) (*Store, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, fmt.Errorf("journal.Open: %w", err)
	}
	s, err := openChecked(path, o)
	if err != nil {
		return nil, openError(path, o, err)
	}
	return s, nil
}

func openError(path string, o Options, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("journal.Open: %s is locked by another process (waited %v): %w", path, o.Timeout, err)
	case errors.Is(err, ErrDamaged):
		return fmt.Errorf("journal.Open: %s: %w", path, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		// checkFile finds these first; bbolt may still, on a file changed
		// under the lock.
		return fmt.Errorf("journal.Open: %s is not a readable journal (corrupt or not a bbolt file): %w: %w", path, ErrDamaged, err)
	}
	return fmt.Errorf("journal.Open: %s: %w", path, err)
}

// openChecked opens the file at path, checked; a file it compacted is
// opened again, checked as any other.
func openChecked(path string, o Options) (*Store, error) {
	s, err := openOnce(path, o, true)
	if errors.Is(err, errCompacted) {
		return openOnce(path, o, false)
	}
	return s, err
}

func openOnce(path string, o Options, compact bool) (st *Store, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	hook := &fileHook{timeout: o.Timeout}
	s := &Store{
		path:      path,
		opts:      o,
		maxOutbox: uint64(o.MaxOutbox),
		dropBatch: max(uint64(o.MaxOutbox/100), 2),
		maxBytes:  uint64(o.MaxOutboxBytes),
		dropBytes: max(uint64(o.MaxOutboxBytes/100), reportRoom),
		seqBlock:  uint64(o.SeqBlock),
		damagedCh: make(chan struct{}),
		deletes:   map[uint64]struct{}{},
		committed: make(chan struct{}),
		kick:      make(chan struct{}, 1),
		stopc:     make(chan struct{}),
		donec:     make(chan struct{}),
	}
	defer func() {
		if r := recover(); r != nil {
			err = panicDamage("Open", r)
			s.markDamaged(err)
			if s.db != nil {
				_ = s.closeDamaged()
			} else if hook.file != nil {
				// bbolt.Open itself panicked: its DB is lost to us, but not the
				// descriptor, and closing it releases the lock.
				_ = hook.file.Close()
			}
			st = nil
		}
	}()

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, OpenFile: hook.open})
	if err != nil {
		return nil, err
	}
	s.db, s.file = db, hook.file
	// The file is locked: a compaction cut short by a power cut is ours to
	// clear. Failing to, the next compaction fails in turn and is skipped.
	_ = os.Remove(compactPath(path))
	// Most opens write nothing: a read transaction, without a commit and its
	// fsyncs, unless setUp asks for a write.
	err = db.View(s.setUp)
	if errors.Is(err, errNeedsWrite) {
		err = db.Update(s.setUp)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if compact && s.compact() {
		if err := db.Close(); err != nil {
			return nil, err
		}
		return nil, errCompacted
	}
	if err := db.View(s.loadCounters); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// errNeedsWrite is returned by setUp in a read transaction that found
// something to write.
var errNeedsWrite = errors.New("needs a write transaction")

// setUp creates the buckets of a new file, upgrades a format 1 file, and
// checks what the file check cannot: the counters, the outbox against the
// seq counter, the seq counter against the seq file.
func (s *Store) setUp(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return damagef("no meta bucket, but the file holds %q", k)
		}
		if !tx.Writable() {
			return errNeedsWrite
		}
		return s.create(tx)
	}
	out := tx.Bucket(bucketOutbox)
	if out == nil {
		return damagef("no outbox bucket")
	}
	v := meta.Get(keyFormat)
	if len(v) != 8 {
		return damagef("format %x", v)
	}
	switch f := binary.BigEndian.Uint64(v); f {
	case 1, 2:
		if !tx.Writable() {
			return errNeedsWrite
		}
		if f == 1 {
			if err := upgrade(meta); err != nil {
				return err
			}
		}
		if err := upgrade3(tx, meta, out); err != nil {
			return err
		}
	case formatVersion:
	default:
		// A newer podd's file, or a damaged value: either way not misread,
		// and set aside whole by OpenOrRecover.
		return damagef("unsupported journal format %d (want %d)", f, formatVersion)
	}

	tel := tx.Bucket(bucketTelemetry)
	if tel == nil {
		return damagef("no telemetry bucket in a format %d file", formatVersion)
	}
	if err := setUpJTI(tx); err != nil {
		return err
	}
	if err := setUpHistory(tx); err != nil {
		return err
	}
	if tx.Bucket(bucketAudit) == nil {
		// A file from before the audit log: its chain starts now.
		if !tx.Writable() {
			return errNeedsWrite
		}
		if err := createAudit(tx); err != nil {
			return err
		}
	}
	if err := audit(tx, meta, out, tel); err != nil {
		return err
	}
	// A latch that fails its checksum is left unknown here; Latch reports it.
	s.latch, _ = loadLatch(meta)
	if meta.Get(keySeqUnknown) != nil {
		return nil // no seq to check or reserve until SetSeqFloor
	}
	next, err := nextSeq(meta)
	if err != nil {
		return err
	}
	if k, _ := out.Cursor().Last(); len(k) == 8 && binary.BigEndian.Uint64(k) >= next {
		return damagef("the outbox holds seq %d, but the counter says the next seq is %d", binary.BigEndian.Uint64(k), next)
	}
	sf, state, err := readSeqFile(seqPath(s.path))
	switch {
	case state == seqValid && next < sf.base:
		return damagef("the store is older than its seq file: next seq %d, but seqs below %d were handed out", next, sf.base)
	case state == seqValid && next-1 <= sf.mark:
		s.reserved = sf.mark
		return nil
	case state == seqMissing && err != nil:
		return fmt.Errorf("seq file: %w", err)
	}
	// Missing (a file from before seq files), damaged, or behind the store:
	// the store is sound, so it says where the seqs stand.
	if !tx.Writable() {
		return errNeedsWrite
	}
	return s.reserve(next, next, out)
}

// create sets up a new file. Its numbering starts after the seq file's
// mark: a store made where another was never reuses its seqs.
func (s *Store) create(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	out, err := tx.CreateBucket(bucketOutbox)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucket(bucketTelemetry); err != nil {
		return err
	}
	if err := setUpJTI(tx); err != nil {
		return err
	}
	if err := createAudit(tx); err != nil {
		return err
	}
	if err := setUpHistory(tx); err != nil {
		return err
	}
	next := uint64(1)
	switch sf, state, err := readSeqFile(seqPath(s.path)); {
	case state == seqValid:
		next = sf.mark + 1
	case state == seqInvalid:
		// A seq file without a store that ever held a record: some earlier
		// store used seqs, and how many is lost.
		return damagef("new store, but a damaged seq file: %v", err)
	case err != nil:
		return fmt.Errorf("seq file: %w", err)
	}
	if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
		return err
	}
	if err := meta.Put(keyNextSeq, encodeCounter(keyNextSeq, next)); err != nil {
		return err
	}
	s.latch = latchMemo{known: true}
	return s.reserve(next, next, out)
}

// upgrade rewrites a format 1 file's counters and latch with their
// checksums. Its records stay as they are (version 1, read as such).
func upgrade(meta *bolt.Bucket) error {
	next := uint64(1)
	for _, key := range [][]byte{keyNextSeq, keyOutboxLen} {
		v := meta.Get(key)
		if v == nil {
			continue
		}
		if len(v) != 8 {
			return damagef("counter %s is corrupt (%d bytes)", key, len(v))
		}
		n := binary.BigEndian.Uint64(v)
		if err := meta.Put(key, encodeCounter(key, n)); err != nil {
			return err
		}
		if string(key) == string(keyNextSeq) {
			next = max(n, 1)
		}
	}
	if err := meta.Put(keyChecksumsFrom, encodeCounter(keyChecksumsFrom, next)); err != nil {
		return err
	}
	if v := meta.Get(keyLatch); v != nil {
		if err := meta.Put(keyLatch, encodeLatch(v)); err != nil {
			return err
		}
	}
	return meta.Put(keyFormat, u64(2))
}

// upgrade3 turns a format 2 file into format 3: an empty telemetry index,
// and the byte counter. The records a format 2 file holds cannot be told
// apart, so they all count as events: kept until no telemetry is left.
func upgrade3(tx *bolt.Tx, meta, out *bolt.Bucket) error {
	if _, err := tx.CreateBucketIfNotExists(bucketTelemetry); err != nil {
		return err
	}
	_, b := outboxSize(out)
	if err := meta.Put(keyOutboxBytes, encodeCounter(keyOutboxBytes, b)); err != nil {
		return err
	}
	return meta.Put(keyFormat, u64(formatVersion))
}

// outboxSize counts the outbox's records (those under a seq key: nothing
// else is written there) and the bytes of their values.
func outboxSize(out *bolt.Bucket) (n, bytes uint64) {
	c := out.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) == 8 {
			n++
			bytes += uint64(len(v))
		}
	}
	return n, bytes
}

// audit checks the outbox's counters against its records, and the
// telemetry index against the outbox, at every Open. A counter that
// disagrees with the records or fails its checksum, or an index entry with
// no record (or not under a seq key), is healed (in a write transaction):
// the counters are rewritten from the records, the entry deleted. (The seq
// counter is not one of these: read wrong it would reuse seqs, and a
// checksum failure there is damage.) Both only steer when and what a
// full outbox drops, never a seq or a record, and bbolt commits them with
// the records they count, so a disagreement is a bug of an earlier podd,
// not a file gone bad: setting the file aside, and latching the pod, for
// it would cost far more than it protects. A record missing from the index
// cannot be told from an event, and is kept as one: the safe side.
func audit(tx *bolt.Tx, meta, out, tel *bolt.Bucket) error {
	count, bytes := outboxSize(out)
	// A counter that cannot be read counts as one that disagrees.
	n, _, err := decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen))
	if err != nil {
		n = count + 1
	}
	b, _, err := decodeCounter(keyOutboxBytes, meta.Get(keyOutboxBytes))
	if err != nil {
		b = bytes + 1
	}
	var orphans [][]byte
	c := tel.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 8 || out.Get(k) == nil {
			orphans = append(orphans, append([]byte(nil), k...))
		}
	}
	if n == count && b == bytes && len(orphans) == 0 {
		return nil
	}
	if !tx.Writable() {
		return errNeedsWrite
	}
	for _, k := range orphans {
		if err := tel.Delete(k); err != nil {
			return damagef("telemetry index: entry %x: %v", k, err)
		}
	}
	if err := meta.Put(keyOutboxLen, encodeCounter(keyOutboxLen, count)); err != nil {
		return err
	}
	return meta.Put(keyOutboxBytes, encodeCounter(keyOutboxBytes, bytes))
}

// reserve writes the seq file so that the seqs from seq (the store's next
// seq) up to at least upto, and SeqBlock in all at least, may be committed.
// It runs inside a write transaction, before the commit that uses them and
// before it deletes anything: a power cut between them leaves a mark ahead
// of the store, never behind it.
func (s *Store) reserve(seq, upto uint64, out *bolt.Bucket) error {
	pending := seq
	if k, _ := out.Cursor().First(); len(k) == 8 {
		pending = min(pending, binary.BigEndian.Uint64(k))
	}
	sf := seqFile{mark: max(seq+s.seqBlock-1, upto), base: seq, pending: pending}
	if err := writeSeqFile(seqPath(s.path), sf); err != nil {
		return fmt.Errorf("reserve seqs %d..%d: %w", seq, sf.mark, err)
	}
	s.reserved = sf.mark
	return nil
}

// guard is deferred by every method, after SetPanicOnFault: a panic in
// bbolt, or a fault on its map, becomes an error wrapping ErrDamaged, and
// the Store is marked damaged.
func (s *Store) guard(op string, err *error) {
	if r := recover(); r != nil {
		d := panicDamage(op, r)
		s.markDamaged(d)
		*err = fmt.Errorf("journal.%s: %w", op, d)
	}
}

// panicDamage describes what recover returned in op.
func panicDamage(op string, r any) error {
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		// SetPanicOnFault's panic: the map could not be read there.
		return damagef("fault at %#x on the file's map in %s (a file cut short, or a read error): %v", f.Addr(), op, r)
	}
	return damagef("bbolt panicked in %s: %v", op, r)
}

// usable fails once the Store was found damaged.
func (s *Store) usable(op string) error {
	if d := s.Damage(); d != nil {
		return fmt.Errorf("journal.%s: %w", op, d)
	}
	return nil
}

func (s *Store) markDamaged(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.damage == nil {
		s.damage = err
		close(s.damagedCh)
	}
}

// Damaged is closed when a call finds the file damaged. The owner then
// reopens the store (Reopen), which sets the file aside if it is damaged
// indeed.
func (s *Store) Damaged() <-chan struct{} { return s.damagedCh }

// Damage is the damage a call found (wrapping ErrDamaged), or nil.
func (s *Store) Damage() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.damage
}

// Close stops the writer goroutine, commits what is queued (the batch of
// AppendLazy and the queued deletions, one transaction of at most MaxBatch
// records, not retried), and closes the file. A call in progress is waited
// for (bbolt cannot abandon a transaction), except on a damaged store, where
// nothing is committed and the wait is bounded: if bbolt does not close in
// time, the file's descriptor is closed under it, which releases its lock.
// Calls after it fail with ErrClosed (or ErrDamaged). Calling it again does
// nothing and returns nil.
func (s *Store) Close() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Close", &err)
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stopc)
		s.waitWriter()
		var ferr error
		if s.Damage() == nil {
			ferr = s.commitOnClose()
		}
		if s.Damage() != nil {
			err = s.closeDamaged()
		} else {
			err = s.db.Close()
		}
		err = errors.Join(ferr, err)
		if err != nil {
			err = fmt.Errorf("journal.Close: %w", err)
		}
	})
	return err
}

func (s *Store) closeDamaged() error {
	done := make(chan error, 1)
	go func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("bbolt panicked closing: %v", r)
			}
		}()
		done <- s.db.Close()
	}()
	t := time.NewTimer(damagedCloseWait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil && s.file != nil {
			unlockFile(s.file)
			_ = s.file.Close()
		}
		return err
	case <-t.C:
		// That goroutine and bbolt's map are left behind: a call still in
		// bbolt may read the map, so it is not unmapped. The map keeps the
		// open file description, and with it the flock, alive after the
		// descriptor is closed: the lock is released explicitly first.
		unlockFile(s.file)
		if err := s.file.Close(); err != nil {
			return fmt.Errorf("bbolt did not close within %v; closing its file: %w", damagedCloseWait, err)
		}
		return fmt.Errorf("bbolt did not close within %v (its locks are held); its file was closed under it", damagedCloseWait)
	}
}

// Append stores a new record on topic, durably: it assigns the next seq,
// calls build(seq) for the payload and commits the record and the advanced
// counter in one transaction, with the batch of AppendLazy and the queued
// deletions before it, so seqs are committed in order and the record never
// waits behind the batch. build runs inside that transaction, so it must be
// quick and must not call the Store (bbolt allows one writer; it would
// deadlock). If build fails (or panics) nothing is committed, the batch
// stays queued, and the seq is not consumed.
//
// The record is an event: when the outbox is full (Options.MaxOutbox), the
// oldest telemetry is deleted first, in the same transaction, and events
// only once no telemetry is left; what was deleted is returned in
// Record.Dropped. A record whose stored value is larger than
// MaxOutboxBytes less 1 KiB is refused, nothing committed.
func (s *Store) Append(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (_ Record, err error) {
	if build == nil {
		return Record{}, errors.New("journal.Append: nil build function")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Append", &err)
	if err := s.usable("Append"); err != nil {
		return Record{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("Append", &err)
	rec, err := s.commitLocked(&urgent{topic: topic, created: created, build: build})
	if err != nil {
		return Record{}, s.opError("Append", err)
	}
	return rec, nil
}

// callBuild calls the caller's build; a panic in it is the caller's bug,
// not damage, and is returned as an error.
func callBuild(build func(uint64) ([]byte, error), seq uint64) (p []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("build panicked: %v", r)
		}
	}()
	return build(seq)
}

// Pending returns up to max committed records with Seq > after, oldest
// first: not those of AppendLazy still in the batch, nor those whose
// deletion is queued. A value
// that cannot be decoded, or fails its checksum, is returned in its place
// with Corrupt set: never as a record it is not.
func (s *Store) Pending(after uint64, max int) (_ []Record, err error) {
	if max <= 0 {
		return nil, fmt.Errorf("journal.Pending: max %d: must be positive", max)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Pending", &err)
	if err := s.usable("Pending"); err != nil {
		return nil, err
	}
	var recs []Record
	err = s.db.View(func(tx *bolt.Tx) error {
		v1Below, _, err := decodeCounter(keyChecksumsFrom, tx.Bucket(bucketMeta).Get(keyChecksumsFrom))
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(recs) < max; k, v = c.Next() {
			if len(k) != 8 {
				// Not a seq key: nothing this package writes. Skipping it keeps
				// delivery going; it cannot be addressed by Delete anyway.
				continue
			}
			seq := binary.BigEndian.Uint64(k)
			if seq <= after || s.deleteQueued(seq) {
				continue
			}
			rec, err := decodeValue(seq, v)
			if err == nil && v[0] == recordV1 && seq >= v1Below {
				err = errors.New("version 1 record (no checksum) where only version 2 was written")
			}
			if err != nil {
				rec = Record{Seq: seq, Payload: append([]byte(nil), v...), Corrupt: fmt.Errorf("journal: record %d: %w", seq, err)}
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, s.opError("Pending", err)
	}
	return recs, nil
}

// Delete removes the records with the given seqs, acknowledged by the
// broker. The deletion is queued, not committed: Pending and OutboxLen stop
// returning and counting them at once, and they are deleted in the next
// commit (an Append, the batch's, or CommitInterval after the oldest thing
// queued), or, once MaxBatch deletions are queued, in a commit the writer
// goroutine makes at once. Delete itself never commits and never waits for
// one: the drainer that calls it keeps sending meanwhile. A deletion lost in
// a power cut is a record sent again, a duplicate the hub drops. Seqs not in
// the outbox (already deleted, or dropped) are ignored. An error is a store
// that is closed or damaged: nothing is then queued.
func (s *Store) Delete(seqs ...uint64) (err error) {
	if len(seqs) == 0 {
		return nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Delete", &err)
	if err := s.usable("Delete"); err != nil {
		return err
	}
	if s.closed.Load() {
		return s.opError("Delete", bolterrors.ErrDatabaseNotOpen)
	}
	s.qmu.Lock()
	for _, seq := range seqs {
		s.deletes[seq] = struct{}{}
	}
	s.queuedLocked()
	s.flushIfFullLocked()
	s.qmu.Unlock()
	return nil
}

// OutboxLen is the number of records waiting for an acknowledgement: those
// committed, less those whose deletion is queued, and those of AppendLazy
// not yet committed.
func (s *Store) OutboxLen() (_ int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("OutboxLen", &err)
	if err := s.usable("OutboxLen"); err != nil {
		return 0, err
	}
	s.qmu.Lock()
	dels := make([]uint64, 0, len(s.deletes))
	for seq := range s.deletes {
		dels = append(dels, seq)
	}
	queued := s.batchLen
	s.qmu.Unlock()
	var n uint64
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		n, _, err = decodeCounter(keyOutboxLen, tx.Bucket(bucketMeta).Get(keyOutboxLen))
		out := tx.Bucket(bucketOutbox)
		for _, seq := range dels {
			if n > 0 && out.Get(seqKey(seq)) != nil {
				n--
			}
		}
		return err
	})
	if err != nil {
		return 0, s.opError("OutboxLen", err)
	}
	return int(n) + queued, nil
}

// NextSeq is the seq the next Append or AppendLazy will use (past the
// batch not yet committed). It fails with ErrSeqUnknown
// on a store that must not hand out seqs yet (see SetSeqFloor).
func (s *Store) NextSeq() (_ uint64, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("NextSeq", &err)
	if err := s.usable("NextSeq"); err != nil {
		return 0, err
	}
	var seq uint64
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		seq, err = nextSeq(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		return 0, s.opError("NextSeq", err)
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return max(seq, s.lazyNext), nil
}

// SetSeqFloor raises the next seq to at least next, never lowers it, and
// ends the refusal (ErrSeqUnknown) of a store started after damage without
// a seq file. next must be above every seq the hub holds from this pod (the
// hub knows); it is written to the seq file before it is used.
func (s *Store) SetSeqFloor(next uint64) (err error) {
	if next == 0 || next > 1<<53 {
		return fmt.Errorf("journal.SetSeqFloor: %d: must be in 1..2^53", next)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("SetSeqFloor", &err)
	if err := s.usable("SetSeqFloor"); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("SetSeqFloor", &err)
	if len(s.batch) > 0 {
		if _, err := s.commitLocked(nil); err != nil {
			return s.opError("SetSeqFloor", err)
		}
	}
	var floor uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		cur, err := nextSeq(meta)
		switch {
		case errors.Is(err, ErrSeqUnknown):
			cur = 0
		case err != nil:
			return err
		}
		floor = max(cur, next)
		if err := s.reserve(floor, floor, tx.Bucket(bucketOutbox)); err != nil {
			return err
		}
		if err := meta.Put(keyNextSeq, encodeCounter(keyNextSeq, floor)); err != nil {
			return err
		}
		return meta.Delete(keySeqUnknown)
	})
	if err != nil {
		return s.opError("SetSeqFloor", err)
	}
	s.counts.next, s.counts.seqUnknown = floor, false
	return nil
}

// SetLatch stores the latched abort, an opaque document owned by the safety
// package, with a checksum. It survives restarts until ClearLatch.
func (s *Store) SetLatch(b []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("SetLatch", &err)
	if err := s.usable("SetLatch"); err != nil {
		return err
	}
	doc := append([]byte{}, b...)
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyLatch, encodeLatch(doc))
	})
	if err != nil {
		return s.opError("SetLatch", err)
	}
	s.setLatchMemo(latchMemo{known: true, set: true, doc: doc})
	return nil
}

// Latch returns the latched abort and whether one is set. A stored latch
// that fails its checksum is an error: it may have been an abort, and the
// caller must treat it as one.
func (s *Store) Latch() (_ []byte, _ bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("Latch", &err)
	if err := s.usable("Latch"); err != nil {
		return nil, false, err
	}
	var m latchMemo
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		m, err = loadLatch(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		return nil, false, s.opError("Latch", err)
	}
	s.setLatchMemo(m)
	return append([]byte(nil), m.doc...), m.set, nil
}

// ClearLatch removes the latched abort; clearing an absent latch is not an error.
func (s *Store) ClearLatch() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("ClearLatch", &err)
	if err := s.usable("ClearLatch"); err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Delete(keyLatch)
	})
	if err != nil {
		return s.opError("ClearLatch", err)
	}
	s.setLatchMemo(latchMemo{known: true})
	return nil
}

func loadLatch(meta *bolt.Bucket) (latchMemo, error) {
	v := meta.Get(keyLatch)
	if v == nil {
		return latchMemo{known: true}, nil
	}
	doc, err := decodeLatch(v)
	if err != nil {
		return latchMemo{}, err
	}
	if doc == nil {
		doc = []byte{}
	}
	return latchMemo{known: true, set: true, doc: doc}, nil
}

func (s *Store) setLatchMemo(m latchMemo) {
	s.mu.Lock()
	s.latch = m
	s.mu.Unlock()
}

func (s *Store) knownLatch() latchMemo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latch
}

// opError names the failing call, marks an error from a closed file with
// ErrClosed, so that callers can tell a closed journal from a failing one,
// and marks the Store damaged for an error wrapping ErrDamaged.
func (s *Store) opError(op string, err error) error {
	if errors.Is(err, ErrDamaged) {
		s.markDamaged(fmt.Errorf("%w (found by %s)", err, op))
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("journal.%s: %w: %w", op, ErrClosed, err)
	}
	return fmt.Errorf("journal.%s: %w", op, err)
}

func u64(v uint64) []byte { return seqKey(v) }

// nextSeq is the seq the next record gets; numbering starts at 1. A
// malformed counter is damage rather than 1: reading it as 1 would reuse
// seqs.
func nextSeq(meta *bolt.Bucket) (uint64, error) {
	seq, ok, err := decodeCounter(keyNextSeq, meta.Get(keyNextSeq))
	if !ok && err == nil && meta.Get(keySeqUnknown) != nil {
		// Only a store without a counter can have the flag: SetSeqFloor
		// writes the one and deletes the other.
		return 0, ErrSeqUnknown
	}
	return max(seq, 1), err
}
