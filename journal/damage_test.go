package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sleegation/podd/safety"
)

// Every damaged file here is made on a real bbolt file and opened in the
// test process itself: a fault that escaped would kill the test binary.

const testLatch = `{"rule":"heart_rate_high","detail":"hr 150 > 130","at":"2031-03-04T05:06:07Z"}`

// fixture is a closed journal written by writeJournal.
type fixture struct {
	path    string
	written map[uint64]Record // every record appended, deleted or not
	maxSeq  uint64
}

// writeJournal writes n records of about 300 bytes (several pages), deletes
// the first fifth (so the file has free pages) and sets a latch.
func writeJournal(t testing.TB, dir string, n int, opts *Options) fixture {
	t.Helper()
	fx := fixture{path: filepath.Join(dir, "j.db"), written: map[uint64]Record{}}
	s, err := Open(fx.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	created := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range n {
		payload := fmt.Appendf(nil, `{"marker":"rec-%05d-","pad":%q}`, i+1, strings.Repeat("v", 250+i%40))
		rec, err := s.Append(fmt.Sprintf("sleegation/v1/pods/p1/t%d", i%3), created.Add(time.Duration(i)*time.Second),
			func(uint64) ([]byte, error) { return payload, nil })
		if err != nil {
			t.Fatal(err)
		}
		fx.written[rec.Seq] = rec
		fx.maxSeq = max(fx.maxSeq, rec.Seq)
	}
	var gone []uint64
	for seq := uint64(1); seq <= uint64(n/5); seq++ {
		gone = append(gone, seq)
	}
	if err := s.Delete(gone...); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLatch([]byte(testLatch)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// copyFixture copies the journal and its seq file to a new directory.
func copyFixture(t testing.TB, fx fixture) fixture {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", ".seq"} {
		b, err := os.ReadFile(fx.path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "j.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := fx
	c.path = filepath.Join(dir, "j.db")
	return c
}

// pageHeader is a page in use in the file, as its header describes it.
type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

// layout reads the page size, the meta page bbolt uses and every page in
// use (reachable from the tree, or the freelist) of the sound file at path.
func layout(t testing.TB, path string) (pageSize int, pages []pageHeader, meta boltMeta) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &fileCheck{f: bytes.NewReader(b), size: int64(len(b))}
	if err := c.run(); err != nil {
		t.Fatalf("layout of a damaged file: %v", err)
	}
	ps := int(c.pageSize)
	for id := uint64(2); id < c.meta.hwm; id++ {
		p := b[int(id)*ps:]
		if !c.reachable[id] || ne.Uint64(p) != id {
			continue
		}
		h := pageHeader{id: id, flags: ne.Uint16(p[8:]), count: ne.Uint16(p[10:]), overflow: ne.Uint32(p[12:])}
		pages = append(pages, h)
		id += uint64(h.overflow)
	}
	return ps, pages, c.meta
}

// outboxLeaf is a leaf page in use holding records (found by their marker).
func outboxLeaf(t testing.TB, path string) (pageSize int, id uint64) {
	t.Helper()
	ps, pages, _ := layout(t, path)
	b, _ := os.ReadFile(path)
	for _, p := range pages {
		page := b[int(p.id)*ps : int(p.id)*ps+ps]
		if p.flags == leafPage && p.count > 3 && bytes.Contains(page, []byte("rec-")) {
			return ps, p.id
		}
	}
	t.Fatal("no outbox leaf page")
	return 0, 0
}

// patch writes b at off in the file at path.
func patch(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// exercise calls every method of s; none may panic. It checks that every
// record Pending returns whole is one that was written, unchanged (unless
// written is nil).
func exercise(t testing.TB, s *Store, written map[uint64]Record) (corrupt int) {
	t.Helper()
	recs, err := s.Pending(0, 1<<20)
	if err == nil {
		for _, r := range recs {
			if r.Corrupt != nil {
				corrupt++
				continue
			}
			if written == nil {
				continue
			}
			w, ok := written[r.Seq]
			if !ok || r.Topic != w.Topic || !r.Created.Equal(w.Created) || !bytes.Equal(r.Payload, w.Payload) {
				t.Fatalf("Pending returned seq %d as %q %v %q: not what was written (%+v)", r.Seq, r.Topic, r.Created, r.Payload, w)
			}
		}
	}
	_, _ = s.OutboxLen()
	_, _ = s.NextSeq()
	_, _, _ = s.Latch()
	_, _ = s.Append("t", time.Unix(1, 0), payloadFor)
	_ = s.Delete(1, 2, 3, 100, 200)
	_ = s.SetLatch([]byte("x"))
	_ = s.ClearLatch()
	_, _ = s.Pending(0, 10)
	_ = s.SetSeqFloor(1)
	return corrupt
}

// assertRecovered checks a store recovered from fx: latched with
// store_damaged naming where the file went, numbering above every seq fx
// used, and the damaged file kept.
func assertRecovered(t testing.TB, fx fixture, s *Store, rec *Recovery) {
	t.Helper()
	if rec == nil {
		t.Fatal("no Recovery")
	}
	if !errors.Is(rec.Damage, ErrDamaged) || rec.Path != fx.path || !rec.Latched {
		t.Errorf("Recovery %+v: want the damage, the path and latched", rec)
	}
	if rec.MovedTo != "" {
		if !strings.HasPrefix(rec.MovedTo, fx.path+".damaged-") {
			t.Errorf("moved to %s, want %s.damaged-<timestamp>", rec.MovedTo, fx.path)
		}
		if _, err := os.Stat(rec.MovedTo); err != nil {
			t.Errorf("damaged file not kept: %v", err)
		}
	}
	next, err := s.NextSeq()
	if err != nil {
		t.Fatal(err)
	}
	if next <= fx.maxSeq || next != rec.NextSeq {
		t.Fatalf("fresh store's next seq %d (Recovery says %d): want it above %d, every seq of the damaged store", next, rec.NextSeq, fx.maxSeq)
	}
	if rec.Lost.From > fx.maxSeq || rec.Lost.To < fx.maxSeq || rec.Lost.To+1 != next {
		t.Errorf("Lost %+v: want it to cover the damaged store's last seq %d and end below %d", rec.Lost, fx.maxSeq, next)
	}
	if n, err := s.OutboxLen(); err != nil || n != 0 {
		t.Errorf("fresh outbox holds %d (%v)", n, err)
	}
	b, ok, err := s.Latch()
	if err != nil || !ok {
		t.Fatalf("fresh store's latch: %q %v %v", b, ok, err)
	}
	var a safety.Abort
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("latch %s is not a safety.Abort: %v", b, err)
	}
	if a.Rule != RuleStoreDamaged || (rec.MovedTo != "" && !strings.Contains(a.Detail, rec.MovedTo)) || !a.At.Equal(rec.At) {
		t.Errorf("latch %+v: want rule %s, the detail naming %q, at %v", a, RuleStoreDamaged, rec.MovedTo, rec.At)
	}
	first, err := s.Append("t", time.Now(), payloadFor)
	if err != nil || first.Seq != next {
		t.Fatalf("first Append on the fresh store = %d, %v; want %d", first.Seq, err, next)
	}
}

// openDamaged opens a damaged journal: Open must fail with ErrDamaged, and
// OpenOrRecover must recover it.
func openDamaged(t *testing.T, fx fixture) (*Store, *Recovery) {
	t.Helper()
	if s, err := Open(fx.path, nil); !errors.Is(err, ErrDamaged) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open = %v, want ErrDamaged", err)
	}
	s, rec, err := OpenOrRecover(fx.path, nil)
	if err != nil {
		t.Fatalf("OpenOrRecover: %v (recovery %+v)", err, rec)
	}
	t.Cleanup(func() { _ = s.Close() })
	assertRecovered(t, fx, s, rec)
	return s, rec
}

func TestOpenOfAHealthyFileChecksItAndFindsNothing(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 300, nil)
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if err := checkFile(f, fi.Size()); err != nil {
		t.Fatalf("checkFile of a healthy file: %v", err)
	}
	s, rec, err := OpenOrRecover(fx.path, nil)
	if err != nil || rec != nil {
		t.Fatalf("OpenOrRecover of a healthy file = %v, %+v", err, rec)
	}
	defer s.Close()
	if c := exercise(t, s, fx.written); c != 0 {
		t.Fatalf("%d records corrupt in a healthy file", c)
	}
}

func TestADamagedFileIsSetAsideAndAFreshStoreStartsLatched(t *testing.T) {
	base := writeJournal(t, t.TempDir(), 300, nil)
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"element headers of an outbox page overwritten", func(t *testing.T, path string) {
			ps, id := outboxLeaf(t, path)
			patch(t, path, int64(id)*int64(ps)+pageHeaderLen, bytes.Repeat([]byte{0xA5}, 64))
		}},
		{"cut to three pages", func(t *testing.T, path string) {
			ps, _, _ := layout(t, path)
			if err := os.Truncate(path, int64(3*ps)); err != nil {
				t.Fatal(err)
			}
		}},
		{"cut mid-page", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2+100); err != nil {
				t.Fatal(err)
			}
		}},
		{"cut to 0 bytes", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"random bytes", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			b := make([]byte, fi.Size())
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"both meta pages zeroed", func(t *testing.T, path string) {
			ps, _, _ := layout(t, path)
			patch(t, path, 0, make([]byte, 2*ps))
		}},
		{"an outbox page zeroed", func(t *testing.T, path string) {
			ps, id := outboxLeaf(t, path)
			patch(t, path, int64(id)*int64(ps), make([]byte, ps))
		}},
		{"the root page zeroed", func(t *testing.T, path string) {
			ps, _, meta := layout(t, path)
			patch(t, path, int64(meta.root)*int64(ps), make([]byte, ps))
		}},
		{"the freelist page zeroed", func(t *testing.T, path string) {
			ps, _, meta := layout(t, path)
			patch(t, path, int64(meta.freelist)*int64(ps), make([]byte, ps))
		}},
		{"a branch page zeroed", func(t *testing.T, path string) {
			ps, pages, _ := layout(t, path)
			for _, p := range pages {
				if p.flags == branchPage {
					patch(t, path, int64(p.id)*int64(ps), make([]byte, ps))
					return
				}
			}
			t.Fatal("no branch page")
		}},
		{"the store file deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := copyFixture(t, base)
			tt.damage(t, fx.path)
			s, rec := openDamaged(t, fx)
			if tt.name == "the store file deleted" && rec.MovedTo != "" {
				t.Errorf("MovedTo %q for a missing file", rec.MovedTo)
			}
			if tt.name != "the store file deleted" && rec.MovedTo == "" {
				t.Error("the damaged file was not set aside")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The fresh store is sound, keeps its latch and goes on numbering.
			s2, rec2, err := OpenOrRecover(fx.path, nil)
			if err != nil || rec2 != nil {
				t.Fatalf("reopening the fresh store = %v, %+v", err, rec2)
			}
			defer s2.Close()
			if _, ok, _ := s2.Latch(); !ok {
				t.Error("fresh store lost its latch on reopen")
			}
			if r := mustAppend(t, s2, "t"); r.Seq != rec.NextSeq+1 {
				t.Errorf("second record of the fresh store: seq %d, want %d", r.Seq, rec.NextSeq+1)
			}
			exercise(t, s2, nil)
		})
	}
}

// Bytes changed in the middle of a data page hit a value, a key or an
// element: Open finds the damage, or the records hit fail their checksum.
// Either way no record is returned other than it was written.
func TestBytesChangedInTheMiddleOfADataPage(t *testing.T) {
	base := writeJournal(t, t.TempDir(), 300, nil)
	ps, id := outboxLeaf(t, base.path)
	b, _ := os.ReadFile(base.path)
	page := b[int(id)*ps : int(id+1)*ps]
	// The page is used from its elements to the end of its last value; the
	// rest is slack that no read touches.
	count := int(ne.Uint16(page[10:]))
	first := pageHeaderLen + count*elementLen
	e := page[first-elementLen : first]
	last := first - elementLen + int(ne.Uint32(e[4:])+ne.Uint32(e[8:])+ne.Uint32(e[12:]))
	for _, frac := range []int{0, 1, 2, 3} {
		off := first + (last-first-16)*frac/3
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			fx := copyFixture(t, base)
			patch(t, fx.path, int64(id)*int64(ps)+int64(off), []byte("DAMAGE!!DAMAGE!!"))
			s, err := Open(fx.path, nil)
			if err != nil {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("Open = %v, want ErrDamaged or success", err)
				}
				openDamaged(t, fx)
				return
			}
			defer s.Close()
			if c := exercise(t, s, fx.written); c == 0 {
				t.Error("16 bytes changed among the records of a page, and no record found corrupt")
			}
		})
	}
}

func TestARecordThatFailsItsChecksumIsReturnedCorrupt(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 300, nil)
	b, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("rec-00123-")
	at := bytes.Index(b, marker)
	if at < 0 || bytes.Count(b, marker) != 1 {
		t.Fatal("record 123 not found once in the file")
	}
	patch(t, fx.path, int64(at+len(marker)+20), []byte{'w'}) // one letter of its padding

	s := open(t, fx.path, nil)
	recs, err := s.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var corrupt []uint64
	for _, r := range recs {
		if r.Corrupt != nil {
			corrupt = append(corrupt, r.Seq)
			if !errors.Is(r.Corrupt, errChecksum) || !bytes.Contains(r.Payload, marker) {
				t.Errorf("corrupt record %d: %v, payload %q", r.Seq, r.Corrupt, r.Payload)
			}
		}
	}
	if !slices.Equal(corrupt, []uint64{123}) {
		t.Fatalf("corrupt records %v, want [123]", corrupt)
	}
	exercise(t, s, fx.written)
}

// Bits flipped anywhere past the meta pages, and in the headers and
// elements of the pages in use (where a flip is structural damage rather
// than a changed value), many seeds: Open finds the damage and
// OpenOrRecover recovers, or the store opens and returns no record other
// than it was written.
func TestRandomBitFlipsOutsideTheMetaPagesNeverPanicNorReuseASeq(t *testing.T) {
	base := writeJournal(t, t.TempDir(), 300, nil)
	pristine, err := os.ReadFile(base.path)
	if err != nil {
		t.Fatal(err)
	}
	ps, pages, _ := layout(t, base.path)
	seeds := 240
	if testing.Short() {
		seeds = 40
	}
	const workers = 4
	var opened, damaged, corrupt atomic.Int64
	t.Run("seeds", func(t *testing.T) {
		for w := range workers {
			t.Run(fmt.Sprint(w), func(t *testing.T) {
				t.Parallel()
				for seed := w; seed < seeds; seed += workers {
					r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
					b := append([]byte{}, pristine...)
					for range 1 + r.IntN(8) {
						bit := 2*ps*8 + r.IntN((len(b)-2*ps)*8)
						if r.IntN(2) == 0 {
							p := pages[r.IntN(len(pages))]
							bit = int(p.id)*ps*8 + r.IntN((pageHeaderLen+int(p.count)*elementLen)*8)
						}
						b[bit/8] ^= 1 << (bit % 8)
					}
					fx := copyFixture(t, base)
					if err := os.WriteFile(fx.path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					s, err := Open(fx.path, nil)
					if err == nil {
						opened.Add(1)
						corrupt.Add(int64(exercise(t, s, fx.written)))
						if err := s.Close(); err != nil && !errors.Is(err, ErrDamaged) {
							t.Errorf("seed %d: Close = %v", seed, err)
						}
						continue
					}
					if !errors.Is(err, ErrDamaged) {
						t.Fatalf("seed %d: Open = %v, want ErrDamaged or success", seed, err)
					}
					damaged.Add(1)
					s, rec, err := OpenOrRecover(fx.path, nil)
					if err != nil {
						t.Fatalf("seed %d: OpenOrRecover = %v", seed, err)
					}
					assertRecovered(t, fx, s, rec)
					s.Close()
				}
			})
		}
	})
	t.Logf("%d seeds: %d opened (%d corrupt records found), %d found damaged and recovered", seeds, opened.Load(), corrupt.Load(), damaged.Load())
	if damaged.Load() == 0 || opened.Load() == 0 {
		t.Errorf("the flips never hit (damaged %d, opened %d): the test does not test", damaged.Load(), opened.Load())
	}
}

// A file cut short under an open store: bbolt's next read of a page past
// the end is a SIGBUS on its map, which must come back as ErrDamaged.
func TestAFileCutUnderAnOpenStoreIsAnErrorNotAFault(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 300, nil)
	s, err := Open(fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Latch(); err != nil {
		t.Fatal(err)
	}
	ps, _, _ := layout(t, fx.path)
	if err := os.Truncate(fx.path, int64(2*ps)); err != nil {
		t.Fatal(err)
	}
	// The fault says where on real hardware ("fault at 0x..."); qemu-user
	// delivers it without the address, as a plain memory error.
	_, err = s.Pending(0, 1000)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "invalid memory address") {
		t.Fatalf("Pending on a file cut short = %v, want ErrDamaged from a fault", err)
	}
	select {
	case <-s.Damaged():
	default:
		t.Fatal("Damaged not closed")
	}
	// From now on nothing touches the map.
	for name, call := range map[string]func() error{
		"Append":    func() error { _, err := s.Append("t", time.Now(), payloadFor); return err },
		"OutboxLen": func() error { _, err := s.OutboxLen(); return err },
		"Latch":     func() error { _, _, err := s.Latch(); return err },
	} {
		if err := call(); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s on a damaged store = %v, want ErrDamaged", name, err)
		}
	}

	// The owner reopens it: the file is set aside, and the fresh store holds
	// the latch the running pod knew, not store_damaged.
	s2, rec, err := s.Reopen()
	if err != nil {
		t.Fatalf("Reopen = %v (%+v)", err, rec)
	}
	defer s2.Close()
	if rec == nil || rec.MovedTo == "" || !rec.Latched || rec.NextSeq <= fx.maxSeq {
		t.Fatalf("Recovery %+v: want the file moved, the latch carried, seqs above %d", rec, fx.maxSeq)
	}
	if b, ok, err := s2.Latch(); err != nil || !ok || string(b) != testLatch {
		t.Fatalf("latch after Reopen = %q, %v, %v; want the one the store held", b, ok, err)
	}
}

func TestReopenOfAStoreWhoseFileIsSoundKeepsIt(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 50, nil)
	s, err := Open(fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.markDamaged(damagef("a test says so"))
	if _, err := s.NextSeq(); !errors.Is(err, ErrDamaged) {
		t.Fatalf("NextSeq on a store marked damaged = %v", err)
	}
	s2, rec, err := s.Reopen()
	if err != nil || rec != nil {
		t.Fatalf("Reopen of a sound file = %v, %+v; want it reopened as it is", err, rec)
	}
	defer s2.Close()
	if next, _ := s2.NextSeq(); next != fx.maxSeq+1 {
		t.Fatalf("next seq %d, want %d", next, fx.maxSeq+1)
	}
}

func TestOneDamagedStoreCallFromManyGoroutinesNeverKillsTheProcess(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 300, nil)
	s, err := Open(fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i%2 == 0 {
					_, _ = s.Append("t", time.Now(), payloadFor)
				} else {
					_, _ = s.Pending(0, 50)
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	ps, _, _ := layout(t, fx.path)
	if err := os.Truncate(fx.path, int64(3*ps)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Damaged():
	case <-time.After(10 * time.Second):
		t.Error("no call found the file cut short within 10s")
	}
	close(stop)
	wg.Wait()
}

func TestABuildThatPanicsIsAnErrorNotDamage(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), nil)
	_, err := s.Append("t", time.Now(), func(uint64) ([]byte, error) { panic("caller bug") })
	if err == nil || errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "caller bug") {
		t.Fatalf("Append with a panicking build = %v, want an error naming it, not damage", err)
	}
	if rec := mustAppend(t, s, "t"); rec.Seq != 1 {
		t.Fatalf("next Append got seq %d, want 1", rec.Seq)
	}
}

func TestALatchThatFailsItsChecksumIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, nil)
	if err := s.SetLatch([]byte(testLatch)); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		v := encodeLatch([]byte(testLatch))
		v[len(v)-3] ^= 1
		return tx.Bucket(bucketMeta).Put(keyLatch, v)
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Latch(); !errors.Is(err, errChecksum) {
		t.Fatalf("Latch = %v, want a checksum error", err)
	}
	// Not damage of the store: the caller latches on it, and may write it back.
	if err := s.SetLatch([]byte(testLatch)); err != nil {
		t.Fatal(err)
	}
	if b, ok, err := s.Latch(); err != nil || !ok || string(b) != testLatch {
		t.Fatalf("Latch after writing it back = %q %v %v", b, ok, err)
	}
}

func TestAnUnknownFormatIsSetAsideNotMisread(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 10, nil)
	db, err := bolt.Open(fx.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, u64(7)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(fx.path, nil); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "format 7") {
		t.Fatalf("Open = %v, want ErrDamaged naming format 7", err)
	}
}

// Found by FuzzOpen: a file whose root holds an outbox but no meta bucket
// is not a new store to set up.
func TestARootWithoutAMetaBucketIsDamage(t *testing.T) {
	for _, holds := range [][]byte{bucketOutbox, []byte("something")} {
		path := filepath.Join(t.TempDir(), "j.db")
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(holds); return err }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := Open(path, nil); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "no meta bucket") {
			t.Errorf("Open of a file holding only %q = %v, want ErrDamaged", holds, err)
		}
	}
}

// A store is readable by bbolt after recovery: no checker of ours hides a
// file that bbolt itself calls inconsistent.
func TestBboltChecksWhatOpenAccepts(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 300, nil)
	db, err := bolt.Open(fx.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
