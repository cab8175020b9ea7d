package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/internal/outputcheck"
	"github.com/sleegation/podd/sim"
)

const calmNight = `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`

// readRecord reads the output record podd wrote at path.
func readRecord(t *testing.T, path string) []sim.OutputFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, err := sim.ReadOutputRecord(f)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// A program that strobes at 10 Hz plays as a slow, guarded change: the pod
// reports the guard event, and the record of what the simulated outputs
// showed passes the independent flash check, zone by zone and for the
// whole pod, while the strip did change (the program played).
func TestAStrobeProgramPlaysGuarded(t *testing.T) {
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), calmNight)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-e2e", true)
	strobe, err := filepath.Abs("../../dreamscape/testdata/strobe-10hz.yaml")
	if err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(b.dir, "outputs.jsonl")
	b.extraEnv = []string{"PODD_DREAMSCAPE_PROGRAM=" + strobe, "PODD_SIM_RECORD_OUTPUTS=" + record}
	d := b.start()
	mqtttest.WaitFor(t, 40*time.Second, "a guard event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "guard" && e["guard"] == "light" })
		return ok
	})
	st := b.status()
	if st.Show == nil || st.Show.Program != "strobe-10hz" || !st.Show.Playing || len(st.Show.Limited) == 0 {
		t.Fatalf("show %+v: want the strobe playing, limited", st.Show)
	}
	time.Sleep(5 * time.Second) // five seconds of the strobe, guarded
	d.stop()

	frames := readRecord(t, record)
	cfg, err := configs.Load("../../configs/sim.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, r, err := outputcheck.Check(zonesOf(cfg.Lights.Zones), frames)
	if err != nil {
		t.Fatal(err)
	}
	if vs := r.Violations(); len(vs) != 0 {
		t.Errorf("the recorded outputs break the flash rules: %v", vs)
	}
	// The guarded strobe is a change every frame for seconds: the checker
	// had something to judge.
	changed := 0
	for i, z := range s.Names {
		if z == "canopy" {
			changed = len(s.Zones[i])
		}
	}
	if changed < 100 {
		t.Errorf("the canopy changed %d times: the program did not play", changed)
	}
}

// An abort during playback leaves the strip in the warm safe light and the
// motors stopped, as the device models and the recorded outputs show.
func TestAnAbortDuringPlaybackLeavesTheSafeLightAndTheMotorsStopped(t *testing.T) {
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), climbingHeartRate)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-e2e", true)
	ocean, err := filepath.Abs("../../dreamscapes/slow-ocean.yaml")
	if err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(b.dir, "outputs.jsonl")
	// The slow ocean plays its wave on the DRV2605L's motor at the back
	// until the heart rate trips heart_rate_high.
	b.extraEnv = []string{"PODD_DREAMSCAPE_PROGRAM=" + ocean, "PODD_SIM_RECORD_OUTPUTS=" + record}
	d := b.start()
	mqtttest.WaitFor(t, 60*time.Second, "an abort event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "abort" })
		return ok
	})
	st := b.status()
	if st.State != "aborted" || st.Sim == nil || !st.Sim.StripSafe || st.Show == nil || st.Show.Playing {
		t.Fatalf("after the abort: state %s, sim %+v, show %+v; want aborted, the strip at the safe light, not playing", st.State, st.Sim, st.Show)
	}
	d.stop()

	frames := readRecord(t, record)
	cfg, err := configs.Load("../../configs/sim.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	safe, _, err := safeLights(cfg.Lights)
	if err != nil {
		t.Fatal(err)
	}
	want := stripSafe(safe)
	last := map[string]sim.OutputFrame{}
	played := false
	for _, f := range frames {
		last[f.Device] = f
		if f.Device == "drv2605" && *f.Intensity > 0 {
			played = true
		}
	}
	if !played {
		t.Error("the back's motor never ran: the program did not play before the abort")
	}
	for i, led := range last["strip"].LEDs {
		if led != [4]uint8{want.R, want.G, want.B, 31} {
			t.Fatalf("LED %d shows %v at the end, want the safe light %v", i, led, want)
		}
	}
	if f, ok := last["drv2605"]; !ok || *f.Intensity != 0 {
		t.Errorf("the back's motor ends at %+v, want stopped", f)
	}
	if f, ok := last["pca9685"]; !ok || f.Duty[0]+f.Duty[1]+f.Duty[2] != 0 {
		t.Errorf("the floor's PWM channels end at %+v, want off", f)
	}
	if f, ok := last["GPIO5"]; !ok || *f.High {
		t.Errorf("the feet's motor line ends at %+v, want low", f)
	}
	if c := light.FromBytes(want.R, want.G, want.B); c.Luminance() <= 0 || c.RedRatio() < 0.5 {
		t.Errorf("the safe light %v is not a warm glow", want)
	}
}

// zonesOf is the configuration's zones as outputcheck takes them.
func zonesOf(zs []configs.ZoneConfig) []outputcheck.Zone {
	out := make([]outputcheck.Zone, len(zs))
	for i, z := range zs {
		out[i] = outputcheck.Zone{Name: z.Name, First: z.First, Count: z.Count, PWM: z.PWM}
	}
	return out
}
