package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// SensorCheck reports the oximeter's health with when it last delivered
// fresh data, and its latest reading with the ratio of ratios; a board
// with its LEDs swapped shows a ratio ChannelsLookSwapped judges swapped.
func TestSensorCheckReportsTheOximetersReadingAndRatio(t *testing.T) {
	for _, swapped := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			r := newRig(t, calm, &memStore{})
			defer r.stop()
			r.hw.Oximeter.SetLEDsSwapped(swapped)
			until(start, 20*time.Second)
			c := r.pod.SensorCheck()
			if !c.At.Equal(time.Now().UTC()) || len(c.Sensors) == 0 || c.Sensors[0].Name != "max30102" || c.Sensors[0].State != "ok" {
				t.Fatalf("swapped %v: check %+v: want the oximeter first, ok", swapped, c)
			}
			if f := c.Sensors[0].LastFresh; f == nil || time.Since(*f) > time.Second {
				t.Fatalf("swapped %v: last fresh %v: want within a second", swapped, f)
			}
			o := c.Oximeter
			if o == nil || o.HeartRateBPM == nil || o.Contact != "skin" {
				t.Fatalf("swapped %v: oximeter %+v: want a pulse on skin", swapped, o)
			}
			if ChannelsLookSwapped(o.Ratio) != swapped {
				t.Fatalf("swapped %v: ratio %.2f judged swapped %v", swapped, o.Ratio, ChannelsLookSwapped(o.Ratio))
			}
		})
	}
}
