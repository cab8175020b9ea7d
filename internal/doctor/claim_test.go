package doctor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sleegation/podd/journal"
)

// While scan, doctor and the sensors' self-test drive the hardware of a
// stopped podd, they hold its run lock exclusively: a podd starting then
// (systemd restarting it) cannot take it and waits (journal.HoldRunLock).
// Each lets it go when done.
func TestChecksHoldTheHardwareFromAStartingPodd(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(d *Doctor) error
	}{
		{"scan", func(d *Doctor) error { _, err := d.Scan(context.Background(), ""); return err }},
		{"doctor", func(d *Doctor) error { d.Run(context.Background()); return nil }},
		{"sensors", func(d *Doctor) error { _, err := d.TestSensors(context.Background(), 50*time.Millisecond); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := simConfig(t, t.TempDir())
			l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0) // podd ran once: its run lock file exists
			if err != nil {
				t.Fatal(err)
			}
			l.Release()
			opened := 0
			d, cl := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
				opened++
				if l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0); !errors.Is(err, journal.ErrToolHolds) {
					l.Release()
					t.Errorf("a podd starting while the hardware opens: HoldRunLock = %v, want ErrToolHolds", err)
				}
				return NewSim(cfg)
			})
			defer cl.Close()
			if err := c.run(d); err != nil {
				t.Fatal(err)
			}
			if opened != 1 {
				t.Fatalf("the hardware was opened %d times, want 1", opened)
			}
			l, err = journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0)
			if err != nil {
				t.Fatalf("podd starting after the checks: %v", err)
			}
			l.Release()
		})
	}
}

// A podd that took its run lock after the socket said it was stopped
// keeps the hardware: the claim fails with ErrPoddRunning and nothing is
// opened. A second tool's claim fails with journal.ErrToolHolds.
func TestClaimLeavesTheHardwareToPoddAndToAnotherTool(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	opened := false
	d, cl := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
		opened = true
		return NewSim(cfg)
	})
	defer cl.Close()
	l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.claimHardware(); !errors.Is(err, ErrPoddRunning) {
		t.Errorf("claim while podd holds its run lock: %v, want ErrPoddRunning", err)
	}
	l.Release()
	if opened {
		t.Error("the hardware was opened while podd holds its run lock")
	}
	other, err := journal.ClaimHardware(cfg.Storage.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if _, err := d.claimHardware(); !errors.Is(err, journal.ErrToolHolds) {
		t.Errorf("claim while another tool holds the hardware: %v, want ErrToolHolds", err)
	}
	if opened {
		t.Error("the hardware was opened while another tool holds it")
	}
	if got := find(t, d.Run(context.Background()), "api socket"); got.Verdict != Fail ||
		got.Detail != "nothing answers on "+cfg.API.Socket+", and another podctl check drives the hardware (it holds "+cfg.Storage.Path+journal.RunLockSuffix+"); podd, if it starts, waits for it" {
		t.Errorf("doctor's socket line while another tool holds the hardware: %+v", got)
	}
}
