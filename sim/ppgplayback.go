package sim

import (
	"slices"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim/playback"
	"github.com/sleegation/podd/sim/scenario"
)

// ppgRecording makes a max30102 recording into the model's pulse
// (MAX30102.SetRecording), for a scenario whose clock starts at start.
//
// A recording with red and IR columns holds the chip's own counts: each
// channel's deviation from its median is taken relative to that median,
// so its perfusion and its ratio of ratios are the recording's. A
// recording of IR alone is a one-wavelength pleth of any unit whose
// systole is a peak (as a pulse sensor's output or a monitor's PLETH
// trace shows it): its deviation from the median, over its typical
// peak-to-peak amplitude (the 95th less the 5th percentile), becomes a
// pulse of PerfusionIR, counts falling at systole; the red channel moves
// R times as much, R the ratio of ratios that the scenario's SpO2 maps to
// (vitals.RatioFromSpO2), so that the SpO2 read follows the scenario.
// Past the end of a recording that does not loop the pulse is flat (the
// hardware has unplugged the chip by then).
func ppgRecording(pb *playback.Playback, spo2 func(time.Time) float64, start time.Time) func(time.Time) (ir, red float64) {
	hasRed := pb.Has(scenario.PlaybackRed)
	medIR, ampIR := levels(pb, scenario.PlaybackIR)
	medRed, _ := levels(pb, scenario.PlaybackRed)
	return func(t time.Time) (float64, float64) {
		s, ok := pb.At(t.Sub(start))
		if !ok {
			return 0, 0
		}
		if hasRed {
			return rel(s[scenario.PlaybackIR], medIR), rel(s[scenario.PlaybackRed], medRed)
		}
		if ampIR == 0 {
			return 0, 0
		}
		p := PerfusionIR * (s[scenario.PlaybackIR] - medIR) / ampIR
		return -p, -vitals.RatioFromSpO2(spo2(t)) * p
	}
}

func rel(x, dc float64) float64 {
	if dc == 0 {
		return 0
	}
	return (x - dc) / dc
}

// levels returns a column's median and its 95th less its 5th percentile,
// over the recording sampled every 10 ms.
func levels(pb *playback.Playback, slot int) (median, amplitude float64) {
	if !pb.Has(slot) {
		return 0, 0
	}
	var v []float64
	for d := time.Duration(0); d <= pb.End(); d += 10 * time.Millisecond {
		if s, ok := pb.At(d); ok {
			v = append(v, s[slot])
		}
	}
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	at := func(q float64) float64 { return v[min(int(q*float64(len(v))), len(v)-1)] }
	return at(0.5), at(0.95) - at(0.05)
}
