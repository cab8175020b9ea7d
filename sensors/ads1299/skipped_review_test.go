package ads1299_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1299"
)

// A read that comes late, but before the next conversion, lost nothing.
// What is wrong: Frame.Skipped is estimated from the time between two
// reads, rounded to whole periods, so a read 0.6 period late (1.2 ms at
// 500 sps: a Pi's GPIO edge-to-handler latency is 0.6 ms on its own,
// FACTS.md, plus the Go scheduler and the collector) after one on time
// counts a conversion as overwritten when none was. sensing.EEG then adds
// a held copy of the frame before for it: the EEG gains a sample that was
// never converted and its time base stretches, moving every band's power
// towards lower frequencies. Correct: Skipped counts conversions actually
// missed, e.g. by anchoring the conversion grid at the earliest read seen
// (conversion k comes at anchor + k·tDR; a read at t is of conversion
// floor((t − anchor)/tDR)), so a read late by less than a period is 0.
func TestReviewReadLateWithinAPeriodSkipsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		// The signal tells the conversion's instant: 1 µV per ms.
		r := newRig(t, func(t time.Time, _ int) float64 { return float64(t.Sub(t0).Milliseconds()) }, nil)
		defer r.stop()
		var f ads1299.Frame
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		first := math.Round(r.dev.Microvolts(f.Raw[0]))
		// The next conversion comes 2 ms later; this reader comes 1.2 ms
		// after it, before the one after.
		time.Sleep(3200 * time.Microsecond)
		if err := r.dev.Read(&f, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		got := math.Round(r.dev.Microvolts(f.Raw[0]))
		if got != first+2 || f.Skipped != 0 {
			t.Errorf("read 1.2 ms late: conversion at %v ms, Skipped %d; want %v ms (the very next conversion), Skipped 0", got, f.Skipped, first+2)
		}
	})
}
