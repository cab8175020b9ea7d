package sensing

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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

var replayWarmUp = flag.Duration("sensing.replaywarmup", 3*time.Minute,
	"BenchmarkRateSetDrivers: the longest the rate set may take before every vital is valid")

// replaySeconds is how much signal the replay chips hold: more than the
// warm-up (a minute: the skin conductance's window) and a measurement,
// so that the signals do not start over while measured (they would at
// multiples of it: a step in every signal).
const replaySeconds = 240

// The replayed sleeper: a 62 bpm pulse at 97 % SpO2, EEG of sleep stage
// N2 with 1/f noise, blinks and movements, 2 µS of skin conductance with
// a slow 1 % swing, 36.6 °C drifting by 0.1 °C over ten minutes.
const (
	replayHR   = 62.0 // bpm
	replaySpO2 = 97.0 // %
	replaySkin = 2.0  // µS
	replayTemp = 36.6 // °C
)

var replayBands = [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}

// maxLostForBands is the most EEG frames lost a second with which
// replaySet.check judges the band powers (see there).
const maxLostForBands = rateEEG / 100

// replayLatest keeps the newest estimate of each sensor, as the safety
// watchdog does (Estimates: a copy under a short lock), and the pulse
// oximeter's (ppgDevice.latest); and for each sensor its newest valid
// estimate and how many estimates were made and valid.
type replayLatest struct {
	mu   sync.Mutex
	skin vitalseda.Reading
	temp temp.Reading
	eeg  eeg.Channel
	ppg  vitals.Reading
	// validSkin... are the newest valid estimates.
	validSkin vitalseda.Reading
	validTemp temp.Reading
	validEEG  eeg.Channel
	validPPG  vitals.Reading
	// made and valid count estimates: skin, temperature, EEG, PPG.
	made, valid [4]int
}

func (l *replayLatest) count(i int, ok bool) {
	l.made[i]++
	if ok {
		l.valid[i]++
	}
}

func (l *replayLatest) FeedSkinConductance(r vitalseda.Reading) {
	l.mu.Lock()
	l.skin = r
	if r.Valid {
		l.validSkin = r
	}
	l.count(0, r.Valid)
	l.mu.Unlock()
}

func (l *replayLatest) FeedBodyTemp(r temp.Reading) {
	l.mu.Lock()
	l.temp = r
	if r.Valid {
		l.validTemp = r
	}
	l.count(1, r.Valid)
	l.mu.Unlock()
}

func (l *replayLatest) FeedEEG(_ time.Time, s eeg.Channel) {
	l.mu.Lock()
	l.eeg = s
	if s.Valid {
		l.validEEG = s
	}
	l.count(2, s.Valid)
	l.mu.Unlock()
}

func (l *replayLatest) setPPG(r vitals.Reading) {
	l.mu.Lock()
	l.ppg = r
	if r.Valid() {
		l.validPPG = r
	}
	l.count(3, r.Valid())
	l.mu.Unlock()
}

// counts returns how many estimates were made and valid so far.
func (l *replayLatest) counts() (made, valid [4]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.made, l.valid
}

// invalid names the vitals not valid yet; empty when all are.
func (l *replayLatest) invalid() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := ""
	if !l.ppg.Valid() {
		s += fmt.Sprintf(" ppg %+v", l.ppg)
	}
	if !l.eeg.Valid {
		s += fmt.Sprintf(" eeg (%v)", l.eeg.Reason)
	}
	if !l.skin.Valid {
		s += fmt.Sprintf(" skin (%v)", l.skin.Reason)
	}
	if !l.temp.Valid {
		s += fmt.Sprintf(" temp (%v)", l.temp.Reason)
	}
	return s
}

// replaySet is the default rate set on the replay chips, each sensor on
// its sensing loop as in the daemon (sensing.EEG, SkinConductance,
// Thermometer, and the oximeter's poll as ppgDevice).
type replaySet struct {
	drdy   *tickPin
	eeg    *replayEEG
	ppg    *replayPPG
	skin   *replayADS1115
	temp   *replayTMP117
	sig    *sim.EEGSignal
	latest *replayLatest
	loops  []*Loop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// eegFrames prepares seconds of sig as the ADS1299 sends it at 500 sps,
// gain 24: 27-byte frames of a status word with no electrode off
// (0xC00000) and eight 24-bit codes.
func eegFrames(sig *sim.EEGSignal, at time.Time, seconds int) [][27]byte {
	lsb := 2 * ads1299.VREF / 24 / (1 << 24) * 1e6 // µV per count
	frames := make([][27]byte, seconds*rateEEG)
	for k := range frames {
		f := &frames[k]
		f[0] = 0xC0
		t := at.Add(time.Duration(k) * time.Second / rateEEG)
		for ch := range eegChans {
			code := int32(min(max(math.Round(sig.At(t, ch+1)/lsb), -(1<<23)), 1<<23-1))
			f[3+3*ch], f[4+3*ch], f[5+3*ch] = byte(code>>16), byte(code>>8), byte(code)
		}
	}
	return frames
}

// ppgSamples prepares seconds of a finger's pulse at 100 sps as the
// MAX30102 encodes it (7 mA per LED, 4096 nA, 411 µs: 18 bits): a
// systolic wave and a dicrotic one at replayHR, the red channel's
// pulse R times the IR's for replaySpO2, measurement noise.
func ppgSamples(seconds int) [][6]byte {
	pulse := func(phase float64) float64 {
		g := func(mu, sigma float64) float64 {
			d := math.Abs(phase - mu)
			d = min(d, 1-d)
			return math.Exp(-0.5 * (d / sigma) * (d / sigma))
		}
		return g(0.22, 0.08) + 0.4*g(0.5, 0.1)
	}
	mean := 0.0
	for i := range 1000 {
		mean += pulse((float64(i) + 0.5) / 1000)
	}
	mean /= 1000
	r := vitals.RatioFromSpO2(replaySpO2)
	rng := rand.New(rand.NewPCG(7, 7))
	const irDC, redDC, perfusion = 119000.0, 89250.0, 0.02
	samples := make([][6]byte, seconds*ratePPG)
	for i := range samples {
		p := pulse(math.Mod(float64(i)*replayHR/60/ratePPG, 1)) - mean
		red := redDC*(1-r*perfusion*p) + math.Hypot(redDC*1e-4, 2)*rng.NormFloat64()
		ir := irDC*(1-perfusion*p) + math.Hypot(irDC*1e-4, 2)*rng.NormFloat64()
		for j, v := range []float64{red, ir} {
			c := uint32(math.Round(min(max(v, 0), 1<<18-1)))
			samples[i][3*j], samples[i][3*j+1], samples[i][3*j+2] = byte(c>>16)&0x03, byte(c>>8), byte(c)
		}
	}
	return samples
}

// skinCodes prepares seconds of replaySkin µS with a 1 % swing over 20 s,
// through the divider, as ADS1115 codes at ±4.096 V.
func skinCodes(circuit eda.Divider, seconds int) []uint16 {
	codes := make([]uint16, seconds*rateSkin)
	for i := range codes {
		us := replaySkin * (1 + 0.01*math.Sin(2*math.Pi*float64(i)/rateSkin/20))
		codes[i] = uint16(int16(math.Round(circuit.Volts(us) / (4.096 / 32768))))
	}
	return codes
}

// replayCelsius is the replayed body temperature after s seconds.
func replayCelsius(s float64) float64 { return replayTemp + 0.1*math.Sin(2*math.Pi*s/600) }

// tempCodes prepares seconds of replayCelsius as TMP117 results, one a
// second.
func tempCodes(seconds int) []uint16 {
	codes := make([]uint16, seconds*rateTemp)
	for i := range codes {
		codes[i] = uint16(int16(math.Round(replayCelsius(float64(i)) / tmp117.LSB)))
	}
	return codes
}

// newReplaySet starts the set; its DRDY line's edges come from a
// real-clock ticker, or with kernelEdges from a timerfd read through the
// network poller (newTimerfdPin), as a pod's GPIO line is.
func newReplaySet(tb testing.TB, kernelEdges bool) *replaySet {
	tb.Helper()
	origin := time.Unix(1_000_000, 0)
	sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: replayBands,
		PinkNoise: 3, BlinksPerMinute: 15, MovementsPerMinute: 1, Start: origin, Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	circuit := eda.DefaultDivider
	rs := &replaySet{sig: sig, latest: new(replayLatest)}
	frames := eegFrames(sig, origin, replaySeconds)
	rs.ppg = &replayPPG{period: time.Second / ratePPG, samples: ppgSamples(replaySeconds)}
	rs.skin = &replayADS1115{conv: time.Second / 128, codes: skinCodes(circuit, replaySeconds)}
	rs.temp = &replayTMP117{cycle: time.Second, averaging: 125 * time.Millisecond, codes: tempCodes(replaySeconds)}

	// The EEG's conversions start last, with the loops.
	if kernelEdges {
		if rs.drdy, err = newTimerfdPin(time.Second / rateEEG); err != nil {
			tb.Skip(err)
		}
	} else {
		rs.drdy = newTickPin(time.Second / rateEEG)
	}
	rs.eeg = &replayEEG{drdy: rs.drdy, frames: frames}
	var eegDev *ads1299.Dev
	eegSensor, err := EEG(func() (*ads1299.Dev, error) {
		if eegDev != nil {
			return eegDev, eegDev.Restart()
		}
		o := ads1299.DefaultOpts()
		d, err := ads1299.New(rs.eeg, rs.drdy, &o)
		eegDev = d
		return d, err
	}, eegChans, rateEEG, ads1299.DefaultOpts().Gain)
	if err != nil {
		tb.Fatal(err)
	}
	ppgOpts := max30102.DefaultOpts
	ppgOpts.SampleRate, ppgOpts.Averaging = ratePPG*physic.Hertz, 1
	ppgSensor := Sensor{
		Name: "max30102",
		Open: func() (Device, error) {
			d, err := max30102.New(rs.ppg, &ppgOpts)
			if err != nil {
				return nil, err
			}
			return &ppgDevice{dev: d, est: vitals.NewEstimator(d.SampleRate()), buf: make([]max30102.Sample, max30102.FIFODepth),
				latest: rs.latest.setPPG}, nil
		},
		Period: ppgPeriod, StaleAfter: time.Second, ReopenAfter: 3 * time.Second,
	}
	skinSensor, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(rs.skin, &ads1115.DefaultOpts) }, circuit, rateSkin)
	if err != nil {
		tb.Fatal(err)
	}
	tempSensor, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(rs.temp, &tmp117.DefaultOpts) }, rateTemp)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	for _, s := range []Sensor{eegSensor, ppgSensor, skinSensor, tempSensor} {
		if s.SetEstimates != nil {
			s.SetEstimates(rs.latest)
		}
		l, err := New(s, nil)
		if err != nil {
			tb.Fatal(err)
		}
		rs.loops = append(rs.loops, l)
		rs.wg.Go(func() { _ = l.Run(ctx) })
	}
	return rs
}

func (rs *replaySet) stop() { rs.cancel(); rs.wg.Wait(); rs.drdy.stop() }

// txs returns the transactions each bus carried: EEG, PPG, skin
// conductance, temperature.
func (rs *replaySet) txs() [4]int64 {
	return [4]int64{rs.eeg.reads.Load(), rs.ppg.txs.Load(), rs.skin.txs.Load(), rs.temp.txs.Load()}
}

// warmUp waits until every sensor is ok and every vital valid.
func (rs *replaySet) warmUp(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(*replayWarmUp)
	for {
		bad := rs.latest.invalid()
		for _, l := range rs.loops {
			if h := l.Health(); h.State != OK {
				bad += fmt.Sprintf(" %s %s", l.Name(), h.State)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s:%s: the rate set is not in its steady state", *replayWarmUp, bad)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// check fails tb unless every sensor is ok and the newest valid vitals
// are the replayed signals': heart rate within 1 bpm, SpO2 within 2
// points, each EEG band's relative power within 10 % of the signal's
// (sim.EEGSignal.BandPower), the tonic skin conductance within 2 %, the
// temperature within 0.1 °C; so the measurement was of a working rate
// set, not of early exits. (On a loaded machine the EEG loop may wake
// late enough to lose frames and start its estimate over; the share of
// valid estimates is reported, not judged.)
//
// lost is the EEG's lost frames a second: above maxLostForBands (1 % of
// the frames) the filled gaps low-pass the signal enough to move its
// band powers by more than 10 %, and they are logged, not judged.
func (rs *replaySet) check(tb testing.TB, lost float64) {
	tb.Helper()
	for _, l := range rs.loops {
		if h := l.Health(); h.State != OK {
			tb.Errorf("%s: %+v, want ok", l.Name(), h)
		}
	}
	l := rs.latest
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.validPPG; !p.Valid() || math.Abs(p.HeartRateBPM-replayHR) > 1 || math.Abs(p.SpO2Pct-replaySpO2) > 2 {
		tb.Errorf("pulse oximeter: %+v, want %v bpm ± 1 and %v %% ± 2, valid", p, replayHR, replaySpO2)
	}
	total := 0.0
	for b := range sim.EEGBands {
		total += rs.sig.BandPower(sim.EEGBand(b))
	}
	for b := range sim.EEGBands {
		want := rs.sig.BandPower(sim.EEGBand(b)) / total
		got := l.validEEG.Rel[b]
		if !l.validEEG.Valid {
			tb.Errorf("EEG: no valid summary")
			break
		}
		if math.Abs(got-want) > 0.1*want {
			if lost > maxLostForBands {
				tb.Logf("EEG %s: relative power %.4f, the signal's %.4f: %.1f frames lost a second, filled", eeg.Band(b), got, want, lost)
				continue
			}
			tb.Errorf("EEG %s: relative power %.4f (valid %v), want %.4f ± 10 %%", eeg.Band(b), got, l.validEEG.Valid, want)
		}
	}
	if s := l.validSkin; !s.Valid || math.Abs(s.TonicMicrosiemens-replaySkin) > 0.02*replaySkin {
		tb.Errorf("skin conductance: %+v, want %v µS ± 2 %%, valid", s, replaySkin)
	}
	if c := l.validTemp; !c.Valid || math.Abs(c.Celsius-replayTemp) > 0.1 {
		tb.Errorf("body temperature: %+v, want %v °C ± 0.1, valid", c, replayTemp)
	}
	tb.Logf("vitals read: %.1f bpm, %.1f %% SpO2, %.3f µS, %.2f °C, EEG relative powers %.3f",
		l.validPPG.HeartRateBPM, l.validPPG.SpO2Pct, l.validSkin.TonicMicrosiemens, l.validTemp.Celsius, l.validEEG.Rel)
}

// BenchmarkRateSetDrivers is the pod's own work for the default rate set
// (8-channel EEG at 500 sps, PPG at 100 sps, skin conductance at 10 sps,
// temperature at 1 sps): the same drivers, sensing loops, decoding and
// estimators as the daemon, on the real clock, but on replay chips
// (replay_bench_test.go) whose answers were prepared before the
// measurement, and a DRDY line whose edges come from one ticker: each EEG
// frame costs one wake of the goroutine blocked on DRDY, as a GPIO
// interrupt does on a pod, and no chip model computes anything. What a
// pod's kernel does per frame (the SPI transfer's ioctl, the GPIO event's
// read) is not in it: BenchmarkRateSetWakeFloor/read27 measures one
// syscall per frame as a stand-in.
//
// The set runs until every sensor is ok and every vital valid (about a
// minute: the skin conductance's window; at most -sensing.replaywarmup),
// then is measured: one op is one second of signal, ns/op is about 1e9
// by construction, and the figure is the process's CPU time meanwhile
// (getrusage: user plus system, every goroutine and the garbage
// collector): cpu-ms/signal-s and core-% (of one core). allocs/sample is
// the process's allocations per frame or sample of any sensor (611 a
// second), eeg-frames/s the frames the EEG read and eeg-lost-frames/s
// those it lost (the loop woke later than the next conversion), and
// NAME-valid-% the share of each sensor's estimates that were valid. The
// newest valid vitals at the end must be the replayed signals'
// (replaySet.check).
//
// Its two runs differ in where the DRDY edges come from: ticker, a Go
// ticker (the runtime's timers wake the loop), or timerfd, the kernel (a
// periodic timerfd read through the network poller with a read deadline,
// the path periph's gpioioctl takes for a GPIO line's edge events).
func BenchmarkRateSetDrivers(b *testing.B) {
	b.Run("ticker", func(b *testing.B) { rateSetDrivers(b, false) })
	b.Run("timerfd", func(b *testing.B) { rateSetDrivers(b, true) })
}

func rateSetDrivers(b *testing.B, kernelEdges bool) {
	rs := newReplaySet(b, kernelEdges)
	defer rs.stop()
	rs.warmUp(b)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	made0, valid0 := rs.latest.counts()
	tx0, cpu0, wall0 := rs.txs(), cpuTime(b), time.Now()
	conv0 := rs.drdy.conversion(wall0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	cpu, now, tx1 := cpuTime(b)-cpu0, time.Now(), rs.txs()
	wall, conv1 := now.Sub(wall0), rs.drdy.conversion(now)
	runtime.ReadMemStats(&m1)
	made1, valid1 := rs.latest.counts()
	sec := wall.Seconds()
	lost := max(float64(conv1-conv0)-float64(tx1[0]-tx0[0]), 0) / sec
	rs.check(b, lost)
	for i, name := range []string{"skin", "temp", "eeg", "ppg"} {
		if n := made1[i] - made0[i]; n > 0 {
			b.ReportMetric(100*float64(valid1[i]-valid0[i])/float64(n), name+"-valid-%")
		}
	}
	b.ReportMetric(lost, "eeg-lost-frames/s")
	b.ReportMetric(cpu.Seconds()*1e3/sec, "cpu-ms/signal-s")
	b.ReportMetric(cpu.Seconds()/sec*100, "core-%")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/sec/samplesPerSecond, "allocs/sample")
	b.ReportMetric(float64(tx1[0]-tx0[0])/sec, "eeg-frames/s")
	for i, name := range []string{"ppg", "eda", "temp"} {
		b.ReportMetric(float64(tx1[i+1]-tx0[i+1])/sec, name+"-txs/s")
	}
}

// BenchmarkRateSetWakeFloor is BenchmarkRateSetDrivers' floor: the same
// DRDY line (one ticker at 500 Hz) and a goroutine blocked on it, woken
// once per edge, that does nothing else (bare), or reads 27 bytes of
// /dev/zero per wake (read27: one syscall of the size of an SPI frame's
// transfer, a stand-in for the ioctl a pod's spidev takes, which the
// replay port does not make). One op is one second; the figure is the
// process's CPU time meanwhile, as BenchmarkRateSetDrivers'.
//
// timerfd and timerfd-read27 are the same with the edges from the kernel,
// as BenchmarkRateSetDrivers/timerfd's.
func BenchmarkRateSetWakeFloor(b *testing.B) {
	for _, c := range []struct {
		name                string
		kernelEdges, read27 bool
	}{{"bare", false, false}, {"read27", false, true}, {"timerfd", true, false}, {"timerfd-read27", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			var f *os.File
			if c.read27 {
				var err error
				if f, err = os.Open("/dev/zero"); err != nil {
					b.Skip(err)
				}
				defer f.Close()
			}
			wakeFloor(b, c.kernelEdges, f)
		})
	}
}

func wakeFloor(b *testing.B, kernelEdges bool, f *os.File) {
	var pin *tickPin
	if kernelEdges {
		var err error
		if pin, err = newTimerfdPin(time.Second / rateEEG); err != nil {
			b.Skip(err)
		}
	} else {
		pin = newTickPin(time.Second / rateEEG)
	}
	defer pin.stop()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg           sync.WaitGroup
		wakes, bytes atomic.Int64
	)
	wg.Go(func() {
		var buf [ads1299.FrameSize]byte
		for ctx.Err() == nil {
			if !pin.WaitForEdge(eegTimeout) {
				continue
			}
			if f != nil {
				k, _ := f.Read(buf[:])
				bytes.Add(int64(k))
			}
			wakes.Add(1)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(time.Second)
	w0 := wakes.Load()
	cpu0, wall0 := cpuTime(b), time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	w1, got := wakes.Load(), bytes.Load()
	sec := wall.Seconds()
	if rate := float64(w1-w0) / sec; rate < rateEEG/2 {
		b.Errorf("%.0f wakes a second, want about %d: the floor was not measured", rate, rateEEG)
	}
	if f != nil && got != w1*ads1299.FrameSize {
		b.Errorf("%d bytes read in %d wakes, want %d each", got, w1, ads1299.FrameSize)
	}
	b.ReportMetric(cpu.Seconds()*1e3/sec, "cpu-ms/signal-s")
	b.ReportMetric(cpu.Seconds()/sec*100, "core-%")
	b.ReportMetric(float64(w1-w0)/sec, "wakes/s")
}

// BenchmarkEEGFrames is the EEG's path per frame without the wake: the
// sensing.EEG device's Poll (a batch of 50 frames: each the driver's Read
// with its 27-byte transaction and decoding, µV by gain, lead-off bits,
// the estimator's Add; then one estimate) on the replay port with a DRDY
// line that always has a new conversion waiting, over the replayed N2
// EEG. One op is one batch; ns/frame is CPU time per frame (one
// goroutine, no waiting), µs/signal-s the same for 500 frames.
func BenchmarkEEGFrames(b *testing.B) {
	sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: replayBands,
		PinkNoise: 3, BlinksPerMinute: 15, MovementsPerMinute: 1, Start: time.Unix(1_000_000, 0), Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	pin := readyPin()
	port := &replayEEG{drdy: pin, frames: eegFrames(sig, time.Unix(1_000_000, 0), 60)}
	s, err := EEG(func() (*ads1299.Dev, error) {
		o := ads1299.DefaultOpts()
		return ads1299.New(port, pin, &o)
	}, eegChans, rateEEG, ads1299.DefaultOpts().Gain)
	if err != nil {
		b.Fatal(err)
	}
	latest := new(replayLatest)
	s.SetEstimates(latest)
	dev, err := s.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Halt()
	now := time.Now()
	poll := func() {
		now = now.Add(eegBatch)
		if p, err := dev.Poll(now); err != nil || !p.Fresh || p.State != "" {
			b.Fatalf("Poll = %+v, %v; want fresh and ok", p, err)
		}
	}
	for range 40 * 10 { // 40 s of frames: the span full
		poll()
	}
	if !latest.eeg.Valid {
		b.Fatalf("no valid summary after 40 s (the benchmark would measure early exits): %v", latest.eeg.Reason)
	}
	r0 := port.reads.Load()
	b.ReportAllocs()
	for b.Loop() {
		poll()
	}
	frames := float64(port.reads.Load() - r0)
	if frames != float64(b.N)*rateEEG/10 {
		b.Fatalf("%v frames read in %d batches, want %d each", frames, b.N, rateEEG/10)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/frames, "ns/frame")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/frames*rateEEG/1e3, "µs/signal-s")
}

// BenchmarkZeroRead27 is the stand-in syscall of
// BenchmarkRateSetWakeFloor/read27 without the wake: one 27-byte read of
// /dev/zero after another, ns/op the CPU of one (one goroutine, no
// waiting).
func BenchmarkZeroRead27(b *testing.B) {
	f, err := os.Open("/dev/zero")
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	var buf [ads1299.FrameSize]byte
	b.ReportAllocs()
	for b.Loop() {
		if n, err := f.Read(buf[:]); n != len(buf) || err != nil {
			b.Fatalf("read %d bytes, %v; want %d", n, err, len(buf))
		}
	}
}
