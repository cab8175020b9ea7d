package journal

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// resignMetaAt recomputes the checksum of the meta page at off in the file.
func resignMetaAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := make([]byte, metaLen)
	if _, err := f.ReadAt(m, off+pageHeaderLen); err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	ne.PutUint64(m[metaChecksumAt:], h.Sum64())
	if _, err := f.WriteAt(m, off+pageHeaderLen); err != nil {
		t.Fatal(err)
	}
}

// fanOutBucket is an inline bucket value nesting depth levels, each level
// an inline leaf of two bucket elements ("ab" and "b", suffixes of the same
// bytes) whose values are the same next level: 66 bytes a level, 2^depth
// paths through it.
func fanOutBucket(depth int) []byte {
	inner := make([]byte, bucketHeaderLen+pageHeaderLen) // an empty inline leaf
	ne.PutUint16(inner[bucketHeaderLen+8:], leafPage)
	for range depth {
		v := make([]byte, bucketHeaderLen+pageHeaderLen+2*elementLen, bucketHeaderLen+pageHeaderLen+2*elementLen+2+len(inner))
		p := v[bucketHeaderLen:] // the inline page
		ne.PutUint16(p[8:], leafPage)
		ne.PutUint16(p[10:], 2)
		// element 0 at p[16:]: key "ab" at p[48:50], value at p[50:]
		ne.PutUint32(p[16:], bucketLeafFlag)
		ne.PutUint32(p[20:], 32)
		ne.PutUint32(p[24:], 2)
		ne.PutUint32(p[28:], uint32(len(inner)))
		// element 1 at p[32:]: key "b" at p[49:50], value at p[50:]
		ne.PutUint32(p[32:], bucketLeafFlag)
		ne.PutUint32(p[36:], 17)
		ne.PutUint32(p[40:], 1)
		ne.PutUint32(p[44:], uint32(len(inner)))
		v = append(v, 'a', 'b')
		v = append(v, inner...)
		inner = v
	}
	return inner
}

// fanOutJournal writes a journal whose root leaf holds one bucket "z" whose
// value is fanOutBucket(depth): a valid page, within bounds, keys in order.
func fanOutJournal(t *testing.T, depth int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ps, _, meta := layout(t, path)
	val := fanOutBucket(depth)
	page := make([]byte, ps)
	ne.PutUint64(page, meta.root)
	ne.PutUint16(page[8:], leafPage)
	ne.PutUint16(page[10:], 1)
	ne.PutUint32(page[16:], bucketLeafFlag)
	ne.PutUint32(page[20:], 16) // key at 32
	ne.PutUint32(page[24:], 1)
	ne.PutUint32(page[28:], uint32(len(val)))
	page[32] = 'z'
	if 33+len(val) > ps {
		t.Fatalf("depth %d does not fit a page of %d", depth, ps)
	}
	copy(page[33:], val)
	patch(t, path, int64(meta.root)*int64(ps), page)
	return path
}

// A crafted root leaf of one 4 KiB page whose inline buckets share their
// bytes holds 2^depth paths (depth 40 is 2.7 KB): the check stops at more
// elements than the file holds, and Open returns.
func TestInlineBucketsSharingTheirBytesDoNotMakeTheCheckEndless(t *testing.T) {
	for _, depth := range []int{12, 14, 16} {
		path := fanOutJournal(t, depth)
		b, _ := os.ReadFile(path)
		start := time.Now()
		err := checkFile(strings.NewReader(string(b)), int64(len(b)))
		t.Logf("depth %d: checkFile took %v (err %v)", depth, time.Since(start).Round(time.Millisecond), err)
	}
	path := fanOutJournal(t, 40)
	done := make(chan error, 1)
	go func() {
		s, err := Open(path, nil)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("Open = %v, want damage", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a 4 KiB crafted page did not return within 10s")
	}
}

// The meta page bbolt uses is the valid one with the higher txid, whatever
// page size it names. One naming another page size than the file's is
// damage: bbolt must never run on a meta page the check did not check (with
// no freelist, bbolt walks that tree in a goroutine of its own, where a
// fault kills the process).
func TestAMetaPageInUseNamingAnotherPageSizeIsDamage(t *testing.T) {
	if os.Getenv("JOURNAL_TEST_CHILD") == "meta" {
		path := os.Getenv("JOURNAL_TEST_PATH")
		s, rec, err := OpenOrRecover(path, nil)
		fmt.Printf("OpenOrRecover returned: %v %+v\n", err, rec)
		if s != nil {
			s.Close()
		}
		return
	}
	fx := writeJournal(t, t.TempDir(), 50, nil)
	ps, _, meta := layout(t, fx.path)
	if meta.txid%2 != 0 {
		// Make meta page 0 the newest, so the older one (page 1) is tampered.
		s, err := Open(fx.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ClearLatch(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, _, meta = layout(t, fx.path)
	}
	m := make([]byte, 8)
	off := int64(ps) + pageHeaderLen
	ne.PutUint32(m, uint32(2*ps)) // page size
	patch(t, fx.path, off+8, m[:4])
	ne.PutUint64(m, 1<<30) // root: within pgid, far past the map
	patch(t, fx.path, off+16, m)
	ne.PutUint64(m, noFreelist)
	patch(t, fx.path, off+32, m)
	ne.PutUint64(m, 1<<40) // pgid
	patch(t, fx.path, off+40, m)
	ne.PutUint64(m, meta.txid+5)
	patch(t, fx.path, off+48, m)
	resignMetaAt(t, fx.path, int64(ps))

	f, _ := os.Open(fx.path)
	fi, _ := f.Stat()
	if err := checkFile(f, fi.Size()); !errors.Is(err, ErrDamaged) {
		t.Errorf("checkFile on the tampered file = %v, want damage", err)
	}
	f.Close()

	if testing.Short() {
		// The rest re-executes this test binary, which a run under an
		// emulator (go test -exec qemu-arm, as make test's 32-bit pass
		// does) cannot do.
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAMetaPageInUseNamingAnotherPageSizeIsDamage$", "-test.count=1")
	cmd.Env = append(os.Environ(), "JOURNAL_TEST_CHILD=meta", "JOURNAL_TEST_PATH="+fx.path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OpenOrRecover returned") {
		lines := strings.Split(string(out), "\n")
		t.Fatalf("OpenOrRecover killed the process (%v):\n%s", err, strings.Join(lines[:min(len(lines), 12)], "\n"))
	}
	t.Logf("%s", out)
}

// totalAlloc runs f and returns how many bytes it allocated.
func totalAlloc(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// A file whose size says 768 MiB (sparse: no disk used) and whose root page
// claims an overflow to its end: the check must not allocate the run (on a
// 512 MB board that is an out-of-memory throw at every start).
func TestAnOverflowRunOfAHugeSparseFileIsNotReadWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ps, _, meta := layout(t, path)
	const size = 768 << 20
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	hwm := uint64(size / ps)
	b := make([]byte, 8)
	for _, off := range []int64{0, int64(ps)} {
		ne.PutUint64(b, hwm)
		patch(t, path, off+pageHeaderLen+40, b)
		resignMetaAt(t, path, off)
	}
	ne.PutUint32(b, uint32(hwm-meta.root-1))
	patch(t, path, int64(meta.root)*int64(ps)+12, b[:4])

	var openErr error
	n := totalAlloc(func() {
		s, openErr = Open(path, nil)
		if openErr == nil {
			s.Close()
		}
	})
	if !errors.Is(openErr, ErrDamaged) {
		t.Fatalf("Open = %v, want damage", openErr)
	}
	if n > 64<<20 {
		t.Fatalf("Open of a sparse %d MiB file allocated %d MiB", size>>20, n>>20)
	}
}
