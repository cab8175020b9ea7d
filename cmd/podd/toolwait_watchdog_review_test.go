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

// DEFECT: podd waits for a technician's tool (journal.ToolWait, 30 s)
// before it opens anything, the hardware watchdog included. After a crash
// the kernel's watchdog is still armed (closed without the magic close)
// and reboots the board watchdog.timeout (default 10 s, at most the
// configured one) after the dead podd's last ping unless the restarted
// podd reopens and pings it. A technician who runs podctl doctor, scan
// or test because podd just crashed holds the claim while systemd
// restarts podd 1 s later: podd sits in HoldRunLock for up to 30 s and
// the pod reboots under the check (and under whoever made it): the wait
// the change added is three times the default watchdog timeout. Here the
// watchdog (timeout 5 s) is not even opened within that timeout while a
// tool holds the claim. Correct: open the hardware watchdog before
// waiting for a tool and ping it while waiting (it is no hardware the
// tool drives), or never wait longer than its timeout allows.
func TestReviewPoddKeepsTheHardwareWatchdogFedWhileWaitingForATool(t *testing.T) {
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	path := filepath.Join(dir, "podd.db")
	scenario := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenario, []byte("name: toolwait\nbaseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const timeout = 5 * time.Second
	cfg, err := configs.Parse(fmt.Appendf(nil, `
pod: {id: toolwait-pod}
hardware: {mode: sim, led_count: 60}
uplink: {broker: "tcp://127.0.0.1:1"}
storage: {path: %q}
api: {socket: %q}
sim: {scenario: %q}
watchdog: {device: "/dev/watchdog-of-this-test", timeout: 5s}
log: {level: info}
`, path, filepath.Join(sockDir, "podd.sock"), scenario), nil)
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
	fake := &fakeWatchdog{}
	var openedMu sync.Mutex
	opened := false
	d := deps{openWatchdog: func(string, time.Duration) (hardwareWatchdog, error) {
		openedMu.Lock()
		opened = true
		openedMu.Unlock()
		return fake, nil
	}}
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &out}, nil))
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	start := time.Now()
	go func() { ret <- runPod(ctx, cfg, log, d) }()
	defer func() {
		cancel()
		claim.Release()
		select {
		case <-ret:
		case <-time.After(time.Minute):
			t.Error("runPod did not return a minute after it was stopped")
		}
	}()
	for time.Since(start) < timeout {
		if slices.Contains(fake.log(), "ping") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	openedMu.Lock()
	o := opened
	openedMu.Unlock()
	waiting := strings.Contains(output(), "waiting for a technician's tool")
	t.Fatalf("a tool holds the claim: %v after podd started the hardware watchdog (timeout %v) has had no ping (opened %v, podd waiting for the tool %v): a watchdog left armed by a crashed podd reboots the pod",
		time.Since(start).Round(time.Millisecond), timeout, o, waiting)
}
