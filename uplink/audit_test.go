package uplink

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// An audited event is stored with its entry in the audit log: the entry
// holds the event's type and fields, and the event carries the entry's
// link, last; an event that is not audited makes no entry.
func TestAnAuditedEventCarriesTheLinkOfItsEntry(t *testing.T) {
	s := openStore(t, nil)
	u := newTestUplink(t, s, nil)
	at := time.Date(2026, 11, 29, 23, 0, 0, 5, time.UTC)
	if _, err := u.Event(Event{Type: "state", Fields: map[string]any{"from": "idle", "to": "merged"}}, at); err != nil {
		t.Fatal(err)
	}
	seq, err := u.Event(Event{Type: "panic", Fields: map[string]any{"source": "button"}, Audit: true}, at)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditEntries(0, 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("entries %+v, %v: want one, the panic's", es, err)
	}
	zeros := strings.Repeat("0", 64)
	wantEntry := fmt.Sprintf(`{"n":1,"prev":"%s","ts":"2026-11-29T23:00:00.000000005Z","seq":%d,"type":"panic","fields":{"source":"button"}}`, zeros, seq)
	if string(es[0].Raw) != wantEntry {
		t.Fatalf("entry %s\nwant  %s", es[0].Raw, wantEntry)
	}
	recs, err := s.Pending(seq-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	want := fmt.Sprintf(`{"pod":"p1","boot":"b1","seq":%d,"ts":"2026-11-29T23:00:00.000000005Z","clock_synced":false,"simulated":false,"type":"panic","source":"button","audit":{"n":1,"prev":"%s","hash":"%s"}}`, seq, zeros, es[0].Hash)
	if string(recs[0].Payload) != want {
		t.Fatalf("payload %s\nwant    %s", recs[0].Payload, want)
	}
	// An audited event without fields has {} as its entry's fields.
	if _, err := u.Event(Event{Type: "config", Audit: true}, at); err != nil {
		t.Fatal(err)
	}
	es, _ = s.AuditEntries(1, 10)
	var e struct {
		Prev   string
		Fields json.RawMessage
	}
	if len(es) != 1 || json.Unmarshal(es[0].Raw, &e) != nil || string(e.Fields) != "{}" {
		t.Fatalf("entry 2 %+v", es)
	}
	if r, err := s.VerifyAudit(); err != nil || !r.Intact() || r.Entries != 2 {
		t.Fatalf("VerifyAudit = %+v, %v", r, err)
	}
}

// "audit" is the link's key: an event field of that name is refused,
// nothing stored.
func TestAnEventFieldNamedAuditIsRefused(t *testing.T) {
	s := openStore(t, nil)
	u := newTestUplink(t, s, nil)
	for _, audited := range []bool{false, true} {
		_, err := u.Event(Event{Type: "command", Fields: map[string]any{"audit": 1}, Audit: audited}, time.Now())
		if err == nil || !strings.Contains(err.Error(), `field "audit" is reserved`) {
			t.Errorf("audited %v: %v, want a refusal", audited, err)
		}
	}
	if n, _ := s.NextSeq(); n != 1 {
		t.Fatalf("next seq %d: something was stored", n)
	}
	if es, _ := s.AuditEntries(0, 10); len(es) != 0 {
		t.Fatalf("entries %+v", es)
	}
}
