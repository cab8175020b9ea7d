package eda_test

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/sensors/eda"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConductance(t *testing.T) {
	d := eda.Divider{SupplyV: 4, RefOhms: 250e3}
	tests := []struct {
		volts, want float64
	}{
		{1, 12},      // 10⁶ · 3 / (250 000 · 1)
		{2, 4},       // 10⁶ · 2 / (250 000 · 2)
		{0.25, 60},   // 10⁶ · 3.75 / 62 500
		{0.125, 124}, // 10⁶ · 3.875 / 31 250
	}
	for _, tt := range tests {
		got, err := d.Conductance(tt.volts)
		if err != nil || got != tt.want {
			t.Errorf("Conductance(%g) = %g, %v; want %g, nil", tt.volts, got, err, tt.want)
		}
	}
	// At Rskin = Rref the skin takes half the supply: 1/200 kΩ = 5 µS.
	if got, err := eda.DefaultDivider.Conductance(1.65); err != nil || math.Abs(got-5) > 1e-12 {
		t.Errorf("DefaultDivider.Conductance(1.65) = %g, %v; want 5", got, err)
	}
}

func TestConductanceOpenAndShort(t *testing.T) {
	d := eda.Divider{SupplyV: 4, RefOhms: 250e3}
	tests := []struct {
		volts float64
		is    error
		msg   string
	}{
		{4, eda.ErrOpenCircuit, "eda: open circuit (no skin contact): 4 V across the skin, supply 4 V"},
		{4.5, eda.ErrOpenCircuit, "eda: open circuit (no skin contact): 4.5 V across the skin, supply 4 V"},
		// 10⁶ · 0.01 / (250 000 · 3.99) = 0.01 µS: 100 MΩ is no skin.
		{3.99, eda.ErrOpenCircuit, "eda: open circuit (no skin contact): 3.99 V across the skin, supply 4 V (0.01 µS, under 0.05 µS)"},
		{0, eda.ErrShortCircuit, "eda: short circuit (electrodes bridged): 0 V across the skin"},
		{-0.1, eda.ErrShortCircuit, "eda: short circuit (electrodes bridged): -0.1 V across the skin"},
		// 10⁶ · 3.99 / (250 000 · 0.01) = 1596 µS: 627 Ω is no skin.
		{0.01, eda.ErrShortCircuit, "eda: short circuit (electrodes bridged): 0.01 V across the skin (1596 µS, over 200 µS)"},
	}
	for _, tt := range tests {
		got, err := d.Conductance(tt.volts)
		if !errors.Is(err, tt.is) || err.Error() != tt.msg || got != 0 {
			t.Errorf("Conductance(%g) = %g, %v; want 0, %q", tt.volts, got, err, tt.msg)
		}
	}
	// Just inside the limits is skin.
	for _, us := range []float64{eda.MinMicrosiemens * (1 + 1e-9), eda.MaxMicrosiemens * (1 - 1e-9)} {
		v := d.Volts(us)
		if got, err := d.Conductance(v); err != nil || math.Abs(got-us) > 1e-9*us {
			t.Errorf("Conductance(Volts(%g)) = %g, %v; want %g", us, got, err, us)
		}
	}
}

func TestConductanceRejectsBadInput(t *testing.T) {
	tests := []struct {
		d     eda.Divider
		volts float64
		msg   string
	}{
		{eda.Divider{SupplyV: 0, RefOhms: 1e5}, 1, "eda: invalid SupplyV 0 V (want a finite voltage > 0)"},
		{eda.Divider{SupplyV: math.NaN(), RefOhms: 1e5}, 1, "eda: invalid SupplyV NaN V (want a finite voltage > 0)"},
		{eda.Divider{SupplyV: 3.3, RefOhms: -1}, 1, "eda: invalid RefOhms -1 Ω (want a finite resistance > 0)"},
		{eda.Divider{SupplyV: 3.3, RefOhms: math.Inf(1)}, 1, "eda: invalid RefOhms +Inf Ω (want a finite resistance > 0)"},
		{eda.DefaultDivider, math.NaN(), "eda: voltage is NaN"},
	}
	for _, tt := range tests {
		got, err := tt.d.Conductance(tt.volts)
		if err == nil || err.Error() != tt.msg || got != 0 {
			t.Errorf("%+v.Conductance(%g) = %g, %v; want 0, %q", tt.d, tt.volts, got, err, tt.msg)
		}
	}
}

func TestVolts(t *testing.T) {
	d := eda.Divider{SupplyV: 4, RefOhms: 250e3}
	tests := []struct{ us, want float64 }{
		{12, 1}, {4, 2}, {1, 3.2}, {0, 4}, {-1, 4}, {math.NaN(), 4}, {math.Inf(1), 0},
	}
	for _, tt := range tests {
		if got := d.Volts(tt.us); got != tt.want {
			t.Errorf("Volts(%g) = %g, want %g", tt.us, got, tt.want)
		}
	}
}

// Any voltage gives either an error or a conductance within the limits of
// skin that Volts maps back to the same voltage.
func FuzzConductance(f *testing.F) {
	for _, v := range []float64{0, 1, 1.65, 3.29, 3.3, -1, 1e-300, math.Inf(1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, volts float64) {
		d := eda.DefaultDivider
		g, err := d.Conductance(volts)
		if err != nil {
			if g != 0 {
				t.Fatalf("Conductance(%g) = %g with error %v", volts, g, err)
			}
			return
		}
		if !(g >= eda.MinMicrosiemens && g <= eda.MaxMicrosiemens) {
			t.Fatalf("Conductance(%g) = %g µS, outside the limits", volts, g)
		}
		if back := d.Volts(g); math.Abs(back-volts) > 1e-9*volts {
			t.Fatalf("Volts(Conductance(%g)) = %g", volts, back)
		}
	})
}
