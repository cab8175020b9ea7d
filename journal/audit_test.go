package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var auditAt = time.Date(2026, 11, 29, 22, 0, 0, 123456789, time.UTC)

// appendAudited appends an audited event whose payload is {"seq":S,"audit":
// link}, and returns the record and the link its build was given.
func appendAudited(t *testing.T, s *Store, typ string, fields string) (Record, AuditLink) {
	t.Helper()
	var got AuditLink
	rec, err := s.AppendAudited("events", auditAt, typ, []byte(fields), func(seq uint64, link AuditLink) ([]byte, error) {
		got = link
		l, _ := json.Marshal(link)
		return fmt.Appendf(nil, `{"seq":%d,"audit":%s}`, seq, l), nil
	})
	if err != nil {
		t.Fatalf("AppendAudited(%s): %v", typ, err)
	}
	return rec, got
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func verify(t *testing.T, s *Store) AuditReport {
	t.Helper()
	r, err := s.VerifyAudit()
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return r
}

func entries(t *testing.T, s *Store) []AuditEntry {
	t.Helper()
	es, err := s.AuditEntries(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// An entry is the JSON the package doc gives, byte for byte; its hash is
// the SHA-256 of those bytes; the next entry holds it as prev, across a
// reopen; the record's payload carries the link of its entry.
func TestAuditChainsEntriesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "events") // a record that is not audited: seq 1
	rec, l1 := appendAudited(t, s, "command", `{"ok": false, "error":"expired: x"}`)
	want1 := fmt.Sprintf(`{"n":1,"prev":"%s","ts":"2026-11-29T22:00:00.123456789Z","seq":2,"type":"command","fields":{"ok":false,"error":"expired: x"}}`, strings.Repeat("0", 64))
	es := entries(t, s)
	if len(es) != 1 || string(es[0].Raw) != want1 {
		t.Fatalf("entries = %+v\nwant one: %s", es, want1)
	}
	if l1 != (AuditLink{N: 1, Prev: strings.Repeat("0", 64), Hash: sha([]byte(want1))}) || es[0].Hash != l1.Hash {
		t.Fatalf("link %+v, entry hash %s; want n 1 and the SHA-256 of the entry %s", l1, es[0].Hash, sha([]byte(want1)))
	}
	pend, err := s.Pending(1, 10)
	if err != nil || len(pend) != 1 || pend[0].Seq != rec.Seq || string(pend[0].Payload) != fmt.Sprintf(`{"seq":2,"audit":{"n":1,"prev":"%s","hash":"%s"}}`, l1.Prev, l1.Hash) {
		t.Fatalf("Pending = %+v, %v; want the record with its link", pend, err)
	}
	_, l2 := appendAudited(t, s, "panic", `{"source":"button"}`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, nil)
	_, l3 := appendAudited(t, s, "consent", `{"action":"withdrawn","source":"panic"}`)
	if l2.N != 2 || l2.Prev != l1.Hash || l3.N != 3 || l3.Prev != l2.Hash {
		t.Fatalf("links %+v %+v: each must hold the hash of the one before", l2, l3)
	}
	r := verify(t, s)
	want := AuditReport{Entries: 3, First: 1, Last: 3, Anchor: strings.Repeat("0", 64), LastHash: l3.Hash}
	if fmt.Sprint(r) != fmt.Sprint(want) || !r.Intact() {
		t.Fatalf("VerifyAudit = %+v, want %+v", r, want)
	}
}

// Beyond MaxAuditEntries the oldest entries go, in the transaction that
// appends; the anchor is the hash of the last one pruned, and the kept
// chain verifies from it.
func TestAuditPrunesToItsBoundAndVerifiesFromTheAnchor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxAuditEntries: 3})
	var links []AuditLink
	for i := range 5 {
		_, l := appendAudited(t, s, "command", fmt.Sprintf(`{"i":%d}`, i))
		links = append(links, l)
	}
	es := entries(t, s)
	if len(es) != 3 || es[0].N != 3 || es[2].N != 5 {
		t.Fatalf("entries %+v, want 3..5", es)
	}
	r := verify(t, s)
	want := AuditReport{Entries: 3, First: 3, Last: 5, Pruned: 2, Anchor: links[1].Hash, LastHash: links[4].Hash}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Fatalf("VerifyAudit = %+v, want %+v", r, want)
	}
}

// tamper changes the stored entry n of the closed store at path.
func tamper(t *testing.T, path string, f func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return f(tx.Bucket(bucketAudit)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeAudit writes a closed store holding n audited entries.
func writeAudit(t *testing.T, n int, opts *Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		appendAudited(t, s, "command", fmt.Sprintf(`{"i":%d}`, i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func replaceEntry(n uint64, f func(string) string) func(*bolt.Bucket) error {
	return func(b *bolt.Bucket) error {
		v := b.Get(seqKey(n))
		if v == nil {
			return errors.New("no such entry")
		}
		return b.Put(seqKey(n), []byte(f(string(v))))
	}
}

// Each kind of tampering is found as the first broken link, with its
// reason, and the store goes on working (a broken chain is not damage).
func TestAuditVerifyFindsTheFirstBrokenLink(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bolt.Bucket) error
		want   AuditBreak
	}{
		{"fields of entry 2 changed", replaceEntry(2, func(v string) string { return strings.Replace(v, `"i":1`, `"i":9`, 1) }),
			AuditBreak{N: 3, Reason: AuditBreakPrevMismatch, Detail: "prev hash does not match entry 2"}},
		{"entry 3 deleted", func(b *bolt.Bucket) error { return b.Delete(seqKey(3)) },
			AuditBreak{N: 4, Reason: AuditBreakMissing, Detail: "entry 3 is missing"}},
		{"entries 2 and 3 deleted", func(b *bolt.Bucket) error { _ = b.Delete(seqKey(2)); return b.Delete(seqKey(3)) },
			AuditBreak{N: 4, Reason: AuditBreakMissing, Detail: "entries 2-3 are missing"}},
		{"entry 2 not JSON", replaceEntry(2, func(v string) string { return v[:20] }),
			AuditBreak{N: 2, Reason: AuditBreakBadEntry, Detail: "entry 2 is not an audit entry: unexpected end of JSON input"}},
		{"entry 3 renumbered", replaceEntry(3, func(v string) string { return strings.Replace(v, `"n":3`, `"n":7`, 1) }),
			AuditBreak{N: 3, Reason: AuditBreakNMismatch, Detail: "the entry stored as 3 says it is entry 7"}},
		{"entry 1 relinked", replaceEntry(1, func(v string) string { return strings.Replace(v, `"prev":"0`, `"prev":"1`, 1) }),
			AuditBreak{N: 1, Reason: AuditBreakPrevMismatch, Detail: "prev hash does not match the start of a chain (64 zeros)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeAudit(t, 5, nil)
			tamper(t, path, tt.change)
			s := open(t, path, nil)
			r := verify(t, s)
			if r.Broken == nil || *r.Broken != tt.want {
				t.Fatalf("Broken = %+v, want %+v", r.Broken, tt.want)
			}
			// Still working: the next entry follows the last one kept.
			_, l := appendAudited(t, s, "panic", `{}`)
			if l.N != 6 {
				t.Fatalf("next entry %d, want 6", l.N)
			}
		})
	}
}

// A break in entries that the bound prunes away is kept in the anchor, and
// reported as the first break, marked pruned.
func TestAuditABreakPrunedAwayIsStillReported(t *testing.T) {
	path := writeAudit(t, 5, &Options{MaxAuditEntries: 10})
	tamper(t, path, replaceEntry(2, func(v string) string { return strings.Replace(v, `"i":1`, `"i":9`, 1) }))
	s := open(t, path, &Options{MaxAuditEntries: 2})
	_, last := appendAudited(t, s, "panic", `{}`) // entry 6: 1..4 pruned
	r := verify(t, s)
	want := AuditReport{Entries: 2, First: 5, Last: 6, Pruned: 4, Anchor: r.Anchor, LastHash: last.Hash,
		Broken: &AuditBreak{N: 3, Reason: AuditBreakPrevMismatch, Detail: "prev hash does not match entry 2", Pruned: true}}
	if r.Broken == nil || *r.Broken != *want.Broken || r.Entries != 2 || r.First != 5 || r.Pruned != 4 {
		t.Fatalf("VerifyAudit = %+v (broken %+v), want %+v", r, r.Broken, *want.Broken)
	}
	es := entries(t, s)
	var e5 struct{ Prev string }
	if err := json.Unmarshal(es[0].Raw, &e5); err != nil || e5.Prev != r.Anchor {
		t.Fatalf("entry 5 prev %q, anchor %q: the anchor is the hash of entry 4", e5.Prev, r.Anchor)
	}
}

// A build that fails stores neither the record nor the entry: the next
// append gets the same seq and entry number.
func TestAuditAFailedBuildStoresNeitherTheRecordNorTheEntry(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	boom := errors.New("boom")
	var tried AuditLink
	_, err := s.AppendAudited("events", auditAt, "command", []byte(`{}`), func(uint64, AuditLink) ([]byte, error) {
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("AppendAudited = %v, want the build's error", err)
	}
	_, err = s.AppendAudited("events", auditAt, "command", []byte(`{}`), func(_ uint64, l AuditLink) ([]byte, error) {
		tried = l
		panic("bug")
	})
	if err == nil || errors.Is(err, ErrDamaged) {
		t.Fatalf("AppendAudited with a panicking build = %v, want an error that is not damage", err)
	}
	if tried.N != 1 {
		t.Fatalf("the panicking build got link %+v, want entry 1", tried)
	}
	if es := entries(t, s); len(es) != 0 {
		t.Fatalf("entries after failed builds: %+v", es)
	}
	if p, _ := s.Pending(0, 10); len(p) != 0 {
		t.Fatalf("records after failed builds: %+v", p)
	}
	rec, l := appendAudited(t, s, "command", `{}`)
	if rec.Seq != 1 || l.N != 1 {
		t.Fatalf("next append: seq %d entry %d, want 1 and 1", rec.Seq, l.N)
	}
}

// Fields that are not a JSON object are refused, nothing stored.
func TestAuditFieldsMustBeAJSONObject(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	for _, f := range []string{`[1]`, `"x"`, `{"a":`, `{} {}`} {
		_, err := s.AppendAudited("events", auditAt, "command", []byte(f), func(seq uint64, _ AuditLink) ([]byte, error) { return payloadFor(seq) })
		if err == nil || !strings.Contains(err.Error(), "fields are not a JSON object") {
			t.Errorf("fields %s: %v, want a refusal", f, err)
		}
	}
	if _, err := s.AppendAudited("events", auditAt, "", nil, nil); err == nil {
		t.Error("nil build accepted")
	}
	if es := entries(t, s); len(es) != 0 {
		t.Fatalf("entries: %+v", es)
	}
	if next, _ := s.NextSeq(); next != 1 {
		t.Fatalf("next seq %d, want 1", next)
	}
}

// A file from before the audit log gets its bucket at Open; its chain
// starts at 1.
func TestAuditAFileWithoutTheBucketGetsItAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "events")
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketAudit) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = open(t, path, nil)
	if r := verify(t, s); r.Entries != 0 || !r.Intact() {
		t.Fatalf("VerifyAudit = %+v, want empty and intact", r)
	}
	if rec, l := appendAudited(t, s, "command", `{}`); l.N != 1 || rec.Seq != 2 {
		t.Fatalf("first entry %d for seq %d, want 1 for 2", l.N, rec.Seq)
	}
}

// A fresh store that replaced a damaged one starts its chain with an entry
// that says so and where the damaged file went.
func TestAuditAFreshStoreAfterDamageRestartsTheChain(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 10, nil)
	db, err := bolt.Open(fx.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, u64(7)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, rec, err := OpenOrRecover(fx.path, nil)
	if err != nil || rec == nil {
		t.Fatalf("OpenOrRecover = %v, %v", rec, err)
	}
	defer s.Close()
	es := entries(t, s)
	if len(es) != 1 {
		t.Fatalf("entries %+v, want the restart", es)
	}
	var e struct {
		N      uint64
		Prev   string
		TS     string
		Type   string
		Fields map[string]any
	}
	if err := json.Unmarshal(es[0].Raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.N != 1 || e.Prev != strings.Repeat("0", 64) || e.Type != AuditTypeChainRestarted || e.TS != rec.At.UTC().Format(auditTimeFormat) ||
		e.Fields["moved_to"] != rec.MovedTo || e.Fields["store"] != fx.path || e.Fields["reason"] != "store_damaged" ||
		e.Fields["damage"] != rec.Damage.Error() || e.Fields["next_seq"] != float64(rec.NextSeq) {
		t.Fatalf("restart entry %s; recovery %+v", es[0].Raw, rec)
	}
	if r := verify(t, s); !r.Intact() || r.Entries != 1 {
		t.Fatalf("VerifyAudit = %+v", r)
	}
	if _, l := appendAudited(t, s, "fault", `{}`); l.N != 2 || l.Prev != es[0].Hash {
		t.Fatalf("next link %+v, want entry 2 after the restart", l)
	}
}

func TestAuditCallsOnAClosedStoreFailWithErrClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"AppendAudited": func() error {
			_, err := s.AppendAudited("t", time.Now(), "x", nil, func(uint64, AuditLink) ([]byte, error) { return []byte(`{}`), nil })
			return err
		},
		"VerifyAudit":  func() error { _, err := s.VerifyAudit(); return err },
		"AuditEntries": func() error { _, err := s.AuditEntries(0, 1); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) || !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// Whatever replaces an entry that is not the last, VerifyAudit reports a
// break at that entry or the next, and never panics; the unchanged entry
// verifies.
func FuzzAuditVerifyFindsAChangedEntry(f *testing.F) {
	f.Add(uint8(2), []byte(`{"n":2,"prev":"00","ts":"x","type":"command","fields":{}}`))
	f.Add(uint8(1), []byte(``))
	f.Add(uint8(3), []byte(`{"n":3}`))
	f.Add(uint8(2), []byte(`null`))
	dir := f.TempDir()
	base := filepath.Join(dir, "base.db")
	{
		s, err := Open(base, nil)
		if err != nil {
			f.Fatal(err)
		}
		for i := range 4 {
			if _, err := s.AppendAudited("events", auditAt, "command", fmt.Appendf(nil, `{"i":%d}`, i), func(seq uint64, _ AuditLink) ([]byte, error) { return payloadFor(seq) }); err != nil {
				f.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			f.Fatal(err)
		}
	}
	db, err := bolt.Open(base, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		f.Fatal(err)
	}
	originals := map[uint64]string{}
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
			originals[u64Key(k)] = string(v)
			return nil
		})
	})
	db.Close()
	f.Fuzz(func(t *testing.T, which uint8, v []byte) {
		n := uint64(which%3) + 1 // 1..3: not the last
		db, err := bolt.Open(filepath.Join(t.TempDir(), "j.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			b, err := tx.CreateBucket(bucketAudit)
			if err != nil {
				return err
			}
			for k, orig := range originals {
				val := []byte(orig)
				if k == n {
					val = v
				}
				if err := b.Put(seqKey(k), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var r AuditReport
		_ = db.View(func(tx *bolt.Tx) error { r = verifyAudit(tx); return nil })
		if string(v) == originals[n] {
			if !r.Intact() {
				t.Fatalf("unchanged chain reported broken: %+v", r.Broken)
			}
			return
		}
		if r.Broken == nil || (r.Broken.N != n && r.Broken.N != n+1) {
			t.Fatalf("entry %d replaced by %q: broken %+v, want a break at %d or %d", n, v, r.Broken, n, n+1)
		}
	})
}

func u64Key(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}
