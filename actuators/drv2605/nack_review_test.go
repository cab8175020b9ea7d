package drv2605_test

import (
	"testing"

	"periph.io/x/conn/v3/i2c"

	"github.com/sleegation/podd/actuators/drv2605"
)

// nackBus fails every write once on: a bus whose transfers NACK (a chip
// or a sensor holding SDA, a loose cable).
type nackBus struct {
	i2c.Bus
	on bool
}

func (b *nackBus) Tx(addr uint16, w, r []byte) error {
	if b.on && len(w) > 1 {
		return errBus
	}
	return b.Bus.Tx(addr, w, r)
}

// The DRV2605L shares its I²C bus with the sensors: when that bus NACKs,
// Halt's RTP_INPUT 0 and STANDBY writes fail, and without a second path the
// motor would keep the drive it was last given. The chip's EN line is that
// path: Halt drives it low first, whatever the bus does, and the motor
// stops; Halt then returns nil, the motor being still.
func TestHaltStopsTheMotorWhenTheBusNACKs(t *testing.T) {
	bus, m, en := newModelEN(t)
	nb := &nackBus{Bus: bus}
	opts := drv2605.DefaultOpts
	opts.EN = en
	d, err := drv2605.New(nb, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity(0.6); err != nil {
		t.Fatal(err)
	}
	if m.Drive() == 0 {
		t.Fatal("the motor is not driven before the halt: the test is wrong")
	}
	nb.on = true
	err = d.Halt()
	if drive := m.Drive(); drive != 0 || err != nil {
		t.Errorf("after Halt on a NACKing bus (Halt: %v) the motor is driven at %v of full scale; want 0, and nil", err, drive)
	}
}
