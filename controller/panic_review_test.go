package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// The panic button's safe state lasts one recorder tick: Panic neither
// latches nor resets the evidence of safety (SafeFor), so nothing holds
// the gate, and the recorder reopens it and relights the strip within
// 200 ms of the press. The sleeper who pressed panic sees the pod light
// again at once (TestButtonsThroughTheirLines checks the strip before the
// press, never after it).
func TestThePanicSafeStateOutlastsOneRecorderTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm)
		defer r.stop()
		r.pod.Panic("button")
		if !r.hw.Strip.Dark() {
			t.Fatal("not dark as Panic returns")
		}
		until(start, 81*time.Second+time.Second)
		if !r.hw.Strip.Dark() || !r.pod.parts.Gate.Safe() {
			t.Fatalf("1 s after a panic press the gate is open (safe %v) and the strip lit (dark %v)", r.pod.parts.Gate.Safe(), r.hw.Strip.Dark())
		}
	})
}
