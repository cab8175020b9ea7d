package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/doctor"
)

// repoRoot is where podd runs with configs/sim.yaml.
var repoRoot = func() string {
	p, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// simEnv runs podctl as from the repository's root with configs/sim.yaml
// and its store and socket in a directory of the test's.
func simEnv(t *testing.T) string {
	t.Helper()
	t.Chdir(repoRoot)
	dir := t.TempDir()
	t.Setenv("PODD_STORAGE_PATH", filepath.Join(dir, "podd.db"))
	t.Setenv("PODD_API_SOCKET", filepath.Join(dir, "podd.sock"))
	t.Setenv("PODCTL_SOCKET", "")
	return dir
}

// podctl doctor --json on the simulator with podd stopped prints every
// check; its exit status is 5 exactly when one failed (on a machine whose
// clock is not synchronised, the clock's).
func TestDoctorCommandOnTheSimulator(t *testing.T) {
	simEnv(t)
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"doctor", "--config", "configs/sim.yaml", "--json"})
	err := root.Execute()
	var rs []doctor.Result
	if jerr := json.Unmarshal([]byte(out.String()), &rs); jerr != nil {
		t.Fatalf("--json printed %q: %v", out.String(), jerr)
	}
	var checks []string
	for _, r := range rs {
		checks = append(checks, r.Check)
	}
	want := []string{"config", "api socket", "chip max30102", "chip ads1299", "chip ads1115", "chip tmp117", "chip pca9685", "chip drv2605",
		"line GPIO12 (hardware.indicator_led)", "line GPIO25 (sensors.ads1299.drdy)", "line GPIO6 (lights.pca9685.oe)", "line GPIO13 (haptics.drv2605.en)",
		"line GPIO5 (haptics.places.feet.line)", "broker embedded (127.0.0.1:1883)", "clock", "disk", "store"}
	if !slices.Equal(checks, want) {
		t.Fatalf("checks %q, want %q", checks, want)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Check, "chip ") && r.Verdict != doctor.Pass {
			t.Errorf("%+v: want pass", r)
		}
	}
	if doctor.Failed(rs) != errors.Is(err, errChecksFailed) {
		t.Fatalf("failed %v, err %v: want errChecksFailed exactly on a failure", doctor.Failed(rs), err)
	}
}

func TestFormatResults(t *testing.T) {
	got := formatResults([]doctor.Result{
		{Check: "config", Verdict: doctor.Pass, Detail: "configs/sim.yaml: pod sim-pod-1"},
		{Check: "chip max30102", Verdict: doctor.Fail, Detail: "nothing answers at 0x57 on bus 1", Fix: "check its wiring"},
		{Check: "store", Verdict: doctor.Skip, Detail: "not checked", Fix: "ignored on a skip"},
	})
	want := `PASS  config         configs/sim.yaml: pod sim-pod-1
FAIL  chip max30102  nothing answers at 0x57 on bus 1
                     fix: check its wiring
SKIP  store          not checked
`
	if got != want {
		t.Fatalf("formatResults:\n%s\nwant:\n%s", got, want)
	}
}

// A bad configuration is doctor's one line, a failure.
func TestDoctorCommandWithABadConfiguration(t *testing.T) {
	simEnv(t)
	t.Setenv("PODD_TELEMETRY_INTERVAL", "1 fortnight")
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"doctor", "--config", "configs/sim.yaml"})
	if err := root.Execute(); !errors.Is(err, errChecksFailed) {
		t.Fatalf("err %v, want errChecksFailed", err)
	}
	if !strings.HasPrefix(out.String(), "FAIL  config  configs/sim.yaml: ") || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("printed %q: want the configuration's failure and its fix only", out.String())
	}
}

// podctl scan refuses while podd runs: exit status 3, nothing probed.
func TestScanCommandRefusesWhilePoddRuns(t *testing.T) {
	simEnv(t)
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, &ackPod{}), "scan", "--config", "configs/sim.yaml"})
	err := root.Execute()
	if !errors.Is(err, api.ErrRefused) || !errors.Is(err, doctor.ErrPoddRunning) || out.String() != "" {
		t.Fatalf("err %v, printed %q: want a refusal, nothing printed", err, out.String())
	}
}

// identifyPod refuses identify as a pod in a merge does.
type identifyPod struct{ ackPod }

func (*identifyPod) Identify(time.Duration) error {
	return &controller.RefusedError{Reasons: []string{controller.RefuseOccupied, controller.RefuseBusy}, Detail: "in merge m-1 (merged)"}
}

// podctl identify during a session: podd refuses, podctl says why and
// exits 3.
func TestIdentifyCommandIsRefusedDuringASession(t *testing.T) {
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, &identifyPod{}), "identify", "--for", "20s"})
	err := root.Execute()
	if !errors.Is(err, api.ErrRefused) || !strings.Contains(err.Error(), "in merge m-1") {
		t.Fatalf("err %v: want the pod's refusal", err)
	}
}
