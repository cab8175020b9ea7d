package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// A podd waiting at start for a technician's tool (up to journal.ToolWait,
// 30 s) is stopped meanwhile: systemctl stop, a shutdown, SIGTERM. It
// should return at once (it has opened nothing), yet HoldRunLock polls the
// lock for the whole 30 s without looking at the context, so podd ignores
// the stop, systemd SIGKILLs it after TimeoutStopSec (10 s) and the unit
// ends failed; a shutdown is held up for as long.
func TestPoddWaitingForAToolStopsWhenAsked(t *testing.T) {
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
	cfg, err := configs.Parse(fmt.Appendf(nil, `
pod: {id: toolwait-pod}
hardware: {mode: sim, led_count: 60}
uplink: {broker: "tcp://127.0.0.1:1"}
storage: {path: %q}
api: {socket: %q}
sim: {scenario: %q}
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
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &out}, nil))
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() { ret <- runPod(ctx, cfg, log, deps{openWatchdog: openHardwareWatchdog}) }()
	returned := false
	defer func() {
		// Let a podd still waiting go, and wait for it to end.
		cancel()
		claim.Release()
		if returned {
			return
		}
		select {
		case <-ret:
		case <-time.After(time.Minute):
			t.Error("runPod did not return a minute after the tool let go")
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(output(), "waiting for a technician's tool"); {
		if time.Now().After(deadline) {
			t.Fatalf("podd did not say it waits for the tool:\n%s", output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // SIGTERM
	select {
	case <-ret:
		returned = true
	case <-time.After(3 * time.Second):
		t.Fatalf("podd still waiting for the tool 3 s after it was told to stop (systemd's TimeoutStopSec is 10 s, journal.ToolWait %v):\n%s", journal.ToolWait, output())
	}
}
