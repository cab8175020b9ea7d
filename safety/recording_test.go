package safety

import (
	"bufio"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
)

// The E4 wristband's 42 min of skin conductance (sim/scenarios/eda-e4.yaml
// plays it; the estimator finds at most 2 responses a minute in it) fed
// through the skin conductance estimator to a watchdog in a merge, once a
// second as the pod does: stress never starts its delay, and nothing
// aborts.
func TestTheE4SkinConductanceRecordingRaisesNoStress(t *testing.T) {
	f, err := os.Open("../sensors/vitals/eda/testdata/EDA.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var x []float64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		v, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if line > 2 { // the start time and the rate (4 Hz) first
			x = append(x, v)
		}
	}
	if len(x) != 9998 {
		t.Fatalf("%d samples, want 9998", len(x))
	}
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(reading(60, 97), 2*time.Second)
		h.w.SetMerge(true)
		est, err := eda.New(4)
		if err != nil {
			t.Fatal(err)
		}
		valid, most := 0, 0
		for i, v := range x {
			est.Add(v)
			if (i+1)%4 != 0 {
				continue
			}
			r := est.Estimate()
			r.At = time.Now()
			if r.Valid {
				valid++
				most = max(most, r.SCRPerMinute)
			}
			h.w.Feed(reading(60, 97))
			h.w.FeedSkinConductance(r)
			time.Sleep(500 * time.Millisecond)
			h.w.Feed(reading(60, 97))
			time.Sleep(500 * time.Millisecond)
			if st := h.w.Status(); len(st.Pending) != 0 {
				t.Fatalf("at %d s: pending %v", (i+1)/4, st.Pending)
			}
		}
		synctest.Wait()
		wantNoAbort(t, h, "the E4 recording")
		if valid < 2000 || most != 2 {
			t.Fatalf("%d valid readings, at most %d responses a minute; want the estimator's 2057 and 2", valid, most)
		}
	})
}
