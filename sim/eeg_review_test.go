package sim

import (
	"bytes"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sim/scenario"
)

// eegAlone is channel ch of s at t computed on its own (At's path for a
// query that does not step regularly), leaving s's cache and block as
// they were: the value At gave for t before blocks.
func eegAlone(s *EEGSignal, t time.Time, ch int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	values, at, cached := s.values, s.at, s.cached
	s.compute(t, 0, 1)
	v := s.values[ch-1]
	s.values, s.at, s.cached = values, at, cached
	return v
}

// adsLSB24 is the µV of one ADS1299 code at gain 24 (ADS1299.code).
const adsLSB24 = 1e6 * adsVREF / 24 / (1 << 23)

// A value read in a block is the one its instant gives computed alone, to
// the bit, far from the phases' origin too: hours into a night (the
// simulated pod's signal), for a signal without a Start (phases from the
// Unix epoch, as every sensing test builds it), and past 2262, where t
// minus the epoch saturates a time.Duration. (A block that turned each
// sinusoid by a rotation from one Sincos differed there by up to 49 µV.)
func TestEEGSignalBlocksAgreeWithAloneFarFromTheOrigin(t *testing.T) {
	night := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	n2 := [EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}
	for _, c := range []struct {
		name string
		opts EEGOpts
		from time.Time
	}{
		// The simulated pod's signal (NewHardwareWith): 1 µV² bands
		// scaled to N2, phases from the pod's start, 8 h into the night.
		{"the simulated pod 8 h after its start", EEGOpts{Bands: [EEGBands]float64{1, 1, 1, 1, 1, 1}, Seed: 1299, Start: night}, night.Add(8 * time.Hour)},
		// As sensing's tests build it (no Start), at synctest's clock.
		{"no Start, in 2000", EEGOpts{Bands: n2, Seed: 7}, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"no Start, in 2026", EEGOpts{Bands: n2, Seed: 7}, night},
		{"no Start, in 2263", EEGOpts{Bands: n2, Seed: 7}, time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewEEGSignal(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.opts.Start.Equal(night) {
				s.SetBandScale(func(time.Time) [EEGBands]float64 {
					var g [EEGBands]float64
					for b := range g {
						g[b] = math.Sqrt(n2[b])
					}
					return g
				})
			}
			const n = 2500 // 10 s at 250 sps
			worst, codes := 0.0, 0
			var worstAt time.Duration
			for k := range n {
				at := c.from.Add(time.Duration(k) * 4 * time.Millisecond)
				for ch := 1; ch <= MaxEEGChannels; ch++ {
					got := s.At(at, ch)
					alone := eegAlone(s, at, ch)
					if d := math.Abs(got - alone); d > worst {
						worst, worstAt = d, at.Sub(c.from)
					}
					if math.Round(got/adsLSB24) != math.Round(alone/adsLSB24) {
						codes++
					}
				}
			}
			if worst != 0 {
				t.Errorf("a value read in a block differs from the same instant computed alone by %.3g µV (at +%v), want the same value; %d of %d ADS1299 codes at gain 24 differ",
					worst, worstAt, codes, n*MaxEEGChannels)
			}
		})
	}
}

// adsConfigure sets m converting at 250 sps, every channel a normal input
// at gain 24, in RDATAC: each transaction then shifts out the newest
// conversion.
func adsConfigure(t *testing.T, m *ADS1299) {
	t.Helper()
	adsTx(t, m, 0, adsOpSDATAC)
	adsTx(t, m, 0, adsOpWREG|0x01, 11, 0x96, 0xC0, 0xEC, 0x00, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60)
	adsTx(t, m, 0, adsOpStart)
	adsTx(t, m, 0, adsOpRDATAC)
}

// What a simulated ADS1299 reads for a conversion depends only on the
// conversion's instant ("the same options give the same signal", Seed),
// not on which conversions were read before it, which sets where the
// blocks start: two chips converting on the same instants, each on a
// signal of the same options (no Start, as sensing's tests build them),
// one read from the first conversion and one from the second, read the
// same codes for the same conversions.
func TestADS1299ReadsTheSameCodesWhicheverConversionsWereReadBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := EEGOpts{Bands: [EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}, PinkNoise: 3, Seed: 7}
		sa, err := NewEEGSignal(o)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := NewEEGSignal(o)
		if err != nil {
			t.Fatal(err)
		}
		a, b := NewADS1299(sa.At, NewLine("DRDY-A", 1)), NewADS1299(sb.At, NewLine("DRDY-B", 2))
		adsConfigure(t, a)
		adsConfigure(t, b)
		const frames = 7500 // 30 s
		differ, first := 0, -1
		var fa, fb []byte
		for i := range frames {
			time.Sleep(4 * time.Millisecond)
			fa = adsTx(t, a, adsFrameSize)
			if i == 0 {
				continue // b's first read is the second conversion
			}
			fb = adsTx(t, b, adsFrameSize)
			for ch := 1; ch <= 8; ch++ {
				if !bytes.Equal(fa[3*ch:3*ch+3], fb[3*ch:3*ch+3]) {
					differ++
					if first < 0 {
						first = i
					}
				}
			}
		}
		if differ > 0 {
			t.Errorf("%d of %d codes differ between two chips reading the same conversions of the same signal, the first at conversion %d: a code depends on the conversions read before it",
				differ, (frames-1)*8, first+1)
		}
	})
}

// blockCounter wraps s.At for an ADS1299 and counts the blocks At
// computes (a block whose start is new), and the instants read.
type blockCounter struct {
	s             *EEGSignal
	last          time.Time
	blocks, reads int
	lastRead      time.Time
}

func (c *blockCounter) At(t time.Time, ch int) float64 {
	v := c.s.At(t, ch)
	if !t.Equal(c.lastRead) {
		c.reads++
		c.lastRead = t
	}
	// The model calls its signal from the goroutine of the transaction:
	// here the test's, the only one reading s.
	if c.s.blockN > 0 && !c.s.blockAt.Equal(c.last) {
		c.blocks++
		c.last = c.s.blockAt
	}
	return v
}

// A host that reads the simulated pod's EEG more slowly than it converts
// (a reader loop of 10 ms against the chip's 4 ms at 250 sps: a loaded
// 2-core host, the race detector) reads conversions alternately 8 and
// 12 ms apart. No block is computed for steps that vary: a block laid on
// the step before would be missed by the next read, and every read would
// compute 32 instants to use one (BenchmarkEEGSignalReadPattern's
// 8-12ms).
func TestEEGSignalAReaderSlowerThanTheChipDoesNotComputeABlockPerRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc, err := scenario.Load("scenarios/calm.yaml")
		if err != nil {
			t.Fatal(err)
		}
		hw, err := NewHardware(sc, 60, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &blockCounter{s: hw.eeg}
		hw.EEG.signal = func(t time.Time, ch int) float64 { // as NewHardwareWith's eegMicrovolts, counted
			c.At(t, ch)
			return hw.eegMicrovolts(t, ch)
		}
		adsConfigure(t, hw.EEG)
		for range 500 { // 5 s
			time.Sleep(10 * time.Millisecond)
			adsTx(t, hw.EEG, adsFrameSize)
		}
		if c.blocks != 0 {
			t.Errorf("%d blocks of %d instants computed for %d conversions read 8 and 12 ms apart: %.1f instants computed per instant read",
				c.blocks, eegBlock, c.reads, float64(c.blocks*eegBlock+c.reads)/float64(c.reads))
		}
	})
}

// The cost of At per instant of 8 channels for the read patterns above:
// regular 4 ms steps (blocks used), 4 ms steps backwards (every instant
// alone), and steps alternately 8 and 12 ms (every instant alone: no
// block for steps that vary).
func BenchmarkEEGSignalReadPattern(b *testing.B) {
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	o := EEGOpts{Bands: [EEGBands]float64{1, 1, 1, 1, 1, 1}, Seed: 1299, Start: start}
	for _, p := range []struct {
		name  string
		steps []time.Duration
	}{
		{"regular", []time.Duration{4 * time.Millisecond}},
		{"backwards", []time.Duration{-4 * time.Millisecond}},
		{"8-12ms", []time.Duration{8 * time.Millisecond, 12 * time.Millisecond}},
	} {
		b.Run(p.name, func(b *testing.B) {
			s, err := NewEEGSignal(o)
			if err != nil {
				b.Fatal(err)
			}
			at := start.Add(time.Hour)
			i := 0
			for b.Loop() {
				at = at.Add(p.steps[i%len(p.steps)])
				i++
				for ch := 1; ch <= MaxEEGChannels; ch++ {
					s.At(at, ch)
				}
			}
		})
	}
}
