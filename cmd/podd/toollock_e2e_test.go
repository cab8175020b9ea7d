package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
)

// A podd started while a technician's tool drives the hardware (podctl
// doctor, scan or test holding journal.ClaimHardware) says so and waits,
// its API and buses left alone, then starts as soon as the tool lets the
// hardware go.
func TestPoddWaitsForATechniciansTool(t *testing.T) {
	t.Parallel()
	_, _ = binaries(t) // skips with -short
	b := newBench(t, "tcp://127.0.0.1:1", `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`)
	path := filepath.Join(b.dir, "podd.db")
	l, err := journal.HoldRunLock(context.Background(), path, 0) // podd ran here before: the run lock file exists
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	claim, err := journal.ClaimHardware(path)
	if err != nil || claim == nil {
		t.Fatalf("ClaimHardware = %v, %v", claim, err)
	}
	d := b.launch()
	mqtttest.WaitFor(t, 10*time.Second, "podd saying it waits for the tool", func() bool {
		return strings.Contains(d.output(), "waiting for a technician's tool to let the hardware go")
	})
	if c, err := net.Dial("unix", b.socket); err == nil {
		c.Close()
		t.Fatal("podd's API answers while it waits for the tool")
	}
	if strings.Contains(d.output(), "run lock not held") {
		t.Fatalf("podd gave up waiting at once:\n%s", d.output())
	}
	claim.Release()
	mqtttest.WaitFor(t, 10*time.Second, "podd's API once the tool let the hardware go", func() bool {
		c, err := net.Dial("unix", b.socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if strings.Contains(d.output(), "run lock not held") {
		t.Fatalf("podd started without its run lock:\n%s", d.output())
	}
	d.stop()
}
