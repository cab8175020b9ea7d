package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"
)

// The bbolt file format (go.etcd.io/bbolt/internal/common), version 2. A
// bbolt file is written in the machine's byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2

	pageHeaderLen   = 16 // id u64, flags u16, count u16, overflow u32
	metaLen         = 64 // magic, version, pageSize, flags u32; root, sequence, freelist, pgid, txid, checksum u64
	metaChecksumAt  = 56
	elementLen      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderLen = 16 // root u64, sequence u64

	branchPage   = 0x01
	leafPage     = 0x02
	freelistPage = 0x10

	bucketLeafFlag = 0x01
	noFreelist     = ^uint64(0)

	// maxCheckDepth bounds the walk's recursion: tree levels plus nested
	// buckets. A real journal is a few levels deep.
	maxCheckDepth = 128
)

var ne = binary.NativeEndian

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // pages below it are in use or free; none at or above it
	txid     uint64
}

// parseMeta reads the meta page at the start of b (header included).
func parseMeta(b []byte) (boltMeta, error) {
	if len(b) < pageHeaderLen+metaLen {
		return boltMeta{}, errShortValue
	}
	m := b[pageHeaderLen : pageHeaderLen+metaLen]
	switch {
	case ne.Uint32(m[0:]) != boltMagic:
		return boltMeta{}, errors.New("not a bbolt meta page")
	case ne.Uint32(m[4:]) != boltVersion:
		return boltMeta{}, fmt.Errorf("bbolt version %d", ne.Uint32(m[4:]))
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	if h.Sum64() != ne.Uint64(m[metaChecksumAt:]) {
		return boltMeta{}, errChecksum
	}
	return boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// checkFile verifies the bbolt file f, size bytes long, before bbolt maps
// it. It reads with pread, never through a memory map, so a file cut short
// or a page that cannot be read is an error here instead of a fault. It
// checks what bbolt's tx.Check checks (every page reachable from the tree
// or free, once; no page both; keys in order; page types) and what bbolt
// assumes without checking: every page, element, key and value lies within
// the file and within its page, so bbolt cannot read past the end of its
// map. Every error wraps ErrDamaged.
//
// bbolt's own tx.Check is not used: it walks the file in a goroutine of its
// own, where SetPanicOnFault cannot reach, so a fault there would kill the
// process.
func checkFile(f io.ReaderAt, size int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = damagef("checking the file: %v", r)
		}
	}()
	c := &fileCheck{f: f, size: size}
	return c.run()
}

type fileCheck struct {
	f         io.ReaderAt
	size      int64
	pageSize  uint64
	meta      boltMeta
	reachable []bool
	freed     []bool
	// elements counts the elements walked: each takes 16 bytes of the file
	// in a sound one, so more than size/16 of them is damage (inline
	// buckets sharing their bytes, which would make the walk exponential).
	elements uint64
	held     uint64 // bytes of keys and inline buckets read and still in use
}

// walk counts n more elements walked.
func (c *fileCheck) walk(where string, n int) error {
	c.elements += uint64(n)
	if c.elements > uint64(c.size)/elementLen {
		return damagef("%s: more elements than a file of %d bytes holds", where, c.size)
	}
	return nil
}

func (c *fileCheck) run() error {
	if err := c.readMeta(); err != nil {
		return err
	}
	c.reachable = make([]bool, c.meta.hwm)
	c.freed = make([]bool, c.meta.hwm)
	c.reachable[0], c.reachable[1] = true, true
	if c.meta.freelist != noFreelist {
		if err := c.readFreelist(); err != nil {
			return err
		}
	}
	if err := c.tree(c.meta.root, nil, nil, 0); err != nil {
		return err
	}
	if c.meta.freelist == noFreelist {
		return nil // bbolt rebuilds the freelist from what is unreachable
	}
	for id := uint64(2); id < c.meta.hwm; id++ {
		if !c.reachable[id] && !c.freed[id] {
			return damagef("page %d: unreachable unfreed", id)
		}
	}
	return nil
}

// readMeta finds the meta page bbolt will use, as bbolt does (DB.getPageSize,
// DB.meta): the page size is the first meta page's if it is valid, else the
// second one's, looked for at each page size; of the two meta pages, the
// valid one with the higher transaction id is used, the first on a tie. One
// invalid meta page is bbolt's own recovery from a commit cut short, not
// damage. A meta page used that names another page size than the file's is
// damage: bbolt would address its pages at the file's.
func (c *fileCheck) readMeta() error {
	if c.size < 0x1000 {
		// bbolt writes four pages of at least 1 KiB when it creates a file.
		return damagef("file cut short: %d bytes", c.size)
	}
	first := make([]byte, pageHeaderLen+metaLen)
	if err := c.read(first, 0); err != nil {
		return damagef("meta page 0: %v", err)
	}
	m0, err0 := parseMeta(first)
	pageSize := uint64(m0.pageSize)
	if err0 != nil {
		pageSize = 0
		for i := range 15 {
			pos := uint64(1024) << i
			if pos >= uint64(c.size)-1024 {
				break
			}
			m, err := c.metaAt(pos)
			if err == nil {
				pageSize = uint64(m.pageSize)
				break
			}
		}
	}
	if pageSize < 1024 || pageSize > 1<<24 || pageSize&(pageSize-1) != 0 {
		return damagef("no valid meta page with a valid page size (page 0: %v; page size %d)", err0, pageSize)
	}
	c.pageSize = pageSize
	m1, err1 := c.metaAt(pageSize)
	switch {
	case err0 == nil && (err1 != nil || m0.txid >= m1.txid):
		c.meta = m0
	case err1 == nil:
		c.meta = m1
	default:
		return damagef("both meta pages invalid: %v; %v", err0, err1)
	}
	if uint64(c.meta.pageSize) != pageSize {
		return damagef("the meta page in use (txid %d) names page size %d, the file's is %d", c.meta.txid, c.meta.pageSize, pageSize)
	}
	m := c.meta
	switch {
	case m.hwm < 2 || m.hwm > uint64(c.size)/pageSize:
		return damagef("file cut short: %d bytes, its meta page says %d pages of %d", c.size, m.hwm, pageSize)
	case m.root < 2 || m.root >= m.hwm:
		return damagef("root page %d out of bounds (%d pages)", m.root, m.hwm)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm):
		return damagef("freelist page %d out of bounds (%d pages)", m.freelist, m.hwm)
	}
	return nil
}

func (c *fileCheck) metaAt(pos uint64) (boltMeta, error) {
	b := make([]byte, pageHeaderLen+metaLen)
	if err := c.read(b, pos); err != nil {
		return boltMeta{}, err
	}
	return parseMeta(b)
}

func (c *fileCheck) read(b []byte, off uint64) error {
	if off > uint64(c.size) || uint64(len(b)) > uint64(c.size)-off {
		return io.ErrUnexpectedEOF
	}
	_, err := c.f.ReadAt(b, int64(off))
	return err
}

// A page of the file is not read whole when it has overflow pages: a file
// can claim a run of any length (a sparse one costs no disk), and reading it
// would allocate it. Only what is checked is read: the element array, the
// keys, and the values of buckets; and no more than these bounds at a time.
const (
	// maxKeySize is bbolt's (bolt.MaxKeySize): no sound file holds a longer
	// key.
	maxKeySize = 32768
	// maxHeld bounds the bytes of keys and inline buckets held at once over
	// the whole walk. Pages split at the page size, so a sound file holds
	// far less: a few pages along the path from the root.
	maxHeld = 32 << 20
	// freelistChunk is how many bytes of a freelist are read at a time.
	freelistChunk = 64 << 10
)

// region is a tree page: in memory (a page without overflow, or an inline
// bucket's page) or in the file at off, n bytes long.
type region struct {
	c    *fileCheck
	mem  []byte
	off  uint64
	n    uint64
	head []byte // the first page, or all of mem
}

func memRegion(c *fileCheck, p []byte) region {
	return region{c: c, mem: p, n: uint64(len(p)), head: p}
}

// within checks that n bytes at at lie within the region.
func (r region) within(at, n uint64) error {
	if at > r.n || n > r.n-at {
		return errors.New("beyond its page")
	}
	return nil
}

// bytes returns the n bytes at at, which must lie within the region, and
// counts them held (release them with r.c.release).
func (r region) bytes(at, n uint64) ([]byte, error) {
	if err := r.within(at, n); err != nil {
		return nil, err
	}
	if r.mem != nil {
		return r.mem[at : at+n], nil
	}
	if err := r.c.hold(n); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if err := r.c.read(b, r.off+at); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *fileCheck) hold(n uint64) error {
	if n > maxHeld-c.held {
		return fmt.Errorf("more than %d bytes of keys and buckets to hold", maxHeld)
	}
	c.held += n
	return nil
}

func (c *fileCheck) release(n uint64) { c.held -= n }

// page reads the first page of page id (its overflow is read from the file
// as it is needed), and marks the pages it spans reachable.
func (c *fileCheck) page(id uint64) (region, error) {
	if id < 2 || id >= c.meta.hwm {
		return region{}, damagef("page %d out of bounds (%d pages)", id, c.meta.hwm)
	}
	p := make([]byte, c.pageSize)
	if err := c.read(p, id*c.pageSize); err != nil {
		return region{}, damagef("page %d: %w", id, err)
	}
	if got := ne.Uint64(p); got != id {
		return region{}, damagef("page %d: its header says page %d", id, got)
	}
	r := memRegion(c, p)
	if overflow := uint64(ne.Uint32(p[12:])); overflow > 0 {
		if overflow >= c.meta.hwm-id {
			return region{}, damagef("page %d: overflow %d past the last page %d", id, overflow, c.meta.hwm-1)
		}
		r = region{c: c, off: id * c.pageSize, n: (overflow + 1) * c.pageSize, head: p}
	}
	for i := id; i < id+r.n/c.pageSize; i++ {
		switch {
		case c.reachable[i]:
			return region{}, damagef("page %d: multiple references", i)
		case c.freed[i]:
			return region{}, damagef("page %d: reachable freed", i)
		}
		c.reachable[i] = true
	}
	return r, nil
}

func (c *fileCheck) readFreelist() error {
	r, err := c.page(c.meta.freelist)
	if err != nil {
		return err
	}
	p := r.head
	if flags := ne.Uint16(p[8:]); flags != freelistPage {
		return damagef("freelist page %d: type %#x", c.meta.freelist, flags)
	}
	start, count := uint64(pageHeaderLen), uint64(ne.Uint16(p[10:]))
	if count == 0xFFFF {
		// The count did not fit the header: it is the first element.
		count = ne.Uint64(p[pageHeaderLen:])
		start += 8
	}
	if count > (r.n-start)/8 {
		return damagef("freelist page %d: %d ids do not fit it", c.meta.freelist, count)
	}
	if count > c.meta.hwm {
		return damagef("freelist page %d: %d ids, %d pages", c.meta.freelist, count, c.meta.hwm)
	}
	chunk := make([]byte, min(8*count, freelistChunk))
	for done := uint64(0); done < count; {
		b := chunk[:min(uint64(len(chunk)), 8*(count-done))]
		if r.mem != nil {
			copy(b, r.mem[start+8*done:])
		} else if err := c.read(b, r.off+start+8*done); err != nil {
			return damagef("freelist page %d: %w", c.meta.freelist, err)
		}
		for i := 0; i < len(b); i += 8 {
			id := ne.Uint64(b[i:])
			switch {
			case id < 2 || id >= c.meta.hwm:
				return damagef("freelist: page %d out of bounds (%d pages)", id, c.meta.hwm)
			case c.freed[id]:
				return damagef("page %d: already freed", id)
			case c.reachable[id]:
				return damagef("page %d: reachable freed", id)
			}
			c.freed[id] = true
		}
		done += uint64(len(b)) / 8
	}
	return nil
}

// tree checks the branch or leaf page id and what hangs from it; every key
// in it must be in [lo, hi) (nil: unbounded).
func (c *fileCheck) tree(id uint64, lo, hi []byte, depth int) error {
	if depth > maxCheckDepth {
		return damagef("page %d: deeper than %d levels", id, maxCheckDepth)
	}
	r, err := c.page(id)
	if err != nil {
		return err
	}
	switch flags := ne.Uint16(r.head[8:]); flags {
	case branchPage:
		return c.branch(id, r, lo, hi, depth)
	case leafPage:
		return c.leaf(fmt.Sprintf("page %d", id), r, lo, hi, depth)
	default:
		return damagef("page %d: type %#x in a tree", id, flags)
	}
}

func (c *fileCheck) branch(id uint64, r region, lo, hi []byte, depth int) error {
	count := int(ne.Uint16(r.head[10:]))
	if count == 0 {
		return damagef("page %d: empty branch", id)
	}
	if err := c.walk(fmt.Sprintf("page %d", id), count); err != nil {
		return err
	}
	keys, children, held, err := branchElements(r, count)
	defer c.release(held)
	if err != nil {
		return damagef("page %d: %w", id, err)
	}
	if err := keyOrder(keys, lo, hi); err != nil {
		return damagef("page %d: %w", id, err)
	}
	for i, child := range children {
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		if err := c.tree(child, keys[i], next, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks the leaf page r (a page of the file, or an inline bucket's),
// named where for errors.
func (c *fileCheck) leaf(where string, r region, lo, hi []byte, depth int) error {
	if err := c.walk(where, int(ne.Uint16(r.head[10:]))); err != nil {
		return err
	}
	keys, values, flags, held, err := leafElements(r)
	defer c.release(held)
	if err != nil {
		return damagef("%s: %w", where, err)
	}
	if err := keyOrder(keys, lo, hi); err != nil {
		return damagef("%s: %w", where, err)
	}
	for i, v := range values {
		if flags[i]&bucketLeafFlag == 0 {
			continue
		}
		if err := c.bucket(fmt.Sprintf("%s, bucket %q", where, keys[i]), r, v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// bucket checks the bucket whose header is the value at v in r.
func (c *fileCheck) bucket(where string, r region, v valueAt, depth int) error {
	if depth > maxCheckDepth {
		return damagef("%s: deeper than %d levels", where, maxCheckDepth)
	}
	if v.n < bucketHeaderLen {
		return damagef("%s: header of %d bytes", where, v.n)
	}
	h, err := r.bytes(v.at, bucketHeaderLen)
	if err != nil {
		return damagef("%s: %w", where, err)
	}
	root := ne.Uint64(h)
	if r.mem == nil {
		c.release(bucketHeaderLen)
	}
	if root != 0 {
		return c.tree(root, nil, nil, depth)
	}
	if v.n-bucketHeaderLen < pageHeaderLen {
		return damagef("%s: inline page of %d bytes", where, v.n-bucketHeaderLen)
	}
	if v.n > c.pageSize {
		// bbolt keeps a bucket inline only while it is a fraction of a page.
		return damagef("%s: inline bucket of %d bytes", where, v.n)
	}
	b, err := r.bytes(v.at, v.n)
	if err != nil {
		return damagef("%s: %w", where, err)
	}
	if r.mem == nil {
		defer c.release(v.n)
	}
	inline := b[bucketHeaderLen:]
	if flags := ne.Uint16(inline[8:]); flags != leafPage {
		return damagef("%s: inline page type %#x", where, flags)
	}
	return c.leaf(where+" (inline)", memRegion(c, inline), nil, nil, depth)
}

// valueAt is where a leaf element's value lies in its page.
type valueAt struct{ at, n uint64 }

// elementArray returns the count elements of r.
func elementArray(r region, count int) ([]byte, error) {
	if uint64(count)*elementLen > r.n-pageHeaderLen {
		return nil, fmt.Errorf("%d elements do not fit the page", count)
	}
	if r.mem != nil {
		return r.mem[pageHeaderLen : pageHeaderLen+count*elementLen], nil
	}
	b := make([]byte, count*elementLen)
	if err := r.c.read(b, r.off+pageHeaderLen); err != nil {
		return nil, err
	}
	return b, nil
}

// key returns the key of n bytes at at in r, adding what it holds to held.
func key(r region, at, n uint64, held *uint64) ([]byte, error) {
	if n > maxKeySize {
		return nil, fmt.Errorf("of %d bytes, above bbolt's maximum", n)
	}
	k, err := r.bytes(at, n)
	if err == nil && r.mem == nil {
		*held += n
	}
	return k, err
}

// branchElements returns a branch page's keys and children, and how many
// bytes they hold; every key must lie within r.
func branchElements(r region, count int) (keys [][]byte, children []uint64, held uint64, err error) {
	es, err := elementArray(r, count)
	if err != nil {
		return nil, nil, 0, err
	}
	for i := range count {
		at := uint64(pageHeaderLen + i*elementLen)
		e := es[i*elementLen : (i+1)*elementLen]
		k, err := key(r, at+uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:])), &held)
		if err != nil {
			return nil, nil, held, fmt.Errorf("element %d: key %w", i, err)
		}
		keys = append(keys, k)
		children = append(children, ne.Uint64(e[8:]))
	}
	return keys, children, held, nil
}

// leafElements returns a leaf page's keys, where its values lie, their
// flags, and how many bytes they hold; every key and value must lie within
// r.
func leafElements(r region) (keys [][]byte, values []valueAt, flags []uint32, held uint64, err error) {
	count := int(ne.Uint16(r.head[10:]))
	es, err := elementArray(r, count)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	for i := range count {
		at := uint64(pageHeaderLen + i*elementLen)
		e := es[i*elementLen : (i+1)*elementLen]
		pos, ksize, vsize := uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		k, err := key(r, at+pos, ksize, &held)
		if err != nil {
			return nil, nil, nil, held, fmt.Errorf("element %d: key %w", i, err)
		}
		if err := r.within(at+pos+ksize, vsize); err != nil {
			return nil, nil, nil, held, fmt.Errorf("element %d: value %w", i, err)
		}
		keys = append(keys, k)
		values = append(values, valueAt{at + pos + ksize, vsize})
		flags = append(flags, ne.Uint32(e[0:]))
	}
	return keys, values, flags, held, nil
}

// keyOrder checks that keys are non-empty, strictly ascending and in
// [lo, hi).
func keyOrder(keys [][]byte, lo, hi []byte) error {
	for i, k := range keys {
		switch {
		case len(k) == 0:
			return fmt.Errorf("key %d is empty", i)
		case i == 0 && lo != nil && bytes.Compare(k, lo) < 0:
			return fmt.Errorf("key %d below its parent's", i)
		case i > 0 && bytes.Compare(keys[i-1], k) >= 0:
			return fmt.Errorf("key %d out of order", i)
		case hi != nil && bytes.Compare(k, hi) >= 0:
			return fmt.Errorf("key %d not below the next key of its parent", i)
		}
	}
	return nil
}

// fileHook opens the file for bbolt (as bolt.Options.OpenFile), so that
// the file is locked and checked before bbolt reads it: bbolt then takes
// the same lock on the same descriptor at once, and maps only a file that
// passed checkFile. It keeps the descriptor, so a Store whose bbolt cannot
// close (a panic left its locks held) can still release the lock.
type fileHook struct {
	timeout time.Duration
	file    *os.File
}

func (h *fileHook) open(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
	missing := errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0
	if missing {
		if err := mustBeNew(name, "missing"); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(name, flag, perm)
	}
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, h.timeout); err != nil {
		_ = f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case fi.Size() == 0 && !missing:
		err = mustBeNew(name, "empty")
	case fi.Size() > 0:
		err = checkFile(f, fi.Size())
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	h.file = f
	return f, nil
}

// mustBeNew allows a store file that is missing or empty only if there is
// no seq file either: a new pod (or one whose first start was cut short).
// Otherwise the store was lost, and with it perhaps a latch.
func mustBeNew(path, what string) error {
	sf, state, err := readSeqFile(seqPath(path))
	switch {
	case state == seqValid:
		return damagef("the store is %s, but its seq file says seqs up to %d were handed out", what, sf.mark)
	case state == seqInvalid:
		return damagef("the store is %s, and its seq file is damaged too: %v", what, err)
	case err != nil:
		return fmt.Errorf("seq file: %w", err)
	}
	return nil
}

// lockFile takes the exclusive lock bbolt takes (flock), waiting at most
// timeout, and fails then with bbolt's ErrTimeout.
func lockFile(f *os.File, timeout time.Duration) error {
	err := flock(f, unix.LOCK_EX, timeout)
	if errors.Is(err, errLocked) {
		return bolterrors.ErrTimeout
	}
	return err
}

// errLocked is flock's error when another process's lock stayed in the
// way until the timeout.
var errLocked = errors.New("locked by another process")

// flock takes the flock(2) lock how (unix.LOCK_SH or LOCK_EX) on f,
// trying every 10 ms for at most timeout (0: once): errLocked when
// another process's lock is still in the way then, "lock: ..." for any
// other failure. It is the one way this package takes a lock
// (flockContext).
func flock(f *os.File, how int, timeout time.Duration) error {
	return flockContext(context.Background(), f, how, timeout)
}

// flockContext is flock that also stops trying when ctx is done, with
// ctx's error.
func flockContext(ctx context.Context, f *os.File, how int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("lock: %w", err)
		case !time.Now().Before(deadline):
			return errLocked
		}
		t := time.NewTimer(min(flockRetry, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// flockRetry is how often flock tries a lock again.
const flockRetry = 10 * time.Millisecond

// unlockFile releases the lock lockFile took. Closing the descriptor is not
// enough while bbolt's map of the file exists: the map holds the open file
// description, and a flock lasts as long as that does.
func unlockFile(f *os.File) {
	if f == nil {
		return
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
