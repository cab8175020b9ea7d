package flashcheck

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Two zones strobing at 10 Hz in antiphase each break the rule; with equal
// weights the whole pod is a steady grey of 0.5 and does not. With weights
// 3:1 the whole pod swings between 0.25 and 0.75: a change of 0.5 every
// 50 ms, which breaks it.
func TestCheckZonesJudgesEachZoneAndTheWholePod(t *testing.T) {
	a := stream(200, 3*time.Second, square(10, dark, white))
	b := stream(200, 3*time.Second, square(10, white, dark))
	r, err := CheckZones([][]Sample{a, b}, []float64{150, 150})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Zones[0].Violations()) == 0 || len(r.Zones[1].Violations()) == 0 {
		t.Errorf("zones pass: %+v", r.Zones)
	}
	if r.Whole.Rate.Changes != 0 || len(r.Whole.Violations()) != 0 {
		t.Errorf("whole pod: %+v, want steady", r.Whole)
	}
	for _, v := range r.Violations() {
		if v.Zone == -1 {
			t.Errorf("whole pod violation %v", v)
		}
	}
	r, err = CheckZones([][]Sample{a, b}, []float64{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Whole.General.Flashes != 10 {
		t.Errorf("whole pod %+v, want 10 flashes", r.Whole.General)
	}
	whole := 0
	for _, v := range r.Violations() {
		if v.Zone == -1 {
			whole++
		}
	}
	if whole != 3 {
		t.Errorf("whole pod violations: %d, want 3 (%v)", whole, r.Violations())
	}
}

// Zones sampled at different times are merged holding each zone's colour;
// a zone not yet started counts as dark.
func TestMixHoldsEachZone(t *testing.T) {
	a := []Sample{{T: 0, C: white}, {T: 2 * time.Second, C: dark}}
	b := []Sample{{T: time.Second, C: white}}
	got := mix([][]Sample{a, b}, []float64{1, 1}, 2)
	want := []Sample{{0, grey(0.5)}, {time.Second, white}, {2 * time.Second, grey(0.5)}}
	if len(got) != len(want) {
		t.Fatalf("mix %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i].T != want[i].T || math.Abs(got[i].C.R-want[i].C.R) > 1e-12 {
			t.Errorf("sample %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCheckZonesRefusesBadInput(t *testing.T) {
	ok := []Sample{{T: 0, C: white}}
	for _, c := range []struct {
		name    string
		zones   [][]Sample
		weights []float64
		want    string
	}{
		{"no zones", nil, nil, "no zones"},
		{"weights missing", [][]Sample{ok, ok}, []float64{1}, "1 weights for 2 zones"},
		{"zero weight", [][]Sample{ok}, []float64{0}, "zone 0: weight 0"},
		{"NaN weight", [][]Sample{ok}, []float64{math.NaN()}, "zone 0: weight NaN"},
		{"infinite weight", [][]Sample{ok}, []float64{math.Inf(1)}, "zone 0: weight +Inf"},
		{"bad zone", [][]Sample{ok, {{T: -1}}}, []float64{1, 1}, "zone 1: flashcheck: sample 0"},
	} {
		r, err := CheckZones(c.zones, c.weights)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if r.Zones != nil {
			t.Errorf("%s: a report with an error", c.name)
		}
	}
}

// FuzzCheck feeds recorded streams read from bytes (8 bytes of time step in
// µs and three float64 channels per sample, as a recording's decoder would
// hand them over): Check either refuses with an error and no report, or
// reports counts that are consistent.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{})
	f.Add(encode([]Sample{{0, dark}, {50 * time.Millisecond, white}, {100 * time.Millisecond, dark}}))
	f.Add(encode(stream(100, 2*time.Second, square(10, dark, red))))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := decode(b)
		r, err := Check(s)
		if err != nil {
			if r.Samples != 0 {
				t.Fatalf("error %v with a report", err)
			}
			return
		}
		if r.Samples != len(s) || r.General.Changes > r.Rate.Changes || r.Red.Changes > r.Rate.Changes {
			t.Fatalf("inconsistent report %+v", r)
		}
		for _, c := range []Count{r.General, r.Red} {
			if c.Flashes != (c.Changes+1)/2 {
				t.Fatalf("flashes %+v", c)
			}
		}
		if r.Mod.Judged && (math.IsNaN(r.Mod.Depth) || r.Mod.Depth < 0 || r.Mod.Depth > 0 && (r.Mod.Hz < MinHz || r.Mod.Hz > MaxHz)) {
			t.Fatalf("modulation %+v", r.Mod)
		}
		_ = r.Violations()
	})
}

func encode(s []Sample) []byte {
	var b []byte
	var prev time.Duration
	for _, x := range s {
		b = binary.LittleEndian.AppendUint64(b, uint64((x.T-prev)/time.Microsecond))
		prev = x.T
		for _, v := range []float64{x.C.R, x.C.G, x.C.B} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

func decode(b []byte) []Sample {
	var s []Sample
	var t time.Duration
	for len(b) >= 32 && len(s) < 2000 {
		t += time.Duration(int64(binary.LittleEndian.Uint64(b))%int64(10*time.Second/time.Microsecond)) * time.Microsecond
		c := light.RGB{
			R: math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
			G: math.Float64frombits(binary.LittleEndian.Uint64(b[16:])),
			B: math.Float64frombits(binary.LittleEndian.Uint64(b[24:])),
		}
		s = append(s, Sample{T: t, C: c})
		b = b[32:]
	}
	return s
}
