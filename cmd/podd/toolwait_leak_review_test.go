package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// runPod opens the kernel watchdog before it waits for a tool
// (holdRunLockFed); every return after that, the hardware, the LED strip
// or the outputs failing to open included, closes it (magic close).
// Otherwise the process would exit with the watchdog armed and no longer
// pinged, and the board would reboot watchdog.timeout later: the very
// case the wait is for, as a tool that still holds its claim after
// ToolWait still holds the GPIO lines or the SPI bus, and openHardware
// fails. Here the hardware fails to open (a simulator scenario that does
// not exist) after podd waited for a tool: runPod returns its error with
// the watchdog closed.
func TestReviewPoddClosesTheWatchdogItOpenedForTheToolWaitWhenItFailsToStart(t *testing.T) {
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	path := filepath.Join(dir, "podd.db")
	cfg, err := configs.Parse(fmt.Appendf(nil, `
pod: {id: leak-pod}
hardware: {mode: sim, led_count: 60}
uplink: {broker: "tcp://127.0.0.1:1"}
storage: {path: %q}
api: {socket: %q}
sim: {scenario: %q}
watchdog: {device: "/dev/watchdog-of-this-test", timeout: 5s}
log: {level: info}
`, path, filepath.Join(sockDir, "podd.sock"), filepath.Join(dir, "missing-scenario.yaml")), nil)
	if err != nil {
		t.Fatal(err)
	}
	claim, err := journal.ClaimHardware(path)
	if err != nil || claim == nil {
		t.Fatalf("ClaimHardware = %v, %v", claim, err)
	}
	go func() { time.Sleep(500 * time.Millisecond); claim.Release() }()
	fake := &fakeWatchdog{}
	d := deps{openWatchdog: func(string, time.Duration) (hardwareWatchdog, error) { return fake, nil }}
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &out}, nil))
	ret := make(chan error, 1)
	go func() { ret <- runPod(context.Background(), cfg, log, d) }()
	var rerr error
	select {
	case rerr = <-ret:
	case <-time.After(time.Minute):
		t.Fatal("runPod did not return with its hardware failing to open")
	}
	if rerr == nil {
		t.Fatal("runPod with a missing scenario returned nil")
	}
	calls := fake.log()
	if !slices.Contains(calls, "ping") {
		t.Fatalf("podd did not wait for the tool with the watchdog fed (calls %v); the test's premise failed", calls)
	}
	if !slices.Contains(calls, "close") {
		t.Fatalf("runPod returned %q with the kernel watchdog it opened for the tool wait still armed: calls %v, no close; the pod reboots watchdog.timeout later", rerr, calls)
	}
}
