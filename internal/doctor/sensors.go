package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/wiring"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sensors/vitals"
)

// SensorTestTime is how long the sensors' self-test reads each sensor
// directly (podd not running): the pulse oximeter's estimator gives its
// first heart rate after about 5 s of a regular pulse.
const SensorTestTime = 10 * time.Second

// MaxSensorTestTime is the longest the sensors' self-test reads the
// sensors directly: well within journal.ToolWait, the time a podd started
// meanwhile waits for the test to let the hardware go.
const MaxSensorTestTime = journal.ToolWait - 10*time.Second

// oximeterPoll is how often the test empties the MAX30102's FIFO (32
// samples: 320 ms at 100 sps).
const oximeterPoll = 100 * time.Millisecond

// swapFix is the fix for a pulse oximeter whose channels look swapped.
func swapFix(swapped *bool) string {
	switch {
	case swapped == nil:
		return "if the finger's owner is well, the board wires its LEDs the other way round: set hardware.oximeter_leds_swapped to the opposite of its value in podd's configuration, and restart podd"
	case *swapped:
		return "if the finger's owner is well, this board wires its LEDs as the reference board does: set hardware.oximeter_leds_swapped: false, and restart podd"
	}
	return "if the finger's owner is well, the board wires its LEDs the other way round (some MAX30102 clones): set hardware.oximeter_leds_swapped: true, and restart podd"
}

// TestSensors reads each configured sensor gently for a while and judges
// it: its ID (the driver's check when it opens the chip), data flowing,
// values plausible, and for the pulse oximeter the red/IR wiring
// (controller.ChannelsLookSwapped, on a finger with a regular pulse).
// While podd runs it asks podd (the sensors' self-test of POST
// /v1/selftest, api.SensorWindow); otherwise it opens the chips itself
// for d (SensorTestTime when 0), each with the pod's driver and options,
// and halts them after.
func (d *Doctor) TestSensors(ctx context.Context, dur time.Duration) ([]Result, error) {
	_, state, sock := d.socket(ctx)
	switch state {
	case podUp:
		ctx, cancel := context.WithTimeout(ctx, api.SensorWindow+10*time.Second)
		defer cancel()
		r, err := d.Pod.SelfTest(ctx, api.SelfTestSensors)
		if err != nil {
			return nil, fmt.Errorf("podd's sensors' self-test: %w", err)
		}
		if r.Sensors == nil {
			return nil, fmt.Errorf("podd's sensors' self-test: an empty reply")
		}
		swapped := d.Config.Hardware.OximeterLEDsSwapped
		return JudgeSensorCheck(r.Sensors.First, r.Sensors.Last, &swapped), nil
	case podUnknown:
		return nil, fmt.Errorf("cannot tell whether podd runs, so the sensors are left alone: %s", sock.Detail)
	}
	if dur <= 0 {
		dur = SensorTestTime
	}
	if dur > MaxSensorTestTime {
		return nil, fmt.Errorf("reading the sensors for %v: at most %v, so that a podd starting meanwhile, which waits %v for the test to let the hardware go, does not give up and drive the same chips", dur, MaxSensorTestTime, journal.ToolWait)
	}
	hw, err := d.claimHardware()
	if err != nil {
		return nil, err
	}
	defer hw.Close()
	return testSensors(ctx, d.Config, hw, dur), nil
}

// testSensors reads every configured sensor at once for dur.
func testSensors(ctx context.Context, cfg *configs.Config, hw Hardware, dur time.Duration) []Result {
	ctx, cancel := context.WithCancel(ctx)
	var models sync.WaitGroup
	models.Go(func() { _ = hw.Run(ctx) })
	defer func() {
		cancel()
		models.Wait()
	}()
	type job struct {
		name string
		run  func(context.Context) Result
	}
	jobs := []job{{"max30102", func(ctx context.Context) Result { return testOximeter(ctx, cfg, hw, dur) }}}
	s := cfg.Sensors
	if s.ADS1299.Enabled {
		jobs = append(jobs, job{"ads1299", func(ctx context.Context) Result { return testEEG(ctx, cfg, hw, dur) }})
	}
	if s.ADS1115.Enabled {
		jobs = append(jobs, job{"ads1115", func(ctx context.Context) Result { return testSkin(ctx, cfg, hw, dur) }})
	}
	if s.TMP117.Enabled {
		jobs = append(jobs, job{"tmp117", func(ctx context.Context) Result { return testThermometer(ctx, cfg, hw, dur) }})
	}
	out := make([]Result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { out[i] = j.run(ctx) })
	}
	wg.Wait()
	return out
}

// testOximeter opens the MAX30102 with the pod's options, empties its
// FIFO every oximeterPoll for dur into the pod's estimator, and judges
// the samples and the estimate.
func testOximeter(ctx context.Context, cfg *configs.Config, hw Hardware, dur time.Duration) Result {
	const check = "sensor max30102"
	bus, err := hw.I2C(cfg.Bus(cfg.Sensors.MAX30102.I2CBus))
	if err != nil {
		return fail(check, fmt.Sprintf("cannot open its I2C bus: %v", err), "podctl doctor checks the bus's device node")
	}
	opts := wiring.MAX30102(cfg)
	dev, err := max30102.New(bus, &opts)
	if err != nil {
		return fail(check, "ID: "+err.Error(), "check its wiring and supply; podctl scan lists what answers")
	}
	defer dev.Halt()
	est := vitals.NewEstimator(dev.SampleRate())
	buf := make([]max30102.Sample, max30102.FIFODepth)
	var samples, lost int
	t := time.NewTicker(oximeterPoll)
	defer t.Stop()
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return skip(check, "interrupted")
		case <-t.C:
		}
		n, l, err := dev.ReadFIFO(buf)
		if err != nil {
			return fail(check, fmt.Sprintf("data: %v after %d samples", err, samples), "check its wiring and supply")
		}
		samples, lost = samples+n, lost+l
		for _, s := range buf[:n] {
			est.Add(s.Red, s.IR)
		}
	}
	r := est.Estimate()
	swapped := cfg.Hardware.OximeterLEDsSwapped
	return judgeOximeter(check, fmt.Sprintf("PART_ID 0x15, %d samples in %s", samples, dur), samples, int(dev.SampleRate()*dur.Seconds()), reading(r), &swapped)
}

func reading(r vitals.Reading) *controller.OximeterReading {
	o := &controller.OximeterReading{Ratio: r.Ratio, Contact: r.Contact.String()}
	if r.HeartRateValid {
		o.HeartRateBPM = &r.HeartRateBPM
	}
	if r.SpO2Valid {
		o.SpO2Pct = &r.SpO2Pct
	}
	return o
}

// judgeOximeter judges the pulse oximeter's data (samples of want; want
// 0: not counted) and its reading r: no finger is a warning (the pulse and
// the wiring are not judged), a ratio of ratios of swapped channels a
// failure with the configuration's fix.
func judgeOximeter(check, data string, samples, want int, r *controller.OximeterReading, swapped *bool) Result {
	if want > 0 && samples < want/2 {
		return fail(check, fmt.Sprintf("%s: want about %d", data, want), "the chip answers but samples slowly or not at all: check its supply")
	}
	switch {
	case r == nil:
		return fail(check, data+": no reading", "")
	case r.Contact == vitals.ContactNone.String():
		return warn(check, data+"; no finger on the sensor: the pulse and the red/IR wiring are not judged", "put a finger on the sensor, hold still, and run the test again")
	case r.HeartRateBPM == nil:
		return warn(check, data+"; no regular pulse found", "hold the finger still on the sensor and run the test again")
	case controller.ChannelsLookSwapped(r.Ratio):
		return fail(check, fmt.Sprintf("%s; pulse %.0f bpm, but a ratio of ratios of %.2f: an SpO2 below 66 %%, or red and IR swapped", data, *r.HeartRateBPM, r.Ratio), swapFix(swapped))
	case r.SpO2Pct == nil:
		return warn(check, fmt.Sprintf("%s; pulse %.0f bpm, no SpO2 (ratio of ratios %.2f)", data, *r.HeartRateBPM, r.Ratio), "hold the finger still on the sensor and run the test again")
	}
	return pass(check, fmt.Sprintf("%s; pulse %.0f bpm, SpO2 %.0f %% (ratio of ratios %.2f): red and IR as configured", data, *r.HeartRateBPM, *r.SpO2Pct, r.Ratio))
}

// runLoop keeps s read by the pod's sensing loop for dur and returns its
// health and vitals then.
func runLoop(ctx context.Context, s sensing.Sensor, dur time.Duration) (sensing.Health, sensing.Vitals, error) {
	l, err := sensing.New(s, nil)
	if err != nil {
		return sensing.Health{}, sensing.Vitals{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Run(ctx) })
	t := time.NewTimer(dur)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	h := l.Health()
	var v sensing.Vitals
	l.Report(&v)
	cancel()
	wg.Wait()
	return h, v, nil
}

// judgeLoop judges a sensor by its loop's health after the test: ok with
// a value is a pass; no contact or electrodes off a warning (nobody on
// it); anything else a failure.
func judgeLoop(check, key string, h sensing.Health, value string) Result {
	fresh := "no fresh data"
	if !h.LastFresh.IsZero() {
		fresh = "data flowing"
	}
	switch {
	case h.State == sensing.OK && value != "":
		return pass(check, fmt.Sprintf("ID checked, %s, %s", fresh, value))
	case h.State == sensing.NoContact || h.State == sensing.LeadOff:
		return warn(check, fmt.Sprintf("ID checked, %s, %s: nobody on it", fresh, h.State), "put the sensor on someone (or the electrodes on the skin) and run the test again")
	case h.State == sensing.OK && !h.LastFresh.IsZero():
		return pass(check, fmt.Sprintf("ID checked, %s, no fault found (its estimate needs longer than the test)", fresh))
	case h.State == sensing.OK || h.State == sensing.Starting && h.OpenErrors == 0:
		return warn(check, fmt.Sprintf("ID checked, %s, no value yet", fresh), "run the test longer (--for)")
	}
	detail := string(h.State)
	if h.Err != "" {
		detail += ": " + h.Err
	}
	return fail(check, fmt.Sprintf("%s (%d failed opens, %d failed reads)", detail, h.OpenErrors, h.PollErrors), "check its wiring, supply and "+key+".*")
}

// bodyRangeC is what a TMP117 on the body, or off it in a room, may
// plausibly read, °C: outside it the chip or its wiring is wrong.
var bodyRangeC = [2]float64{10, 45}

// skinBelowC: a reading below it is a sensor off the skin.
const skinBelowC = 30.0

// testThermometer opens the TMP117 with the pod's options and reads each
// fresh result for dur.
func testThermometer(ctx context.Context, cfg *configs.Config, hw Hardware, dur time.Duration) Result {
	const check = "sensor tmp117"
	t := cfg.Sensors.TMP117
	bus, err := hw.I2C(cfg.Bus(t.I2CBus))
	if err != nil {
		return fail(check, fmt.Sprintf("cannot open its I2C bus: %v", err), "podctl doctor checks the bus's device node")
	}
	opts := wiring.TMP117(cfg)
	dev, err := tmp117.New(bus, &opts)
	if err != nil {
		return fail(check, "ID: "+err.Error(), "check its wiring, supply and sensors.tmp117.address; podctl scan lists what answers")
	}
	defer dev.Halt()
	var vals []float64
	err = every(ctx, dev.ConversionCycle()/4, dur, func() error {
		c, fresh, err := dev.Read()
		if err == nil && fresh {
			vals = append(vals, c)
		}
		return err
	})
	data := fmt.Sprintf("Device_ID 0x0117, %d results in %s", len(vals), dur)
	switch {
	case err != nil:
		return fail(check, fmt.Sprintf("%s, then: %v", data, err), "check its wiring and supply")
	case len(vals) == 0:
		return fail(check, data, "the chip converts nothing: check its supply")
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	span := fmt.Sprintf("%s; %.2f..%.2f °C at the sensor", data, lo, hi)
	switch {
	case lo < bodyRangeC[0] || hi > bodyRangeC[1]:
		return fail(check, span+": not a temperature a body or a room gives", "a faulty chip or board: replace it")
	case hi < skinBelowC:
		return warn(check, span+": off the skin", "put the sensor on the skin and run the test again")
	}
	return pass(check, span)
}

// testSkin opens the ADS1115 with the pod's options and reads the skin
// conductance divider for dur, at sensors.ads1115.rate_hz.
func testSkin(ctx context.Context, cfg *configs.Config, hw Hardware, dur time.Duration) Result {
	const check = "sensor ads1115"
	a := cfg.Sensors.ADS1115
	bus, err := hw.I2C(cfg.Bus(a.I2CBus))
	if err != nil {
		return fail(check, fmt.Sprintf("cannot open its I2C bus: %v", err), "podctl doctor checks the bus's device node")
	}
	opts, circuit := wiring.ADS1115(cfg)
	dev, err := ads1115.New(bus, &opts)
	if err != nil {
		return fail(check, "ID: "+err.Error(), "check its wiring, supply and sensors.ads1115.address; podctl scan lists what answers")
	}
	defer dev.Halt()
	var us []float64
	var last error
	err = every(ctx, time.Second/time.Duration(a.RateHz), dur, func() error {
		v, err := dev.Read()
		if errors.Is(err, ads1115.ErrSaturated) {
			last = err
			return nil
		}
		if err != nil {
			return err
		}
		g, cerr := circuit.Conductance(v)
		if cerr != nil {
			last = cerr
			return nil
		}
		us = append(us, g)
		return nil
	})
	data := fmt.Sprintf("Config read back as written, %d conversions in %s", len(us), dur)
	switch {
	case err != nil:
		return fail(check, fmt.Sprintf("%s, then: %v", data, err), "check its wiring and supply")
	case len(us) == 0 && last != nil:
		if errors.Is(last, eda.ErrOpenCircuit) {
			return warn(check, fmt.Sprintf("%s; %v: no skin on the electrodes", data, last), "put the electrodes on the skin and run the test again")
		}
		return fail(check, fmt.Sprintf("%s; %v", data, last), "a shorted electrode lead, or the divider not as sensors.ads1115.supply_v and ref_ohms say")
	case len(us) == 0:
		return fail(check, data, "the chip converts nothing: check its supply")
	}
	return pass(check, fmt.Sprintf("%s; skin conductance %.2f..%.2f µS", data, slices.Min(us), slices.Max(us)))
}

// every calls f every period for dur, until it fails or ctx is done.
func every(ctx context.Context, period, dur time.Duration, f func() error) error {
	t := time.NewTicker(period)
	defer t.Stop()
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func testEEG(ctx context.Context, cfg *configs.Config, hw Hardware, dur time.Duration) Result {
	const check = "sensor ads1299"
	e := cfg.Sensors.ADS1299
	port, err := hw.SPI(e.SPIPort)
	if err != nil {
		return fail(check, fmt.Sprintf("cannot open its SPI port: %v", err), "podctl doctor checks the port's device node")
	}
	drdy, err := hw.Pin(e.DRDY)
	if err != nil {
		return fail(check, fmt.Sprintf("DRDY line %s: %v", e.DRDY, err), noLineFix)
	}
	opts := wiring.ADS1299(cfg)
	var dev *ads1299.Dev
	open := func() (*ads1299.Dev, error) {
		// periph's ports connect once: a second open restarts the chip.
		if dev != nil {
			return dev, dev.Restart()
		}
		d, err := ads1299.New(port, drdy, &opts)
		if err != nil {
			return nil, err
		}
		dev = d
		return d, nil
	}
	s, err := sensing.EEG(open, e.Channels, e.RateHz, e.Gain)
	if err != nil {
		return fail(check, err.Error(), "")
	}
	h, v, err := runLoop(ctx, s, dur)
	if err != nil {
		return fail(check, err.Error(), "")
	}
	value := ""
	if a, ok := v.EEG["alpha"]; ok {
		value = fmt.Sprintf("%d channels, alpha %.0f %% of the power", e.Channels, a*100)
	}
	return judgeLoop(check, "sensors.ads1299", h, value)
}

// JudgeSensorCheck judges podd's sensors' self-test: each sensor by its
// health at the end of the window and whether it delivered fresh data
// during it, the pulse oximeter also by its latest reading (judgeOximeter).
// swapped is hardware.oximeter_leds_swapped as podd runs, nil if unknown.
func JudgeSensorCheck(first, last controller.SensorCheck, swapped *bool) []Result {
	var out []Result
	for _, s := range last.Sensors {
		check := "sensor " + s.Name
		flowing := s.LastFresh != nil && s.LastFresh.After(first.At)
		data := "ID checked when podd opened it"
		if flowing {
			data += ", data flowing"
		} else {
			data += ", no fresh data in " + last.At.Sub(first.At).Round(time.Second).String()
		}
		var r Result
		switch {
		case s.State != "ok" && s.State != "no_contact" && s.State != "lead_off":
			detail := s.State
			if s.Error != "" {
				detail += ": " + s.Error
			}
			r = fail(check, "podd reports it "+detail, "check its wiring, supply and sensors."+s.Name+".*; podctl status explains each state")
		case !flowing:
			r = fail(check, data, "the chip answers nothing new: check its supply; podd reopens it")
		case s.State != "ok":
			r = warn(check, data+", "+s.State+": nobody on it", "put the sensor on someone and run the test again")
		case s.Name == "max30102":
			r = judgeOximeter(check, data, 0, 0, last.Oximeter, swapped)
		default:
			r = pass(check, data+", podd judges its values plausible")
		}
		out = append(out, r)
	}
	return out
}
