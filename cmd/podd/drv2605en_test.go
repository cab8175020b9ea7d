package main

import (
	"log/slog"
	"testing"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/sim"
)

// In sim mode haptics.drv2605.en names the simulated chip's EN line: podd
// opens the DRV2605L with it (EN high), and the gate's safe state drives it
// low.
func TestSimOpensTheDRV2605WithItsENLine(t *testing.T) {
	cfg, err := configs.Load("../../configs/sim.yaml", []string{"PODD_SIM_SCENARIO=../../sim/scenarios/calm.yaml", "PODD_DREAMSCAPE_PROGRAM=../../dreamscapes/calm-night.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Haptics.DRV2605.EN != "GPIO13" {
		t.Fatalf("sim.yaml's haptics.drv2605.en = %q; want GPIO13", cfg.Haptics.DRV2605.EN)
	}
	log := slog.New(slog.DiscardHandler)
	hw, err := openSim(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer hw.close()
	pin, err := hw.outputs.line(cfg.Haptics.DRV2605.EN)
	if err != nil {
		t.Fatal(err)
	}
	en, ok := pin.(*sim.Line)
	if !ok || en.Name() != "SIM_DRV2605_EN" {
		t.Fatalf("line %q = %v; want the simulated chip's SIM_DRV2605_EN", cfg.Haptics.DRV2605.EN, pin)
	}
	safe, _, err := safeLights(cfg.Lights)
	if err != nil {
		t.Fatal(err)
	}
	strip, err := apa102.New(hw.spi, &apa102.Opts{NumPixels: cfg.Hardware.LEDCount, Speed: apa102.DefaultOpts.Speed, Safe: controller.SafeColor(safe)})
	if err != nil {
		t.Fatal(err)
	}
	gate, _, err := openOutputs(cfg, strip, hw.outputs, log)
	if err != nil {
		t.Fatal(err)
	}
	if en.Read() != gpio.High {
		t.Errorf("EN after openOutputs = %s; want High (the chip on)", en.Read())
	}
	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if en.Read() != gpio.Low {
		t.Errorf("EN after the safe state = %s; want Low", en.Read())
	}
}
