package safety

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHardwareWatchdogPingsAndMagicClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var gotSeconds int
	w, err := openHardwareWatchdog(path, 10*time.Second, func(_ uintptr, s int) error { gotSeconds = s; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if gotSeconds != 10 {
		t.Fatalf("timeout set to %d s, want 10", gotSeconds)
	}
	for range 3 {
		if err := w.Ping(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Ping(); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "\x00\x00\x00V" {
		t.Fatalf("device received %q, want three pings then the magic V", b)
	}
}

func TestHardwareWatchdogRejectsBadTimeoutAndDisarmsOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openHardwareWatchdog(path, 30*time.Second, nil); err == nil || !strings.Contains(err.Error(), "outside 2s..15s") {
		t.Fatalf("timeout 30s: %v", err)
	}
	_, err := openHardwareWatchdog(path, 5*time.Second, func(uintptr, int) error { return errors.New("inappropriate ioctl for device") })
	if err == nil || !strings.Contains(err.Error(), "set hardware watchdog timeout") {
		t.Fatalf("failing ioctl: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "V" {
		t.Fatalf("device received %q after a failed open, want the magic V that disarms it", b)
	}
	if _, err := OpenHardwareWatchdog(filepath.Join(t.TempDir(), "missing"), 5*time.Second); err == nil {
		t.Fatal("opened a missing device")
	}
}
