package sensing

import (
	"context"
	"flag"
	"math"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sensors/vitals"
	vitalseda "github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
	"github.com/sleegation/podd/sim"
)

// The default rate set of the pod's sensing (issue 8, "Speed").
const (
	rateEEG   = 500 // frames/s, 8 channels each
	ratePPG   = 100 // red/IR samples/s: the MAX30102 at 100 sps, no averaging
	rateSkin  = 10  // conversions/s
	rateTemp  = 1   // conversions/s
	eegChans  = 8
	ppgPeriod = 200 * time.Millisecond // controller.Config's default SensorPeriod
)

// samplesPerSecond counts one EEG frame (8 channels), one red/IR pair and
// one conversion each as a sample.
const samplesPerSecond = rateEEG + ratePPG + rateSkin + rateTemp

var benchWarmUp = flag.Duration("sensing.warmup", 2*time.Second,
	"BenchmarkRateSet: how long the rate set runs before it is measured")

// ppgDevice is the oximeter's path of controller.oximeterDevice without
// its faults' bookkeeping: a FIFO drain, lost samples bridged, every
// sample into the estimator, an estimate per poll.
type ppgDevice struct {
	dev *max30102.Dev
	est *vitals.Estimator
	buf []max30102.Sample
	// latest, if not nil, is handed each estimate.
	latest func(vitals.Reading)
}

func (d *ppgDevice) Poll(time.Time) (Poll, error) {
	n, lost, err := d.dev.ReadFIFO(d.buf)
	if err != nil {
		return Poll{}, err
	}
	if lost > 0 {
		d.est.Bridge(lost)
	}
	for _, s := range d.buf[:n] {
		d.est.Add(s.Red, s.IR)
	}
	r := d.est.Estimate()
	if d.latest != nil {
		d.latest(r)
	}
	return Poll{Fresh: n > 0}, nil
}

func (d *ppgDevice) Halt() error { return d.dev.Halt() }

// rateSet is the four sensors on their simulated chips, each on its own
// bus (so that each bus counts one device's transactions), run by their
// sensing loops as the daemon runs them.
type rateSet struct {
	eegPort                  *sim.SPIPort
	ppgBus, skinBus, tempBus *sim.I2CBus
	loops                    []*Loop
	cancel                   context.CancelFunc
	wg                       sync.WaitGroup
}

func newRateSet(tb testing.TB) *rateSet {
	tb.Helper()
	t0 := time.Now()
	rs := &rateSet{}
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel

	// EEG: sleep stage N2's bands with 1/f noise, blinks and movements.
	sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8},
		PinkNoise: 3, BlinksPerMinute: 15, MovementsPerMinute: 1, Start: t0, Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	drdy := sim.NewLine("DRDY", 25)
	chip := sim.NewADS1299(sig.At, drdy)
	rs.eegPort = sim.NewSPIPort("spi-eeg", chip)
	rs.wg.Go(func() { _ = chip.Run(ctx) })
	var eegDev *ads1299.Dev
	eegSensor, err := EEG(func() (*ads1299.Dev, error) {
		if eegDev != nil {
			return eegDev, eegDev.Restart()
		}
		o := ads1299.DefaultOpts()
		d, err := ads1299.New(rs.eegPort, drdy, &o)
		eegDev = d
		return d, err
	}, eegChans, rateEEG, ads1299.DefaultOpts().Gain)
	if err != nil {
		tb.Fatal(err)
	}

	// PPG: 62 bpm, 97 %, at 100 sps.
	rs.ppgBus = sim.NewI2CBus("i2c-ppg")
	if err := rs.ppgBus.Attach(sim.MAX30102Addr, sim.NewMAX30102(func(time.Time) (float64, float64) { return 62, 97 }, 7)); err != nil {
		tb.Fatal(err)
	}
	ppgOpts := max30102.DefaultOpts
	ppgOpts.SampleRate, ppgOpts.Averaging = ratePPG*physic.Hertz, 1
	ppgSensor := Sensor{
		Name: "max30102",
		Open: func() (Device, error) {
			d, err := max30102.New(rs.ppgBus, &ppgOpts)
			if err != nil {
				return nil, err
			}
			return &ppgDevice{dev: d, est: vitals.NewEstimator(d.SampleRate()), buf: make([]max30102.Sample, max30102.FIFODepth)}, nil
		},
		Period: ppgPeriod, StaleAfter: time.Second, ReopenAfter: 3 * time.Second,
	}

	// Skin conductance: 2 µS with a slow 1 % swing, through the divider.
	circuit := eda.DefaultDivider
	rs.skinBus = sim.NewI2CBus("i2c-eda")
	if err := rs.skinBus.Attach(ads1115.AddrVDD, sim.NewADS1115(func(now time.Time) float64 {
		return circuit.Volts(2 * (1 + 0.01*math.Sin(2*math.Pi*now.Sub(t0).Seconds()/20)))
	})); err != nil {
		tb.Fatal(err)
	}
	skinSensor, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(rs.skinBus, &ads1115.DefaultOpts) }, circuit, rateSkin)
	if err != nil {
		tb.Fatal(err)
	}

	// Body temperature: 36.6 °C drifting by 0.1 °C over 10 minutes.
	rs.tempBus = sim.NewI2CBus("i2c-temp")
	if err := rs.tempBus.Attach(tmp117.AddrGND, sim.NewTMP117(func(now time.Time) float64 {
		return 36.6 + 0.1*math.Sin(2*math.Pi*now.Sub(t0).Seconds()/600)
	})); err != nil {
		tb.Fatal(err)
	}
	tempSensor, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(rs.tempBus, &tmp117.DefaultOpts) }, rateTemp)
	if err != nil {
		tb.Fatal(err)
	}

	for _, s := range []Sensor{eegSensor, ppgSensor, skinSensor, tempSensor} {
		l, err := New(s, nil)
		if err != nil {
			tb.Fatal(err)
		}
		rs.loops = append(rs.loops, l)
		rs.wg.Go(func() { _ = l.Run(ctx) })
	}
	return rs
}

func (rs *rateSet) stop() { rs.cancel(); rs.wg.Wait() }

// txs returns the transactions each bus carried: EEG, PPG, skin
// conductance, temperature.
func (rs *rateSet) txs() [4]int {
	return [4]int{rs.eegPort.Transactions(), rs.ppgBus.Transactions(), rs.skinBus.Transactions(), rs.tempBus.Transactions()}
}

// minTxsPerSecond is the fewest transactions the rate set needs: one per
// EEG frame, one burst per PPG FIFO drain (a 32-sample FIFO at 100 sps),
// one per conversion of the ADS1115 and of the TMP117.
var minTxsPerSecond = [4]float64{rateEEG, ratePPG / float64(max30102.FIFODepth), rateSkin, rateTemp}

// cpuTime is the process's user and system CPU time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRateSet runs the default rate set (8-channel EEG at 500 sps,
// PPG at 100 sps, skin conductance at 10 sps, temperature at 1 sps)
// through the drivers, decoding and estimators on the simulator's chips
// and buses, each sensor on its sensing loop as in the daemon. One op is
// one second of signal.
//
// The loops and the models pace themselves on the real clock: a benchmark
// cannot run in a testing/synctest bubble (synctest.Test takes a
// *testing.T), so the op waits the second out, ns/op is about 1e9 by
// construction, and the CPU the process spent meanwhile (getrusage: user
// plus system, every goroutine, the garbage collector, and the simulated
// chips' own work) is the figure: cpu-ms/signal-s and core-% (of one
// core). allocs/op is per second of signal, allocs/sample per frame or
// sample of any sensor (611 a second; the process's allocations, from
// runtime.MemStats). txs/s is every bus's transactions a
// second, min-txs/s what the rate set needs at least (minTxsPerSecond).
// The sensors run -sensing.warmup before the measurement.
func BenchmarkRateSet(b *testing.B) {
	rs := newRateSet(b)
	defer rs.stop()
	time.Sleep(*benchWarmUp)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	tx0, cpu0, wall0 := rs.txs(), cpuTime(b), time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	cpu, wall, tx1 := cpuTime(b)-cpu0, time.Since(wall0), rs.txs()
	runtime.ReadMemStats(&m1)
	for _, l := range rs.loops {
		if h := l.Health(); h.State != OK {
			b.Errorf("%s: %+v, want ok: the benchmark did not measure a working rate set", l.Name(), h)
		}
	}
	sec := wall.Seconds()
	b.ReportMetric(cpu.Seconds()*1e3/sec, "cpu-ms/signal-s")
	b.ReportMetric(cpu.Seconds()/sec*100, "core-%")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/sec/samplesPerSecond, "allocs/sample")
	total, minTotal := 0.0, 0.0
	for i, name := range []string{"eeg", "ppg", "eda", "temp"} {
		got := float64(tx1[i]-tx0[i]) / sec
		b.ReportMetric(got, name+"-txs/s")
		total += got
		minTotal += minTxsPerSecond[i]
	}
	b.ReportMetric(total, "txs/s")
	b.ReportMetric(minTotal, "min-txs/s")
}

// BenchmarkRateSetEstimators is BenchmarkRateSet's baseline: the same
// second of signal given to the same estimators directly (no driver, bus,
// model or loop), with as many estimates as the sensors make (the EEG
// every 100 ms batch, the PPG every 200 ms poll, skin conductance and
// temperature every sample). One op is one second of signal; ns/op is CPU
// time (one goroutine, no waiting). The estimators run a minute of signal
// first, so every window is full.
func BenchmarkRateSetEstimators(b *testing.B) {
	eo := eeg.DefaultOpts
	eo.Channels, eo.SampleRateHz = eegChans, rateEEG
	eo.FullScaleMicrovolts = ads1299.VREF / 24 * 1e6
	eegEst, err := eeg.New(eo)
	if err != nil {
		b.Fatal(err)
	}
	ppgEst := vitals.NewEstimator(ratePPG)
	skinEst, err := vitalseda.New(rateSkin)
	if err != nil {
		b.Fatal(err)
	}
	tempEst, err := temp.New(rateTemp)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8},
		PinkNoise: 3, BlinksPerMinute: 15, MovementsPerMinute: 1, Start: time.Unix(0, 0), Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	// Ten seconds of signal, replayed: EEG frames, a 62 bpm PPG, skin
	// conductance with a slow swing, a body temperature.
	const span = 10
	eegFrames := make([][]float64, span*rateEEG)
	for i := range eegFrames {
		at := time.Unix(0, 0).Add(time.Duration(i) * time.Second / rateEEG)
		eegFrames[i] = make([]float64, eegChans)
		for ch := range eegChans {
			eegFrames[i][ch] = sig.At(at, ch+1)
		}
	}
	ppg := make([][2]uint32, span*ratePPG) // red, IR
	r := vitals.RatioFromSpO2(97)
	for i := range ppg {
		phase := math.Mod(float64(i)*62/60/ratePPG, 1)
		p := math.Exp(-0.5 * math.Pow((phase-0.2)/0.08, 2))
		ppg[i] = [2]uint32{uint32(90000 * (1 - r*0.01*p)), uint32(120000 * (1 - 0.01*p))}
	}
	skin := make([]float64, span*rateSkin)
	for i := range skin {
		skin[i] = 2 * (1 + 0.01*math.Sin(2*math.Pi*float64(i)/rateSkin/20))
	}
	k := 0
	second := func() {
		base := k % span
		for i := range rateEEG {
			eegEst.Add(eegFrames[base*rateEEG+i])
			if (i+1)%(rateEEG/10) == 0 {
				eegEst.Estimate()
			}
		}
		for i := range ratePPG {
			s := ppg[base*ratePPG+i]
			ppgEst.Add(s[0], s[1])
			if (i+1)%(ratePPG/5) == 0 {
				ppgEst.Estimate()
			}
		}
		for i := range rateSkin {
			skinEst.Add(skin[base*rateSkin+i])
			skinEst.Estimate()
		}
		tempEst.Add(36.6 + 0.01*float64(k%7))
		tempEst.Estimate()
		k++
	}
	for range 60 {
		second()
	}
	if e, p, s, t := eegEst.Estimate(), ppgEst.Estimate(), skinEst.Estimate(), tempEst.Estimate(); !e.Summary.Valid || !p.Valid() || !s.Valid || !t.Valid {
		b.Fatalf("not valid after a minute (the baseline would measure early exits): eeg %v, ppg %+v, eda %+v, temp %+v", e.Summary.Valid, p, s, t)
	}
	b.ReportAllocs()
	for b.Loop() {
		second()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "cpu-ms/signal-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e9/float64(b.N)*100, "core-%")
}
