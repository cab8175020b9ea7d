package contract_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/uplink"
)

var (
	poddOnce sync.Once
	poddBin  string
	poddErr  error
)

// podd builds the daemon once for the package's tests.
func podd(t *testing.T) string {
	t.Helper()
	poddOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podd-contract-bin")
		if err != nil {
			poddErr = err
			return
		}
		poddBin = filepath.Join(dir, "podd")
		if out, err := exec.Command("go", "build", "-o", poddBin, "../cmd/podd").CombinedOutput(); err != nil {
			poddErr = fmt.Errorf("go build podd: %v\n%s", err, out)
		}
	})
	if poddErr != nil {
		t.Fatal(poddErr)
	}
	return poddBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if poddBin != "" {
		os.RemoveAll(filepath.Dir(poddBin))
	}
	os.Exit(code)
}

// The daemon itself, started on a store file damaged by a dying SD card:
// it sets the file aside, starts latched on a fresh store, and tells the
// hub (a store_damaged fault, the seqs that may never arrive in a dropped
// event, its state aborted), and when the power goes again the broker
// publishes its will. Every message the hub receives validates.
func TestADamagedStoreIsReportedInTheContract(t *testing.T) {
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
	socket := filepath.Join(sockDir, "podd.sock")
	scenarioFile := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenarioFile, []byte("name: contract-calm\nbaseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "podd.db")
	var out bytes.Buffer
	var outMu sync.Mutex
	run := func(broker string) (*exec.Cmd, chan error) {
		cmd := exec.Command(bin, "--config", "../configs/sim.yaml")
		cmd.Env = append(os.Environ(), "PODD_POD_ID="+podID, "PODD_UPLINK_BROKER="+broker, "PODD_SIM_SCENARIO="+scenarioFile,
			"PODD_STORAGE_PATH="+store, "PODD_API_SOCKET="+socket, "PODD_TELEMETRY_INTERVAL=200ms",
			"PODD_DREAMSCAPE_PROGRAM=../dreamscapes/calm-night.yaml") // sim.yaml's path is relative to the repository's root
		w := &lockedWriter{mu: &outMu, w: &out}
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		return cmd, exited
	}
	defer func() {
		if t.Failed() {
			outMu.Lock()
			t.Logf("podd output:\n%s", out.String())
			outMu.Unlock()
		}
	}()
	client := api.NewClient(socket)
	outbox := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := client.Status(ctx)
		if err != nil {
			return -1
		}
		return st.Uplink.Outbox
	}

	// No broker: records pile up in the outbox, then the power goes.
	cmd, exited := run("tcp://127.0.0.1:1")
	mqtttest.WaitFor(t, 30*time.Second, "records in the outbox", func() bool { return outbox() >= 10 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	damage(t, store)

	m := mqtttest.Start(t, false)
	hub := hubView{t: t, sub: mqtttest.Subscribe(t, m.URL(), uplink.Root(podID)+"#", "contract-hub", true)}
	cmd, exited = run(m.URL())
	// The state event to aborted is stored after the other two (once the
	// recorder reads the fresh store's latch): the power goes only once it
	// is at the hub too, or it may go between their sending and its own.
	mqtttest.WaitFor(t, 20*time.Second, "the store_damaged fault, the dropped range and the abort at the hub", func() bool {
		return hub.has(uplink.TopicEvents, func(b map[string]any) bool { return b["type"] == "fault" && b["fault"] == "store_damaged" }) &&
			hub.has(uplink.TopicEvents, event("dropped", "reason", "store_damaged")) &&
			hub.has(uplink.TopicEvents, event("state", "to", "aborted"))
	})
	// The power goes again: the broker publishes the pod's will.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	mqtttest.WaitFor(t, 10*time.Second, "the will", func() bool {
		return hub.has(uplink.TopicStatus, func(b map[string]any) bool { return b["online"] == false })
	})
	seen := validateAll(t, hub.messages())
	for _, want := range []string{"status", "status offline", "event fault fault store_damaged", "event dropped reason store_damaged", "event state to aborted"} {
		if !seen[want] {
			t.Errorf("no %q message", want)
		}
	}
}

// damage overwrites every page of the file past its two meta pages, as a
// dying SD card might.
func damage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	junk := []byte(strings.Repeat("\xa5\x5a", page/2))
	for off := int64(2 * page); off < fi.Size(); off += page {
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
}
