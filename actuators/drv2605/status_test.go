package drv2605_test

import (
	"errors"
	"testing"

	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/sim"
)

func TestStatusReportsOverTemperature(t *testing.T) {
	d, _, m := open(t, nil)
	if err := d.SetIntensity(0.5); err != nil {
		t.Fatal(err)
	}
	if s, err := d.Status(); err != nil || s != (drv2605.Status{DeviceID: 7}) {
		t.Fatalf("Status = %+v, %v; want {DeviceID:7}, nil", s, err)
	}
	m.SetOverTemp(true)
	s, err := d.Status()
	if s != (drv2605.Status{DeviceID: 7, OverTemp: true}) || !errors.Is(err, drv2605.ErrOverTemp) || errors.Is(err, drv2605.ErrOverCurrent) {
		t.Errorf("Status = %+v, %v; want OverTemp and ErrOverTemp only", s, err)
	}
	if want := "drv2605l at 0x5A on sim-i2c: STATUS 0xE2, MODE 0x05: over-temperature (OVER_TEMP)"; err == nil || err.Error() != want {
		t.Errorf("Status error %q, want %q", err, want)
	}
	if m.Intensity() != 0 {
		t.Errorf("the chip drives %v while overheated, want 0", m.Intensity())
	}
	// Cooled down: the latched flag is reported once more, then clears.
	m.SetOverTemp(false)
	if s, err := d.Status(); !s.OverTemp || !errors.Is(err, drv2605.ErrOverTemp) {
		t.Errorf("first Status after cooling = %+v, %v; want the latched flag", s, err)
	}
	if s, err := d.Status(); s.OverTemp || err != nil {
		t.Errorf("second Status after cooling = %+v, %v; want clear", s, err)
	}
}

func TestStatusReportsOverCurrentAndBoth(t *testing.T) {
	d, _, m := open(t, nil)
	m.SetOverCurrent(true)
	s, err := d.Status()
	if s != (drv2605.Status{DeviceID: 7, OverCurrent: true}) || !errors.Is(err, drv2605.ErrOverCurrent) || errors.Is(err, drv2605.ErrOverTemp) {
		t.Errorf("Status = %+v, %v; want OverCurrent and ErrOverCurrent only", s, err)
	}
	m.SetOverTemp(true)
	s, err = d.Status()
	if s != (drv2605.Status{DeviceID: 7, OverTemp: true, OverCurrent: true}) || !errors.Is(err, drv2605.ErrOverTemp) || !errors.Is(err, drv2605.ErrOverCurrent) {
		t.Errorf("Status = %+v, %v; want both flags and both errors", s, err)
	}
}

func TestStatusDetectsAResetChipAndSetIntensityRestoresTheCap(t *testing.T) {
	opts := drv2605.DefaultOpts
	opts.MaxIntensity = 0.5
	d, _, m := open(t, &opts)
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	m.PowerCycle() // a brown-out while playing: standby, OD_CLAMP 0x89
	s, err := d.Status()
	if s != (drv2605.Status{DeviceID: 7}) || !errors.Is(err, drv2605.ErrReset) {
		t.Errorf("Status after a reset = %+v, %v; want ErrReset", s, err)
	}
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	if c, got := m.Register(0x17), m.Intensity(); c != 69 || got != 69.0/255 {
		t.Errorf("after SetIntensity: OD_CLAMP %d, Intensity %v; want 69, 69/255", c, got)
	}
	if _, err := d.Status(); err != nil {
		t.Errorf("Status once configured again = %v", err)
	}
	// Standby after Halt is no reset.
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Status(); err != nil {
		t.Errorf("Status after Halt = %v, want nil", err)
	}
}

func TestStatusBusError(t *testing.T) {
	d, bus, _ := open(t, nil)
	bus.SetFault(0x5A, sim.FaultNACK)
	if s, err := d.Status(); s != (drv2605.Status{}) || !errors.Is(err, sim.ErrNACK) {
		t.Errorf("Status on a NACKing chip = %+v, %v; want zero, ErrNACK", s, err)
	}
}
