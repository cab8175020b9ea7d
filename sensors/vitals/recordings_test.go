package vitals

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sleegation/podd/internal/wfdb"
)

// The real recordings in testdata/ (see testdata/README.md) played to the
// estimator as the pod plays its chip's samples: resampled to the chip's
// 25 Hz, one wavelength made into IR counts and a red channel at R = 0.5,
// estimated every five samples (200 ms, controller.Config's default
// SensorPeriod), and scored against the reference beats.

// podRate is the sample rate the pod's MAX30102 delivers (100 sps averaged
// four at a time).
const podRate = 25.0

// Counts a recording is mapped to: the DC levels of the simulator's chip at
// 7 mA, and the pulse's peak-to-peak amplitude as a share of DC (the
// simulator's perfusion index of 2 %). A recording's own DC says nothing of
// the light through a finger (the HeartPy sensor is AC-coupled around
// mid-rail; the ICU pleth is normalised), so its median beat is scaled to
// this amplitude and everything else (motion, artefacts) in proportion.
const (
	recDCIR      = 120000.0
	recDCRed     = 90000.0
	recPerfusion = 0.02
	recRatio     = 0.5 // R of the red channel made from the recording
)

// recording is one recording resampled to podRate, as a pleth (larger at
// systole) in the recording's own units.
type recording struct {
	name     string
	x        []float64
	beats    []float64    // reference beat times, s
	excluded [][2]float64 // spans where the reference is not trustworthy, s
	noFinger [][2]float64 // spans with no finger on the sensor, s
}

func loadRecording(t testing.TB, name string) recording {
	t.Helper()
	rec := recording{name: name}
	var err error
	switch name {
	case "heartpy_data":
		var cols [][]float64
		cols, err = readCSV(filepath.Join("testdata", name+".csv"), false)
		if err == nil {
			rec.x = resample(nil, cols[0], 100, podRate)
		}
	case "heartpy_data2":
		var cols [][]float64
		cols, err = readCSV(filepath.Join("testdata", name+".csv"), true)
		if err == nil {
			ts := cols[0]
			for i := range ts {
				ts[i] /= 1000 // ms
			}
			rec.x = resample(ts, cols[1], 0, podRate)
		}
		// No finger until about 40 s (testdata/README.md): motion at
		// 14-18 s, the sensor's output at its rails until 26 s, and
		// the finger being placed from about 30 s.
		rec.noFinger = [][2]float64{{0, 30}}
	case "a103l":
		var h wfdb.Header
		var x []float64
		h, x, err = wfdb.ReadPhysical(filepath.Join("testdata", name+".hea"), "PLETH")
		if err == nil {
			rec.x = resample(nil, x, h.FrequencyHz, podRate)
		}
	default:
		t.Fatalf("unknown recording %s", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	beats, err := readCSV(filepath.Join("testdata", name+"_beats.csv"), false)
	if err != nil {
		t.Fatal(err)
	}
	rec.beats = beats[0]
	ex, err := readCSV(filepath.Join("testdata", name+"_excluded.csv"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) == 2 {
		for i := range ex[0] {
			rec.excluded = append(rec.excluded, [2]float64{ex[0][i], ex[1][i]})
		}
	}
	return rec
}

// readCSV returns the columns of a CSV file of numbers, with a header row
// if header. An empty file has no columns.
func readCSV(path string, header bool) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cols [][]float64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if header && line == 1 {
			continue
		}
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		fields := strings.Split(s, ",")
		if cols == nil {
			cols = make([][]float64, len(fields))
		}
		if len(fields) != len(cols) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", path, line, len(fields), len(cols))
		}
		for i, fld := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(fld), 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
			cols[i] = append(cols[i], v)
		}
	}
	return cols, sc.Err()
}

// resample returns x, sampled at times ts (s) or, with ts nil, at rate
// from, as the mean of its samples in each period of the rate to: as the
// chip averages its ADC samples into each FIFO sample.
func resample(ts, x []float64, from, to float64) []float64 {
	at := func(i int) float64 {
		if ts != nil {
			return ts[i] - ts[0]
		}
		return float64(i) / from
	}
	var out []float64
	sum, n, bin := 0.0, 0, 0
	for i, v := range x {
		for b := int(at(i) * to); bin < b; bin++ {
			if n > 0 {
				out = append(out, sum/float64(n))
			} else if len(out) > 0 {
				out = append(out, out[len(out)-1])
			}
			sum, n = 0, 0
		}
		sum += v
		n++
	}
	return out
}

// amplitude is the median beat's peak-to-peak amplitude, between
// reference beats outside the excluded spans, in the recording's units.
func (rec recording) amplitude() float64 {
	var amps []float64
	for i := 1; i < len(rec.beats); i++ {
		a, b := rec.beats[i-1], rec.beats[i]
		if rec.inExcluded(a, b) {
			continue
		}
		seg := rec.x[min(int(a*podRate), len(rec.x)):min(int(b*podRate)+1, len(rec.x))]
		if len(seg) > 1 {
			amps = append(amps, slices.Max(seg)-slices.Min(seg))
		}
	}
	slices.Sort(amps)
	return amps[len(amps)/2]
}

// Pulseless spans: where no sample of the recording rises above the one
// before by pulselessShare of its median beat's amplitude for
// pulselessSeconds or more, it carries no pulse (a monitor's flat line,
// or a slow drift without beats): a beat's upstroke rises by a third of
// its amplitude or more from one 40 ms sample to the next, the weakest
// beats of a103l's alternating pulse by about 15 % of the median beat's.
// No estimator can read a pulse there.
const (
	pulselessSeconds = 1.0
	pulselessShare   = 0.1
)

// pulseless returns the spans (s) where the recording carries no pulse:
// every run of pulselessSeconds or more in which no sample rises above
// the one before by pulselessShare of amplitude(), merged where they
// overlap.
func (rec recording) pulseless() [][2]float64 {
	w := int(pulselessSeconds * podRate)
	limit := pulselessShare * rec.amplitude()
	var spans [][2]float64
	run := 0 // samples since the last rise of limit or more
	for i := 1; i < len(rec.x); i++ {
		if rec.x[i]-rec.x[i-1] >= limit {
			run = 0
			continue
		}
		if run++; run < w {
			continue
		}
		from, to := float64(i+1-run)/podRate, float64(i+1)/podRate
		if m := len(spans); m > 0 && from <= spans[m-1][1] {
			spans[m-1][1] = to
			continue
		}
		spans = append(spans, [2]float64{from, to})
	}
	return spans
}

// counts maps the recording to the chip's counts: the median beat's
// peak-to-peak amplitude (amplitude) becomes recPerfusion of the DC,
// counts fall at systole, and red moves recRatio as much as IR relative
// to its DC.
func (rec recording) counts() (red, ir []uint32) {
	amp := rec.amplitude()
	mid := slices.Clone(rec.x)
	slices.Sort(mid)
	med := mid[len(mid)/2]
	red, ir = make([]uint32, len(rec.x)), make([]uint32, len(rec.x))
	for i, v := range rec.x {
		p := recPerfusion * (v - med) / amp
		ir[i] = uint32(math.Round(max(recDCIR*(1-p), 0)))
		red[i] = uint32(math.Round(max(recDCRed*(1-recRatio*p), 0)))
	}
	return red, ir
}

// inExcluded reports whether [from, to] overlaps an excluded span.
func (rec recording) inExcluded(from, to float64) bool {
	return overlaps(rec.excluded, from, to)
}

// overlaps reports whether [from, to] overlaps one of spans.
func overlaps(spans [][2]float64, from, to float64) bool {
	for _, s := range spans {
		if from < s[1] && to > s[0] {
			return true
		}
	}
	return false
}

// referenceHR is 60 over the mean interval of the reference beats in
// [from, to], with at least three beats there.
func (rec recording) referenceHR(from, to float64) (float64, bool) {
	var in []float64
	for _, b := range rec.beats {
		if b >= from && b <= to {
			in = append(in, b)
		}
	}
	if len(in) < 3 {
		return 0, false
	}
	return 60 * float64(len(in)-1) / (in[len(in)-1] - in[0]), true
}

// recScore is what the estimator did on a recording.
type recScore struct {
	polls, valid   int     // polls scored (outside the excluded spans), valid among them
	longestInvalid float64 // s without a valid heart rate, outside excluded spans
	longestAt      float64 // when that run ended, s
	// The same where the pleth carries a pulse: a run also starts at
	// the end of a pulseless span (pulseless).
	longestWithPulse   float64
	longestWithPulseAt float64
	scored             int     // valid readings with a trustworthy reference
	mae, maxErr        float64 // bpm, over those
	maxErrAt           float64
	within2            int // of scored, within 2 bpm
	noFingerValid      int // valid heart rates while no finger was on the sensor
	noFingerValidAt    float64
	spo2Valid          int
	spo2MaxErr         float64 // against SpO2FromRatio(recRatio)
}

// play feeds rec to a new estimator in polls of five samples and scores
// every estimate. A run without a valid heart rate starts at the later of
// the last valid reading, the end of the last excluded span and
// FirstEstimateSeconds; the reference heart rate of a reading at t is that
// of the beats in [t−RecentSeconds−0.5, t], and a reading is scored when
// the window behind it, [t−WindowSeconds, t], has no excluded span.
func (rec recording) play() recScore {
	red, ir := rec.counts()
	e := NewEstimator(podRate)
	var sc recScore
	runFrom := FirstEstimateSeconds
	pulseFrom := FirstEstimateSeconds // the same, restarted by pulseless spans
	pulseless := rec.pulseless()
	wantSpO2 := SpO2FromRatio(recRatio)
	for i := range red {
		e.Add(red[i], ir[i])
		if (i+1)%5 != 0 {
			continue
		}
		t := float64(i+1) / podRate
		r := e.Estimate()
		for _, nf := range rec.noFinger {
			if t > nf[0] && t <= nf[1] && r.HeartRateValid {
				if sc.noFingerValid == 0 {
					sc.noFingerValidAt = t
				}
				sc.noFingerValid++
			}
		}
		if rec.inExcluded(t-1.0/podRate, t) {
			runFrom, pulseFrom = t, t
			continue
		}
		if overlaps(pulseless, t-1.0/podRate, t) {
			pulseFrom = t
		}
		if t < FirstEstimateSeconds {
			continue
		}
		sc.polls++
		if !r.HeartRateValid {
			if t-runFrom > sc.longestInvalid {
				sc.longestInvalid, sc.longestAt = t-runFrom, t
			}
			if t-pulseFrom > sc.longestWithPulse {
				sc.longestWithPulse, sc.longestWithPulseAt = t-pulseFrom, t
			}
			continue
		}
		runFrom, pulseFrom = t, t
		sc.valid++
		if r.SpO2Valid {
			sc.spo2Valid++
			sc.spo2MaxErr = max(sc.spo2MaxErr, math.Abs(r.SpO2Pct-wantSpO2))
		}
		if rec.inExcluded(t-WindowSeconds, t) {
			continue
		}
		ref, ok := rec.referenceHR(t-RecentSeconds-0.5, t)
		if !ok {
			continue
		}
		d := math.Abs(r.HeartRateBPM - ref)
		sc.scored++
		sc.mae += d
		if d > sc.maxErr {
			sc.maxErr, sc.maxErrAt = d, t
		}
		if d <= 2 {
			sc.within2++
		}
	}
	if sc.scored > 0 {
		sc.mae /= float64(sc.scored)
	}
	return sc
}

// TestEstimatorOnRealRecordings holds the estimator to what it measures on
// each real recording: the bounds are the figures measured, with a small
// margin, so that a change that makes it worse fails. Where a valid heart
// rate is reported it is within 3 bpm of the reference beats, and no valid
// heart rate comes from the motion of an empty sensor (heartpy_data2's
// first 30 s).
//
// The target, no run without a valid heart rate longer than 5 s
// outside the excluded spans, is held where the pleth carries a pulse
// (longestWithPulse, which a pulseless span restarts as an excluded one
// does). Outside the excluded spans alone, a103l has an 11.6 s run: at
// 165.5 s its pleth clips at both rails and then stays flat from 169.0 to
// 172.9 s (a monitor's flat line, which the reference's excluded spans,
// made for the ECG beats, do not cover); the estimator is valid again
// 4.5 s after the pulse returns.
func TestEstimatorOnRealRecordings(t *testing.T) {
	tests := []struct {
		name             string
		minValid         float64 // share of scored polls with a valid heart rate
		longestInvalid   float64 // s, outside the excluded spans
		longestWithPulse float64 // s, also outside pulseless spans
		mae, maxErr      float64 // bpm
	}{
		// measured: 100 %, 0 s, 0 s, 0.32 and 2.87 bpm
		{"heartpy_data", 1, 0, 0, 0.4, 3},
		// measured: 93.0 %, 2.4 s, 2.4 s, 0.25 and 2.78 bpm
		{"heartpy_data2", 0.92, 2.6, 2.6, 0.3, 3},
		// measured: 85.3 %, 11.6 s (165.6 to 177.2 s), 4.4 s (188.4 to 192.8 s), 0.24 and 1.92 bpm
		{"a103l", 0.85, 11.8, 5, 0.3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := loadRecording(t, tt.name)
			sc := rec.play()
			share := float64(sc.valid) / float64(sc.polls)
			t.Logf("%.1f s at %v Hz: %d of %d polls valid (%.1f %%); longest run without a valid heart rate %.1f s (until %.1f s), "+
				"%.1f s where the pleth carries a pulse (until %.1f s; pulseless %v); "+
				"against the reference: %d scored, mean error %.2f bpm, largest %.2f bpm (at %.1f s), %.1f %% within 2 bpm; "+
				"valid while no finger: %d (first at %.1f s); SpO2 valid %d, largest error %.2f points",
				float64(len(rec.x))/podRate, podRate, sc.valid, sc.polls, 100*share, sc.longestInvalid, sc.longestAt,
				sc.longestWithPulse, sc.longestWithPulseAt, rec.pulseless(),
				sc.scored, sc.mae, sc.maxErr, sc.maxErrAt, 100*float64(sc.within2)/float64(max(sc.scored, 1)),
				sc.noFingerValid, sc.noFingerValidAt, sc.spo2Valid, sc.spo2MaxErr)
			if share < tt.minValid {
				t.Errorf("valid share %.3f, want at least %v", share, tt.minValid)
			}
			if sc.longestInvalid > tt.longestInvalid {
				t.Errorf("%.1f s without a valid heart rate (until %.1f s), want at most %v s", sc.longestInvalid, sc.longestAt, tt.longestInvalid)
			}
			if sc.longestWithPulse > tt.longestWithPulse {
				t.Errorf("%.1f s without a valid heart rate where the pleth carries a pulse (until %.1f s), want at most %v s",
					sc.longestWithPulse, sc.longestWithPulseAt, tt.longestWithPulse)
			}
			if sc.scored < sc.valid/2 {
				t.Errorf("%d readings scored of %d valid: the reference covers too little", sc.scored, sc.valid)
			}
			if sc.mae > tt.mae || sc.maxErr > tt.maxErr {
				t.Errorf("mean error %.2f bpm, largest %.2f bpm; want at most %v and %v", sc.mae, sc.maxErr, tt.mae, tt.maxErr)
			}
			if sc.noFingerValid > 0 {
				t.Errorf("%d valid heart rates while no finger was on the sensor, the first at %.1f s; want none", sc.noFingerValid, sc.noFingerValidAt)
			}
			if sc.spo2MaxErr > 1.5 {
				t.Errorf("SpO2 off by up to %.2f points at R = %v, want at most 1.5", sc.spo2MaxErr, recRatio)
			}
		})
	}
}
