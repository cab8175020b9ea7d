package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
)

// A power cut, then a dying SD card: the store file's pages past its meta
// pages are overwritten. podd must keep running, set the file aside, start
// latched on a fresh store whose seqs continue above the damaged one's, and
// tell the hub.
func TestADamagedStoreIsSetAsideAndThePodStartsLatched(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := newBench(t, "tcp://127.0.0.1:1", `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`)
	b.extraEnv = []string{"PODD_TELEMETRY_INTERVAL=200ms"}
	// No broker: records pile up in the outbox, then the power goes.
	d := b.start()
	mqtttest.WaitFor(t, 15*time.Second, "records in the outbox", func() bool { return b.status().Uplink.Outbox >= 10 })
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	path := filepath.Join(b.dir, "podd.db")
	s, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.NextSeq()
	if cerr := s.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	damage(t, path)

	b.broker = m.URL()
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-damage", true)
	d = b.start()
	defer d.stop()
	mqtttest.WaitFor(t, 15*time.Second, "the pod latched on store_damaged", func() bool {
		st := b.status()
		return st.State == "aborted" && st.Safety.Latched != nil && st.Safety.Latched.Rule == journal.RuleStoreDamaged
	})
	st := b.status()
	if !st.Sim.StripSafe || part(t, st, "store").State != "up" {
		t.Fatalf("status = %+v, want the strip at the safe light and the fresh store up", st)
	}
	var fault map[string]any
	mqtttest.WaitFor(t, 15*time.Second, "the store_damaged fault and the dropped range at the hub", func() bool {
		msgs := received(t, sub, b.podID)
		var ok1, ok2 bool
		fault, ok1 = find(msgs, "events", func(e map[string]any) bool { return e["type"] == "fault" && e["fault"] == "store_damaged" })
		_, ok2 = find(msgs, "events", func(e map[string]any) bool { return e["type"] == "dropped" && e["reason"] == "store_damaged" })
		return ok1 && ok2
	})
	moved, _ := fault["moved_to"].(string)
	if !strings.HasPrefix(moved, path+".damaged-") {
		t.Fatalf("fault event = %v, want moved_to beside %s", fault, path)
	}
	if _, err := os.Stat(moved); err != nil {
		t.Fatalf("the damaged file was not kept: %v", err)
	}
	for _, seq := range seqs(received(t, sub, b.podID)) {
		if seq < before {
			t.Fatalf("seq %d sent by the fresh store; the damaged one had used seqs up to %d", seq, before-1)
		}
	}
	if !strings.Contains(d.output(), "store damaged: the file is set aside") {
		t.Fatalf("podd did not log the damage:\n%s", d.output())
	}
}

// damage overwrites every page of a bbolt file but its two meta pages.
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
