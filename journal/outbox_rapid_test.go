package journal

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// modelRecord is what the model knows of a record in the outbox.
type modelRecord struct {
	lazy bool   // telemetry (AppendLazy)
	size uint64 // the bytes of its stored value
}

// liveSeqs is what the store holds: committed records and the batch, less
// queued deletions. No call may run concurrently.
func liveSeqs(t *rapid.T, s *Store) map[uint64]bool {
	live := map[uint64]bool{}
	s.wmu.Lock()
	for _, q := range s.batch {
		live[q.seq] = true
	}
	s.wmu.Unlock()
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, _ []byte) error {
			live[seqKeyValue(k)] = true
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	s.qmu.Lock()
	for seq := range s.deletes {
		delete(live, seq)
	}
	s.qmu.Unlock()
	return live
}

// Random sequences of appends (telemetry and events, of random sizes),
// deletions, commits and reopens: after every append what was dropped is
// exactly what Record.Dropped says (its range, its count and the records
// of the range it kept), the oldest telemetry first and an event only
// when no older telemetry is left; after every commit the
// counters, the index and the outbox agree with the model and hold the
// bounds.
func TestOutboxBoundsAndPrioritiesHoldForAnySequence(t *testing.T) {
	dir := t.TempDir()
	run := 0
	// rapid cannot run in a synctest bubble (it asks for the test's
	// deadline): the writer's timer is kept out instead, by a
	// CommitInterval no run comes near, so every commit is one of the
	// sequence's own.
	rapid.Check(t, func(rt *rapid.T) {
		run++
		path := filepath.Join(dir, fmt.Sprintf("%d.db", run))
		defer os.Remove(path)
		defer os.Remove(seqPath(path))
		opts := &Options{
			MaxOutbox:      rapid.IntRange(2, 30).Draw(rt, "maxOutbox"),
			MaxOutboxBytes: 64 << 10,
			MaxBatch:       rapid.IntRange(1, 8).Draw(rt, "maxBatch"),
			CommitInterval: 24 * time.Hour,
		}
		s, err := Open(path, opts)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		model := map[uint64]modelRecord{}
		next := uint64(1)
		// justDropped: the last append dropped; the next record, its
		// report, must fit without a drop.
		justDropped := false

		appendOne := func(rt *rapid.T, lazy bool) {
			maxSize := 8000
			if rapid.Bool().Draw(rt, "small") {
				maxSize = 1000 // a report's size: it fits the room a drop leaves
			}
			size := rapid.IntRange(0, maxSize).Draw(rt, "size")
			payload := bytes.Repeat([]byte{'x'}, size)
			topic := "e"
			f := s.Append
			if lazy {
				topic, f = "t", s.AppendLazy
			}
			created := time.Unix(1700000000, 0)
			r, err := f(topic, created, func(uint64) ([]byte, error) { return payload, nil })
			if err != nil {
				rt.Fatal(err)
			}
			if r.Seq != next {
				rt.Fatalf("seq %d, want %d", r.Seq, next)
			}
			next++
			model[r.Seq] = modelRecord{lazy: lazy, size: uint64(len(encodeValue(r.Seq, topic, created, payload)))}
			live := liveSeqs(rt, s)
			var dropped []uint64
			for seq := range model {
				if !live[seq] {
					dropped = append(dropped, seq)
				}
			}
			for seq := range live {
				if _, ok := model[seq]; !ok {
					rt.Fatalf("the outbox holds seq %d, which the model does not", seq)
				}
			}
			slices.Sort(dropped)
			d := r.Dropped
			afterDrop := justDropped
			justDropped = !d.Empty()
			switch {
			case afterDrop && model[r.Seq].size <= reportRoom && !d.Empty():
				rt.Fatalf("a record of %d bytes right after a drop dropped %+v: no room was left for the report", model[r.Seq].size, d)
			case len(dropped) == 0 && !d.Empty():
				rt.Fatalf("reported %+v, nothing dropped", d)
			case len(dropped) > 0 && (d.Count != uint64(len(dropped)) || d.From != dropped[0] || d.To != dropped[len(dropped)-1]):
				rt.Fatalf("dropped %v, reported %+v", dropped, d)
			case slices.Contains(dropped, r.Seq):
				rt.Fatalf("the new record %d was dropped", r.Seq)
			}
			// Kept: exactly the records of the range still held, ascending.
			var kept []uint64
			if !d.Empty() {
				for seq := d.From; seq <= d.To; seq++ {
					if live[seq] {
						kept = append(kept, seq)
					}
				}
			}
			if !slices.Equal(d.Kept, kept) {
				rt.Fatalf("drop %d..%d kept %v, reported %v", d.From, d.To, kept, d.Kept)
			}
			var eventDropped bool
			maxDropped := map[bool]uint64{}
			for _, seq := range dropped {
				m := model[seq]
				eventDropped = eventDropped || !m.lazy
				maxDropped[m.lazy] = max(maxDropped[m.lazy], seq)
				delete(model, seq)
			}
			for seq, m := range model {
				if seq == r.Seq {
					continue
				}
				if eventDropped && m.lazy {
					rt.Fatalf("event dropped while telemetry %d was kept", seq)
				}
				if seq < maxDropped[m.lazy] {
					rt.Fatalf("seq %d kept, a newer one of its kind (%d) dropped", seq, maxDropped[m.lazy])
				}
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"telemetry": func(rt *rapid.T) { appendOne(rt, true) },
			"event":     func(rt *rapid.T) { appendOne(rt, false) },
			"delete": func(rt *rapid.T) {
				// As the uplink does: only what Pending returned, records
				// committed and not yet deleted.
				recs, err := s.Pending(0, 1000)
				if err != nil {
					rt.Fatal(err)
				}
				if len(recs) == 0 {
					rt.Skip("nothing committed")
				}
				seqs := seqsOf(recs)
				del := rapid.SliceOfNDistinct(rapid.SampledFrom(seqs), 1, len(seqs), rapid.ID).Draw(rt, "seqs")
				if err := s.Delete(del...); err != nil {
					rt.Fatal(err)
				}
				for _, seq := range del {
					delete(model, seq)
				}
			},
			"commit": func(rt *rapid.T) {
				if err := s.Commit(); err != nil {
					rt.Fatal(err)
				}
				checkCommitted(rt, s, opts, model)
			},
			"reopen": func(rt *rapid.T) {
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				if s, err = Open(path, opts); err != nil {
					rt.Fatal(err)
				}
				checkCommitted(rt, s, opts, model)
			},
		})
	})
}

// checkCommitted checks a store with nothing queued against the model.
func checkCommitted(rt *rapid.T, s *Store, opts *Options, model map[uint64]modelRecord) {
	var n, b uint64
	var index []uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if n, _, err = decodeCounter(keyOutboxLen, meta.Get(keyOutboxLen)); err != nil {
			return err
		}
		if b, _, err = decodeCounter(keyOutboxBytes, meta.Get(keyOutboxBytes)); err != nil {
			return err
		}
		return tx.Bucket(bucketTelemetry).ForEach(func(k, _ []byte) error {
			index = append(index, seqKeyValue(k))
			return nil
		})
	}); err != nil {
		rt.Fatal(err)
	}
	var wantB uint64
	var wantIndex []uint64
	for _, seq := range slices.Sorted(maps.Keys(model)) {
		wantB += model[seq].size
		if model[seq].lazy {
			wantIndex = append(wantIndex, seq)
		}
	}
	switch {
	case n != uint64(len(model)) || b != wantB:
		rt.Fatalf("counters %d records, %d bytes; the model %d, %d", n, b, len(model), wantB)
	case n > uint64(opts.MaxOutbox) || b > uint64(opts.MaxOutboxBytes):
		rt.Fatalf("%d records, %d bytes: past the bounds %d, %d", n, b, opts.MaxOutbox, opts.MaxOutboxBytes)
	case !slices.Equal(index, wantIndex):
		rt.Fatalf("telemetry index %v, want %v", index, wantIndex)
	}
	recs, err := s.Pending(0, 1000)
	if err != nil {
		rt.Fatal(err)
	}
	if got, want := seqsOf(recs), slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) {
		rt.Fatalf("Pending %v, want %v", got, want)
	}
}
