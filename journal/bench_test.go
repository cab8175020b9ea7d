package journal

import (
	"bytes"
	"encoding/binary"
	"runtime/debug"
	"testing"
	"time"
)

// The two benchmarks below isolate what the damage handling adds to an
// Append (BenchmarkAppend, dominated by bbolt's fsyncs): the checksum of a
// record, and the boundary every method now has.

// encodeValueV1 is the encoding before checksums: the baseline.
func encodeValueV1(topic string, created time.Time, payload []byte) []byte {
	b := make([]byte, headerLenV1, headerLenV1+binary.MaxVarintLen64+len(topic)+len(payload))
	b[0] = recordV1
	binary.BigEndian.PutUint64(b[1:9], uint64(created.Unix()))
	binary.BigEndian.PutUint32(b[9:13], uint32(created.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	return append(b, payload...)
}

// BenchmarkAppendChecksum encodes and decodes a record of about one
// telemetry payload, without the checksum (v1) and with it (v2).
func BenchmarkAppendChecksum(b *testing.B) {
	const topic = "sleegation/v1/pods/p1/telemetry"
	payload := bytes.Repeat([]byte("x"), 300)
	created := time.Now()
	v1, v2 := encodeValueV1(topic, created, payload), encodeValue(7, topic, created, payload)
	b.Run("encode/v1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeValueV1(topic, created, payload)
		}
	})
	b.Run("encode/v2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeValue(7, topic, created, payload)
		}
	})
	b.Run("decode/v1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeValue(7, v1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/v2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeValue(7, v2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

//go:noinline
func unguardedCall(*Store) error { return nil }

//go:noinline
func guardedCall(s *Store) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("bench", &err)
	return nil
}

// BenchmarkAppendGuard is the boundary of every method: SetPanicOnFault set
// and restored, and the deferred recover, against a bare call.
func BenchmarkAppendGuard(b *testing.B) {
	s := &Store{damagedCh: make(chan struct{})}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			_ = unguardedCall(s)
		}
	})
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			_ = guardedCall(s)
		}
	})
}
