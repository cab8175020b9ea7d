package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/internal/outputcheck"
	"github.com/sleegation/podd/sim"
)

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

// strobeAndBuzz strobes the canopy at 10 Hz and runs both motors.
const strobeAndBuzz = `
name: strobe-and-buzz
duration: 1s
loop: true
lights:
  canopy:
    - {at: 0ms,   color: "#ffffff", level: 1, ease: step}
    - {at: 50ms,  color: "#000000", level: 0, ease: step}
    - {at: 100ms, color: "#ffffff", level: 1, ease: step}
    - {at: 150ms, color: "#000000", level: 0, ease: step}
    - {at: 200ms, color: "#ffffff", level: 1, ease: step}
    - {at: 250ms, color: "#000000", level: 0, ease: step}
    - {at: 300ms, color: "#ffffff", level: 1, ease: step}
    - {at: 350ms, color: "#000000", level: 0, ease: step}
    - {at: 400ms, color: "#ffffff", level: 1, ease: step}
    - {at: 450ms, color: "#000000", level: 0, ease: step}
    - {at: 500ms, color: "#ffffff", level: 1, ease: step}
    - {at: 550ms, color: "#000000", level: 0, ease: step}
    - {at: 600ms, color: "#ffffff", level: 1, ease: step}
    - {at: 650ms, color: "#000000", level: 0, ease: step}
    - {at: 700ms, color: "#ffffff", level: 1, ease: step}
    - {at: 750ms, color: "#000000", level: 0, ease: step}
    - {at: 800ms, color: "#ffffff", level: 1, ease: step}
    - {at: 850ms, color: "#000000", level: 0, ease: step}
    - {at: 900ms, color: "#ffffff", level: 1, ease: step}
    - {at: 950ms, color: "#000000", level: 0, ease: step}
haptics:
  back:
    - {at: 0s, pattern: steady, intensity: 0.5}
  feet:
    - {at: 0s, pattern: steady, intensity: 0.6}
`

// The two ends, on one simulated night through the whole daemon:
// a program that strobes at 10 Hz plays as a slow, guarded change (the pod
// reports the guard event, and the record of what the simulated outputs
// showed passes the independent flash check zone by zone and for the whole
// pod, while the strip did change), and the abort that comes when the
// heart rate climbs leaves the strip in the warm safe light and every motor
// stopped, as the device models and the recorded outputs show.
func TestAStrobeProgramPlaysGuardedAndAnAbortLeavesTheSafeLight(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), climbingHeartRate)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-e2e", true)
	prog := filepath.Join(b.dir, "strobe-and-buzz.yaml")
	if err := os.WriteFile(prog, []byte(strobeAndBuzz), 0o600); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(b.dir, "outputs.jsonl")
	b.extraEnv = []string{"PODD_DREAMSCAPE_PROGRAM=" + prog, "PODD_SIM_RECORD_OUTPUTS=" + record}
	d := b.start()
	mqtttest.WaitFor(t, 40*time.Second, "a guard event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "guard" && e["guard"] == "light" })
		return ok
	})
	if st := b.status(); st.Show == nil || st.Show.Program != "strobe-and-buzz" || !st.Show.Playing || !slices.Contains(st.Show.Limited, "canopy") {
		t.Fatalf("show %+v: want the strobe playing, canopy limited", st.Show)
	}
	mqtttest.WaitFor(t, 60*time.Second, "an abort event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "abort" })
		return ok
	})
	st := b.status()
	if st.State != "aborted" || st.Sim == nil || !st.Sim.StripSafe || st.Show == nil || st.Show.Playing {
		t.Fatalf("after the abort: state %s, sim %+v, show %+v; want aborted, the strip at the safe light, not playing", st.State, st.Sim, st.Show)
	}
	time.Sleep(1500 * time.Millisecond) // the indicator is set once a second
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
	if i := slices.Index(s.Names, "canopy"); len(s.Zones[i]) < 100 {
		t.Errorf("the canopy changed %d times: the program did not play", len(s.Zones[i]))
	}
	safe, _, err := safeLights(cfg.Lights)
	if err != nil {
		t.Fatal(err)
	}
	want := controller.SafeColor(safe)
	last := map[string]sim.OutputFrame{}
	ran := map[string]bool{}
	for _, f := range frames {
		last[f.Device] = f
		if f.Device == "drv2605" && *f.Intensity > 0 || f.Device == "GPIO5" && *f.High {
			ran[f.Device] = true
		}
	}
	if !ran["drv2605"] || !ran["GPIO5"] {
		t.Errorf("motors that ran before the abort: %v, want the back's and the feet's", ran)
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
	if f, ok := last["GPIO12"]; !ok || !*f.High {
		t.Errorf("the indicator ends at %+v, want lit (an abort is latched)", f)
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
