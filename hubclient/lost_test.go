package hubclient

import (
	"encoding/json"
	"slices"
	"testing"
)

func decode(t testing.TB, s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// What a dropped event reports lost: from..to less kept; without kept,
// all of it when count accounts for every seq not reported before, and
// nothing otherwise; nothing from a body that does not parse.
func TestDroppedLost(t *testing.T) {
	for _, c := range []struct {
		body   string
		before []Range
		want   []Range
	}{
		{`{"from":3,"to":9,"count":6,"kept":[4]}`, nil, []Range{{3, 3}, {5, 9}}},
		{`{"from":3,"to":9,"count":4,"kept":[3,4,9]}`, nil, []Range{{5, 8}}},
		{`{"from":3,"to":9,"count":3,"kept":[4]}`, nil, []Range{{3, 3}, {5, 9}}}, // 3 seqs delivered before the drop
		{`{"from":3,"to":9,"count":7}`, nil, []Range{{3, 9}}},
		{`{"from":3,"to":9,"count":6}`, nil, nil},                         // one seq not dropped, and which unsaid
		{`{"from":3,"to":9,"count":6}`, []Range{{5, 5}}, []Range{{3, 9}}}, // the one is 5, reported before
		{`{"from":3,"to":9,"count":6}`, []Range{{1, 3}}, []Range{{3, 9}}},
		{`{"from":3,"to":9,"count":5}`, []Range{{5, 5}}, nil},
		{`{"from":3,"to":9,"count":7,"kept":[4]}`, nil, nil},   // count beyond what kept leaves
		{`{"from":3,"to":9,"count":5,"kept":[5,4]}`, nil, nil}, // not ascending
		{`{"from":3,"to":9,"count":5,"kept":[4,4]}`, nil, nil},
		{`{"from":3,"to":9,"count":5,"kept":[2]}`, nil, nil},  // outside the range
		{`{"from":3,"to":9,"count":5,"kept":[10]}`, nil, nil}, // outside the range
		{`{"from":3,"to":9,"count":5,"kept":[4.5]}`, nil, nil},
		{`{"from":3,"to":9,"count":5,"kept":["4"]}`, nil, nil},
		{`{"from":3,"to":9,"count":5,"kept":4}`, nil, nil},
		{`{"from":3,"to":9,"count":5,"kept":null}`, nil, nil},
		{`{"from":3,"to":9}`, nil, nil},
		{`{"from":9,"to":3,"count":1}`, nil, nil},
		{`{"from":0,"to":3,"count":4}`, nil, nil},
		{`{"from":3.5,"to":9,"count":6}`, nil, nil},
		{`{"from":"3","to":9,"count":7}`, nil, nil},
		{`{"from":3,"to":9,"count":0}`, nil, nil},
	} {
		if got := droppedLost(decode(t, c.body), c.before); !slices.Equal(got, c.want) {
			t.Errorf("droppedLost(%s, %v) = %v, want %v", c.body, c.before, got, c.want)
		}
	}
}

// Whatever a pod sends, droppedLost reports only seqs of from..to, in
// order, never one listed kept.
func FuzzDroppedLost(f *testing.F) {
	f.Add([]byte(`{"from":3,"to":9,"count":6,"kept":[4]}`), uint64(0), uint64(0))
	f.Add([]byte(`{"from":3,"to":9,"count":6}`), uint64(5), uint64(5))
	f.Add([]byte(`{"from":1,"to":9007199254740991,"count":1,"kept":[2]}`), uint64(1), uint64(3))
	f.Add([]byte(`{"from":3,"to":9,"count":5,"kept":[4,"x"]}`), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, payload []byte, bFrom, bTo uint64) {
		var body map[string]any
		if json.Unmarshal(payload, &body) != nil {
			return
		}
		var before []Range
		if bFrom >= 1 && bTo >= bFrom {
			before = []Range{{bFrom, bTo}}
		}
		got := droppedLost(body, before)
		if len(got) == 0 {
			return
		}
		from, _ := seqOf(body["from"])
		to, _ := seqOf(body["to"])
		var kept []uint64
		if list, ok := body["kept"].([]any); ok {
			for _, e := range list {
				s, _ := seqOf(e)
				kept = append(kept, s)
			}
		}
		prev := uint64(0)
		for _, r := range got {
			if r.From < from || r.To > to || r.From > r.To || r.From <= prev && prev != 0 {
				t.Fatalf("%s: lost %v outside %d..%d or out of order", payload, got, from, to)
			}
			for _, k := range kept {
				if k >= r.From && k <= r.To {
					t.Fatalf("%s: lost %v holds kept seq %d", payload, got, k)
				}
			}
			prev = r.To
		}
	})
}
