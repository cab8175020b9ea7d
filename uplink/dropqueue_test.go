package uplink

import (
	"reflect"
	"testing"

	"github.com/sleegation/podd/journal"
)

// Drops whose reports failed are reported each on its own, oldest first,
// never merged into one range: the seqs between two drops' ranges were
// neither dropped nor listed kept by either, and one report spanning both
// would tell the hub they are gone.
func TestUnreportedDropsAreReportedEachOnItsOwn(t *testing.T) {
	store := openStore(t, &journal.Options{MaxOutbox: 100})
	u := newTestUplink(t, store, nil)
	u.appendMu.Lock()
	u.unreported = []journal.Dropped{
		{From: 1, To: 4, Count: 2, Kept: []uint64{2, 3}},
		{From: 9, To: 12, Count: 3, Kept: []uint64{10}},
	}
	err := u.reportOutboxFull(journal.Dropped{})
	left := len(u.unreported)
	u.appendMu.Unlock()
	if err != nil || left != 0 {
		t.Fatalf("reportOutboxFull: %v, %d left unreported", err, left)
	}
	recs, err := store.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"from": 1.0, "to": 4.0, "count": 2.0, "kept": []any{2.0, 3.0}, "reason": "outbox_full"},
		{"from": 9.0, "to": 12.0, "count": 3.0, "kept": []any{10.0}, "reason": "outbox_full"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d reports", len(recs), len(want))
	}
	for i, r := range recs {
		var ev Event
		if err := ev.UnmarshalJSON(r.Payload); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "dropped" || !reflect.DeepEqual(ev.Fields, want[i]) {
			t.Fatalf("report %d = %s, want a dropped event with %v", i, r.Payload, want[i])
		}
	}
}
