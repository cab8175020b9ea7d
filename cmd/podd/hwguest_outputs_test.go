//go:build hwtest

package main

// make hwtest: the outputs besides the strip, opened by openOutputs from
// pod.yaml as the daemon opens them, checked from the devices' side: the
// PCA9685's and the DRV2605L's register files on I²C bus 1, and the OE,
// motor and indicator lines on gpio-sim.

import (
	"io"
	"log/slog"
	"math"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
)

// The guest's output lines (hwtest/init), as pod.yaml names them.
const (
	lineMotorFeet = 5  // haptics.places.feet.line
	lineOE        = 6  // lights.pca9685.oe
	lineIndicator = 12 // hardware.indicator_led
	lineDRVEN     = 13 // haptics.drv2605.en
)

// openGuestOutputs powers the chips on (powerOn), drives the output lines
// as a previous run could have left them (OE low: the PCA9685's outputs
// enabled; the motor and the indicator on), then opens the strip and the
// other outputs from pod.yaml through openOutputs, the daemon's code.
func openGuestOutputs(t *testing.T) (*configs.Config, *actuators.Gate, *controller.Show) {
	t.Helper()
	powerOn(t)
	cfg, hw := openGuest(t)
	outputsLeftOn(t, cfg)
	strip, err := openStrip(cfg, hw)
	if err != nil {
		t.Fatal(err)
	}
	gate, show, err := openOutputs(cfg, strip, hw.outputs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("openOutputs: %v", err)
	}
	t.Cleanup(func() { _ = gate.SafeState() })
	return cfg, gate, show
}

// outputsLeftOn checks that pod.yaml names the guest's output lines and
// drives them as a run with its outputs on leaves them, through the
// lines' periph handles (the ones podd opens): OE low (the PCA9685's
// outputs enabled), the motor and the indicator high, and the DRV2605L's
// EN low (so that its New must raise it).
func outputsLeftOn(t *testing.T, cfg *configs.Config) {
	t.Helper()
	if cfg.Lights.PCA9685.OE != "GPIO6" || cfg.Hardware.IndicatorLED != "GPIO12" || placeLine(t, cfg, "feet") != "GPIO5" || cfg.Haptics.DRV2605.EN != "GPIO13" {
		t.Fatalf("pod.yaml's output lines are not the guest's: OE %q, indicator %q, DRV2605L EN %q", cfg.Lights.PCA9685.OE, cfg.Hardware.IndicatorLED, cfg.Haptics.DRV2605.EN)
	}
	if _, err := host.Init(); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]gpio.Level{"GPIO6": gpio.Low, "GPIO5": gpio.High, "GPIO12": gpio.High, "GPIO13": gpio.Low} {
		p := gpioreg.ByName(name)
		if p == nil {
			t.Fatalf("no line %s", name)
		}
		if err := p.Out(l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if lineOf(t, lineOE).level() || !lineOf(t, lineMotorFeet).level() || !lineOf(t, lineIndicator).level() || lineOf(t, lineDRVEN).level() {
		t.Fatal("the lines did not take the levels driven")
	}
}

func placeLine(t *testing.T, cfg *configs.Config, place string) string {
	t.Helper()
	for _, p := range cfg.Haptics.Places {
		if p.Name == place {
			return p.Line
		}
	}
	t.Fatalf("pod.yaml has no haptic place %s", place)
	return ""
}

// frameOf is a frame for show's zones and places: every light zone dark
// but those in lights, every place still but those in haptics.
func frameOf(t *testing.T, show *controller.Show, lights map[string]light.RGB, haptics map[string]float64) ([]light.RGB, []float64) {
	t.Helper()
	names, places := show.Outputs.LightNames(), show.Outputs.PlaceNames()
	l, h := make([]light.RGB, len(names)), make([]float64, len(places))
	for i, n := range names {
		l[i] = lights[n]
		delete(lights, n)
	}
	for i, n := range places {
		h[i] = haptics[n]
		delete(haptics, n)
	}
	if len(lights) > 0 || len(haptics) > 0 {
		t.Fatalf("no zone or place for %v %v (zones %q, places %q)", lights, haptics, names, places)
	}
	return l, h
}

// preScale is PRE_SCALE for f Hz from the PCA9685 data sheet (equation 1,
// the internal 25 MHz oscillator): round(25 MHz / (4096 f)) - 1, 3 for
// pod.yaml's 1526 Hz.
func preScale(f float64) uint8 { return uint8(math.Round(25e6/(4096*f)) - 1) }

// The PCA9685 through the kernel: New's configuration in its register file
// (PRE_SCALE for lights.pca9685.frequency_hz, written while the chip
// sleeps; MODE1 awake with auto-increment; MODE2 totem pole; every channel
// full off) and OE low; a frame's duties in the channel registers; the safe
// state by both paths, OE high on gpio-sim and ALL_LED_OFF_H's full-off bit
// in the register file.
func TestHWPCA9685IsConfiguredAndHaltedByBothPathsThroughTheKernel(t *testing.T) {
	cfg, gate, show := openGuestOutputs(t)
	pre := preScale(float64(cfg.Lights.PCA9685.FrequencyHz))
	for _, c := range []struct {
		what      string
		reg, want uint8
	}{
		{"PRE_SCALE", pcaPreScale, pre},
		{"MODE1 (awake, AI, RESTART cleared, ALLCALL off)", pcaMODE1, 0x20},
		{"MODE2 (OUTDRV: totem pole, not inverted)", pcaMODE2, 0x04},
		{"ALL_LED_OFF_H (full off)", pcaAllLEDOffH, pcaFullOffBit},
	} {
		if got := reg8(t, addrPCA9685, c.reg); got != c.want {
			t.Errorf("after New: %s = 0x%02X, want 0x%02X", c.what, got, c.want)
		}
	}
	if p := preScale(200); p != 30 {
		t.Errorf("the test's PRE_SCALE for 200 Hz is %d; the data sheet's example is 30 (0x1E)", p)
	}
	if lineOf(t, lineOE).level() {
		t.Error("OE (GPIO6) high after New: the outputs stay disabled")
	}

	// floor is PWM channels 0, 1 and 2 (red, green, blue): duties 1/2,
	// 1/4 and 0 are 2048 and 1024 counts and full off.
	l, h := frameOf(t, show, map[string]light.RGB{"floor": {R: 0.5, G: 0.25}}, nil)
	if err := gate.Do(func() error { return show.Outputs.Show(l, h) }); err != nil {
		t.Fatal(err)
	}
	for ch, want := range [][4]uint8{{0, 0, 0x00, 0x08}, {0, 0, 0x00, 0x04}, {0, 0, 0, pcaFullOffBit}} {
		for i := range 4 {
			if got := reg8(t, addrPCA9685, pcaLED0+uint8(4*ch+i)); got != want[i] {
				t.Errorf("LED%d register %d (ON_L, ON_H, OFF_L, OFF_H) = 0x%02X, want 0x%02X", ch, i, got, want[i])
			}
		}
	}

	// Halt's full-off write shows only if the register does not hold it
	// already.
	setReg8(t, addrPCA9685, pcaAllLEDOffH, 0)
	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if !lineOf(t, lineOE).level() {
		t.Error("OE (GPIO6) low after the safe state: the hardware kill line was not driven")
	}
	if got := reg8(t, addrPCA9685, pcaAllLEDOffH); got != pcaFullOffBit {
		t.Errorf("ALL_LED_OFF_H after the safe state 0x%02X, want 0x%02X (full off)", got, pcaFullOffBit)
	}
}

// odClamp is OD_CLAMP for an ERM of ratedV capped at max of it, from the
// DRV2605L data sheet (SLOS854D, equation 5): full-scale open-loop drive is
// OD_CLAMP × 21.59 mV, rounded down to a step; pod.yaml's 0.6 of 3 V is 83.
func odClamp(ratedV, max float64) uint8 { return uint8(math.Floor(max * ratedV / 21.59e-3)) }

// The DRV2605L through the kernel: EN raised, and New's configuration in
// its register file (ERM library A, FEEDBACK for an ERM, OD_CLAMP from
// haptics.max_intensity, CONTROL3 open loop with signed RTP, RTP_INPUT 0,
// MODE 5 real-time playback); a frame's intensity scaled to the cap in
// RTP_INPUT; the safe state by both paths: EN low on gpio-sim, and
// RTP_INPUT 0 and MODE standby in the register file (the register file
// takes writes with EN low; a chip shut down by EN may not).
func TestHWDRV2605LIsConfiguredAndHaltedThroughTheKernel(t *testing.T) {
	cfg, gate, show := openGuestOutputs(t)
	if cfg.Haptics.DRV2605.Actuator != "erm" {
		t.Fatalf("pod.yaml's haptics.drv2605.actuator %q; this test expects an ERM", cfg.Haptics.DRV2605.Actuator)
	}
	en := lineOf(t, lineDRVEN)
	if !en.level() {
		t.Error("EN (GPIO13) low after New: the chip stays shut down")
	}
	clamp := odClamp(3.0, cfg.Haptics.MaxIntensity) // the driver's default motor: a 3 V coin ERM
	for _, c := range []struct {
		what      string
		reg, want uint8
	}{
		{"LIBRARY (A)", drvLibrary, 0x01},
		{"FEEDBACK (ERM, reset gains)", drvFeedback, 0x36},
		{"OD_CLAMP", drvODClamp, clamp},
		{"CONTROL3 (NG_THRESH 4 %, ERM open loop, signed RTP)", drvControl3, 0xA0},
		{"RTP_INPUT", drvRTPInput, 0},
		{"MODE (real-time playback)", drvMode, drvModeRTP},
	} {
		if got := reg8(t, addrDRV2605L, c.reg); got != c.want {
			t.Errorf("after New: %s = 0x%02X, want 0x%02X", c.what, got, c.want)
		}
	}

	// Half the cap is half the chip's clamped scale: RTP_INPUT
	// round(127 / 2) = 64.
	l, h := frameOf(t, show, nil, map[string]float64{"back": cfg.Haptics.MaxIntensity / 2})
	if err := gate.Do(func() error { return show.Outputs.Show(l, h) }); err != nil {
		t.Fatal(err)
	}
	if got := reg8(t, addrDRV2605L, drvRTPInput); got != 64 {
		t.Errorf("RTP_INPUT at half the cap 0x%02X, want 0x40", got)
	}

	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if en.level() {
		t.Error("EN (GPIO13) high after the safe state: the hardware kill line was not driven")
	}
	if got := reg8(t, addrDRV2605L, drvRTPInput); got != 0 {
		t.Errorf("RTP_INPUT after the safe state 0x%02X, want 0", got)
	}
	if got := reg8(t, addrDRV2605L, drvMode); got != drvModeStandby {
		t.Errorf("MODE after the safe state 0x%02X, want 0x40 (standby)", got)
	}
}

// The motor and the indicator LED on their GPIO lines: both low (off)
// after New, from the high a previous run left; the motor runs on a frame
// and stops at the safe state; the indicator, outside the gate (it shows
// the latch), lights when set and goes low at its own Halt.
func TestHWGPIOMotorAndIndicatorAreOffAfterNewAndTheSafeState(t *testing.T) {
	_, gate, show := openGuestOutputs(t)
	motor, ind := lineOf(t, lineMotorFeet), lineOf(t, lineIndicator)
	if motor.level() || ind.level() {
		t.Fatalf("after New: motor (GPIO5) high %v, indicator (GPIO12) high %v; want both low", motor.level(), ind.level())
	}
	l, h := frameOf(t, show, nil, map[string]float64{"feet": 1})
	if err := gate.Do(func() error { return show.Outputs.Show(l, h) }); err != nil {
		t.Fatal(err)
	}
	if !motor.level() {
		t.Fatal("the motor's line low on a frame at full intensity")
	}
	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if motor.level() {
		t.Error("the motor's line high after the safe state")
	}

	indicator, ok := show.Indicator.(*gpioout.Dev)
	if !ok {
		t.Fatalf("the indicator is a %T", show.Indicator)
	}
	if err := indicator.Set(true); err != nil {
		t.Fatal(err)
	}
	if !ind.level() {
		t.Fatal("the indicator's line low when set")
	}
	if err := indicator.Halt(); err != nil {
		t.Fatal(err)
	}
	if ind.level() {
		t.Error("the indicator's line high after its Halt")
	}
}
