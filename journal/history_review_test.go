package journal

import (
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// The pod's clock stepped back: a Pi without an RTC, or with a wrong one,
// ran with its wall clock years ahead (a bad RTC, a manual date -s, a
// broken time source) and stored a vitals point then; NTP then set the
// clock right. history.retention is 1h (a clinic that keeps as little of
// the sleeper as it can).
//
// Wrong: pruneHistory (journal/history.go) walks from the oldest seq and
// stops at the first entry within the retention. The point dated years
// ahead is "within the retention" until that date, so every point stored
// after it, whatever its age, is kept until the count bound
// (MaxHistoryVitals: 14 days of points, MaxHistoryEvents: 50000 events)
// reaches it: the 1h retention is in effect 14 days, silently, and the
// sleeper's vitals stay in the store far longer than configured.
//
// Correct: an entry dated after the Store's clock (by more than a small
// slack) cannot vouch for the entries behind it: pruning treats it as
// expired (or skips past it and goes on pruning by time), so after the
// step back nothing older than the retention by the corrected clock is
// kept beyond the next commits.
func TestReviewRetentionHoldsAfterTheClockSteppedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: 10 * time.Second, HistoryRetention: time.Hour})
		// Stored while the clock read 20 years ahead.
		s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now().AddDate(20, 0, 0), Type: "vitals", Data: []byte(`{"i":-1}`)})
		time.Sleep(time.Minute)
		// The clock is right again: a point every 10 minutes for 3 hours.
		for i := range 18 {
			s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now(), Type: "vitals", Data: fmt.Appendf(nil, `{"i":%d}`, i)})
			time.Sleep(10 * time.Minute)
		}
		synctest.Wait()
		cutoff := time.Now().Add(-time.Hour - time.Minute) // the retention and a commit's slack
		p := mustHistory(t, s, HistoryVitals, HistoryQuery{})
		old := 0
		for _, e := range p.Entries {
			if e.At.Before(cutoff) {
				old++
			}
		}
		if old > 0 {
			t.Errorf("history.retention 1h: %d of %d points are older than 1h by the pod's clock, kept behind a point dated %v",
				old, len(p.Entries), p.Entries[0].At.Format(time.RFC3339))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
