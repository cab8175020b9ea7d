package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
)

// On the simulator of configs/sim.yaml, scan finds exactly the configured
// chips, each where the configuration expects it, and nothing else.
func TestScanFindsExactlyTheConfiguredChips(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	d, c := newDoctor(cfg, healthySystem(""), nil)
	defer c.Close()
	got, err := d.Scan(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Found{
		{Bus: "1", Address: 0x40, Chip: ChipPCA9685, How: "SUBADR1-3, ALLCALLADR (0x02-0x05) at their reset values E2 E4 E8 E0 (it has no ID register)", Expected: "PCA9685 (lights.pca9685)", Verdict: Pass},
		{Bus: "1", Address: 0x48, Chip: ChipTMP117, How: "Device_ID (0x0F) 0x0117", Expected: "TMP117 (sensors.tmp117)", Verdict: Pass},
		{Bus: "1", Address: 0x49, Chip: ChipADS1115, How: "Lo_thresh/Hi_thresh (0x02/0x03) at their reset values 0x8000/0x7FFF (it has no ID register)", Expected: "ADS1115 (sensors.ads1115)", Verdict: Pass},
		{Bus: "1", Address: 0x57, Chip: ChipMAX30102, How: "PART_ID (0xFF) 0x15", Expected: "MAX30102 (sensors.max30102)", Verdict: Pass},
		{Bus: "1", Address: 0x5A, Chip: ChipDRV2605L, How: "STATUS (0x00) DEVICE_ID 7", Expected: "DRV2605L (haptics.drv2605)", Verdict: Pass},
		{Bus: "SPI1.0", Chip: ChipADS1299, How: "ID (0x00) 0x3E", Expected: "ADS1299 (sensors.ads1299)", Verdict: Pass},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan:\n%+v\nwant:\n%+v", got, want)
	}
}

// Chips where the configuration puts others: the TMP117 and the ADS1115
// strapped the other way round, the PCA9685 not configured.
func TestScanSaysWhatAnswersWhereTheConfigurationExpectsAnother(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	hw, err := NewSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer hw.Close()
	cfg.Sensors.TMP117.Address, cfg.Sensors.ADS1115.Address = 0x49, 0x48
	cfg.Lights.PCA9685.Enabled = false
	got, err := scan(cfg, hw, "1")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, f := range got {
		rows = append(rows, fmt.Sprintf("0x%02X %s %q %s", f.Address, f.Chip, f.Expected, f.Verdict))
	}
	want := []string{
		`0x40 PCA9685 "" warn`,
		`0x48 TMP117 "ADS1115 (sensors.ads1115)" fail`,
		`0x49 ADS1115 "TMP117 (sensors.tmp117)" fail`,
		`0x57 MAX30102 "MAX30102 (sensors.max30102)" pass`,
		`0x5A DRV2605L "DRV2605L (haptics.drv2605)" pass`,
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("scan:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

// While podd runs (and a merge is under way) scan refuses and opens
// nothing.
func TestScanRefusesWhilePoddRuns(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	serveStatus(t, cfg.API.Socket, api.Status{Pod: "sim-pod-1", State: "merged", Session: &controller.SessionStatus{ID: "m-7", State: "merged"}})
	d, c := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
		t.Error("the hardware was opened while podd runs")
		return nil, errors.New("opened")
	})
	defer c.Close()
	got, err := d.Scan(context.Background(), "")
	if !errors.Is(err, ErrPoddRunning) || got != nil || !strings.Contains(err.Error(), "(merge m-7 is merged): stop it first") {
		t.Fatalf("Scan = %v, %v; want ErrPoddRunning naming the merge", got, err)
	}
}
