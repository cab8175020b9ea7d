package main

import (
	"slices"
	"testing"
	"time"
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
	fake := &fakeWatchdog{}
	d := deps{openWatchdog: func(string, time.Duration) (hardwareWatchdog, error) { return fake, nil }}
	w := startWaitingForATool(t, testWatchdogYAML, true, d)
	time.Sleep(500 * time.Millisecond)
	w.claim.Release()
	ret := w.ret
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
