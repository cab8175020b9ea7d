package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// Random sequences of audited appends, plain appends, builds that fail,
// AppendLazy, and reopens with another MaxAuditEntries: after every step
// the log keeps the entries a model says (the last MaxAuditEntries of the
// last append, numbered without a gap), every link handed to a build is
// the entry's, and the chain verifies from its anchor.
func TestTheAuditLogFollowsItsModel(t *testing.T) {
	dir := t.TempDir()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		path := filepath.Join(dir, fmt.Sprintf("%d.db", run))
		defer os.Remove(path)
		defer os.Remove(seqPath(path))
		max := rapid.IntRange(1, 6).Draw(rt, "max")
		s, err := Open(path, &Options{MaxAuditEntries: max})
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		var n, first uint64 // the last entry, the first kept (0: none)
		hashes := map[uint64]string{}
		check := func(when string) {
			r, err := s.VerifyAudit()
			if err != nil {
				rt.Fatalf("%s: %v", when, err)
			}
			if !r.Intact() {
				rt.Fatalf("%s: broken %+v", when, r.Broken)
			}
			want := AuditReport{Entries: n - first + 1, First: first, Last: n, Pruned: first - 1, Anchor: hashes[first-1], LastHash: hashes[n]}
			if first == 0 {
				want = AuditReport{Anchor: zeroHash}
			} else if first == 1 {
				want.Anchor = zeroHash
			}
			if fmt.Sprint(r) != fmt.Sprint(want) {
				rt.Fatalf("%s: report %+v, want %+v", when, r, want)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"audited": func(rt *rapid.T) {
				fields := rapid.SampledFrom([]string{`{}`, `{"a":1}`, `{"s":"x y"}`, ` { "b" : [1, 2] } `}).Draw(rt, "fields")
				var got AuditLink
				_, err := s.AppendAudited("events", auditAt, "command", []byte(fields), func(seq uint64, l AuditLink) ([]byte, error) {
					got = l
					return payloadFor(seq)
				})
				if err != nil {
					rt.Fatal(err)
				}
				n++
				if first == 0 {
					first = 1
				}
				if n-first+1 > uint64(max) {
					first = n - uint64(max) + 1
				}
				if got.N != n || got.Prev != hashOr(hashes, n-1) {
					rt.Fatalf("link %+v, want entry %d after %s", got, n, hashOr(hashes, n-1))
				}
				hashes[n] = got.Hash
				es, err := s.AuditEntries(n-1, 1)
				if err != nil || len(es) != 1 || es[0].Hash != got.Hash {
					rt.Fatalf("entry %d: %+v, %v; want hash %s", n, es, err, got.Hash)
				}
				var e struct{ Fields json.RawMessage }
				if json.Unmarshal(es[0].Raw, &e) != nil || !json.Valid(e.Fields) {
					rt.Fatalf("entry %s", es[0].Raw)
				}
			},
			"failed build": func(rt *rapid.T) {
				boom := errors.New("boom")
				if _, err := s.AppendAudited("events", auditAt, "command", nil, func(uint64, AuditLink) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
					rt.Fatalf("AppendAudited with a failing build = %v", err)
				}
			},
			"plain event": func(rt *rapid.T) {
				if _, err := s.Append("events", auditAt, payloadFor); err != nil {
					rt.Fatal(err)
				}
			},
			"telemetry": func(rt *rapid.T) {
				if _, err := s.AppendLazy("telemetry", auditAt, payloadFor); err != nil {
					rt.Fatal(err)
				}
			},
			"reopen": func(rt *rapid.T) {
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				// A new bound applies at the next audited append.
				max = rapid.IntRange(1, 6).Draw(rt, "max")
				if s, err = Open(path, &Options{MaxAuditEntries: max}); err != nil {
					rt.Fatal(err)
				}
			},
			"": func(rt *rapid.T) { check("after the step") },
		})
		check("at the end")
		// The anchor is the one the file holds.
		_ = s.db.View(func(tx *bolt.Tx) error {
			a, err := loadAnchor(tx.Bucket(bucketMeta))
			if err != nil || first > 1 && (a.N != first-1 || a.Hash != hashes[first-1]) {
				rt.Fatalf("anchor %+v, %v; want entry %d's", a, err, first-1)
			}
			return nil
		})
	})
}

func hashOr(h map[uint64]string, n uint64) string {
	if n == 0 {
		return zeroHash
	}
	return h[n]
}

// Whatever the anchor's stored bytes, VerifyAudit never panics: an anchor
// that is not one is reported as the first break (bad_anchor).
func FuzzAuditAnchor(f *testing.F) {
	good, _ := encodeAnchor(auditAnchor{N: 3, Hash: zeroHash})
	f.Add(good)
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte(`{"n":3}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "j.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketAudit); err != nil {
				return err
			}
			return meta.Put(keyAuditAnchor, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		var r AuditReport
		var decodeErr error
		_ = db.View(func(tx *bolt.Tx) error {
			_, decodeErr = loadAnchor(tx.Bucket(bucketMeta))
			r = verifyAudit(tx)
			return nil
		})
		if decodeErr != nil && (r.Broken == nil || r.Broken.Reason != AuditBreakAnchor) {
			t.Fatalf("anchor %q unreadable (%v), report %+v: want bad_anchor", v, decodeErr, r.Broken)
		}
	})
}
