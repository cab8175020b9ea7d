package controller

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// The swapped-channels check. Some MAX30102 clone boards wire the red and IR
// LEDs the other way round; read as wired on the reference board, their
// ratio of ratios is the inverse of the true one. A sleeper who is well
// (SpO2 89 % or more: R at most 0.7 by vitals.SpO2FromRatio) then shows R
// of 1.43 or more, which the calibration reads as an SpO2 below 66 %, or
// not at all above R 1.8. The pod cannot tell that from a sleeper in
// severe hypoxaemia, and does not try to: the safety rules act on the
// readings as they are (a low SpO2 trips spo2_low, none at all
// vitals_stale). The check only tells the technician what else it may be,
// in a max30102 fault, so that a board wired the other way round is found
// at its first night rather than after a week of aborts.
const (
	// swapSuspectRatio is the least R that a sleeper who is well gives
	// when the channels are swapped: 1/0.7.
	swapSuspectRatio = 1 / 0.7
	// swapClearRatio ends the fault: an R a correctly wired board gives
	// for an SpO2 above 80 % (about 0.97).
	swapClearRatio = 0.97
	// swapSuspectAfter is how long every measured R must stay at or above
	// swapSuspectRatio, with a regular pulse, before the fault is reported.
	swapSuspectAfter = 30 * time.Second
	// swapRunGap ends a run of suspect ratios: a run with no measured R
	// for longer (a finger off, a sensor fault) starts again.
	swapRunGap = 5 * time.Second
)

// ChannelsLookSwapped reports whether a measured ratio of ratios R (with a
// regular pulse) is one a sleeper who is well gives only with the board's
// red and IR channels swapped: R at or above 1/0.7, an SpO2 below 66 % by
// vitals.SpO2FromRatio. The pod's fault waits for swapSuspectAfter of
// such ratios; a technician's test of a finger that is well may judge one.
func ChannelsLookSwapped(ratio float64) bool { return ratio >= swapSuspectRatio }

// FaultChannelsSwapped is the fault of an oximeter whose red and IR
// channels look swapped.
const FaultChannelsSwapped = "channels_swapped"

// swapCheck watches the ratio of ratios for swapped channels. Only the
// oximeter's loop touches it.
type swapCheck struct {
	pod    *Pod
	since  time.Time // the first of the run of suspect ratios; zero when none
	last   time.Time // the latest suspect ratio of the run
	active bool      // the fault was reported and has not ended
}

// observe notes one reading: a measured R (a valid heart rate) at or above
// swapSuspectRatio continues the run (or starts one, after swapRunGap
// without any), one below it ends it; a reading without R says nothing.
func (c *swapCheck) observe(r vitals.Reading) {
	if !r.HeartRateValid || r.Ratio == 0 {
		return
	}
	if r.Ratio < swapSuspectRatio {
		c.since = time.Time{}
		if c.active && r.Ratio <= swapClearRatio {
			c.active = false
			c.pod.log.Info("oximeter ratio back in range", "device", "max30102", "ratio", round2(r.Ratio))
			c.pod.post(uplink.Event{Type: "fault", Fields: map[string]any{
				"device": "max30102", "fault": FaultChannelsSwapped, "active": false, "ratio": round2(r.Ratio),
			}}, r.At)
		}
		return
	}
	if c.since.IsZero() || r.At.Sub(c.last) > swapRunGap {
		c.since = r.At
	}
	c.last = r.At
	if c.active || r.At.Sub(c.since) < swapSuspectAfter {
		return
	}
	c.active = true
	msg := fmt.Sprintf("ratio of ratios %.2f for %s with a regular pulse: an SpO2 below 66 %%, or the board's red and IR LEDs wired the other way round (if the sleeper is well, set hardware.oximeter_leds_swapped)",
		r.Ratio, swapSuspectAfter)
	c.pod.log.Warn("oximeter channels may be swapped", "device", "max30102", "ratio", round2(r.Ratio))
	c.pod.post(uplink.Event{Type: "fault", Fields: map[string]any{
		"device": "max30102", "fault": FaultChannelsSwapped, "active": true, "ratio": round2(r.Ratio), "error": msg,
	}}, r.At)
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
