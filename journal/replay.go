package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The jti bucket: the replay cache of the hub's commands (see "The replay
// cache" in the package doc). A key is a command's jti (1 to 64 printable
// ASCII characters, never a control character); the value is when it may be
// forgotten (the command's exp). keyJTIUnknown, which no jti can be, holds
// the time since which the jtis recorded are not known.
var (
	bucketJTI     = []byte("jti")
	keyJTIUnknown = []byte{0}
)

// ErrReplayFull is wrapped by the error of ReplayCache.Seen when the cache
// holds its capacity of unexpired jtis: it refuses to record another rather
// than forget a live one.
var ErrReplayFull = errors.New("journal: replay cache full of unexpired command ids")

// ErrReplayUnknown is wrapped by the error of ReplayCache.Seen while the
// jtis recorded before some time are not known (an entry failed its
// checksum, or the store is a fresh one put in place of a damaged file):
// any jti may have been accepted then, so none is accepted until every
// command that could have been has expired.
var ErrReplayUnknown = errors.New("journal: the command ids accepted recently are not known")

// The value of a jti entry:
//
//	[0]      jtiVersion
//	[1:5]    CRC-32C, big-endian, of the key then [5:]
//	[5:13]   exp (or, for keyJTIUnknown, since), Unix seconds, big-endian int64
//	[13:17]  its nanoseconds within the second, big-endian uint32
//
// The checksum covers the key: a jti changed on a damaged page fails it, as
// a record shown under another seq does.
const (
	jtiVersion  = 1
	jtiValueLen = 17
)

func encodeJTI(key []byte, t time.Time) []byte {
	b := make([]byte, jtiValueLen)
	b[0] = jtiVersion
	binary.BigEndian.PutUint64(b[5:13], uint64(t.Unix()))
	binary.BigEndian.PutUint32(b[13:17], uint32(t.Nanosecond()))
	binary.BigEndian.PutUint32(b[1:5], jtiSum(key, b[5:]))
	return b
}

func jtiSum(key, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, body)
}

// decodeJTI reads the time in an entry's value.
func decodeJTI(key, v []byte) (time.Time, error) {
	switch {
	case len(v) != jtiValueLen:
		return time.Time{}, fmt.Errorf("jti entry: %d bytes, want %d", len(v), jtiValueLen)
	case v[0] != jtiVersion:
		return time.Time{}, fmt.Errorf("jti entry: unknown version %d", v[0])
	case binary.BigEndian.Uint32(v[1:5]) != jtiSum(key, v[5:]):
		return time.Time{}, fmt.Errorf("jti entry: %w", errChecksum)
	}
	nsec := binary.BigEndian.Uint32(v[13:17])
	if nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("jti entry: nanoseconds %d out of range", nsec)
	}
	return time.Unix(int64(binary.BigEndian.Uint64(v[5:13])), int64(nsec)).UTC(), nil
}

// setUpJTI creates the jti bucket of a file that has none (a new file, or
// one written before the replay cache): an empty cache, with nothing to
// remember, since no earlier podd recorded a jti on disk.
func setUpJTI(tx *bolt.Tx) error {
	if tx.Bucket(bucketJTI) != nil {
		return nil
	}
	if !tx.Writable() {
		return errNeedsWrite
	}
	_, err := tx.CreateBucket(bucketJTI)
	return err
}

// freshJTI creates the jti bucket of the fresh store put in place of a
// damaged file: the jtis the damaged one held are lost, so it holds only
// keyJTIUnknown, undated: the first Seen dates it by its own clock. The
// recovery runs at boot, by a clock that may be far behind (a Pi after a
// power cut, until NTP steps it); Seen runs only once the verifier has
// found the clock synchronised, so a mark dated by it lasts a Lifetime of
// true time, and a mark dated at the recovery could have passed already.
func freshJTI(tx *bolt.Tx) error {
	b, err := tx.CreateBucket(bucketJTI)
	if err != nil {
		return err
	}
	return b.Put(keyJTIUnknown, encodeJTI(keyJTIUnknown, jtiUndated))
}

// jtiUndated is the time of a keyJTIUnknown that the next Seen dates.
var jtiUndated = time.Unix(0, 0).UTC()

// ReplayLimits bound a ReplayCache.
type ReplayLimits struct {
	// Capacity is the most unexpired jtis held; 0 means
	// DefaultReplayCapacity.
	Capacity int
	// Lifetime is the longest a command accepted now lives (exp - now at
	// most): hubcmd.MaxRemainingLife, its MaxLifetime after an iat that may
	// be IssuedAtLeeway ahead of the pod's clock. The jtis that are not
	// known stay so for Lifetime after the moment they were lost.
	// Required.
	Lifetime time.Duration
}

// DefaultReplayCapacity is ReplayLimits.Capacity's default, as
// hubcmd.DefaultReplayCapacity: over 100 commands a minute that live ten
// minutes each. An entry costs about 100 bytes of the file.
const DefaultReplayCapacity = 1024

// ReplayCache is the replay cache of the hub's commands kept in the store
// of a Slot, whichever Store it holds at the time of a call (it follows
// Set and Replace). It is a hubcmd.ReplayCache. See "The replay cache" in
// the package doc.
type ReplayCache struct {
	slot *Slot
	lim  ReplayLimits
	now  func() time.Time
}

// NewReplayCache makes a ReplayCache in sl's store, reading the time from
// now, which must be the Verifier's clock (time.Now on a pod).
func NewReplayCache(sl *Slot, lim ReplayLimits, now func() time.Time) (*ReplayCache, error) {
	switch {
	case sl == nil:
		return nil, errors.New("journal.NewReplayCache: nil slot")
	case now == nil:
		return nil, errors.New("journal.NewReplayCache: nil clock")
	case lim.Lifetime <= 0:
		return nil, fmt.Errorf("journal.NewReplayCache: lifetime %v, want > 0", lim.Lifetime)
	case lim.Capacity < 0:
		return nil, fmt.Errorf("journal.NewReplayCache: capacity %d, want >= 0", lim.Capacity)
	}
	if lim.Capacity == 0 {
		lim.Capacity = DefaultReplayCapacity
	}
	return &ReplayCache{slot: sl, lim: lim, now: now}, nil
}

// Seen records jti until exp and reports whether it was recorded already,
// in one durable transaction (committed with fsync before it returns); of
// two calls with the same jti, at most one reports false. It first forgets
// every entry whose exp is at or before now. A jti seen again keeps the
// later of the two exps.
//
// An error means nothing is known, and the caller refuses the command:
// one wrapping ErrNotOpen or ErrClosed while the Slot has no open Store,
// ErrDamaged when the store is damaged, ErrReplayFull when Capacity
// unexpired jtis are held, ErrReplayUnknown while the jtis accepted up to
// a time within the last Lifetime are not known.
func (c *ReplayCache) Seen(jti string, exp time.Time) (bool, error) {
	s, err := c.slot.get("ReplayCache.Seen")
	if err != nil {
		return false, err
	}
	return s.seenJTI(jti, exp, c.now(), c.lim)
}

// Len is the number of jtis held, expired ones not yet forgotten
// included, keyJTIUnknown not.
func (c *ReplayCache) Len() (int, error) {
	s, err := c.slot.get("ReplayCache.Len")
	if err != nil {
		return 0, err
	}
	return s.jtiLen()
}

// seenJTI is ReplayCache.Seen on s at now.
func (s *Store) seenJTI(jti string, exp, now time.Time, lim ReplayLimits) (seen bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("ReplayCache.Seen", &err)
	if err := s.usable("ReplayCache.Seen"); err != nil {
		return false, err
	}
	if jti == "" || jti[0] == keyJTIUnknown[0] || len(jti) > bolt.MaxKeySize {
		return false, fmt.Errorf("journal.ReplayCache.Seen: jti %q cannot be a key", jti)
	}
	var refusal error
	err = s.db.Update(func(tx *bolt.Tx) error {
		var uerr error
		seen, refusal, uerr = seenIn(tx, []byte(jti), exp.UTC(), now, lim)
		return uerr
	})
	if err != nil {
		return false, s.opError("ReplayCache.Seen", err)
	}
	return seen, refusal
}

// seenIn is seenJTI's transaction. A refusal (full, unknown) is returned
// apart from err so that the deletions it made are committed.
func seenIn(tx *bolt.Tx, key []byte, exp, now time.Time, lim ReplayLimits) (seen bool, refusal, err error) {
	b := tx.Bucket(bucketJTI)
	if b == nil {
		return false, nil, damagef("no jti bucket")
	}
	var (
		stale      [][]byte // expired or corrupt: deleted
		live       int
		nextExp    time.Time
		held       time.Time // exp of key, when held
		unknown    time.Time // keyJTIUnknown's since, when present
		hasUnknown bool
	)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		t, derr := decodeJTI(k, v)
		switch {
		case derr != nil:
			// Neither its jti (the checksum covers the key, which may be
			// what changed) nor its exp can be trusted: every jti is
			// unknown from now.
			stale = append(stale, append([]byte(nil), k...))
			unknown, hasUnknown = now, true
		case k[0] == keyJTIUnknown[0]:
			if t.Equal(jtiUndated) {
				t = now // a fresh store's mark: dated by this first Seen
			}
			if !hasUnknown || t.After(unknown) {
				unknown, hasUnknown = t, true
			}
		case !t.After(now):
			stale = append(stale, append([]byte(nil), k...))
		default:
			live++
			if nextExp.IsZero() || t.Before(nextExp) {
				nextExp = t
			}
			if string(k) == string(key) {
				held = t
			}
		}
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return false, nil, err
		}
	}
	if hasUnknown {
		until := unknown.Add(lim.Lifetime)
		if now.Before(until) {
			if err := b.Put(keyJTIUnknown, encodeJTI(keyJTIUnknown, unknown)); err != nil {
				return false, nil, err
			}
			return false, fmt.Errorf("%w: those accepted up to %s may be any (refused until %s)", ErrReplayUnknown,
				unknown.Format(time.RFC3339), until.Format(time.RFC3339)), nil
		}
		if err := b.Delete(keyJTIUnknown); err != nil {
			return false, nil, err
		}
	}
	if !held.IsZero() {
		if exp.After(held) { // kept as long as any command with this jti lives
			if err := b.Put(key, encodeJTI(key, exp)); err != nil {
				return false, nil, err
			}
		}
		return true, nil, nil
	}
	if live >= lim.Capacity {
		return false, fmt.Errorf("%w (%d entries, the next expires at %s)", ErrReplayFull, live, nextExp.Format(time.RFC3339)), nil
	}
	return false, nil, b.Put(key, encodeJTI(key, exp))
}

// jtiLen counts the jti bucket's entries but keyJTIUnknown.
func (s *Store) jtiLen() (n int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("ReplayCache.Len", &err)
	if err := s.usable("ReplayCache.Len"); err != nil {
		return 0, err
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJTI)
		if b == nil {
			return damagef("no jti bucket")
		}
		n = b.Stats().KeyN
		if b.Get(keyJTIUnknown) != nil {
			n--
		}
		return nil
	})
	if err != nil {
		return 0, s.opError("ReplayCache.Len", err)
	}
	return n, nil
}
