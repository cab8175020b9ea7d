package journal

import (
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
)

// sameDropped compares two drops, Kept by its seqs (nil and empty alike).
func sameDropped(a, b Dropped) bool {
	return a.From == b.From && a.To == b.To && a.Count == b.Count && slices.Equal(a.Kept, b.Kept)
}

// seqRange is from..to, inclusive.
func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for seq := from; seq <= to; seq++ {
		s = append(s, seq)
	}
	return s
}

// fill appends to s, from seq 1, telemetry where tel says and events
// elsewhere, up to seq n, and commits.
func fill(t *testing.T, s *Store, n uint64, tel func(seq uint64) bool) {
	t.Helper()
	for seq := uint64(1); seq <= n; seq++ {
		var r Record
		if tel(seq) {
			r = mustAppendLazy(t, s)
		} else {
			r = appendEvent(t, s)
		}
		if r.Seq != seq || !r.Dropped.Empty() {
			t.Fatalf("record %d = seq %d, dropped %+v", seq, r.Seq, r.Dropped)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Kept lists the events inside a drop's range, and not a seq that was
// delivered before it: the range's seqs are exactly the dropped, the
// kept and those already gone.
func TestADropListsTheEventsItKeptInsideItsRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 300}) // batch 3
		// Telemetry 1, 4, 8, 9..300; events 2, 3, 5, 6, 7.
		fill(t, s, 300, func(seq uint64) bool { return seq == 1 || seq == 4 || seq >= 8 })
		if err := s.Delete(6); err != nil { // delivered
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		mustAppendLazy(t, s) // 301: fits where 6 was
		r := appendEvent(t, s)
		want := Dropped{From: 1, To: 8, Count: 3, Kept: []uint64{2, 3, 5, 7}}
		if r.Seq != 302 || !sameDropped(r.Dropped, want) {
			t.Fatalf("seq %d dropped %+v, want 302, %+v", r.Seq, r.Dropped, want)
		}
		if got := pendingSeqs(t, s)[:5]; !slices.Equal(got, []uint64{2, 3, 5, 7, 9}) {
			t.Fatalf("outbox starts %v, want [2 3 5 7 9]", got)
		}
	})
}

// A drop whose new record has room stops before its range holds more
// than maxKept kept seqs, short of its batch; one that needs more room
// goes on and lists every kept seq, never fewer than it kept.
func TestADropWithRoomStopsAtMaxKeptAndOneWithoutListsThemAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Telemetry 1, 22, 43..300; events 2..21 and 23..42 (20 each).
		s := open(t, filepath.Join(t.TempDir(), "a.db"), &Options{MaxOutbox: 300}) // batch 3
		fill(t, s, 300, func(seq uint64) bool { return seq == 1 || seq == 22 || seq >= 43 })
		r := appendEvent(t, s)
		// Room after 1 and 22 (two records); 43 would bring 40 kept.
		want := Dropped{From: 1, To: 22, Count: 2, Kept: seqRange(2, 21)}
		if !sameDropped(r.Dropped, want) {
			t.Fatalf("dropped %+v, want %+v", r.Dropped, want)
		}

		// Telemetry 1, 42, 43..300; events 2..41 (40).
		s = open(t, filepath.Join(t.TempDir(), "b.db"), &Options{MaxOutbox: 300})
		fill(t, s, 300, func(seq uint64) bool { return seq == 1 || seq >= 42 })
		r = appendEvent(t, s)
		// Room needs 42, and with it 40 kept, all listed; then no more.
		want = Dropped{From: 1, To: 42, Count: 2, Kept: seqRange(2, 41)}
		if !sameDropped(r.Dropped, want) {
			t.Fatalf("dropped %+v, want %+v", r.Dropped, want)
		}
		if len(want.Kept) <= maxKept {
			t.Fatalf("the case lists %d kept, not above maxKept %d", len(want.Kept), maxKept)
		}
	})
}

// Once no telemetry is left, events go oldest first; with room, the batch
// stops before an event below the telemetry's range would keep more than
// maxKept records inside it.
func TestTheEventPhaseOfADropWithRoomKeepsAtMostMaxKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Events 1..298, telemetry 299, 300.
		s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{MaxOutbox: 300}) // batch 3
		fill(t, s, 300, func(seq uint64) bool { return seq >= 299 })
		r := appendEvent(t, s)
		// Event 1 next would keep 2..298 inside 1..300.
		want := Dropped{From: 299, To: 300, Count: 2}
		if !sameDropped(r.Dropped, want) {
			t.Fatalf("dropped %+v, want %+v", r.Dropped, want)
		}
		// Events only now: a prefix, none kept.
		r = appendEvent(t, s) // 302, the report's room
		r = appendEvent(t, s) // 303
		want = Dropped{From: 1, To: 3, Count: 3}
		if r.Seq != 303 || !sameDropped(r.Dropped, want) {
			t.Fatalf("seq %d dropped %+v, want 303, %+v", r.Seq, r.Dropped, want)
		}
	})
}
