package uplink

import (
	"testing"

	"github.com/sleegation/podd/journal"
)

// OutboxDropped counts the records a full outbox let go, not the span of
// seqs, and not the reports.
func TestOutboxDroppedCountsTheRecordsLetGo(t *testing.T) {
	store := openStore(t, &journal.Options{MaxOutbox: 4})
	u := newTestUplink(t, store, nil)
	if n := u.OutboxDropped(); n != 0 {
		t.Fatalf("OutboxDropped = %d before any drop", n)
	}
	telemetry(t, u, 5) // the fifth drops 1 and 2 and is followed by the report
	if n := u.OutboxDropped(); n != 2 {
		t.Fatalf("OutboxDropped = %d, want 2", n)
	}
}
