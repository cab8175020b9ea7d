package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// toolWait is runPod started, in sim mode, on a store whose hardware a
// technician's tool has claimed (journal.ClaimHardware), as after a podd
// ran there: podd waits for the tool. The test's cleanup stops podd, lets
// the claim go and waits for runPod to return.
type toolWait struct {
	ret    chan error // runPod's result
	cancel context.CancelFunc
	output func() string // podd's log so far
	start  time.Time     // when runPod was started
	claim  *journal.ToolLock
}

// startWaitingForATool starts runPod with deps d; extraYAML adds lines to
// the configuration. With noScenario the simulator's scenario file does
// not exist, so podd's hardware fails to open once the tool lets go.
func startWaitingForATool(t *testing.T, extraYAML string, noScenario bool, d deps) *toolWait {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	path := filepath.Join(dir, "podd.db")
	scenario := filepath.Join(dir, "scenario.yaml")
	if noScenario {
		scenario = filepath.Join(dir, "missing-scenario.yaml")
	} else if err := os.WriteFile(scenario, []byte("name: toolwait\nbaseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Parse(fmt.Appendf(nil, `
pod: {id: toolwait-pod}
hardware: {mode: sim, led_count: 60}
uplink: {broker: "tcp://127.0.0.1:1"}
storage: {path: %q}
api: {socket: %q}
sim: {scenario: %q}
log: {level: info}
%s`, path, filepath.Join(sockDir, "podd.sock"), scenario, extraYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := journal.HoldRunLock(context.Background(), path, 0) // podd ran here before
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	claim, err := journal.ClaimHardware(path)
	if err != nil || claim == nil {
		t.Fatalf("ClaimHardware = %v, %v", claim, err)
	}
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &out}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	w := &toolWait{ret: make(chan error, 1), cancel: cancel, start: time.Now(), claim: claim,
		output: func() string { mu.Lock(); defer mu.Unlock(); return out.String() }}
	ended := make(chan struct{})
	go func() {
		err := runPod(ctx, cfg, log, d)
		close(ended)
		w.ret <- err
	}()
	t.Cleanup(func() {
		// Let a podd still waiting go, and wait for it to end.
		cancel()
		claim.Release()
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Error("runPod did not return a minute after it was stopped and the tool let go")
		}
	})
	return w
}

// testWatchdogYAML configures a hardware watchdog that deps.openWatchdog
// fakes.
const testWatchdogYAML = `watchdog: {device: "/dev/watchdog-of-this-test", timeout: 5s}` + "\n"

// A podd waiting at start for a technician's tool (up to journal.ToolWait,
// 30 s) is stopped meanwhile: systemctl stop, a shutdown, SIGTERM. It
// returns at once (it has opened nothing): were it to wait on, systemd
// would SIGKILL it after TimeoutStopSec (10 s), the unit would end failed
// and a shutdown would be held up as long.
func TestPoddWaitingForAToolStopsWhenAsked(t *testing.T) {
	w := startWaitingForATool(t, "", false, deps{openWatchdog: openHardwareWatchdog})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(w.output(), "waiting for a technician's tool"); {
		if time.Now().After(deadline) {
			t.Fatalf("podd did not say it waits for the tool:\n%s", w.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.cancel() // SIGTERM
	select {
	case <-w.ret:
	case <-time.After(3 * time.Second):
		t.Fatalf("podd still waiting for the tool 3 s after it was told to stop (systemd's TimeoutStopSec is 10 s, journal.ToolWait %v):\n%s", journal.ToolWait, w.output())
	}
}

// After a crash the kernel's watchdog is still armed (closed without the
// magic close) and reboots the board its timeout after the dead podd's
// last ping, unless the restarted podd reopens and pings it. A technician
// who runs podctl doctor, scan or test because podd just crashed holds
// the claim while systemd restarts podd: podd opens the hardware watchdog
// before it waits for the tool (it is no hardware the tool drives) and
// pings it while it waits, so the pod does not reboot under the check.
// Here the watchdog (timeout 5 s) is pinged within its timeout while a
// tool holds the claim.
func TestPoddKeepsTheHardwareWatchdogFedWhileWaitingForATool(t *testing.T) {
	const timeout = 5 * time.Second
	fake := &fakeWatchdog{}
	var openedMu sync.Mutex
	opened := false
	d := deps{openWatchdog: func(string, time.Duration) (hardwareWatchdog, error) {
		openedMu.Lock()
		opened = true
		openedMu.Unlock()
		return fake, nil
	}}
	w := startWaitingForATool(t, testWatchdogYAML, false, d)
	for time.Since(w.start) < timeout {
		if slices.Contains(fake.log(), "ping") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	openedMu.Lock()
	o := opened
	openedMu.Unlock()
	waiting := strings.Contains(w.output(), "waiting for a technician's tool")
	t.Fatalf("a tool holds the claim: %v after podd started the hardware watchdog (timeout %v) has had no ping (opened %v, podd waiting for the tool %v): a watchdog left armed by a crashed podd reboots the pod",
		time.Since(w.start).Round(time.Millisecond), timeout, o, waiting)
}
