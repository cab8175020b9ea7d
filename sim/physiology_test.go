package sim

import (
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sensors/eda"
)

// The SCR rises to its peak in 1.8 s and recovers to half of it 3.7 s later.
func TestSCRShape(t *testing.T) {
	peakAt := math.Log(3.75) * 3.75 / 2.75
	if math.Abs(peakAt-1.802) > 0.001 || math.Abs(scrShape(peakAt)-1) > 1e-12 {
		t.Errorf("peak at %.4f s = %v, want 1.802 s, 1", peakAt, scrShape(peakAt))
	}
	for _, d := range []float64{-0.01, 0.01} {
		if scrShape(peakAt+d) >= 1 {
			t.Errorf("scrShape(peak %+v) = %v, want below the peak", d, scrShape(peakAt+d))
		}
	}
	// Half recovery: the first time after the peak the shape is 0.5.
	half := peakAt
	for scrShape(half) > 0.5 {
		half += 0.001
	}
	if got := half - peakAt; math.Abs(got-3.7) > 0.02 {
		t.Errorf("half recovery %.3f s after the peak, want 3.7", got)
	}
	if scrShape(-1) != 0 || scrShape(0) != 0 || scrShape(60) > 1e-6 {
		t.Errorf("scrShape(-1), (0), (60) = %v, %v, %v; want 0, 0, < 1e-6", scrShape(-1), scrShape(0), scrShape(60))
	}
}

func TestSkinConductanceTonic(t *testing.T) {
	us := SkinConductance{TonicUS: 4.5, Seed: 1}.Microsiemens()
	for _, at := range []time.Duration{-time.Second, 0, time.Minute, 7 * time.Hour} {
		if got := us(at); got != 4.5 {
			t.Errorf("tonic only: %v at %v, want 4.5", got, at)
		}
	}
	// The drift stays within its amplitude and is not constant.
	us = SkinConductance{TonicUS: 4.5, DriftUS: 1, Seed: 1}.Microsiemens()
	lo, hi := math.Inf(1), math.Inf(-1)
	for at := time.Duration(0); at < 2*time.Hour; at += 10 * time.Second {
		lo, hi = min(lo, us(at)), max(hi, us(at))
	}
	if lo < 3.5 || hi > 5.5 || hi-lo < 1 {
		t.Errorf("drift of 1 µS around 4.5 µS over 2 h: %.3f to %.3f, want within 3.5..5.5 and spanning more than 1", lo, hi)
	}
}

// SCRs come at PhasicRate a minute, each a rise above the tonic level of
// 0.5 to 1.5 × PhasicAmpUS when isolated; the signal is the same whatever
// order it is asked in.
func TestSkinConductancePhasic(t *testing.T) {
	s := SkinConductance{TonicUS: 2, PhasicRate: 2, PhasicAmpUS: 0.4, Seed: 7}
	us := s.Microsiemens()
	const step = 250 * time.Millisecond // 4 Hz
	var v []float64
	for at := time.Duration(0); at <= time.Hour; at += step {
		v = append(v, us(at))
	}
	peaks := 0
	for i := 1; i+1 < len(v); i++ {
		if v[i] > v[i-1] && v[i] >= v[i+1] {
			peaks++
		}
		if v[i] < 2 || v[i] > 2+3*1.5*0.4 {
			t.Fatalf("%v µS at %v: below the tonic level or far above it", v[i], time.Duration(i)*step)
		}
	}
	// 120 expected; a Poisson count's standard deviation is 11, and SCRs
	// within a couple of seconds merge into one peak.
	if peaks < 90 || peaks > 150 {
		t.Errorf("%d SCR peaks in an hour at 2 a minute, want 90..150", peaks)
	}
	again := s.Microsiemens()
	for i := len(v) - 1; i >= 0; i -= 7 {
		if got := again(time.Duration(i) * step); got != v[i] {
			t.Fatalf("asked backwards: %v at %v, want %v", got, time.Duration(i)*step, v[i])
		}
	}
	other := SkinConductance{TonicUS: 2, PhasicRate: 2, PhasicAmpUS: 0.4, Seed: 8}.Microsiemens()
	same := true
	for i := range v {
		same = same && other(time.Duration(i)*step) == v[i]
	}
	if same {
		t.Errorf("seeds 7 and 8 gave the same signal")
	}
}

func TestSkinConductanceVolts(t *testing.T) {
	s := SkinConductance{TonicUS: 3, DriftUS: 0.5, PhasicRate: 3, PhasicAmpUS: 0.5, Seed: 3}
	us, volts := s.Microsiemens(), s.Volts(eda.DefaultDivider)
	for at := time.Duration(0); at < 10*time.Minute; at += 3 * time.Second {
		g := us(at)
		v := volts(at)
		if v != eda.DefaultDivider.Volts(g) {
			t.Fatalf("Volts at %v = %v, want the divider's %v for %v µS", at, v, eda.DefaultDivider.Volts(g), g)
		}
		if back, err := eda.DefaultDivider.Conductance(v); err != nil || math.Abs(back-g) > 1e-9*g {
			t.Fatalf("Conductance(Volts) at %v = %v, %v; want %v", at, back, err, g)
		}
	}
}

func TestBodyTemperature(t *testing.T) {
	c := BodyTemperature{BaseC: 36.5, DriftCPerHour: -0.2}.Celsius()
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{-time.Hour, 36.5}, {0, 36.5}, {30 * time.Minute, 36.4}, {2 * time.Hour, 36.1},
	}
	for _, tt := range tests {
		if got := c(tt.at); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("at %v: %v °C, want %v", tt.at, got, tt.want)
		}
	}
	w := BodyTemperature{BaseC: 36.5, WanderC: 0.1, Seed: 2}.Celsius()
	lo, hi := math.Inf(1), math.Inf(-1)
	for at := time.Duration(0); at < 3*time.Hour; at += 5 * time.Second {
		lo, hi = min(lo, w(at)), max(hi, w(at))
	}
	if lo < 36.4 || hi > 36.6 || hi-lo < 0.05 {
		t.Errorf("wander of 0.1 °C over 3 h: %.4f to %.4f, want within 36.4..36.6, spanning 0.05 or more", lo, hi)
	}
}
