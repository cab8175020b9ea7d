package sensing

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/tmp117"
)

// latestValue holds a value or none: none when new, after clear, and
// for a NaN; any other value as set, the sign of a zero too.
func TestLatestValue(t *testing.T) {
	l := newLatestValue()
	if v, ok := l.get(); ok {
		t.Fatalf("new: %v, true; want none", v)
	}
	for _, want := range []float64{2.5, math.Copysign(0, -1), -40, math.Inf(1)} {
		l.set(want)
		if v, ok := l.get(); !ok || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("after set(%v): %v, %v", want, v, ok)
		}
	}
	l.clear()
	if v, ok := l.get(); ok {
		t.Errorf("after clear: %v, true; want none", v)
	}
	l.set(math.NaN())
	if v, ok := l.get(); ok {
		t.Errorf("after set(NaN): %v, true; want none", v)
	}
}

// Once their estimates are valid, the skin conductance's and the
// thermometer's samples allocate nothing (the value they keep for
// telemetry is not a new pointer per sample), and Report still gives
// the value: 2 µS and 36.6 °C from the replay chips.
func TestSkinAndThermometerPollsDoNotAllocate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		circuit := eda.DefaultDivider
		skinChip := &replayADS1115{conv: time.Second / 128, codes: skinCodes(circuit, 120)}
		skinSensor, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(skinChip, &ads1115.DefaultOpts) }, circuit, rateSkin)
		if err != nil {
			t.Fatal(err)
		}
		tempChip := &replayTMP117{cycle: time.Second, averaging: 125 * time.Millisecond, codes: tempCodes(120)}
		tempSensor, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(tempChip, &tmp117.DefaultOpts) }, rateTemp)
		if err != nil {
			t.Fatal(err)
		}
		// The thermometer is polled twice per conversion.
		for _, tt := range []struct {
			s         Sensor
			perSample int
		}{{skinSensor, 1}, {tempSensor, 2}} {
			s := tt.s
			dev, err := s.Open()
			if err != nil {
				t.Fatal(err)
			}
			poll := func() {
				time.Sleep(s.Period)
				if p, err := dev.Poll(time.Now()); err != nil || p.State != "" {
					t.Fatalf("%s: Poll = %+v, %v", s.Name, p, err)
				}
			}
			for range 70 * time.Second / s.Period {
				poll()
			}
			sample := func() {
				for range tt.perSample {
					poll()
				}
			}
			if a := testing.AllocsPerRun(50, sample); a != 0 {
				t.Errorf("%s: %v allocations per sample, want 0", s.Name, a)
			}
			var v Vitals
			s.Report(&v)
			switch {
			case s.Name == "ads1115" && (v.SkinConductanceUS == nil || math.Abs(*v.SkinConductanceUS-replaySkin) > 0.02*replaySkin):
				t.Errorf("skin conductance reported: %v, want %v µS ± 2 %%", v.SkinConductanceUS, replaySkin)
			case s.Name == "tmp117" && (v.BodyTempC == nil || math.Abs(*v.BodyTempC-replayTemp) > 0.1):
				t.Errorf("body temperature reported: %v, want %v °C ± 0.1", v.BodyTempC, replayTemp)
			}
			if err := dev.Halt(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
