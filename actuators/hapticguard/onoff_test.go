package hapticguard

import (
	"testing"
	"time"
)

// An on-off place runs at its full, wired drive (1) when the capped
// request is at least OnOffAt, and its budget is charged 1 a second: at
// the default 12 intensity·seconds a minute it runs for 12 s (each frame
// granted with its Hold reserved), then is held still.
func TestAnOnOffPlaceRunsFullAndIsChargedForIt(t *testing.T) {
	g, err := New(2, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	g.SetOnOff(1, true)
	const frame = 100 * time.Millisecond
	var ranFor time.Duration
	for i := range 300 { // 30 s
		x := []float64{0.7, 0.7}
		limited, err := g.Limit(time.Duration(i)*frame, x)
		if err != nil {
			t.Fatal(err)
		}
		if x[0] != 0.6 && x[0] != 0 {
			t.Fatalf("frame %d: the proportional place got %v, want the cap 0.6 or 0", i, x[0])
		}
		switch x[1] {
		case 1:
			ranFor += frame
		case 0:
		default:
			t.Fatalf("frame %d: the on-off place got %v, want 0 or 1", i, x[1])
		}
		if i == 0 && limited != true {
			t.Fatal("the cap on the proportional place is not reported")
		}
	}
	if ranFor != 12*time.Second {
		t.Errorf("the on-off place ran %v in the first 30 s, want 12 s (12 intensity·s at 1)", ranFor)
	}
	if !g.Spent(1) {
		t.Error("the on-off place's budget is not spent")
	}
}

// Below OnOffAt an on-off place stays still without being limited; a cap
// below OnOffAt keeps it still and says the cap did.
func TestAnOnOffPlaceBelowItsThreshold(t *testing.T) {
	g, err := New(1, Opts{Cap: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	g.SetOnOff(0, true)
	x := []float64{0.3}
	if limited, _ := g.Limit(0, x); limited || x[0] != 0 {
		t.Fatalf("request 0.3: %v, limited %v; want 0, not limited", x[0], limited)
	}
	x[0] = 0.9
	if limited, _ := g.Limit(100*time.Millisecond, x); !limited || x[0] != 0 {
		t.Fatalf("request 0.9 under a 0.4 cap: %v, limited %v; want 0, limited", x[0], limited)
	}
	if e, open := g.Open(0); !open || !e.Cap {
		t.Fatalf("episode %+v, open %v; want one by the cap", e, open)
	}
}
