package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runPodctl runs podctl's root in this process with args.
func runPodctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// config check on the shipped simulator configuration: ok and its summary,
// the program checked against the zones; exit 0.
func TestConfigCheckOfTheSimulatorConfiguration(t *testing.T) {
	t.Chdir("../..") // the source tree\'s root, where configs/sim.yaml names its program
	out, err := runPodctl(t, "--socket", "/nonexistent/podd.sock", "config", "check", "configs/sim.yaml")
	want := `ok         configs/sim.yaml
pod        sim-pod-1 (hardware.mode sim)
sensors    max30102, ads1299, ads1115, tmp117
lights     60 LEDs; zones canopy, floor, sides
haptics    back, feet
broker     embedded (127.0.0.1:1883, loopback)
program    calm-night (checked against the zones and places)
`
	if err != nil || out != want {
		t.Fatalf("config check configs/sim.yaml = %v:\n%s\nwant:\n%s", err, out, want)
	}
}

// Every problem of a bad file is printed with its key and the file, as
// podd prints them, and the exit status is 2; a missing file is bad input
// too.
func TestConfigCheckPrintsEveryProblem(t *testing.T) {
	t.Chdir("../..") // the source tree\'s root, where configs/sim.yaml names its program
	dir := t.TempDir()
	bad := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(bad, []byte("pod:\n  id: pod-9\nhardware:\n  mode: sim\nuplink:\n  broker: embedded\n  embedded_listen: \"0.0.0.0:1883\"\nstorage:\n  path: /tmp/p.db\napi:\n  socket: /tmp/p.sock\nsim:\n  scenario: x.yaml\ntelemtry:\n  interval: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runPodctl(t, "config", "check", bad)
	want := bad + ": telemtry.interval: unknown key; did you mean telemetry.interval?\n" +
		bad + `: uplink.embedded_listen: "0.0.0.0:1883" is not a loopback address (127.0.0.1, [::1] or localhost): the embedded broker has no authentication, so anyone on the network could read the sleeper's vitals and publish to the pod; listen on 127.0.0.1, or run a broker with authentication (mosquitto) and set uplink.broker to it` + "\n"
	if exitCode(err) != exitBadInput || err.Error() != bad+": 2 problems" || out != want {
		t.Fatalf("config check of a bad file: %v (exit %d)\n%s\nwant:\n%s", err, exitCode(err), out, want)
	}
	out, err = runPodctl(t, "config", "check", "--json", filepath.Join(dir, "absent.yaml"))
	var r configReport
	if exitCode(err) != exitBadInput || json.Unmarshal([]byte(out), &r) != nil || r.OK || len(r.Problems) != 1 || !strings.HasSuffix(r.Problems[0], "absent.yaml: no such file or directory") {
		t.Fatalf("config check --json of a missing file: %v\n%s", err, out)
	}
}

// The PODD_ variables of the shell count only with --env, as podd's unit
// sets none.
func TestConfigCheckAppliesTheEnvironmentOnlyWithEnv(t *testing.T) {
	t.Chdir("../..") // the source tree\'s root, where configs/sim.yaml names its program
	t.Setenv("PODD_TELEMETRY_INTERVAL", "5ms")
	if out, err := runPodctl(t, "config", "check", "configs/sim.yaml"); err != nil {
		t.Fatalf("config check without --env: %v\n%s", err, out)
	}
	out, err := runPodctl(t, "config", "check", "--env", "configs/sim.yaml")
	if exitCode(err) != exitBadInput || out != `telemetry.interval: "5ms" is outside 100ms..60s (from PODD_TELEMETRY_INTERVAL)`+"\n" {
		t.Fatalf("config check --env: %v\n%s", err, out)
	}
}

// A dreamscape program that names a zone the file does not have is a
// problem of the configuration, named with the program's own words.
func TestConfigCheckBindsTheProgramToTheZones(t *testing.T) {
	t.Chdir("../..") // the source tree\'s root, where configs/sim.yaml names its program
	dir := t.TempDir()
	prog := filepath.Join(dir, "halo.yaml")
	if err := os.WriteFile(prog, []byte("name: halo\nduration: 1m\nlights:\n  halo:\n    - {at: 0s, color: \"#ff9040\", level: 0.04}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PODD_DREAMSCAPE_PROGRAM", prog)
	out, err := runPodctl(t, "config", "check", "--env", "configs/sim.yaml")
	if exitCode(err) != exitBadInput || !strings.HasPrefix(out, "configs/sim.yaml: dreamscape.program: ") || !strings.Contains(out, "halo") {
		t.Fatalf("config check with a program for another pod: %v\n%s", err, out)
	}
}
