package uplink

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/journal"
)

// faultyJournal wraps a real journal and fails the calls a test switches to
// failing, as a full or broken disk would; it counts every call.
type faultyJournal struct {
	Journal
	mu                                        sync.Mutex
	appendErr, pendingErr, deleteErr, nextErr error
	calls                                     map[string]int
}

func (f *faultyJournal) fault(name string, err *error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
	return *err
}

// set changes which calls fail; nil makes one succeed again.
func (f *faultyJournal) set(mod func(f *faultyJournal)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mod(f)
}

func (f *faultyJournal) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *faultyJournal) Append(topic string, created time.Time, build func(uint64) ([]byte, error)) (journal.Record, error) {
	if err := f.fault("Append", &f.appendErr); err != nil {
		return journal.Record{}, err
	}
	return f.Journal.Append(topic, created, build)
}

func (f *faultyJournal) AppendLazy(topic string, created time.Time, build func(uint64) ([]byte, error)) (journal.Record, error) {
	if err := f.fault("AppendLazy", &f.appendErr); err != nil {
		return journal.Record{}, err
	}
	return f.Journal.AppendLazy(topic, created, build)
}

func (f *faultyJournal) Pending(after uint64, max int) ([]journal.Record, error) {
	if err := f.fault("Pending", &f.pendingErr); err != nil {
		return nil, err
	}
	return f.Journal.Pending(after, max)
}

func (f *faultyJournal) Delete(seqs ...uint64) error {
	if err := f.fault("Delete", &f.deleteErr); err != nil {
		return err
	}
	return f.Journal.Delete(seqs...)
}

func (f *faultyJournal) NextSeq() (uint64, error) {
	if err := f.fault("NextSeq", &f.nextErr); err != nil {
		return 0, err
	}
	return f.Journal.NextSeq()
}

// diskError is what bbolt returns, wrapped by the journal, when a write or
// an fsync fails with errno.
func diskError(op string, errno syscall.Errno) error {
	return fmt.Errorf("journal.%s: %w", op, &os.PathError{Op: "write", Path: "/var/lib/podd/podd.db", Err: errno})
}

func recordingLogger(t *testing.T) (*logRecorder, func(*Config)) {
	t.Helper()
	logs := &logRecorder{}
	return logs, func(c *Config) { c.Logger = slog.New(logs) }
}

// A full disk: Event returns the journal's error, which the caller can tell
// by errno, stores nothing and sends nothing; the seq is not consumed, so
// once there is room the next event gets it and the hub sees no gap.
func TestAFullDiskFailsEventAndSendsNothingUntilThereIsRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		u := newTestUplink(t, fj, nil)
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()

		fj.set(func(f *faultyJournal) { f.appendErr = diskError("Append", syscall.ENOSPC) })
		ev := Event{Type: "fault", Fields: map[string]any{"device": "max30102"}}
		for range 3 {
			seq, err := u.Event(ev, time.Now())
			if !errors.Is(err, syscall.ENOSPC) || seq != 0 {
				t.Fatalf("Event on a full disk = %d, %v; want 0 and ENOSPC", seq, err)
			}
			if !strings.HasPrefix(err.Error(), "uplink.Event: journal.Append: ") {
				t.Fatalf("error %q does not name the calls that failed", err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if recs := l.records(); len(recs) != 0 {
			t.Fatalf("%d records sent while nothing could be stored", len(recs))
		}
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}

		fj.set(func(f *faultyJournal) { f.appendErr = nil })
		seq, err := u.Event(ev, time.Now())
		if err != nil || seq != 1 {
			t.Fatalf("Event once there is room = %d, %v; want seq 1", seq, err)
		}
		synctest.Wait()
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1}) {
			t.Fatalf("sent %v, want [1]", got)
		}
		if m := decode(t, recs[0].payload); m.Type != "fault" || m.Historical || recs[0].topic != u.topicEvents {
			t.Fatalf("sent %s on %s", recs[0].payload, recs[0].topic)
		}
		recs[0].tok.complete(nil)
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v after the acknowledgement, want empty", got)
		}
		_ = stop()
	})
}

// A journal that cannot be read (Pending fails) does not end the connection:
// the drainer reports it once, retries every second or at once when woken,
// and delivers everything once it reads again, and reports that once.
func TestAPendingErrorKeepsTheConnectionAndIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, fj, withLogs)
		telemetry(t, u, 2)
		fj.set(func(f *faultyJournal) { f.pendingErr = diskError("Pending", syscall.EIO) })

		start := time.Now()
		l := &fakeLink{}
		stop, done := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		// At the start the drainer also wakes for the birth's completion and
		// the records appended before: each is a try.
		atStart := fj.count("Pending")
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := fj.count("Pending") - atStart; n != 3 {
			t.Fatalf("%d Pending calls from 0.5 to 3.5s, want 3 (one a second)", n)
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended on a journal read error: %v", err)
		default:
		}
		if !u.Connected() || len(l.records()) != 0 {
			t.Fatalf("connected %v, %d records sent; want connected, none", u.Connected(), len(l.records()))
		}
		if st := l.statuses(t); len(st) != 1 || !st[0].Online {
			t.Fatalf("statuses %+v, want the birth", st)
		}

		// A new record wakes the drainer, which tries at once, and again a
		// second later.
		telemetry(t, u, 1)
		synctest.Wait()
		if n := fj.count("Pending") - atStart; n != 4 {
			t.Fatalf("%d Pending calls after a wake, want 4", n)
		}
		fj.set(func(f *faultyJournal) { f.pendingErr = nil })
		time.Sleep(time.Until(start.Add(4499 * time.Millisecond)))
		synctest.Wait()
		if n := len(l.records()); n != 0 {
			t.Fatalf("%d records sent before the retry was due", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v at the retry, want [1 2 3]", got)
		}
		if f, r := logs.count("journal read failing"), logs.count("journal read recovered"); f != 1 || r != 1 {
			t.Fatalf("logged failing %d times and recovered %d times, want once each", f, r)
		}
		_ = stop()
	})
}

// A Delete that fails leaves the acknowledged records in the outbox; they
// go out again on the next connection, at least once, never lost.
func TestADeleteErrorLeavesTheRecordsToBeSentAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, fj, withLogs)
		fj.set(func(f *faultyJournal) { f.deleteErr = diskError("Delete", syscall.EIO) })

		l1 := &fakeLink{}
		c1 := fakeConn(t, u, l1)
		_, done := serveInBackground(t, u, c1)
		synctest.Wait()
		telemetry(t, u, 2)
		synctest.Wait()
		for _, r := range l1.records() {
			r.tok.complete(nil)
			synctest.Wait()
		}
		telemetry(t, u, 1)
		synctest.Wait()
		l1.records()[2].tok.complete(nil)
		synctest.Wait()
		if n := fj.count("Delete"); n < 2 {
			t.Fatalf("%d Delete calls, want at least 2", n)
		}
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v after failed deletes, want [1 2 3]", got)
		}
		if n := logs.count("deleting acknowledged records failing"); n != 1 {
			t.Fatalf("delete failure logged %d times, want once", n)
		}
		// The connection goes on; the records are not sent twice on it.
		if got := seqsOf(t, l1.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent on the first connection %v, want [1 2 3]", got)
		}

		c1.markLost()
		if err := <-done; !errors.Is(err, errConnectionLost) {
			t.Fatalf("serve = %v", err)
		}
		fj.set(func(f *faultyJournal) { f.deleteErr = nil })
		l2 := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l2))
		synctest.Wait()
		recs := l2.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent again %v, want [1 2 3]", got)
		}
		for _, r := range recs {
			if !decode(t, r.payload).Historical {
				t.Errorf("resent %s is not historical", r.payload)
			}
			r.tok.complete(nil)
		}
		synctest.Wait()
		if got := outbox(t, store); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}
		if n := logs.count("deleting acknowledged records recovered"); n != 1 {
			t.Fatalf("delete recovery logged %d times, want once", n)
		}
		_ = stop()
	})
}

// appendPrevious stores n telemetry records in a journal file at path, as a
// previous run of the daemon left them, and closes it.
func appendPrevious(t *testing.T, path string, n int) {
	t.Helper()
	s, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	telemetry(t, newTestUplink(t, s, nil), n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// The store cannot be opened at start: the uplink connects all the same,
// publishes its birth and keeps the connection (NextSeq fails, which must
// not end it); records appended after the store opens are not historical,
// those of the previous run are, and nothing is lost.
func TestAJournalNotOpenYetStillConnectsAndDrainsOnceSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "journal.db")
		appendPrevious(t, path, 2)
		slot := journal.NewSlot()
		t.Cleanup(func() { _ = slot.Close() })
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, slot, withLogs)
		sc := &scriptedConnect{t: t, u: u}
		u.connect = sc.connect
		cancel, done := startRun(u)
		defer func() { cancel(); <-done }()
		synctest.Wait()

		if !u.Connected() {
			t.Fatal("not connected while the journal is not open")
		}
		if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); !errors.Is(err, journal.ErrNotOpen) {
			t.Fatalf("Telemetry before the journal opened = %v, want ErrNotOpen", err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(sc.attempts()); n != 1 || !u.Connected() {
			t.Fatalf("%d connection attempts, connected %v; want the first connection kept", n, u.Connected())
		}
		l := sc.link(0)
		if st := l.statuses(t); len(st) != 1 || !st[0].Online {
			t.Fatalf("statuses %+v, want the birth", st)
		}
		if n := logs.count("journal read failing"); n != 1 {
			t.Fatalf("journal read failure logged %d times in 10s, want once", n)
		}

		s, err := journal.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := slot.Set(s); err != nil {
			t.Fatal(err)
		}
		seq, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now())
		if err != nil || seq != 3 {
			t.Fatalf("Telemetry after Set = %d, %v; want seq 3", seq, err)
		}
		commitJournal(t, slot)
		synctest.Wait()
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v, want [1 2 3]", got)
		}
		for i, want := range []bool{true, true, false} {
			if h := decode(t, recs[i].payload).Historical; h != want {
				t.Errorf("seq %d historical %v, want %v", i+1, h, want)
			}
			recs[i].tok.complete(nil)
		}
		synctest.Wait()
		if got := outbox(t, slot); len(got) != 0 {
			t.Fatalf("outbox %v, want empty", got)
		}
		if n := logs.count("journal read recovered"); n != 1 {
			t.Fatalf("journal recovery logged %d times, want once", n)
		}
	})
}

// Without an append to fix it, the boundary is the first NextSeq that
// succeeds: here it fails for 2 s, during which the previous run's records
// wait, then they go out as historical at the next retry.
func TestTheBoundaryIsTakenAtTheFirstNextSeqThatSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		fj := &faultyJournal{Journal: store}
		u := newTestUplink(t, fj, nil)
		telemetry(t, u, 2)
		fj.set(func(f *faultyJournal) { f.nextErr = diskError("NextSeq", syscall.EIO) })
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		atStart := fj.count("NextSeq")
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if n, p := fj.count("NextSeq")-atStart, fj.count("Pending"); n != 1 || p != 0 || len(l.records()) != 0 {
			t.Fatalf("NextSeq %d more, Pending %d calls, %d sent; want 1, 0, 0: nothing is sent before the boundary is known", n, p, len(l.records()))
		}
		fj.set(func(f *faultyJournal) { f.nextErr = nil })
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		recs := l.records()
		if got := seqsOf(t, recs); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("sent %v, want [1 2]", got)
		}
		for _, r := range recs {
			if !decode(t, r.payload).Historical {
				t.Errorf("%s not historical", r.payload)
			}
		}
		telemetry(t, u, 1)
		synctest.Wait()
		if m := decode(t, l.records()[2].payload); m.Seq != 3 || m.Historical {
			t.Fatalf("record made on the connection: %+v, want seq 3 not historical", m.Header)
		}
		_ = stop()
	})
}

func TestNewRefusesANilJournalInEveryForm(t *testing.T) {
	cfg := Config{Broker: "tcp://h:1883", Pod: "p"}
	for name, j := range map[string]Journal{
		"nil interface":      nil,
		"nil *journal.Store": (*journal.Store)(nil),
		"nil *journal.Slot":  (*journal.Slot)(nil),
		"nil *faultyJournal": (*faultyJournal)(nil),
	} {
		if _, err := New(cfg, j); err == nil || !strings.Contains(err.Error(), "nil journal") {
			t.Errorf("%s: New = %v, want a nil journal error", name, err)
		}
	}
	if _, err := New(cfg, journal.NewSlot()); err != nil {
		t.Errorf("New with an empty slot: %v", err)
	}
}
