package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Record is one outbox entry.
type Record struct {
	Seq     uint64
	Topic   string
	Created time.Time
	Payload []byte

	// Dropped is set only by Append and AppendLazy: the older records
	// deleted, in the same transaction, to make room for this one because
	// the outbox was full (see Options.MaxOutbox). Zero when none.
	Dropped Dropped
	// Corrupt is set only by Pending, for a stored value that cannot be
	// decoded or fails its checksum; Payload then holds the raw stored bytes
	// and Topic and Created are zero. The caller reports it and deletes it.
	Corrupt error
}

// Dropped describes the records one drop deleted from a full outbox.
// Telemetry is dropped before events, so the seqs dropped are not
// contiguous: between From and To lie records that were kept (events,
// listed in Kept) and seqs no longer in the outbox before the drop
// (records already delivered and deleted), neither counted. The seqs
// dropped are exactly From..To less Kept less those already gone. The
// zero value is no drop.
type Dropped struct {
	From  uint64 // the lowest seq dropped
	To    uint64 // the highest seq dropped
	Count uint64 // how many records were dropped, at most To-From+1
	// Kept are the seqs between From and To still in the outbox after the
	// drop, ascending; nil when none. A drop whose new record has room
	// stops before its range would hold more than 32 (maxKept); one that
	// needs more room to fit the record lists every one.
	Kept []uint64
}

// Empty reports whether nothing was dropped.
func (d Dropped) Empty() bool { return d.Count == 0 }

// SeqRange is an inclusive range of seqs; the zero value is empty.
type SeqRange struct{ From, To uint64 }

// Empty reports whether the range holds no seq.
func (r SeqRange) Empty() bool { return r.From == 0 && r.To == 0 }

// Len is the number of seqs in the range.
func (r SeqRange) Len() uint64 {
	if r.Empty() {
		return 0
	}
	return r.To - r.From + 1
}

// The first byte of every stored value is its version, so the layout can
// change without misreading older files. Version 2 added the checksum;
// version 1 values, written before it, are still read (see keyChecksumsFrom).
const (
	recordV1      = 1
	recordVersion = 2
)

// Stored value layout, version 2:
//
//	[0]       recordVersion
//	[1:5]     CRC-32C (Castagnoli), big-endian, of the seq (8 bytes, big-endian) then [5:]
//	[5:13]    created, Unix seconds, big-endian int64
//	[13:17]   created, nanoseconds within the second, big-endian uint32
//	[17:]     uvarint topic length, topic, payload
//
// Version 1 is the same without [1:5]. The checksum covers the seq, the key
// the value is stored under, so a value that a damaged page shows under
// another key fails it too.
const (
	headerLen   = 17
	headerLenV1 = 13
	timeLen     = 12 // seconds and nanoseconds
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)

	errShortValue = errors.New("value too short")
	// errChecksum marks a stored value whose content does not match its
	// checksum: a damaged record or latch, never a reason to trust it.
	errChecksum = errors.New("checksum mismatch")
)

// recordSum is the CRC-32C of seq (8 bytes, big-endian) followed by body.
// The seq's bytes go through the table by hand: handed to crc32 as a slice,
// they would escape to the heap, an allocation per record.
func recordSum(seq uint64, body []byte) uint32 {
	crc := ^uint32(0)
	for shift := 56; shift >= 0; shift -= 8 {
		crc = castagnoli[byte(crc)^byte(seq>>shift)] ^ crc>>8
	}
	return crc32.Update(^crc, castagnoli, body)
}

func encodeValue(seq uint64, topic string, created time.Time, payload []byte) []byte {
	b := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+len(topic)+len(payload))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[5:13], uint64(created.Unix()))
	binary.BigEndian.PutUint32(b[13:17], uint32(created.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[1:5], recordSum(seq, b[5:]))
	return b
}

// decodeValue copies everything it returns out of v, which may be memory
// owned by a bbolt transaction. It checks a version 2 value's checksum
// against seq; a version 1 value has none (Pending decides whether one may
// still be trusted).
func decodeValue(seq uint64, v []byte) (Record, error) {
	if len(v) == 0 {
		return Record{}, errShortValue
	}
	var body []byte
	switch v[0] {
	case recordVersion:
		if len(v) < headerLen {
			return Record{}, errShortValue
		}
		body = v[5:]
		if want, got := binary.BigEndian.Uint32(v[1:5]), recordSum(seq, body); got != want {
			return Record{}, fmt.Errorf("%w: stored %08x, computed %08x", errChecksum, want, got)
		}
	case recordV1:
		if len(v) < headerLenV1 {
			return Record{}, errShortValue
		}
		body = v[1:]
	default:
		return Record{}, fmt.Errorf("unknown record version %d", v[0])
	}

	sec := int64(binary.BigEndian.Uint64(body[0:8]))
	nsec := binary.BigEndian.Uint32(body[8:12])
	if nsec >= 1e9 {
		return Record{}, fmt.Errorf("nanoseconds %d out of range", nsec)
	}
	n, w := binary.Uvarint(body[timeLen:])
	if w <= 0 {
		return Record{}, errors.New("bad topic length")
	}
	rest := body[timeLen+w:]
	if n > uint64(len(rest)) {
		return Record{}, fmt.Errorf("topic length %d beyond value end", n)
	}
	return Record{
		Seq:     seq,
		Topic:   string(rest[:n]),
		Created: time.Unix(sec, int64(nsec)).UTC(),
		Payload: append([]byte(nil), rest[n:]...),
	}, nil
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// The latch value (format 2):
//
//	[0]    latchVersion
//	[1:5]  CRC-32C, big-endian, of [5:]
//	[5:]   the document given to SetLatch
//
// A format 1 file stored the document bare; Open rewrites it.
const (
	latchVersion   = 1
	latchHeaderLen = 5
)

func encodeLatch(doc []byte) []byte {
	b := make([]byte, latchHeaderLen, latchHeaderLen+len(doc))
	b[0] = latchVersion
	b = append(b, doc...)
	binary.BigEndian.PutUint32(b[1:5], crc32.Checksum(b[latchHeaderLen:], castagnoli))
	return b
}

// decodeLatch returns a copy of the document in v.
func decodeLatch(v []byte) ([]byte, error) {
	if len(v) < latchHeaderLen {
		return nil, fmt.Errorf("latch: %w", errShortValue)
	}
	if v[0] != latchVersion {
		return nil, fmt.Errorf("latch: unknown version %d", v[0])
	}
	doc := v[latchHeaderLen:]
	if want, got := binary.BigEndian.Uint32(v[1:5]), crc32.Checksum(doc, castagnoli); got != want {
		return nil, fmt.Errorf("latch: %w: stored %08x, computed %08x", errChecksum, want, got)
	}
	return append([]byte{}, doc...), nil
}

// A counter (the next seq, the outbox length) is 8 bytes big-endian then,
// from format 2, the CRC-32C of its key and those 8 bytes: a counter read
// wrong could reuse seqs, so a damaged one must not read as a number.
const counterLen = 12

func encodeCounter(key []byte, v uint64) []byte {
	b := make([]byte, counterLen)
	binary.BigEndian.PutUint64(b, v)
	binary.BigEndian.PutUint32(b[8:], counterSum(key, b[:8]))
	return b
}

func counterSum(key, v []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, v)
}

// decodeCounter reads a counter; absent reads as 0 and ok false.
func decodeCounter(key, v []byte) (n uint64, ok bool, err error) {
	switch {
	case v == nil:
		return 0, false, nil
	case len(v) != counterLen:
		return 0, false, damagef("counter %s is corrupt (%d bytes)", key, len(v))
	case binary.BigEndian.Uint32(v[8:]) != counterSum(key, v[:8]):
		return 0, false, damagef("counter %s is corrupt (%v)", key, errChecksum)
	}
	return binary.BigEndian.Uint64(v), true, nil
}
