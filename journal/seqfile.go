package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// seqFile is the reservation kept next to the store (path + ".seq"), so
// that where the seqs stood outlives the store file. See the package doc.
type seqFile struct {
	// mark: no seq above it was ever handed out.
	mark uint64
	// base: the store's next seq when mark was written; every seq below it
	// had been handed out, so a store whose counter is below it is stale.
	base uint64
	// pending: the oldest seq still in the outbox when mark was written (base
	// when it was empty). Every seq below it had left the outbox, delivered
	// or reported dropped; none made later is below base.
	pending uint64
}

// Layout, 33 bytes:
//
//	[0:4]    "PSEQ"
//	[4]      seqFileVersion
//	[5:13]   mark, big-endian
//	[13:21]  base
//	[21:29]  pending
//	[29:33]  CRC-32C of [0:29]
const (
	seqFileVersion = 1
	seqFileLen     = 33
	seqFileMagic   = "PSEQ"

	// maxSeq bounds every seq and mark: far beyond any pod's life, and
	// exact in a JSON number. A mark at or above it is invalid, so a
	// counter never wraps.
	maxSeq = 1 << 53
)

func seqPath(path string) string { return path + ".seq" }

func (sf seqFile) encode() []byte {
	b := make([]byte, seqFileLen)
	copy(b, seqFileMagic)
	b[4] = seqFileVersion
	binary.BigEndian.PutUint64(b[5:], sf.mark)
	binary.BigEndian.PutUint64(b[13:], sf.base)
	binary.BigEndian.PutUint64(b[21:], sf.pending)
	binary.BigEndian.PutUint32(b[29:], crc32.Checksum(b[:29], castagnoli))
	return b
}

func decodeSeqFile(b []byte) (seqFile, error) {
	switch {
	case len(b) != seqFileLen:
		return seqFile{}, fmt.Errorf("%d bytes, want %d", len(b), seqFileLen)
	case string(b[:4]) != seqFileMagic:
		return seqFile{}, errors.New("not a seq file")
	case b[4] != seqFileVersion:
		return seqFile{}, fmt.Errorf("unknown version %d", b[4])
	case binary.BigEndian.Uint32(b[29:]) != crc32.Checksum(b[:29], castagnoli):
		return seqFile{}, errChecksum
	}
	sf := seqFile{
		mark:    binary.BigEndian.Uint64(b[5:]),
		base:    binary.BigEndian.Uint64(b[13:]),
		pending: binary.BigEndian.Uint64(b[21:]),
	}
	if err := sf.check(); err != nil {
		return seqFile{}, err
	}
	return sf, nil
}

// check is what a seq file must hold: 1 <= pending <= base <= mark <
// maxSeq.
func (sf seqFile) check() error {
	switch {
	case sf.mark >= maxSeq:
		return fmt.Errorf("mark %d not below 2^53", sf.mark)
	case sf.base == 0 || sf.base > sf.mark || sf.pending == 0 || sf.pending > sf.base:
		return fmt.Errorf("inconsistent: mark %d, base %d, pending %d", sf.mark, sf.base, sf.pending)
	}
	return nil
}

// seqState is what readSeqFile found.
type seqState int

const (
	seqMissing seqState = iota // no seq file: a new pod, or one from before seq files
	seqValid
	seqInvalid // there is a file, and it cannot be trusted
)

// readSeqFile returns the seq file at path and what it found. err is set
// for seqInvalid (why) and for a file that could not be read at all, which
// is neither of the states: the caller must not guess then. A seq file is a
// regular file of seqFileLen bytes: anything else there (a symlink, a FIFO,
// a device, a file of another size) is seqInvalid, and is neither followed,
// waited on, nor read whole.
func readSeqFile(path string) (seqFile, seqState, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return seqFile{}, seqMissing, nil
	case errors.Is(err, syscall.ELOOP):
		return seqFile{}, seqInvalid, fmt.Errorf("seq file %s: a symbolic link", path)
	case err != nil:
		return seqFile{}, seqMissing, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return seqFile{}, seqMissing, err
	case !fi.Mode().IsRegular():
		return seqFile{}, seqInvalid, fmt.Errorf("seq file %s: not a regular file (%v)", path, fi.Mode().Type())
	case fi.Size() != seqFileLen:
		return seqFile{}, seqInvalid, fmt.Errorf("seq file %s: %d bytes, want %d", path, fi.Size(), seqFileLen)
	}
	b, err := io.ReadAll(io.LimitReader(f, seqFileLen+1))
	if err != nil {
		return seqFile{}, seqMissing, err
	}
	sf, err := decodeSeqFile(b)
	if err != nil {
		return seqFile{}, seqInvalid, fmt.Errorf("seq file %s: %w", path, err)
	}
	return sf, seqValid, nil
}

// writeSeqFile replaces the file at path atomically: a power cut leaves the
// old content or the new, never a mix (write a temporary file, fsync it,
// rename it over, fsync the directory). It refuses a seq file that reading
// it would refuse (a mark at or above maxSeq, or one that wrapped), so a
// reservation past maxSeq fails the Append that needs it.
func writeSeqFile(path string, sf seqFile) error {
	if err := sf.check(); err != nil {
		return fmt.Errorf("seq file %s: %w", path, err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(sf.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
