//go:build hwtest

package main

// make hwtest: the whole daemon, runPod as podd's main runs it, in linux
// mode on the guest's buses.

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond every 50 ms for up to d: the daemon's goroutines
// open the chips on their own time.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// podd's daemon on pod.yaml (its store, socket and broker moved to the
// guest's /tmp and an address where nothing listens; no kernel watchdog)
// darkens the strip, opens and configures every chip on its own, and at
// the stop halts every chip and leaves the strip dark.
func TestHWTheDaemonOpensEveryChipAndHaltsThemAtTheStop(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	powerOn(t)
	dir := t.TempDir()
	cfg := guestConfig(t,
		"PODD_STORAGE_PATH="+dir+"/podd.db",
		"PODD_API_SOCKET="+dir+"/podd.sock",
		"PODD_UPLINK_BROKER=tcp://127.0.0.1:1",
		"PODD_WATCHDOG_DEVICE=",
	)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runPod(ctx, cfg, log, deps{openWatchdog: openHardwareWatchdog}) }()
	stopped := false
	stop := func() error {
		cancel()
		if stopped {
			return nil
		}
		stopped = true
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("runPod did not return 30 s after its context ended\n%s", logs.String())
			return nil
		}
	}
	defer func() { _ = stop() }()

	configured := func() bool {
		ads := adsRegs(t)
		return reg8(t, addrMAX30102, 0x09) == 0x03 && // MODE_CONFIG: SpO2 mode
			reg16(t, addrTMP117, 0x01)&0x0C00 == 0 && // Configuration: MOD 00, continuous
			reg16(t, addrADS1115, 0x01)&0x7FFF == 0x4383 &&
			ads[0x03] == 0xEC && ads[0x17] == 0x02 // CONFIG3, CONFIG4
	}
	if !eventually(20*time.Second, configured) {
		t.Fatalf("not every chip configured: MAX30102 MODE_CONFIG 0x%02X, TMP117 Configuration 0x%04X, ADS1115 Config 0x%04X, ADS1299 % X\n%s",
			reg8(t, addrMAX30102, 0x09), reg16(t, addrTMP117, 0x01), reg16(t, addrADS1115, 0x01), adsRegs(t), logs.String())
	}
	if last := spiLastMessage(t, 0); !slices.Equal(last.tx, darkFrame(cfg.Hardware.LEDCount)) {
		t.Fatalf("the strip's last frame at start %x, want dark", last.tx)
	}
	if !strings.Contains(logs.String(), "msg=\"podd starting\"") {
		t.Fatalf("no start in the log:\n%s", logs.String())
	}

	if err := stop(); err != nil {
		t.Fatalf("runPod: %v\n%s", err, logs.String())
	}
	if got := reg8(t, addrMAX30102, 0x09); got != 0x83 {
		t.Errorf("MAX30102 MODE_CONFIG after the stop 0x%02X, want 0x83 (SHDN)", got)
	}
	if got := reg16(t, addrTMP117, 0x01) & 0x0C00; got != 0x0400 {
		t.Errorf("TMP117 MOD after the stop 0x%04X, want 0x0400 (shutdown)", got)
	}
	if last := spiLastMessage(t, 0); !slices.Equal(last.tx, darkFrame(cfg.Hardware.LEDCount)) {
		t.Errorf("the strip's last frame after the stop %x, want dark", last.tx)
	}
	if t.Failed() {
		t.Logf("podd's log:\n%s", logs.String())
	}
}
