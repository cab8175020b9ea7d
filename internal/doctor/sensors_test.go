package doctor

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/controller"
)

// selfTest runs the sensors' self-test on the simulator of
// configs/sim.yaml (podd stopped) for SensorTestTime, after prepare has
// set its models up; the simulator's clock is synctest's.
func selfTest(t *testing.T, prepare func(*SimHardware)) []line {
	t.Helper()
	cfg := simConfig(t, t.TempDir())
	var out []Result
	synctest.Test(t, func(t *testing.T) {
		d, c := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
			h, err := NewSim(cfg)
			if err == nil && prepare != nil {
				prepare(h)
			}
			return h, err
		})
		defer c.Close()
		rs, err := d.TestSensors(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		out = rs
	})
	return lines(out)
}

// The calm sleeper of configs/sim.yaml: every sensor passes, each with
// what it read.
func TestTheSensorSelfTestPassesTheSimulatedSleeper(t *testing.T) {
	got := selfTest(t, nil)
	want := []line{
		{"sensor max30102", Pass, "PART_ID 0x15, 250 samples in 10s; pulse 58 bpm, SpO2 97 % (ratio of ratios 0.46): red and IR as configured"},
		{"sensor ads1299", Pass, "ID checked, data flowing, no fault found (its estimate needs longer than the test)"},
		{"sensor ads1115", Pass, "Config read back as written, 40 conversions in 10s; skin conductance 2.00..2.01 µS"},
		{"sensor tmp117", Pass, "Device_ID 0x0117, 10 results in 10s; 36.59..36.59 °C at the sensor"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results:\n%s\nwant:\n%s", show(got), show(want))
	}
}

// A clone board with its red and IR LEDs the other way round: the pulse
// is found, the ratio of ratios is the inverse of a well sleeper's, and
// the fix names the configuration key.
func TestTheSensorSelfTestNoticesASwappedRedAndIR(t *testing.T) {
	got := selfTest(t, func(h *SimHardware) { h.HW.Oximeter.SetLEDsSwapped(true) })
	want := line{"sensor max30102", Fail, "PART_ID 0x15, 250 samples in 10s; pulse 58 bpm, but a ratio of ratios of 2.16: an SpO2 below 66 %, or red and IR swapped"}
	if len(got) != 4 || got[0] != want {
		t.Fatalf("results:\n%s\nwant first:\n%s", show(got), show([]line{want}))
	}
	r := judgeOximeter("x", "d", 0, 0, &controller.OximeterReading{HeartRateBPM: ptr(58.0), Ratio: 2.16, Contact: "skin"}, ptr(false))
	if r.Fix != "if the finger's owner is well, the board wires its LEDs the other way round (some MAX30102 clones): set hardware.oximeter_leds_swapped: true, and restart podd" {
		t.Fatalf("fix %q", r.Fix)
	}
}

// A sensor off the finger, a thermometer off the skin: warnings that say
// what to do, not failures.
func TestTheSensorSelfTestWarnsOfAnEmptyPod(t *testing.T) {
	got := selfTest(t, func(h *SimHardware) {
		h.HW.Oximeter.SetFingerPresent(false)
	})
	if got[0].verdict != Warn || got[0].detail != "PART_ID 0x15, 250 samples in 10s; no finger on the sensor: the pulse and the red/IR wiring are not judged" {
		t.Fatalf("max30102 without a finger: %+v", got[0])
	}
}

func ptr[T any](v T) *T { return &v }

// Through podd: its two reads judged; a sensor with nothing fresh in the
// window fails, one nobody is on warns, the oximeter is judged by its
// reading.
func TestJudgeSensorCheck(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	t1 := t0.Add(3 * time.Second)
	fresh, stale := t0.Add(2*time.Second), t0.Add(-time.Minute)
	last := controller.SensorCheck{At: t1, Sensors: []controller.SensorCheckEntry{
		{SensorStatus: controller.SensorStatus{Name: "max30102", State: "ok"}, LastFresh: &fresh},
		{SensorStatus: controller.SensorStatus{Name: "ads1299", State: "lead_off"}, LastFresh: &fresh},
		{SensorStatus: controller.SensorStatus{Name: "ads1115", State: "ok"}, LastFresh: &stale},
		{SensorStatus: controller.SensorStatus{Name: "tmp117", State: "bus_error", Error: "tmp117 at 0x48: nack"}, LastFresh: &stale},
	}, Oximeter: &controller.OximeterReading{HeartRateBPM: ptr(61.0), Ratio: 1.9, Contact: "skin"}}
	got := lines(JudgeSensorCheck(controller.SensorCheck{At: t0}, last, ptr(true)))
	want := []line{
		{"sensor max30102", Fail, "ID checked when podd opened it, data flowing; pulse 61 bpm, but a ratio of ratios of 1.90: an SpO2 below 66 %, or red and IR swapped"},
		{"sensor ads1299", Warn, "ID checked when podd opened it, data flowing, lead_off: nobody on it"},
		{"sensor ads1115", Fail, "ID checked when podd opened it, no fresh data in 3s"},
		{"sensor tmp117", Fail, "podd reports it bus_error: tmp117 at 0x48: nack"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results:\n%s\nwant:\n%s", show(got), show(want))
	}
	if r := JudgeSensorCheck(controller.SensorCheck{At: t0}, last, ptr(true))[0]; r.Fix != swapFix(ptr(true)) || r.Fix == swapFix(ptr(false)) {
		t.Fatalf("fix with the LEDs configured swapped: %q", r.Fix)
	}
}
