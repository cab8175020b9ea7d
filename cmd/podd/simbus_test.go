package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/sleegation/podd/configs"
)

// The simulator has one I²C bus, whatever bus each sensor names. Two chips
// the configuration accepts at one address on two buses therefore clash in
// sim mode: podd refuses to start, and its message must name the keys to
// change, as the loader's do, not the simulator's internals
// ("sim.NewHardware: sim: i2c address 0x49 already in use").
func TestSimRefusesTwoChipsAtOneAddressByTheirKeys(t *testing.T) {
	cfg, err := configs.Load("../../configs/sim.yaml", []string{
		"PODD_SIM_SCENARIO=../../sim/scenarios/calm.yaml",
		"PODD_SENSORS_TMP117_I2C_BUS=2",
		"PODD_SENSORS_TMP117_ADDRESS=0x49",
	})
	if err != nil {
		t.Fatalf("the loader refused two chips at 0x49 on buses 1 and 2: %v", err)
	}
	hw, err := openSim(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		hw.close()
		t.Fatal("openSim put the ADS1115 and the TMP117 at 0x49 on its one bus")
	}
	for _, key := range []string{"sensors.ads1115", "sensors.tmp117"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("openSim = %q, want it to name %s", err, key)
		}
	}
}
