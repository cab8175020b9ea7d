package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// record writes a record of the strip of configs/sim.yaml (60 LEDs) whose
// every LED shows v(i) at frame i, 50 frames a second for 3 s.
func record(t *testing.T, v func(i int) int) string {
	t.Helper()
	var b strings.Builder
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i := range 150 {
		leds := make([]string, 60)
		for j := range leds {
			leds[j] = fmt.Sprintf("[%d,%d,%d,31]", v(i), v(i), v(i))
		}
		fmt.Fprintf(&b, `{"t":%q,"device":"strip","leds":[%s]}`+"\n", t0.Add(time.Duration(i)*20*time.Millisecond).Format(time.RFC3339Nano), strings.Join(leds, ","))
	}
	path := filepath.Join(t.TempDir(), "outputs.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitStatus(t *testing.T) {
	strobe := record(t, func(i int) int { return 255 * (i / 5 % 2) }) // 5 Hz full-scale
	ramp := record(t, func(i int) int { return i / 2 })               // 0.2 of full scale in 3 s
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"strobe", []string{"--config", "../../configs/sim.yaml", strobe}, 1, "canopy      150 samples over 2.98s      worst second: 5 general flashes"},
		{"ramp", []string{"--config", "../../configs/sim.yaml", ramp}, 0, "pod         150 samples over 2.98s      worst second: 1 general flashes, 0 red, 1 changes"}, // one change: at most one flash
		{"no record", []string{"--config", "../../configs/sim.yaml"}, 2, ""},
		{"missing record", []string{"--config", "../../configs/sim.yaml", filepath.Join(t.TempDir(), "none")}, 2, ""},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("%s: exit %d, output:\n%s%s\nwant exit %d and %q", c.name, code, out.String(), errOut.String(), c.code, c.out)
		}
	}
}
