package journal

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A seq file is 33 bytes: one whose inode says 768 MiB (sparse) is not read.
func TestAHugeSeqFileIsNotReadWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "t")
	s.Close()
	if err := os.Truncate(seqPath(path), 768<<20); err != nil {
		t.Fatal(err)
	}
	var openErr error
	n := totalAlloc(func() {
		s, openErr = Open(path, nil)
		if openErr == nil {
			s.Close()
		}
	})
	t.Logf("Open = %v", openErr)
	if n > 16<<20 {
		t.Fatalf("Open with a 768 MiB seq file allocated %d MiB to read 33 bytes", n>>20)
	}
}

// A seq file that is a FIFO is neither waited on nor read.
func TestASeqFileThatIsAFifoDoesNotBlockOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(seqPath(path))
	if out, err := exec.Command("mkfifo", seqPath(path)).CombinedOutput(); err != nil {
		t.Skipf("mkfifo: %v %s", err, out)
	}
	done := make(chan error, 1)
	go func() {
		s, err := Open(path, &Options{Timeout: 100 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("Open = %v", err)
	case <-time.After(5 * time.Second):
		// Unblock the goroutine so the test binary can go on.
		if f, err := os.OpenFile(seqPath(path), os.O_RDWR, 0); err == nil {
			f.Close()
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		t.Fatal("Open blocked on a seq file that is a FIFO (unblocked by the test after 5s)")
	}
}

// A seq file whose checksum is right but whose mark is near 2^64 (another
// program's file, a crafted one) is invalid: the counter must never wrap.
func TestASeqMarkNear2To64IsInvalid(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 20, nil)
	ps, _, _ := layout(t, fx.path)
	os.Truncate(fx.path, int64(3*ps))
	const top = ^uint64(0) - 1
	if err := os.WriteFile(seqPath(fx.path), seqFile{mark: top, base: top, pending: 1}.encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, rec, err := OpenOrRecover(fx.path, nil)
	if err != nil {
		t.Fatalf("%v %+v", err, rec)
	}
	defer s.Close()
	var seqs []uint64
	for range 3 {
		r, err := s.Append("t", time.Now(), payloadFor)
		if err != nil {
			t.Logf("Append: %v", err)
			break
		}
		seqs = append(seqs, r.Seq)
	}
	next, _ := s.NextSeq()
	if len(seqs) > 1 && seqs[1] <= seqs[0] || next == 1 {
		t.Fatalf("seqs handed out %v, next %d: the counter wrapped", seqs, next)
	}
}

// Append fails, rather than hands out a seq whose reservation would reach
// 2^53.
func TestAppendFailsRatherThanReserveSeqsPast2To53(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{SeqBlock: 1})
	if err := s.SetSeqFloor(maxSeq - 2); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{maxSeq - 2, maxSeq - 1} {
		if r := mustAppend(t, s, "t"); r.Seq != want {
			t.Fatalf("seq %d, want %d", r.Seq, want)
		}
	}
	if r, err := s.Append("t", time.Now(), payloadFor); err == nil {
		t.Fatalf("Append handed out seq %d, at 2^53", r.Seq)
	}
	if _, err := decodeSeqFile(seqFile{mark: maxSeq, base: maxSeq, pending: 1}.encode()); err == nil {
		t.Fatal("a seq file with its mark at 2^53 decoded")
	}
}
