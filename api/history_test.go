package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
)

// historyPod is a fakePod whose history is a real journal file.
type historyPod struct {
	*fakePod
	store *journal.Store
}

func (p historyPod) History(kind journal.HistoryKind, q journal.HistoryQuery) (journal.HistoryPage, error) {
	return p.store.History(kind, q)
}

func (p historyPod) HistorySessions() ([]journal.HistorySession, error) {
	return p.store.HistorySessions(journal.HistoryVitals)
}

// night is 22:00 UTC of the day before the test runs: always past, and
// within the history's retention (entries dated after the store's clock
// are pruned as expired).
var night = time.Now().UTC().Truncate(24 * time.Hour).Add(-2 * time.Hour)

func historyStore(t *testing.T) *journal.Store {
	t.Helper()
	s, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), &journal.Options{CommitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for i, typ := range []string{"state", "warning", "abort", "fault", "ack"} {
		s.AppendHistory(journal.HistoryEvents, journal.HistoryEntry{At: night.Add(time.Duration(i) * time.Minute), Type: typ, Data: fmt.Appendf(nil, `{"type":%q,"i":%d}`, typ, i)})
	}
	for i := range 6 {
		pt := controller.HistoryPoint{From: night.Add(time.Duration(i) * 10 * time.Second), Samples: 10, State: "merged", Safety: "ok", HeartRateBPM: &controller.Span{Min: 60, Mean: 61, Max: 62 + float64(i), N: 10}}
		if i >= 3 {
			pt.Session = "m-1"
		}
		b, _ := json.Marshal(pt)
		s.AppendHistory(journal.HistoryVitals, journal.HistoryEntry{At: pt.From, Type: controller.HistoryPointType, Session: pt.Session, Data: b})
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return s
}

func eventSeqs(r EventsReply) []uint64 {
	var s []uint64
	for _, e := range r.Events {
		s = append(s, e.Seq)
	}
	return s
}

func TestEventsAreServedByKindAndCursor(t *testing.T) {
	c, _ := serve(t, historyPod{&fakePod{}, historyStore(t)})
	ctx := context.Background()
	r, err := c.Events(ctx, url.Values{"kind": {"abort,ack"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := eventSeqs(r); !slices.Equal(got, []uint64{3, 5}) || r.Cursor != 5 || r.More || r.First != 1 {
		t.Fatalf("abort,ack: %v cursor %d more %v first %d", got, r.Cursor, r.More, r.First)
	}
	if e := r.Events[0]; e.Type != "abort" || !e.At.Equal(night.Add(2*time.Minute)) || string(e.Body) != `{"type":"abort","i":2}` {
		t.Fatalf("abort event %+v body %s", e, e.Body)
	}
	r, err = c.Events(ctx, url.Values{"after": {"1"}, "limit": {"2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := eventSeqs(r); !slices.Equal(got, []uint64{2, 3}) || r.Cursor != 3 || !r.More {
		t.Fatalf("after 1 limit 2: %v cursor %d more %v", got, r.Cursor, r.More)
	}
	r, err = c.Events(ctx, url.Values{"since": {night.Add(3 * time.Minute).Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := eventSeqs(r); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("since +3m: %v", got)
	}
}

func TestHistoryServesPointsByTimeAndSessionAndListsTheSessions(t *testing.T) {
	c, _ := serve(t, historyPod{&fakePod{}, historyStore(t)})
	ctx := context.Background()
	r, err := c.History(ctx, url.Values{"session": {"m-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Points) != 3 || r.Points[0].Seq != 4 || r.Points[0].HeartRateBPM.Max != 65 || r.Points[0].Session != "m-1" {
		t.Fatalf("session m-1: %+v", r.Points)
	}
	r, err = c.History(ctx, url.Values{"from": {night.Add(10 * time.Second).Format(time.RFC3339)}, "to": {night.Add(30 * time.Second).Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Points) != 2 || r.Points[0].Seq != 2 || r.Points[1].Seq != 3 {
		t.Fatalf("[+10s, +30s): %+v", r.Points)
	}
	ss, err := c.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.Sessions) != 1 || ss.Sessions[0].Session != "m-1" || !ss.Sessions[0].First.Equal(night.Add(30*time.Second)) || !ss.Sessions[0].Last.Equal(night.Add(50*time.Second)) || ss.Sessions[0].Entries != 3 {
		t.Fatalf("sessions %+v", ss.Sessions)
	}
}

func TestBadHistoryQueriesAreRefusedNamingTheParameter(t *testing.T) {
	c, _ := serve(t, historyPod{&fakePod{}, historyStore(t)})
	ctx := context.Background()
	for q, want := range map[string]string{
		"kind=Abort":      `api: GET /v1/events?kind=Abort: 400: kind=Abort: "Abort" is not an event type ([a-z_], at most 32)`,
		"limit=0":         "api: GET /v1/events?limit=0: 400: limit=0: is outside 1..5000",
		"since=-1h":       "api: GET /v1/events?since=-1h: 400: since=-1h: is outside 1ns..2160h0m0s",
		"since=yesterday": `api: GET /v1/events?since=yesterday: 400: since=yesterday: is neither a duration back from now ("30m", "12h") nor an RFC 3339 time`,
		"after=x":         "api: GET /v1/events?after=x: 400: after=x: is not a seq (a decimal number)",
		"kinds=abort":     "api: GET /v1/events?kinds=abort: 400: kinds=abort: is not a parameter of this route",
		"kind=":           "api: GET /v1/events?kind=: 400: kind: is empty",
		"limit=1&limit=2": "api: GET /v1/events?limit=1&limit=2: 400: limit: given 2 times; give it once",
	} {
		v, _ := url.ParseQuery(q)
		_, err := c.Events(ctx, v)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v\n want %s", q, err, want)
		}
	}
	v := url.Values{"from": {night.Format(time.RFC3339)}, "to": {night.Format(time.RFC3339)}}
	if _, err := c.History(ctx, v); err == nil || !strings.Contains(err.Error(), "400: from "+night.Format(time.RFC3339)+" is not before to "+night.Format(time.RFC3339)) {
		t.Errorf("from = to: %v", err)
	}
	if _, err := c.History(ctx, url.Values{"kind": {"abort"}}); err == nil || !strings.Contains(err.Error(), "400: kind=abort: is not a parameter of this route") {
		t.Errorf("kind on /v1/history: %v", err)
	}
}

func TestAPodWithoutHistoryAnswers503(t *testing.T) {
	c, _ := serve(t, &fakePod{})
	if _, err := c.Events(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "503: this pod keeps no history") {
		t.Fatalf("Events = %v", err)
	}
}

// A reply stops short of maxReplyBytes, its cursor at the last entry
// kept, so a follower goes on from there.
func TestAReplyPastItsByteBoundStopsShortAtItsCursor(t *testing.T) {
	p := journal.HistoryPage{Cursor: 100}
	for i := range 100 {
		p.Entries = append(p.Entries, journal.HistoryEntry{Seq: uint64(i + 1), Data: make([]byte, 64<<10)})
	}
	trimPage(&p)
	n := len(p.Entries)
	if n == 0 || n >= 100 || !p.More || p.Cursor != uint64(n) || n*(64<<10+128) > maxReplyBytes {
		t.Fatalf("trimmed to %d entries, cursor %d, more %v", n, p.Cursor, p.More)
	}
}

func FuzzParseEventsQuery(f *testing.F) {
	for _, s := range []string{"kind=abort,fault&since=12h&limit=10", "after=5", "since=2026-11-30T22:00:00Z", "kind=a,,b", "limit=99999", "since=0s", "x=1", "%zz"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseEventsQuery(v, now)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if err := journal.CheckHistoryQuery(q); err != nil {
			t.Fatalf("%q parsed into a query the journal refuses: %v", raw, err)
		}
		if q.Limit < 1 || q.Limit > journal.MaxHistoryReply || len(q.Types) > maxKinds {
			t.Fatalf("%q: limit %d, %d types", raw, q.Limit, len(q.Types))
		}
		for _, k := range q.Types {
			if !kindPattern.MatchString(k) {
				t.Fatalf("%q: type %q", raw, k)
			}
		}
		if !q.From.IsZero() && v.Get("since") != "" && q.From.After(now) && !strings.Contains(v.Get("since"), "T") {
			t.Fatalf("%q: a duration since gave %v, after now", raw, q.From)
		}
	})
}

func FuzzParseHistoryQuery(f *testing.F) {
	for _, s := range []string{"from=2026-11-30T22:00:00Z&to=2026-12-01T08:00:00Z", "session=m-1&limit=10", "after=3", "to=2026-11-30T22:00:00Z&from=2026-11-30T22:00:00Z", "from=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseHistoryQuery(v)
		if err != nil {
			return
		}
		if err := journal.CheckHistoryQuery(q); err != nil {
			t.Fatalf("%q parsed into a query the journal refuses: %v", raw, err)
		}
		if len(q.Session) > 255 || q.Limit < 1 {
			t.Fatalf("%q: %+v", raw, q)
		}
	})
}
