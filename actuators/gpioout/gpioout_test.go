package gpioout

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim"
)

func TestMotorRunsFromHalfIntensityAndHaltsOff(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		line := sim.NewLine("GPIO5", 5)
		on, off := gpio.High, gpio.Low
		if activeLow {
			on, off = off, on
		}
		d, err := New(line, Opts{ActiveLow: activeLow, Name: "motor feet"})
		if err != nil {
			t.Fatal(err)
		}
		if line.Read() != off {
			t.Fatalf("active low %v: New left the line %v, want off (%v)", activeLow, line.Read(), off)
		}
		for _, c := range []struct {
			x    float64
			want gpio.Level
		}{{0.49, off}, {0.5, on}, {1, on}, {0, off}, {0.8, on}} {
			if err := d.SetIntensity(c.x); err != nil {
				t.Fatal(err)
			}
			if line.Read() != c.want {
				t.Errorf("active low %v: intensity %v: line %v, want %v", activeLow, c.x, line.Read(), c.want)
			}
		}
		if err := d.Halt(); err != nil {
			t.Fatal(err)
		}
		if line.Read() != off {
			t.Errorf("active low %v: Halt left the line %v, want off", activeLow, line.Read())
		}
		if err := d.SetIntensity(1); !errors.Is(err, ErrHalted) || line.Read() != off {
			t.Errorf("SetIntensity after Halt = %v, line %v; want ErrHalted, off", err, line.Read())
		}
		d.Resume()
		if err := d.SetIntensity(1); err != nil || line.Read() != on {
			t.Errorf("after Resume: %v, line %v; want on", err, line.Read())
		}
	}
}

func TestBadIntensityIsRefusedAndChangesNothing(t *testing.T) {
	line := sim.NewLine("GPIO5", 5)
	d, err := New(line, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	for _, x := range []float64{-0.1, 1.01, nan()} {
		if err := d.SetIntensity(x); err == nil {
			t.Errorf("intensity %v accepted", x)
		}
		if line.Read() != gpio.High {
			t.Errorf("intensity %v changed the line", x)
		}
	}
	if got, want := d.String(), "gpioout(GPIO5(5))"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func nan() float64 { z := 0.0; return z / z }
