package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/journal"
)

// historyAPIPod is a pod whose history is a real journal file.
type historyAPIPod struct {
	auditPod
	store *journal.Store
}

func (p historyAPIPod) History(kind journal.HistoryKind, q journal.HistoryQuery) (journal.HistoryPage, error) {
	return p.store.History(kind, q)
}

func (p historyAPIPod) HistorySessions() ([]journal.HistorySession, error) {
	return p.store.HistorySessions(journal.HistoryVitals)
}

// lineWriter collects output and signals when it holds n lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  int
	reach chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.reach != nil && bytes.Count(w.buf.Bytes(), []byte("\n")) >= w.want {
		close(w.reach)
		w.reach = nil
	}
	return len(p), nil
}

func (w *lineWriter) await(t *testing.T, n int) {
	t.Helper()
	w.mu.Lock()
	c := make(chan struct{})
	if bytes.Count(w.buf.Bytes(), []byte("\n")) >= n {
		close(c)
	} else {
		w.want, w.reach = n, c
	}
	w.mu.Unlock()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("fewer than %d lines after 30 s:\n%s", n, w.String())
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func appendEvents(t *testing.T, s *journal.Store, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		typ := []string{"state", "fault", "warning", "abort", "command"}[i%5]
		if !s.AppendHistory(journal.HistoryEvents, journal.HistoryEntry{At: time.Now(), Type: typ, Data: fmt.Appendf(nil, `{"type":%q,"i":%d}`, typ, i)}) {
			t.Fatalf("event %d not queued", i)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

// events --follow prints every event once, in order, across pages (a
// commit of 700 is two pages of 500) and commits that land between
// polls, and stops at the end of its context (Ctrl-C).
func TestEventsFollowPrintsEveryEventOnceInOrder(t *testing.T) {
	s, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), &journal.Options{CommitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendEvents(t, s, 0, 5)
	path := serveAPI(t, historyAPIPod{store: s})
	out := &lineWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	root := newRoot(out)
	root.SetArgs([]string{"--socket", path, "--json", "events", "--follow", "--interval", "5ms"})
	go func() { done <- root.ExecuteContext(ctx) }()
	out.await(t, 5)
	total := 5
	for _, n := range []int{1, 700, 3, 37, 250} {
		appendEvents(t, s, total, n)
		total += n
		out.await(t, total)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("events --follow: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	i := 0
	for sc.Scan() {
		var e api.HistoryEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d %q: %v", i+1, sc.Text(), err)
		}
		var body struct{ I int }
		if err := json.Unmarshal(e.Body, &body); err != nil || e.Seq != uint64(i+1) || body.I != i {
			t.Fatalf("line %d: seq %d body %s; want seq %d, i %d (no duplicate, no gap)", i+1, e.Seq, e.Body, i+1, i)
		}
		i++
	}
	if i != total {
		t.Fatalf("%d lines, want %d", i, total)
	}
}

// --kind keeps the types named; the cursor still passes the others, so a
// follower of aborts never prints one twice.
func TestEventsKindAndTheHumanLines(t *testing.T) {
	s, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), &journal.Options{CommitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 23:12:05 UTC of the day before the test runs: always past, and
	// within the history's retention.
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	at := day.Add(23*time.Hour + 12*time.Minute + 5*time.Second)
	since := day.Format(time.RFC3339)
	stamp := func(d time.Duration) string { return at.Add(d).Format(time.DateTime) }
	for _, e := range []journal.HistoryEntry{
		{At: at, Type: "warning", Data: []byte(`{"type":"warning","rule":"heart_rate_high","values":{"heart_rate_bpm":131.2},"limit":130,"delay_s":10}`)},
		{At: at.Add(10 * time.Second), Type: "abort", Session: "m-9", Data: []byte(`{"type":"abort","rule":"heart_rate_high","detail":"heart rate 133 bpm above 130 for 10 s","priority":"high"}`)},
		{At: at.Add(11 * time.Second), Type: "state", Data: []byte(`{"type":"state","from":"merged","to":"aborted","reason":"heart_rate_high"}`)},
		{At: at.Add(20 * time.Minute), Type: "ack", Data: []byte(`{"type":"ack","rule":"heart_rate_high","source":"api","user":"tech","note":"sleeper fine"}`)},
	} {
		s.AppendHistory(journal.HistoryEvents, e)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	path := serveAPI(t, historyAPIPod{store: s})
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", path, "events", "--since", since, "--kind", "abort,ack"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := stamp(10*time.Second) + "  abort    heart_rate_high: heart rate 133 bpm above 130 for 10 s (high priority) [session m-9]\n" +
		"                              next: the pod is latched in its safe state: check on the sleeper; once the vitals are back within their limits, `podctl ack --note TEXT` clears it (refused while still unsafe)\n" +
		stamp(20*time.Minute) + "  ack      abort heart_rate_high acknowledged by api (user tech): sleeper fine\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	root = newRoot(&out)
	root.SetArgs([]string{"--socket", path, "events", "--since", since, "--kind", "warning,state"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want = stamp(0) + "  warning  heart_rate_high: heart_rate_bpm=131.2, limit 130; the pod aborts if it lasts 10s\n" +
		stamp(11*time.Second) + "  state    merged -> aborted (heart_rate_high)\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	root = newRoot(&out)
	root.SetArgs([]string{"--socket", path, "events", "--kind", "Abort"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), `400: kind=Abort: "Abort" is not an event type`) {
		t.Fatalf("--kind Abort: %v", err)
	}
}
