package sim

import (
	"math"
	"math/cmplx"
	"testing"
	"time"
)

// fft is an in-place radix-2 Cooley-Tukey transform; len(x) is a power of 2.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

// bandPowers estimates each band's power (µV²) from a Hann-windowed
// periodogram of x sampled at fs: P = 2/(N·Σw²)·Σ|X_k|² over the band's
// bins (Parseval; the factor 2 for the negative frequencies).
func bandPowers(x []float64, fs float64) [EEGBands]float64 {
	n := len(x)
	c := make([]complex128, n)
	sw := 0.0
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		c[i] = complex(v*w, 0)
		sw += w * w
	}
	fft(c)
	var p [EEGBands]float64
	for k := 1; k < n/2; k++ {
		f := float64(k) * fs / float64(n)
		for b, e := range EEGBandEdges {
			if f >= e[0] && f < e[1] {
				p[b] += 2 * real(c[k]*cmplx.Conj(c[k])) / (float64(n) * sw)
			}
		}
	}
	return p
}

func TestEEGSignalBandPowers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		bands [EEGBands]float64
		pink  float64
	}{
		{"deep sleep", [EEGBands]float64{400, 40, 10, 5, 3, 1}, 5},
		{"relaxed wake", [EEGBands]float64{20, 15, 60, 8, 10, 2}, 2},
		{"spindles, no 1/f", [EEGBands]float64{50, 20, 10, 40, 4, 0.5}, 0},
	}
	const fs, n = 100.0, 1 << 14 // 164 s; nothing above 40 Hz to alias
	if testing.Short() {
		tests = tests[:1]
	}
	worst := 0.0
	for _, tt := range tests {
		s, err := NewEEGSignal(EEGOpts{Bands: tt.bands, PinkNoise: tt.pink, Start: t0, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		var x [MaxEEGChannels][]float64
		for i := range n {
			at := t0.Add(time.Duration(float64(i) / fs * float64(time.Second)))
			for ch := 1; ch <= MaxEEGChannels; ch++ {
				x[ch-1] = append(x[ch-1], s.At(at, ch))
			}
		}
		for b, e := range EEGBandEdges {
			// The documented truth: the band's power plus
			// K·ln((hi−m)/(lo+m)), m the margin.
			truth := tt.bands[b] + tt.pink*math.Log((e[1]-eegMargin)/(e[0]+eegMargin))
			if got := s.BandPower(EEGBand(b)); math.Abs(got-truth) > 1e-9*truth {
				t.Errorf("%s: BandPower(%v) = %v, want %v", tt.name, e, got, truth)
			}
			for ch := range MaxEEGChannels {
				got := bandPowers(x[ch], fs)[b]
				worst = max(worst, math.Abs(got-truth)/truth)
				if math.Abs(got-truth) > 0.1*truth {
					t.Errorf("%s: channel %d, %v Hz: periodogram %.3f µV², want %.3f ± 10 %%", tt.name, ch+1, e, got, truth)
				}
			}
		}
	}
	t.Logf("worst band power error %.4f %%", 100*worst)
}

func TestEEGSignalDeterministic(t *testing.T) {
	t0 := time.Now()
	o := EEGOpts{Bands: [EEGBands]float64{100, 20, 30, 10, 5, 1}, PinkNoise: 3, BlinksPerMinute: 30, MovementsPerMinute: 10, Start: t0, Seed: 42}
	a, _ := NewEEGSignal(o)
	b, _ := NewEEGSignal(o)
	o.Seed = 43
	c, _ := NewEEGSignal(o)
	const n = 3000 // 5 min at 10 Hz
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 100 * time.Millisecond) }
	var va [n][MaxEEGChannels]float64
	for i := range n {
		for ch := range MaxEEGChannels {
			va[i][ch] = a.At(at(i), ch+1)
		}
	}
	differ := 0
	// b is asked in the opposite order: the same values.
	for i := n - 1; i >= 0; i-- {
		for ch := range MaxEEGChannels {
			if v := b.At(at(i), ch+1); v != va[i][ch] {
				t.Fatalf("sample %d channel %d: %v, then %v with the same seed", i, ch+1, va[i][ch], v)
			}
			if c.At(at(i), ch+1) != va[i][ch] {
				differ++
			}
		}
	}
	if differ < n*MaxEEGChannels*9/10 {
		t.Errorf("another seed changed only %d of %d values", differ, n*MaxEEGChannels)
	}
	if a.At(t0, 0) != 0 || a.At(t0, 9) != 0 {
		t.Errorf("channels 0 and 9 are not 0")
	}
}

func TestEEGSignalBlinks(t *testing.T) {
	t0 := time.Now()
	s, err := NewEEGSignal(EEGOpts{BlinksPerMinute: 20, Frontal: []int{1, 3}, Start: t0, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	const fs = 1000.0
	minutes := 20
	if testing.Short() {
		minutes = 5
	}
	// Runs of non-zero values on channel 1: one per blink, unless two
	// overlap.
	var runs, single int
	var start, peak float64
	in := false
	for i := range int(float64(minutes) * 60 * fs) {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		v := s.At(at, 1)
		if v != s.At(at, 3) {
			t.Fatalf("frontal channels 1 and 3 differ at %v", at.Sub(t0))
		}
		if o := s.At(at, 2); o != 0 {
			t.Fatalf("channel 2 (not frontal) reads %v µV at %v", o, at.Sub(t0))
		}
		switch {
		case v > 0 && !in:
			in, start, peak = true, float64(i)/fs, v
		case v > 0:
			peak = max(peak, v)
		case in:
			in = false
			runs++
			if dur := float64(i)/fs - start; dur <= 0.302 {
				single++
				if dur < 0.29 || peak < 99 || peak > 200 {
					t.Errorf("blink at %.3f s: %.3f s long, peak %.1f µV; want 0.3 s, 100-200 µV", start, dur, peak)
				}
			}
		}
	}
	// 20 blinks a minute (Poisson: 3 σ is 3·√n).
	want := 20.0 * float64(minutes)
	if math.Abs(float64(runs)-want) > 3*math.Sqrt(want)+0.1*want || single < runs*3/4 {
		t.Errorf("%d blinks (%d alone) in %d min at 20 a minute", runs, single, minutes)
	}
}

func TestEEGSignalMovements(t *testing.T) {
	t0 := time.Now()
	s, _ := NewEEGSignal(EEGOpts{MovementsPerMinute: 6, Start: t0, Seed: 3})
	busy, big := 0, 0
	for i := range 10 * 60 * 100 { // 10 min at 100 Hz
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		any := false
		for ch := 1; ch <= 8; ch++ {
			v := math.Abs(s.At(at, ch))
			if v > 150 {
				big++
			}
			any = any || v > 0
		}
		if any {
			busy++
		}
	}
	// 60 movements of 0.5-2 s (mean 1.25): about 75 s of 600.
	if busy < 40*100 || busy > 120*100 || big == 0 {
		t.Errorf("movements under way %v s of 600, %d samples above 150 µV", float64(busy)/100, big)
	}
	// Each movement as documented (overlapping ones add up).
	for _, e := range s.moves.events {
		if e.dur < 0.5 || e.dur > 2 || e.amp < 200 || e.amp > 600 || e.freq < 1 || e.freq > 3 {
			t.Errorf("movement at %.1f s: %.2f s, %.0f µV, %.2f Hz; want 0.5-2 s, 200-600 µV, 1-3 Hz", e.start, e.dur, e.amp, e.freq)
		}
	}
	if s.At(t0.Add(-time.Second), 1) != 0 {
		t.Errorf("an artefact before Start")
	}
	// Ten years later: drawn at once, not for every blink in between.
	n := len(s.moves.events)
	s.At(t0.Add(10*365*24*time.Hour), 1)
	if drawn := len(s.moves.events) - n; drawn > 2 {
		t.Errorf("a 10-year jump drew %d movements", drawn)
	}
}

func TestNewEEGSignalRejects(t *testing.T) {
	_, err := NewEEGSignal(EEGOpts{Bands: [EEGBands]float64{-1, 0, math.NaN()}, BlinksPerMinute: math.Inf(1), Frontal: []int{0, 9}})
	want := "sim: eeg: band 0 power -1 µV², want a finite value ≥ 0\nband 2 power NaN µV², want a finite value ≥ 0\n" +
		"BlinksPerMinute +Inf, want a finite value ≥ 0\nfrontal channel 0, want 1 to 8\nfrontal channel 9, want 1 to 8\n" +
		"artefacts need a Start time"
	if err == nil || err.Error() != want {
		t.Errorf("NewEEGSignal = %v, want %q", err, want)
	}
}

// Without a Start the signal still moves: its phases count from the Unix
// epoch, not from the zero time.Time (every time after it would be the
// same saturated duration, a constant signal).
func TestEEGSignalWithoutStartMoves(t *testing.T) {
	s, err := NewEEGSignal(EEGOpts{Bands: [EEGBands]float64{100, 10, 10, 10, 1, 1}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	a, b := s.At(t0, 1), s.At(t0.Add(37*time.Millisecond), 1)
	if a == b {
		t.Fatalf("the signal reads %g µV 37 ms apart: constant", a)
	}
}

// SetBandScale scales each band's amplitude: three times the alpha
// amplitude is nine times its power, the other bands unchanged.
func TestEEGSignalBandScale(t *testing.T) {
	bands := [EEGBands]float64{1, 1, 1, 1, 1, 1}
	s, err := NewEEGSignal(EEGOpts{Bands: bands, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewEEGSignal(EEGOpts{Bands: [EEGBands]float64{1, 1, 9, 1, 1, 1}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	s.SetBandScale(func(time.Time) [EEGBands]float64 { return [EEGBands]float64{1, 1, 3, 1, 1, 1} })
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	for i := range 100 {
		at := t0.Add(time.Duration(i) * 7 * time.Millisecond)
		if a, b := s.At(at, 3), ref.At(at, 3); math.Abs(a-b) > 1e-9*max(1, math.Abs(b)) {
			t.Fatalf("at %d: scaled signal %g µV, a signal of 9 µV² alpha %g µV", i, a, b)
		}
	}
}

// A value is the same, to the bit, whether At computed it in a block of
// instants a step apart or alone: a signal with band scaling, blinks and
// movements read forward on a 4 ms grid (blocks, with a skipped stretch
// and a query off the grid between) against the same signal read
// backwards (every instant alone).
func TestEEGSignalBlocksGiveTheSameValues(t *testing.T) {
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	opts := EEGOpts{
		Bands:              [EEGBands]float64{1, 1, 1, 1, 1, 1},
		PinkNoise:          20,
		BlinksPerMinute:    30,
		MovementsPerMinute: 6,
		Start:              start,
		Seed:               7,
	}
	scale := func(at time.Time) [EEGBands]float64 {
		x := at.Sub(start).Seconds()
		return [EEGBands]float64{10 + x, 4, 3 + math.Sin(x), 2, 1.5, 1}
	}
	newSignal := func() *EEGSignal {
		s, err := NewEEGSignal(opts)
		if err != nil {
			t.Fatal(err)
		}
		s.SetBandScale(scale)
		return s
	}
	const step = 4 * time.Millisecond
	var grid []time.Time
	for k := range 3000 { // 12 s
		if k >= 1000 && k < 1013 { // a stretch no one read
			continue
		}
		grid = append(grid, start.Add(time.Duration(k)*step))
	}

	fwd := newSignal()
	got := make([][MaxEEGChannels]float64, len(grid))
	blocks := 0
	for i, at := range grid {
		if i == 1500 {
			fwd.At(at.Add(time.Millisecond), 1) // off the grid
		}
		for ch := 1; ch <= MaxEEGChannels; ch++ {
			got[i][ch-1] = fwd.At(at, ch)
		}
		if fwd.blockN == eegBlock && fwd.blockAt.Equal(at) {
			blocks++
		}
	}
	if want := len(grid) / eegBlock; blocks < want-3 {
		t.Fatalf("%d blocks computed over %d instants, want about %d: the forward read did not use blocks", blocks, len(grid), want)
	}

	back := newSignal()
	for i := len(grid) - 1; i >= 0; i-- {
		for ch := 1; ch <= MaxEEGChannels; ch++ {
			if v := back.At(grid[i], ch); v != got[i][ch-1] {
				t.Fatalf("at %v ch %d: %v in a block, %v alone", grid[i].Sub(start), ch, got[i][ch-1], v)
			}
		}
		if back.blockN != 0 {
			t.Fatalf("at %v: a block computed reading backwards", grid[i].Sub(start))
		}
	}
}
