package contract_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/uplink"
)

// allVitals reports whether a telemetry body carries every vital (heart
// rate, SpO2, skin conductance, body temperature and the six EEG bands)
// and every sensor of configs/sim.yaml ok.
func allVitals(b map[string]any) bool {
	v, _ := b["vitals"].(map[string]any)
	for _, k := range []string{"heart_rate_bpm", "spo2_pct", "skin_conductance_us", "body_temp_c"} {
		if _, ok := v[k].(float64); !ok {
			return false
		}
	}
	eeg, _ := v["eeg"].(map[string]any)
	for _, band := range []string{"delta", "theta", "alpha", "sigma", "beta", "gamma"} {
		if _, ok := eeg[band].(float64); !ok {
			return false
		}
	}
	sensors, _ := b["sensors"].(map[string]any)
	for _, chip := range []string{"max30102", "ads1299", "ads1115", "tmp117"} {
		if h, _ := sensors[chip].(map[string]any); h["state"] != "ok" {
			return false
		}
	}
	return true
}

// The daemon in sim mode with configs/sim.yaml (every sensor simulated:
// the oximeter, the EEG front end, the skin conductance ADC and the
// thermometer, each through its driver): its telemetry at the hub comes to
// carry every vital with every sensor ok, within the skin conductance
// estimator's first minute, and every message the hub receives
// validates, those whose vitals are still null included.
func TestEveryVitalOfTheSimulatedPodValidates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the daemon against mosquitto")
	}
	bin := podd(t)
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	scenarioFile := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenarioFile, []byte("name: contract-calm\nbaseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mqtttest.Start(t, false)
	hub := hubView{t: t, sub: mqtttest.Subscribe(t, m.URL(), uplink.Root(podID)+"#", "contract-hub", true)}
	var out bytes.Buffer
	var outMu sync.Mutex
	cmd := exec.Command(bin, "--config", "../configs/sim.yaml")
	// The pod plays a 10 Hz strobe, so that the photosensitivity guard's
	// event is among the messages judged.
	cmd.Env = append(os.Environ(), "PODD_POD_ID="+podID, "PODD_UPLINK_BROKER="+m.URL(), "PODD_SIM_SCENARIO="+scenarioFile,
		"PODD_STORAGE_PATH="+filepath.Join(dir, "podd.db"), "PODD_API_SOCKET="+filepath.Join(sockDir, "podd.sock"),
		"PODD_DREAMSCAPE_PROGRAM=../dreamscape/testdata/strobe-10hz.yaml")
	w := &lockedWriter{mu: &outMu, w: &out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			outMu.Lock()
			t.Logf("podd output:\n%s", out.String())
			outMu.Unlock()
		}
	}()
	began := time.Now()
	// Every vital needs its estimator's first window (the skin
	// conductance's is a minute); on a quiet machine they are all in
	// telemetry after 60 to 80 s. The wait returns as soon as they are,
	// and allows for a machine loaded by other test binaries, on which
	// the simulated EEG's real-time frames come late and its estimate
	// starts over.
	mqtttest.WaitFor(t, 4*time.Minute, "telemetry with every vital and every sensor ok", func() bool {
		return hub.has(uplink.TopicTelemetry, allVitals)
	})
	t.Logf("every vital in telemetry %.1f s after the start", time.Since(began).Seconds())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("podd exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("podd did not stop within 15 s of SIGTERM")
	}
	// Its offline status reaches the hub through the broker, maybe after
	// podd has exited.
	mqtttest.WaitFor(t, 10*time.Second, "the offline status", func() bool {
		return hub.has(uplink.TopicStatus, func(b map[string]any) bool { return b["online"] == false })
	})
	seen := validateAll(t, hub.messages())
	for _, want := range []string{"status", "telemetry", "status offline", "event guard"} {
		if !seen[want] {
			t.Errorf("no %q message", want)
		}
	}
	for _, msg := range hub.messages() {
		if msg.kind == uplink.TopicEvents && msg.body["type"] == "fault" {
			// The simulated EEG's DRDY edges come from its model's timer
			// on the real clock: on a machine loaded by the other test
			// binaries under the race detector that goroutine can be
			// starved for 500 ms, and the driver rightly reports the
			// chip as not converting. That fault is the simulator's
			// timing, not the pod's; it is logged, not failed.
			if msg.body["device"] == "ads1299" && strings.Contains(fmt.Sprint(msg.body["error"]), "no DRDY falling edge") {
				t.Logf("the simulated EEG's model was starved of the CPU (a fault of the simulator's real-time timing): %s", msg.payload)
				continue
			}
			t.Errorf("a fault on a healthy simulated pod: %s", msg.payload)
		}
	}
}
