package controller

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sleegation/podd/journal"
)

// auditLog is a Store whose audit log holds entries First..Last, each a
// "config" entry but those in acks; it counts the entries read.
type auditLog struct {
	memStore
	first, last uint64
	acks        map[uint64]string // entry number: its fields
	read        int
}

func (s *auditLog) VerifyAudit() (journal.AuditReport, error) {
	if s.last == 0 {
		return journal.AuditReport{}, nil
	}
	return journal.AuditReport{Entries: s.last - s.first + 1, First: s.first, Last: s.last}, nil
}

func (s *auditLog) AuditExtent() (first, last uint64, err error) {
	if s.last == 0 {
		return 0, 0, nil
	}
	return s.first, s.last, nil
}

func (s *auditLog) AuditEntries(after uint64, limit int) ([]journal.AuditEntry, error) {
	var out []journal.AuditEntry
	for n := max(after+1, s.first); n <= s.last && len(out) < limit; n++ {
		raw := fmt.Sprintf(`{"n":%d,"prev":"","ts":"2026-11-30T0%d:00:00.000000000Z","type":"config","fields":{}}`, n, n%10)
		if f, ok := s.acks[n]; ok {
			raw = fmt.Sprintf(`{"n":%d,"prev":"","ts":"2026-11-30T04:10:%02d.000000000Z","type":"ack","fields":%s}`, n, n%60, f)
		}
		out = append(out, journal.AuditEntry{N: n, Raw: []byte(raw)})
	}
	s.read += len(out)
	return out, nil
}

// After a start, the last ack is the latest "ack" entry of the audit log,
// read back from its end a page at a time, no further than lastAckScan
// entries; an entry from before acks named their source was the API's.
func TestTheLastAckIsReadBackFromTheAuditLog(t *testing.T) {
	const api = `{"rule":"spo2_low","detected_at":"2026-11-30T03:00:00.000000000Z","by":"local","source":"api","uid":1000,"pid":77,"user":"tech","note":"ok"}`
	const button = `{"rule":"heart_rate_high","detected_at":"2026-11-30T02:00:00.000000000Z","by":"local","source":"button"}`
	const old = `{"rule":"vitals_stale","detected_at":"2026-11-30T01:00:00.000000000Z","by":"local"}`
	tests := []struct {
		name        string
		first, last uint64
		acks        map[uint64]string
		want        string // LastAck as %v of its parts; "" for none
		read        int
	}{
		{"empty log", 0, 0, nil, "", 0},
		{"no ack", 1, 300, nil, "", 300},
		{"the latest of two", 1, 5000, map[uint64]string{4000: button, 4900: api}, "spo2_low 2026-11-30T03:00:00Z at 2026-11-30T04:10:40Z by api 1000 77 tech ok", lastAckPage},
		{"two pages back", 1, 5000, map[uint64]string{4600: button}, "heart_rate_high 2026-11-30T02:00:00Z at 2026-11-30T04:10:40Z by button <nil> <nil>  ", 512},
		{"an old entry", 1, 10, map[uint64]string{3: old}, "vitals_stale 2026-11-30T01:00:00Z at 2026-11-30T04:10:03Z by api <nil> <nil>  ", 10},
		{"beyond the scan", 1, 5000, map[uint64]string{5000 - lastAckScan: api}, "", lastAckScan},
		{"at the scan's end", 1, 5000, map[uint64]string{5000 - lastAckScan + 1: api}, "spo2_low 2026-11-30T03:00:00Z at 2026-11-30T04:10:13Z by api 1000 77 tech ok", lastAckScan},
		{"a pruned log", 4001, 4100, map[uint64]string{4001: button}, "heart_rate_high 2026-11-30T02:00:00Z at 2026-11-30T04:10:41Z by button <nil> <nil>  ", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &auditLog{first: tt.first, last: tt.last, acks: tt.acks}
			p := &Pod{parts: Parts{Store: s}, log: slog.New(slog.DiscardHandler)}
			p.readLastAck()
			got := ""
			if l := p.LastAck(); l != nil {
				uid, pid := "<nil>", "<nil>"
				if l.UID != nil {
					uid = fmt.Sprint(*l.UID)
				}
				if l.PID != nil {
					pid = fmt.Sprint(*l.PID)
				}
				got = fmt.Sprintf("%s %s at %s by %s %s %s %s %s", l.Rule, l.DetectedAt.Format(time.RFC3339), l.At.Format(time.RFC3339), l.Kind, uid, pid, l.User, l.Note)
			}
			if got != tt.want || s.read != tt.read {
				t.Fatalf("last ack %q after reading %d entries; want %q after %d", got, s.read, tt.want, tt.read)
			}
		})
	}
}
