package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Record is one outbox entry.
type Record struct {
	Seq     uint64
	Topic   string
	Created time.Time
	Payload []byte

	// Dropped is set only by Append: the range of older records it deleted
	// to make room for this one because the outbox was full. Zero when none.
	Dropped SeqRange
	// Corrupt is set only by Pending, for a stored value that cannot be
	// decoded; Payload then holds the raw stored bytes and Topic and Created
	// are zero. The caller reports it and deletes it.
	Corrupt error
}

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

// recordVersion is the first byte of every stored value, so the layout can
// change without misreading older files.
const recordVersion = 1

// Stored value layout:
//
//	[0]       recordVersion
//	[1:9]     created, Unix seconds, big-endian int64
//	[9:13]    created, nanoseconds within the second, big-endian uint32
//	[13:]     uvarint topic length, topic, payload
const headerLen = 13

var errShortValue = errors.New("value too short")

func encodeValue(topic string, created time.Time, payload []byte) []byte {
	b := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+len(topic)+len(payload))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(created.Unix()))
	binary.BigEndian.PutUint32(b[9:13], uint32(created.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	return append(b, payload...)
}

// decodeValue copies everything it returns out of v, which may be memory
// owned by a bbolt transaction.
func decodeValue(seq uint64, v []byte) (Record, error) {
	if len(v) < headerLen {
		return Record{}, errShortValue
	}
	if v[0] != recordVersion {
		return Record{}, fmt.Errorf("unknown record version %d", v[0])
	}
	sec := int64(binary.BigEndian.Uint64(v[1:9]))
	nsec := binary.BigEndian.Uint32(v[9:13])
	if nsec >= 1e9 {
		return Record{}, fmt.Errorf("nanoseconds %d out of range", nsec)
	}
	n, w := binary.Uvarint(v[headerLen:])
	if w <= 0 {
		return Record{}, errors.New("bad topic length")
	}
	rest := v[headerLen+w:]
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
