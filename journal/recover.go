package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Recovery says what OpenOrRecover or Reopen did with a damaged store.
type Recovery struct {
	// Path is the store's path; a fresh store is there now.
	Path string
	// MovedTo is where the damaged file was moved, kept for a technician and
	// never deleted; "" when there was no file to keep (it was missing).
	MovedTo string
	// Damage is what was found; it wraps ErrDamaged.
	Damage error
	// At is when, by the wall clock (1970 on a Pi not yet synchronised).
	At time.Time
	// NextSeq is the first seq the fresh store hands out: one past the seq
	// file's mark. 0 when there was no seq file to trust: the fresh store
	// then hands out none (ErrSeqUnknown) until SetSeqFloor.
	NextSeq uint64
	// Lost holds every seq of the damaged store that may never reach the
	// hub: the records that were still in its outbox and the seqs reserved
	// but never used. Some in it may have reached the hub already. Empty
	// when NextSeq is 0.
	Lost SeqRange
	// Latched reports whether the fresh store holds a latch: the
	// store_damaged latch, or the one the damaged store held, carried over
	// by Reopen.
	Latched bool
}

// LogValue lets a *Recovery be logged as one slog attribute.
func (r *Recovery) LogValue() slog.Value {
	damage := ""
	if r.Damage != nil {
		damage = r.Damage.Error()
	}
	return slog.GroupValue(
		slog.String("path", r.Path),
		slog.String("moved_to", r.MovedTo),
		slog.String("damage", damage),
		slog.Uint64("next_seq", r.NextSeq),
		slog.Uint64("lost_from", r.Lost.From),
		slog.Uint64("lost_to", r.Lost.To),
		slog.Bool("latched", r.Latched),
	)
}

// RuleStoreDamaged is the rule of the latch a fresh store starts with after
// OpenOrRecover set a damaged one aside.
const RuleStoreDamaged = "store_damaged"

// OpenOrRecover opens the journal at path as Open does; when Open finds it
// damaged (ErrDamaged), it sets the file aside and starts a fresh one:
//
//   - the damaged file is renamed to path + ".damaged-" + a UTC timestamp
//     (with "-2", "-3"... if that name is taken), never deleted;
//   - the fresh store numbers from the seq file's mark + 1, past every seq
//     the damaged one handed out; with no seq file to trust, it hands out no
//     seq at all (ErrSeqUnknown) until SetSeqFloor;
//   - it starts latched: its latch is a document in the shape package safety
//     stores, {"rule": "store_damaged", "detail": ..., "at": ...}, the
//     detail naming where the damaged file went, so the pod restores the
//     latch at start and stays in its safe state until acknowledged.
//
// The fresh store is built whole under path + ".new" and renamed into
// place, so a power cut leaves the damaged file, or no file (which the next
// Open reports as damage again), never a fresh store without its latch.
//
// The Recovery is non-nil whenever something was set aside, even with an
// error (the fresh store could not be opened): the caller logs it. Errors
// that are not damage (a lock held, a missing directory) are returned as
// Open returns them, with nothing set aside.
func OpenOrRecover(path string, opts *Options) (_ *Store, _ *Recovery, err error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, nil, fmt.Errorf("journal.OpenOrRecover: %w", err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverTo("OpenOrRecover", &err)
	return openOrRecover(path, o, nil)
}

// Reopen closes s and opens its file again as OpenOrRecover does: for the
// owner of a Store that found damage while open (Damaged is closed). A file
// that passes the check is reopened as it is (Recovery nil). A damaged one
// is set aside, but the fresh store holds the latch s last read or wrote:
// the running pod knows its latch and nothing of it was lost, so Reopen does
// not latch a pod that was not. Only when s never read its latch, or there
// is no seq file to number from, does the fresh store start with the
// store_damaged latch, as after OpenOrRecover.
func (s *Store) Reopen() (_ *Store, _ *Recovery, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverTo("Reopen", &err)
	carried := s.knownLatch()
	// A damaged store's Close releases the lock even when bbolt cannot close.
	_ = s.Close()
	return openOrRecover(s.path, s.opts, &carried)
}

func recoverTo(op string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("journal.%s: %w", op, panicDamage(op, r))
	}
}

func openOrRecover(path string, o Options, carried *latchMemo) (*Store, *Recovery, error) {
	s, err := openChecked(path, o)
	if err == nil {
		return s, nil, nil
	}
	err = openError(path, o, err)
	if !errors.Is(err, ErrDamaged) {
		return nil, nil, err
	}
	rec, err := setAside(path, o, err, carried)
	if err != nil {
		return nil, rec, fmt.Errorf("journal: recovering %s: %w", path, err)
	}
	s, err = openChecked(path, o)
	if err != nil {
		return nil, rec, openError(path, o, err)
	}
	return s, rec, nil
}

// setAside replaces the damaged file at path with a fresh store; see
// OpenOrRecover.
func setAside(path string, o Options, damage error, carried *latchMemo) (*Recovery, error) {
	now := time.Now().UTC()
	rec := &Recovery{Path: path, Damage: damage, At: now}
	sp := seqPath(path)
	sf, state, seqErr := readSeqFile(sp)
	switch {
	case state == seqValid:
		rec.NextSeq = sf.mark + 1
		rec.Lost = SeqRange{From: sf.pending, To: sf.mark}
	case state == seqMissing && seqErr != nil:
		// Unreadable, not absent: try again later rather than guess.
		return nil, fmt.Errorf("seq file: %w", seqErr)
	}

	moved := ""
	if _, err := os.Lstat(path); err == nil {
		if moved, err = asideName(path, now); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	latch := carried
	if latch == nil || !latch.known || rec.NextSeq == 0 {
		doc, err := damagedLatch(rec, moved, state, seqErr)
		if err != nil {
			return nil, err
		}
		latch = &latchMemo{known: true, set: true, doc: doc}
	}
	fresh := path + ".new"
	if err := createFresh(fresh, o, rec.NextSeq, *latch, func(tx *bolt.Tx) error { return restartAudit(tx, rec, moved, rec.NextSeq) }); err != nil {
		return nil, fmt.Errorf("fresh store %s: %w", fresh, err)
	}
	rec.Latched = latch.set

	if moved != "" {
		if err := os.Rename(path, moved); err != nil {
			return nil, err
		}
		rec.MovedTo = moved
	}
	if state == seqInvalid {
		// Kept too, and out of the way of the fresh store's own.
		aside, err := asideName(sp, now)
		if err == nil {
			err = os.Rename(sp, aside)
		}
		if err != nil {
			return rec, err
		}
	}
	if err := os.Rename(fresh, path); err != nil {
		return rec, err
	}
	return rec, syncDir(filepath.Dir(path))
}

// asideName is path + ".damaged-" + now, with a suffix if that is taken.
func asideName(path string, now time.Time) (string, error) {
	base := path + ".damaged-" + now.Format("20060102T150405Z")
	for i := 1; i <= 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free name to set %s aside", path)
}

// damagedLatch is the latch a fresh store starts with: the fields of
// safety.Abort that the pod restores (rule, detail, at).
func damagedLatch(rec *Recovery, moved string, seqState seqState, seqErr error) ([]byte, error) {
	// The path is in the detail already.
	damage := strings.TrimPrefix(rec.Damage.Error(), "journal.Open: "+rec.Path+": ")
	if len(damage) > 300 {
		damage = damage[:300] + "..."
	}
	detail := fmt.Sprintf("store %s lost (%s)", rec.Path, damage)
	if moved != "" {
		detail = fmt.Sprintf("store %s damaged (%s); moved to %s", rec.Path, damage, moved)
	}
	switch {
	case rec.NextSeq > 0:
		detail += fmt.Sprintf("; a fresh store numbers from seq %d", rec.NextSeq)
	case seqState == seqInvalid:
		detail += fmt.Sprintf("; its seq file is damaged too (%v), so where the seqs stood is unknown: the fresh store stores no record until a technician sets the seq floor", seqErr)
	default:
		detail += "; there is no seq file, so where the seqs stood is unknown: the fresh store stores no record until a technician sets the seq floor"
	}
	return json.Marshal(struct {
		Rule   string    `json:"rule"`
		Detail string    `json:"detail"`
		At     time.Time `json:"at"`
	}{RuleStoreDamaged, detail, rec.At})
}

// createFresh makes a complete store at path: numbering from next (or
// refusing to number when next is 0), holding latch, not knowing the jtis
// accepted before it (freshJTI), and its audit log started by audit.
func createFresh(path string, o Options, next uint64, latch latchMemo, audit func(*bolt.Tx) error) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketOutbox); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketTelemetry); err != nil {
			return err
		}
		if err := freshJTI(tx); err != nil {
			return err
		}
		if err := audit(tx); err != nil {
			return err
		}
		if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
			return err
		}
		if next == 0 {
			err = meta.Put(keySeqUnknown, []byte{1})
		} else {
			err = meta.Put(keyNextSeq, encodeCounter(keyNextSeq, next))
		}
		if err != nil || !latch.set {
			return err
		}
		return meta.Put(keyLatch, encodeLatch(latch.doc))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
