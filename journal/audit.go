package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultMaxAuditEntries is the default Options.MaxAuditEntries: at a few
// hundred bytes an entry, about 6 MB of the file; a pod that records a
// few dozen audited events a night keeps years of them.
const DefaultMaxAuditEntries = 20000

// AuditLink names one audit entry: its number and the SHA-256 of its
// stored bytes, lower-case hex, and the hash it holds of the entry before
// it (Prev). An event that reports the entry carries it, so a hub can match
// the event to the entry and check the chain with the events it holds.
type AuditLink struct {
	N    uint64 `json:"n"`
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// AuditEntry is one stored audit entry: its number, its exact stored bytes
// (a JSON object, see the package doc) and their SHA-256, lower-case hex.
type AuditEntry struct {
	N    uint64
	Raw  []byte
	Hash string
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	// Entries is how many entries the log keeps; First and Last are the
	// numbers of the first and last kept (0 when it is empty).
	Entries uint64 `json:"entries"`
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	// Pruned is how many entries were deleted by the bound
	// (Options.MaxAuditEntries), all before First; Anchor is the hash the
	// first kept entry must hold as prev: that of the last pruned entry,
	// or 64 zeros for a chain that never pruned.
	Pruned uint64 `json:"pruned"`
	Anchor string `json:"anchor"`
	// LastHash is the hash of the last entry, "" when the log is empty: the
	// hub holds it from the last audited event it received.
	LastHash string `json:"last_hash,omitempty"`
	// Broken is the first broken link, nil when the chain is intact.
	Broken *AuditBreak `json:"broken,omitempty"`
}

// Intact reports whether no link is broken.
func (r AuditReport) Intact() bool { return r.Broken == nil }

// AuditBreak is a broken link of the chain: the entry N where it breaks,
// a stable reason code and a sentence for a technician.
type AuditBreak struct {
	N uint64 `json:"n"`
	// Reason is one of the AuditBreak* codes.
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	// Pruned: the break lies in entries deleted by the bound since; it was
	// found when they were deleted, and is kept as the first break.
	Pruned bool `json:"pruned,omitempty"`
}

// Reasons of an AuditBreak.
const (
	// AuditBreakBadEntry: the stored bytes are not an audit entry (not
	// JSON, a field missing or of the wrong kind), or its key is not a
	// big-endian entry number.
	AuditBreakBadEntry = "bad_entry"
	// AuditBreakNMismatch: the entry's n is not the number it is stored
	// under.
	AuditBreakNMismatch = "n_mismatch"
	// AuditBreakPrevMismatch: the entry's prev is not the hash of the
	// entry before it (or of the anchor, for the first kept).
	AuditBreakPrevMismatch = "prev_mismatch"
	// AuditBreakMissing: entries are missing before this one.
	AuditBreakMissing = "missing"
	// AuditBreakAnchor: the anchor kept in meta fails its checksum.
	AuditBreakAnchor = "bad_anchor"
)

// AuditTypeChainRestarted is the type of the first entry of the chain of a
// fresh store that replaced a damaged one (OpenOrRecover, Reopen): the
// journal writes it itself, with the fresh store.
const AuditTypeChainRestarted = "chain_restarted"

var (
	// bucketAudit holds the audit log: big-endian uint64 entry numbers,
	// from 1, to the entries' bytes.
	bucketAudit = []byte("audit")
	// keyAuditAnchor is the anchor: where the kept chain starts once the
	// oldest entries were pruned.
	keyAuditAnchor = []byte("audit_anchor")
)

// zeroHash is the anchor of a chain that never pruned: its first entry's
// prev.
var zeroHash = strings.Repeat("0", 2*sha256.Size)

// auditTimeFormat is RFC 3339 in UTC with nine fractional digits, as the
// uplink writes ts: the entry's ts is the event's.
const auditTimeFormat = "2006-01-02T15:04:05.000000000Z"

// auditEntry is the stored entry, in the order its fields are written.
type auditEntry struct {
	N      uint64          `json:"n"`
	Prev   string          `json:"prev"`
	TS     string          `json:"ts"`
	Seq    uint64          `json:"seq,omitempty"`
	Type   string          `json:"type"`
	Fields json.RawMessage `json:"fields"`
}

// encodeAuditEntry writes an entry; fields must be a JSON object (nil: {}).
func encodeAuditEntry(n uint64, prev string, at time.Time, seq uint64, typ string, fields []byte) ([]byte, error) {
	if typ == "" {
		return nil, errors.New("audit entry without a type")
	}
	if len(fields) == 0 {
		fields = []byte("{}")
	}
	if t := bytes.TrimSpace(fields); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return nil, fmt.Errorf("audit entry %q: fields are not a JSON object", typ)
	}
	// Marshal compacts the fields, so the stored bytes do not depend on
	// how the caller spaced them.
	return json.Marshal(auditEntry{N: n, Prev: prev, TS: at.UTC().Format(auditTimeFormat), Seq: seq, Type: typ, Fields: fields})
}

func auditHash(v []byte) string {
	h := sha256.Sum256(v)
	return hex.EncodeToString(h[:])
}

// auditAnchor is where the kept chain starts: N, the number of the last
// pruned entry (0: none), and Hash, its hash, which the first kept entry
// holds as prev. Broken is the first break found in entries as they were
// pruned.
type auditAnchor struct {
	N      uint64      `json:"n"`
	Hash   string      `json:"hash"`
	Broken *AuditBreak `json:"broken,omitempty"`
}

// The anchor's value: [0] version 1, [1:5] CRC-32C of [5:], [5:] its JSON.
const anchorVersion = 1

func encodeAnchor(a auditAnchor) ([]byte, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 5, 5+len(doc))
	b[0] = anchorVersion
	b = append(b, doc...)
	binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[5:], castagnoli))
	return b, nil
}

// loadAnchor reads the anchor; none stored is the zero anchor.
func loadAnchor(meta *bolt.Bucket) (auditAnchor, error) {
	v := meta.Get(keyAuditAnchor)
	if v == nil {
		return auditAnchor{Hash: zeroHash}, nil
	}
	if len(v) < 5 || v[0] != anchorVersion {
		return auditAnchor{}, errors.New("audit anchor: unknown version or too short")
	}
	if want, got := binary.BigEndian.Uint32(v[1:5]), crc32.Checksum(v[5:], castagnoli); want != got {
		return auditAnchor{}, fmt.Errorf("audit anchor: %w: stored %08x, computed %08x", errChecksum, want, got)
	}
	var a auditAnchor
	if err := json.Unmarshal(v[5:], &a); err != nil {
		return auditAnchor{}, fmt.Errorf("audit anchor: %w", err)
	}
	return a, nil
}

// chainWalk checks entries in key order, from an anchor: each must decode,
// hold its key as n, follow the one before without a gap, and hold its
// hash as prev. It keeps the first break, and walks on to the end.
type chainWalk struct {
	n      uint64 // the number of the last entry walked (or the anchor's)
	hash   string // its hash
	walked bool   // an entry was walked: n and hash are an entry's, not the anchor's
	broken *AuditBreak
}

// next checks the entry stored under k with bytes v.
func (w *chainWalk) next(k, v []byte) {
	if len(k) != 8 {
		w.brk(&AuditBreak{N: w.n + 1, Reason: AuditBreakBadEntry, Detail: fmt.Sprintf("a key that is not an entry number (%x) after entry %d", k, w.n)})
		return
	}
	n := binary.BigEndian.Uint64(k)
	var e struct {
		N    *uint64 `json:"n"`
		Prev *string `json:"prev"`
		Type string  `json:"type"`
	}
	err := json.Unmarshal(v, &e)
	if err == nil && (e.N == nil || e.Prev == nil || e.Type == "") {
		err = errors.New("n, prev or type missing")
	}
	switch {
	case n != w.n+1:
		w.brk(&AuditBreak{N: n, Reason: AuditBreakMissing, Detail: missingDetail(w.n, n)})
	case err != nil:
		w.brk(&AuditBreak{N: n, Reason: AuditBreakBadEntry, Detail: fmt.Sprintf("entry %d is not an audit entry: %v", n, err)})
	case *e.N != n:
		w.brk(&AuditBreak{N: n, Reason: AuditBreakNMismatch, Detail: fmt.Sprintf("the entry stored as %d says it is entry %d", n, *e.N)})
	case *e.Prev != w.hash:
		what := fmt.Sprintf("entry %d", w.n)
		switch {
		case n == 1:
			what = "the start of a chain (64 zeros)"
		case !w.walked:
			what = fmt.Sprintf("the anchor (the hash of pruned entry %d)", w.n)
		}
		w.brk(&AuditBreak{N: n, Reason: AuditBreakPrevMismatch, Detail: "prev hash does not match " + what})
	}
	w.n, w.hash, w.walked = n, auditHash(v), true
}

// brk keeps b unless a break was found before.
func (w *chainWalk) brk(b *AuditBreak) {
	if w.broken == nil {
		w.broken = b
	}
}

func missingDetail(before, n uint64) string {
	if n == before+2 {
		return fmt.Sprintf("entry %d is missing", before+1)
	}
	if n <= before {
		return fmt.Sprintf("entry %d stored after entry %d", n, before)
	}
	return fmt.Sprintf("entries %d-%d are missing", before+1, n-1)
}

// lastAuditEntry returns the number and hash of the last entry, or the
// anchor's when the log is empty.
func lastAuditEntry(audit, meta *bolt.Bucket) (uint64, string) {
	c := audit.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		if len(k) == 8 {
			return binary.BigEndian.Uint64(k), auditHash(v)
		}
	}
	a, err := loadAnchor(meta)
	if err != nil {
		// Verify reports it; the chain goes on from the start.
		return 0, zeroHash
	}
	return a.N, a.Hash
}

// putAudit appends an entry in tx for the record seq, and prunes the log
// to max entries; it returns the new entry's link.
func putAudit(tx *bolt.Tx, max uint64, at time.Time, seq uint64, typ string, fields []byte) (AuditLink, error) {
	audit, meta := tx.Bucket(bucketAudit), tx.Bucket(bucketMeta)
	if audit == nil {
		return AuditLink{}, errors.New("no audit bucket")
	}
	last, prev := lastAuditEntry(audit, meta)
	n := last + 1
	v, err := encodeAuditEntry(n, prev, at, seq, typ, fields)
	if err != nil {
		return AuditLink{}, err
	}
	audit.FillPercent = 1 // numbers only grow
	if err := audit.Put(seqKey(n), v); err != nil {
		return AuditLink{}, err
	}
	if err := pruneAudit(audit, meta, n, max); err != nil {
		return AuditLink{}, err
	}
	return AuditLink{N: n, Prev: prev, Hash: auditHash(v)}, nil
}

// pruneAudit deletes the entries numbered n-max or below, oldest first,
// each checked against the anchor as VerifyAudit would, and moves the
// anchor to the last deleted; a break found on the way is kept in the
// anchor as the first break.
func pruneAudit(audit, meta *bolt.Bucket, n, max uint64) error {
	if n <= max {
		return nil
	}
	cut := n - max
	c := audit.Cursor()
	k, _ := c.First()
	if k == nil || len(k) == 8 && binary.BigEndian.Uint64(k) > cut {
		return nil
	}
	a, err := loadAnchor(meta)
	w := chainWalk{n: a.N, hash: a.Hash, broken: a.Broken}
	if err != nil {
		w = chainWalk{broken: &AuditBreak{Reason: AuditBreakAnchor, Detail: err.Error(), Pruned: true}}
	}
	var keys [][]byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) == 8 && binary.BigEndian.Uint64(k) > cut {
			break
		}
		if w.broken != nil && w.broken.N == 0 {
			w.broken.N = binary.BigEndian.Uint64(k)
		}
		w.next(k, v)
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := audit.Delete(k); err != nil {
			return err
		}
	}
	if w.broken != nil {
		w.broken.Pruned = true
	}
	b, err := encodeAnchor(auditAnchor{N: w.n, Hash: w.hash, Broken: w.broken})
	if err != nil {
		return err
	}
	return meta.Put(keyAuditAnchor, b)
}

// createAudit makes the audit bucket of a file that has none (a new file,
// or one from before the audit log): its chain starts at 1.
func createAudit(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists(bucketAudit)
	return err
}

// restartAudit writes the first entry of a fresh store's chain: the chain
// restarted because the store at path was damaged, and where it went.
func restartAudit(tx *bolt.Tx, rec *Recovery, moved string, next uint64) error {
	audit, err := tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return err
	}
	fields, err := json.Marshal(struct {
		Reason  string `json:"reason"`
		Store   string `json:"store"`
		MovedTo string `json:"moved_to"`
		Damage  string `json:"damage"`
		NextSeq uint64 `json:"next_seq"`
	}{RuleStoreDamaged, rec.Path, moved, rec.Damage.Error(), next})
	if err != nil {
		return err
	}
	v, err := encodeAuditEntry(1, zeroHash, rec.At, 0, AuditTypeChainRestarted, fields)
	if err != nil {
		return err
	}
	return audit.Put(seqKey(1), v)
}

// auditAppend is the audit entry of an AppendAudited, written in the same
// transaction as its record.
type auditAppend struct {
	typ    string
	fields []byte
	build  func(seq uint64, link AuditLink) ([]byte, error)
}

// put appends the entry for the record seq in tx and returns the record's
// build function, which gets the entry's link.
func (a *auditAppend) put(tx *bolt.Tx, max uint64, created time.Time, seq uint64) (func(uint64) ([]byte, error), error) {
	link, err := putAudit(tx, max, created, seq, a.typ, a.fields)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return func(seq uint64) ([]byte, error) { return a.build(seq, link) }, nil
}

// AppendAudited is Append for an event that is also an entry of the audit
// log: in the one transaction that stores the record, it appends the entry
// {"n", "prev", "ts" (created), "seq" (the record's), "type": entryType,
// "fields": fields (a JSON object; nil for {})}, prunes the log to
// Options.MaxAuditEntries, and calls build with the record's seq and the
// entry's link, for the payload to carry it. If build fails (or panics),
// or the record is refused, nothing is stored: neither the record nor the
// entry. Durable as Append; the same errors.
func (s *Store) AppendAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link AuditLink) ([]byte, error)) (_ Record, err error) {
	if build == nil {
		return Record{}, errors.New("journal.AppendAudited: nil build function")
	}
	if entryType == "" {
		return Record{}, errors.New("journal.AppendAudited: empty entry type")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("AppendAudited", &err)
	if err := s.usable("AppendAudited"); err != nil {
		return Record{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("AppendAudited", &err)
	rec, err := s.commitLocked(&urgent{topic: topic, created: created, audit: &auditAppend{typ: entryType, fields: fields, build: build}})
	if err != nil {
		return Record{}, s.opError("AppendAudited", err)
	}
	return rec, nil
}

// VerifyAudit walks the audit log from its anchor and reports its extent
// and its first broken link (see AuditReport). A broken chain is not
// damage: the store keeps working, and the report is evidence for a
// technician. The error is the store's (closed, damaged).
func (s *Store) VerifyAudit() (_ AuditReport, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("VerifyAudit", &err)
	if err := s.usable("VerifyAudit"); err != nil {
		return AuditReport{}, err
	}
	var r AuditReport
	err = s.db.View(func(tx *bolt.Tx) error {
		r = verifyAudit(tx)
		return nil
	})
	if err != nil {
		return AuditReport{}, s.opError("VerifyAudit", err)
	}
	return r, nil
}

func verifyAudit(tx *bolt.Tx) AuditReport {
	var r AuditReport
	a, err := loadAnchor(tx.Bucket(bucketMeta))
	w := chainWalk{n: a.N, hash: a.Hash, broken: a.Broken}
	r.Pruned, r.Anchor = a.N, a.Hash
	if err != nil {
		w = chainWalk{broken: &AuditBreak{Reason: AuditBreakAnchor, Detail: "the anchor (where the kept chain starts) is unreadable: " + err.Error()}}
	}
	audit := tx.Bucket(bucketAudit)
	if audit == nil {
		r.Broken = w.broken
		return r
	}
	c := audit.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) == 8 {
			n := binary.BigEndian.Uint64(k)
			if r.Entries == 0 {
				r.First = n
			}
			r.Last = n
		}
		r.Entries++
		if w.broken != nil && w.broken.N == 0 {
			w.broken.N = r.First
		}
		w.next(k, v)
		r.LastHash = w.hash
	}
	r.Broken = w.broken
	return r
}

// AuditEntries returns up to max entries numbered above after, oldest
// first, as stored.
func (s *Store) AuditEntries(after uint64, max int) (_ []AuditEntry, err error) {
	if max <= 0 {
		return nil, fmt.Errorf("journal.AuditEntries: max %d: must be positive", max)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("AuditEntries", &err)
	if err := s.usable("AuditEntries"); err != nil {
		return nil, err
	}
	var out []AuditEntry
	err = s.db.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		if audit == nil {
			return nil
		}
		c := audit.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			out = append(out, AuditEntry{N: binary.BigEndian.Uint64(k), Raw: append([]byte(nil), v...), Hash: auditHash(v)})
		}
		return nil
	})
	if err != nil {
		return nil, s.opError("AuditEntries", err)
	}
	return out, nil
}

// AppendAudited is Store.AppendAudited; see there.
func (sl *Slot) AppendAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link AuditLink) ([]byte, error)) (Record, error) {
	s, err := sl.get("AppendAudited")
	if err != nil {
		return Record{}, err
	}
	return s.AppendAudited(topic, created, entryType, fields, build)
}

// VerifyAudit is Store.VerifyAudit; see there.
func (sl *Slot) VerifyAudit() (AuditReport, error) {
	s, err := sl.get("VerifyAudit")
	if err != nil {
		return AuditReport{}, err
	}
	return s.VerifyAudit()
}

// AuditEntries is Store.AuditEntries; see there.
func (sl *Slot) AuditEntries(after uint64, max int) ([]AuditEntry, error) {
	s, err := sl.get("AuditEntries")
	if err != nil {
		return nil, err
	}
	return s.AuditEntries(after, max)
}

// AuditExtent returns the numbers of the first and the last entry the
// audit log keeps (0, 0 when it keeps none), read from the ends of its
// bucket: unlike VerifyAudit it walks nothing, whatever the log's size.
// The error is the store's (closed, damaged).
func (s *Store) AuditExtent() (first, last uint64, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("AuditExtent", &err)
	if err := s.usable("AuditExtent"); err != nil {
		return 0, 0, err
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		if audit == nil {
			return nil
		}
		c := audit.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 8 {
				first = binary.BigEndian.Uint64(k)
				break
			}
		}
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if len(k) == 8 {
				last = binary.BigEndian.Uint64(k)
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, s.opError("AuditExtent", err)
	}
	return first, last, nil
}

// AuditExtent is Store.AuditExtent; see there.
func (sl *Slot) AuditExtent() (first, last uint64, err error) {
	s, err := sl.get("AuditExtent")
	if err != nil {
		return 0, 0, err
	}
	return s.AuditExtent()
}
