package drv2605_test

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/drv2605"
)

// On a hung I2C bus (the bus the motors share with the sensors) Halt drives
// EN low at once, so the motor is still within microseconds, but Halt then
// waits for the hung transfer to write RTP_INPUT 0 and STANDBY, which the
// chip, shut down by EN, cannot even receive. Its doc promises "nil once EN
// was driven low, whatever the bus did", yet it does not return at all
// while the bus hangs. The gate therefore counts a motor that is off as
// "halt still in progress": the watchdog's abort (safety:
// SafeStateTimeout, 1 s) waits the full second before it latches and
// reports a SafeStateError naming a motor that stopped at once; the
// checkShow and keepSafe calls each wait the same second every tick and
// log "outputs not in their safe state" for as long as the bus hangs (cry
// wolf to the hub and the technician, and the sensors' loss is reported 1
// s late). Correct: with EN driven low Halt returns nil at once; the bus
// writes are left to the next SetIntensity, which already configures the
// chip anew after a Halt (and the latch keeps it from playing until then).
func TestTheGateSeesAMotorSafeOnceENIsLowWhileTheBusHangs(t *testing.T) {
	bus, m, en := newModelEN(t)
	hb := newHangingBus(bus)
	opts := drv2605.DefaultOpts
	opts.EN = en
	d, err := drv2605.New(hb, &opts)
	if err != nil {
		t.Fatal(err)
	}
	g := actuators.NewGate(d)
	if err := d.SetIntensity(1); err != nil {
		t.Fatal(err)
	}
	hb.arm()
	setDone := make(chan error, 1)
	go func() { setDone <- d.SetIntensity(0.5) }()
	<-hb.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err = g.SafeStateContext(ctx)
	cancel()
	unsafe := g.Unsafe()
	drive, level := m.Drive(), en.Read()
	close(hb.release)
	<-setDone
	if err := g.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if drive != 0 || level != gpio.Low {
		t.Fatalf("during the hang: Drive %v, EN %s; want 0, Low", drive, level)
	}
	if err != nil || len(unsafe) != 0 {
		t.Errorf("SafeState while the bus hangs = %v, unsafe %v; want nil and none: EN is low, the motor is still", err, unsafe)
	}
}
