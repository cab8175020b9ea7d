package sim

import (
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sim/scenario"
)

// eeg-n2.yaml says what a partial EEG recording plays as: channel 1 the
// recording, the seven others "their synthetic signal at the N2 band
// powers", and its blink (1m, 300 ms) added "on the recorded channel
// too". In the middle of the blink (its raised cosine at its peak, 150 µV
// on the frontal channels 1 and 2), channel 1 must be the recording plus
// 150 µV and channel 2 the synthetic signal plus 150 µV. Today the other
// channels read 0 µV and no artefact is added while a recording plays.
func TestEEGPlaybackKeepsTheSyntheticChannelsAndTheArtefacts(t *testing.T) {
	sc, err := scenario.Load("scenarios/eeg-n2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	hw, err := NewHardware(sc, 60, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Minute + 150*time.Millisecond
	rec, ok := sc.Playback(scenario.DeviceADS1299).At(mid)
	if !ok {
		t.Fatal("the looped recording has no sample at 1m0.15s")
	}
	at := t0.Add(mid)
	if got, want := hw.eegMicrovolts(at, 1), rec[0]+150; math.Abs(got-want) > 1e-9 {
		t.Errorf("channel 1 mid-blink: %.3f µV, want the recording's %.3f + 150", got, rec[0])
	}
	if got, want := hw.eegMicrovolts(at, 2), hw.eeg.At(at, 2)+150; math.Abs(got-want) > 1e-9 {
		t.Errorf("channel 2 mid-blink: %.3f µV, want the synthetic N2 signal %.3f + 150", got, hw.eeg.At(at, 2))
	}
}
