package sim

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

func steady(hr, spo2 float64) func(time.Time) (float64, float64) {
	return func(time.Time) (float64, float64) { return hr, spo2 }
}

func mxTx(t *testing.T, m *MAX30102, w []byte, n int) []byte {
	t.Helper()
	r := make([]byte, n)
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

// mxStart configures m as the driver's defaults do: SMP_AVE 4 with fifo
// (rollover, A_FULL), 100 sps 411 us 4096 nA, 7 mA LEDs, SpO2 mode.
func mxStart(t *testing.T, m *MAX30102, fifo byte) {
	t.Helper()
	mxTx(t, m, []byte{mxRegFIFOConfig, fifo}, 0)
	mxTx(t, m, []byte{mxRegSpO2Config, 0x27}, 0)
	mxTx(t, m, []byte{mxRegLED1PA, 0x24, 0x24}, 0)
	mxTx(t, m, []byte{mxRegFIFOWrPtr, 0, 0, 0}, 0)
	mxTx(t, m, []byte{mxRegModeConfig, mxModeSpO2}, 0)
}

// mxPointers returns FIFO_WR_PTR, OVF_COUNTER, FIFO_RD_PTR in one burst.
func mxPointers(t *testing.T, m *MAX30102) [3]byte {
	t.Helper()
	return [3]byte(mxTx(t, m, []byte{mxRegFIFOWrPtr}, 3))
}

func TestMAX30102Identity(t *testing.T) {
	m := NewMAX30102(steady(60, 98), 1)
	if got := mxTx(t, m, []byte{mxRegPartID}, 1); !bytes.Equal(got, []byte{0x15}) {
		t.Errorf("PART_ID = % X, want 15", got)
	}
	// A burst read auto-increments from REV_ID to PART_ID.
	if got := mxTx(t, m, []byte{mxRegRevID}, 2); !bytes.Equal(got, []byte{0x03, 0x15}) {
		t.Errorf("REV_ID, PART_ID = % X, want 03 15", got)
	}
	// Read-only registers ignore writes.
	mxTx(t, m, []byte{mxRegPartID, 0x00}, 0)
	if got := m.Register(mxRegPartID); got != 0x15 {
		t.Errorf("PART_ID after a write = %#x, want 0x15", got)
	}
}

func TestMAX30102ResetRestoresPowerOnValues(t *testing.T) {
	m := NewMAX30102(steady(60, 98), 1)
	mxStart(t, m, 0x4F)
	mxTx(t, m, []byte{mxRegModeConfig, mxModeReset}, 0)
	if got := mxTx(t, m, []byte{mxRegModeConfig}, 1); got[0] != 0 {
		t.Errorf("MODE_CONFIG after reset = %#x, want 0 (RESET self-cleared, not sampling)", got[0])
	}
	got := mxTx(t, m, []byte{mxRegFIFOWrPtr}, 10) // 0x04..0x0D
	if want := make([]byte, 10); !bytes.Equal(got, want) {
		t.Errorf("registers 0x04..0x0D after reset = % X, want all 0", got)
	}
	if m.Mode() != 0 || m.SampleRate() != 0 {
		t.Errorf("Mode() = %#x, SampleRate() = %v, want 0, 0", m.Mode(), m.SampleRate())
	}
}

func TestMAX30102SamplesAtConfiguredRate(t *testing.T) {
	tests := []struct {
		fifo, spo2 byte
		wait       time.Duration
		want       int
		rate       float64
	}{
		{fifo: 0x40, spo2: 0x27, wait: time.Second, want: 25, rate: 25},             // 100 sps / 4
		{fifo: 0x00, spo2: 0x23, wait: 500 * time.Millisecond, want: 25, rate: 50},  // 50 sps / 1
		{fifo: 0xA0, spo2: 0x3C, wait: 300 * time.Millisecond, want: 30, rate: 100}, // 3200 sps / 32
		{fifo: 0xE0, spo2: 0x3C, wait: 300 * time.Millisecond, want: 30, rate: 100}, // SMP_AVE 7 also means 32
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			m := NewMAX30102(steady(60, 98), 1)
			mxTx(t, m, []byte{mxRegFIFOConfig, tt.fifo, mxModeSpO2, tt.spo2}, 0)
			time.Sleep(tt.wait - time.Nanosecond)
			if got := m.Buffered(); got != tt.want-1 {
				t.Errorf("FIFO %#x SPO2 %#x: %d samples just before %v, want %d", tt.fifo, tt.spo2, got, tt.wait, tt.want-1)
			}
			time.Sleep(time.Nanosecond)
			if got := mxPointers(t, m); got != [3]byte{byte(tt.want), 0, 0} {
				t.Errorf("FIFO %#x SPO2 %#x: WR, OVF, RD after %v = % X, want %02X 00 00", tt.fifo, tt.spo2, tt.wait, got, tt.want)
			}
			if got := m.SampleRate(); got != tt.rate {
				t.Errorf("SampleRate() = %v, want %v", got, tt.rate)
			}
		})
	}
}

func TestMAX30102OverflowWithoutRollover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		time.Sleep(time.Second)
		first := mxTx(t, m, []byte{mxRegFIFOData}, 6) // the oldest sample, popped
		mxTx(t, m, []byte{mxRegFIFORdPtr, 0}, 0)      // rewind to read it again later

		time.Sleep(time.Second) // 50 samples made, 32 kept
		if got := mxPointers(t, m); got != [3]byte{0, 18, 0} {
			t.Errorf("WR, OVF, RD after 2 s = % X, want 00 12 00 (full, 18 lost)", got)
		}
		time.Sleep(time.Second) // 75 made
		if got, lost := mxPointers(t, m), m.LostSamples(); got != [3]byte{0, 0x1F, 0} || lost != 43 {
			t.Errorf("after 3 s: WR, OVF, RD = % X, lost %d, want 00 1F 00 (saturated), 43", got, lost)
		}
		// The FIFO kept the oldest samples; popping one clears OVF_COUNTER.
		if got := mxTx(t, m, []byte{mxRegFIFOData}, 6); !bytes.Equal(got, first) {
			t.Errorf("oldest sample = % X, want % X", got, first)
		}
		if got := mxPointers(t, m); got != [3]byte{0, 0, 1} {
			t.Errorf("WR, OVF, RD after one pop = % X, want 00 00 01", got)
		}
		time.Sleep(40 * time.Millisecond)
		if got := mxPointers(t, m); got != [3]byte{1, 0, 1} {
			t.Errorf("WR, OVF, RD one sample later = % X, want 01 00 01", got)
		}
	})
}

func TestMAX30102OverflowWithRollover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x5F)
		time.Sleep(2 * time.Second) // 50 made: the newest 32 kept
		if got := mxPointers(t, m); got != [3]byte{18, 18, 18} {
			t.Errorf("WR, OVF, RD = % X, want 12 12 12", got)
		}
		if got := m.Buffered(); got != 32 {
			t.Errorf("Buffered() = %d, want 32", got)
		}
	})
}

func TestMAX30102FIFODataPops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		time.Sleep(200 * time.Millisecond) // 5 samples
		burst := mxTx(t, m, []byte{mxRegFIFOData}, 12)
		if got := mxPointers(t, m); got != [3]byte{5, 0, 2} {
			t.Errorf("after a 12-byte burst: WR, OVF, RD = % X, want 05 00 02", got)
		}
		// The bytes of one sample may come in several transactions; the
		// address does not move off FIFO_DATA.
		mxTx(t, m, []byte{mxRegFIFORdPtr, 0}, 0)
		var split []byte
		for range 4 {
			split = append(split, mxTx(t, m, []byte{mxRegFIFOData}, 3)...)
		}
		if !bytes.Equal(split, burst) {
			t.Errorf("read 3 bytes at a time = % X, want % X", split, burst)
		}
		for i := 0; i < len(burst); i += 3 {
			if burst[i]&^0x03 != 0 {
				t.Errorf("byte %d = %#x: bits above 17 set", i, burst[i])
			}
		}
		// An empty FIFO reads zeros and pops nothing.
		mxTx(t, m, []byte{mxRegFIFORdPtr, 5}, 0)
		if got := mxTx(t, m, []byte{mxRegFIFOData}, 6); !bytes.Equal(got, make([]byte, 6)) {
			t.Errorf("empty FIFO_DATA = % X, want zeros", got)
		}
		if got := mxPointers(t, m); got != [3]byte{5, 0, 5} {
			t.Errorf("after reading an empty FIFO: WR, OVF, RD = % X, want 05 00 05", got)
		}
	})
}

func TestMAX30102ShutdownStopsSampling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		time.Sleep(100 * time.Millisecond) // 2 samples
		mxTx(t, m, []byte{mxRegModeConfig, mxModeShutdown | mxModeSpO2}, 0)
		if !m.Shutdown() || m.Mode() != mxModeSpO2 {
			t.Errorf("Shutdown(), Mode() = %v, %#x, want true, 0x03", m.Shutdown(), m.Mode())
		}
		time.Sleep(time.Hour)
		if got := m.Buffered(); got != 2 {
			t.Errorf("after an hour in shutdown: %d samples, want 2", got)
		}
		// Waking up does not produce the samples of the time asleep.
		mxTx(t, m, []byte{mxRegModeConfig, mxModeSpO2}, 0)
		time.Sleep(40 * time.Millisecond)
		if got, lost := m.Buffered(), m.LostSamples(); got != 3 || lost != 0 {
			t.Errorf("40 ms after waking: %d samples, %d lost, want 3, 0", got, lost)
		}
	})
}

func TestMAX30102LongSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		time.Sleep(time.Hour) // 90 000 samples at 25 Hz
		if got, lost := mxPointers(t, m), m.LostSamples(); got != [3]byte{0, 0x1F, 0} || lost != 90000-32 {
			t.Errorf("after an hour: WR, OVF, RD = % X, lost %d, want 00 1F 00, %d", got, lost, 90000-32)
		}
	})
}

func TestMAX30102LEDOffGivesNoSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		mxTx(t, m, []byte{mxRegLED1PA, 0}, 0)
		mxTx(t, m, []byte{mxRegFIFOWrPtr, 0, 0, 0}, 0)
		time.Sleep(time.Second)
		b := mxTx(t, m, []byte{mxRegFIFOData}, 25*6)
		for i := 0; i < len(b); i += 6 {
			red := uint32(b[i])<<16 | uint32(b[i+1])<<8 | uint32(b[i+2])
			ir := uint32(b[i+3])<<16 | uint32(b[i+4])<<8 | uint32(b[i+5])
			if red != 0 || ir < 100000 || ir > 140000 {
				t.Fatalf("sample %d: red %d, IR %d, want 0 and about 120 000", i/6, red, ir)
			}
		}
	})
}

func TestMAX30102Interrupts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		if got := mxTx(t, m, []byte{mxRegIntStatus1}, 1)[0]; got != mxIntPwrRdy {
			t.Errorf("INT_STATUS1 at power-up = %#x, want PWR_RDY", got)
		}
		if got := mxTx(t, m, []byte{mxRegIntStatus1}, 1)[0]; got != 0 {
			t.Errorf("INT_STATUS1 read again = %#x, want 0 (cleared on read)", got)
		}
		mxStart(t, m, 0x4F) // A_FULL at 17 unread samples
		time.Sleep(16 * 40 * time.Millisecond)
		if got := mxTx(t, m, []byte{mxRegIntStatus1}, 1)[0]; got != mxIntPPGRdy {
			t.Errorf("INT_STATUS1 at 16 samples = %#x, want PPG_RDY", got)
		}
		time.Sleep(40 * time.Millisecond)
		if got := mxTx(t, m, []byte{mxRegIntStatus1}, 1)[0]; got != mxIntPPGRdy|mxIntAFull {
			t.Errorf("INT_STATUS1 at 17 samples = %#x, want PPG_RDY|A_FULL", got)
		}
	})
}

func TestMAX30102DieTemperature(t *testing.T) {
	m := NewMAX30102(steady(60, 98), 1)
	mxTx(t, m, []byte{mxRegIntStatus1}, 2)
	mxTx(t, m, []byte{mxRegTempConfig, 0x01}, 0)
	if got := mxTx(t, m, []byte{mxRegIntStatus2}, 1)[0]; got != mxIntDieTempRdy {
		t.Errorf("INT_STATUS2 = %#x, want DIE_TEMP_RDY", got)
	}
	if got := mxTx(t, m, []byte{mxRegTempInt}, 2); !bytes.Equal(got, []byte{31, 4}) {
		t.Errorf("TEMP_INT, TEMP_FRAC = % X, want 1F 04 (31.25 °C)", got)
	}
}

func TestMAX30102SampleLayoutPerMode(t *testing.T) {
	tests := []struct {
		name    string
		setup   []byte // written from MODE_CONFIG on
		slots   []byte // expected slot order: mxSlotRed, mxSlotIR
		perByte int
	}{
		{"HR", []byte{mxRegModeConfig, mxModeHR}, []byte{mxSlotRed}, 3},
		{"SpO2", []byte{mxRegModeConfig, mxModeSpO2}, []byte{mxSlotRed, mxSlotIR}, 6},
		{"multi-LED IR, red", nil, []byte{mxSlotIR, mxSlotRed}, 6},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			m := NewMAX30102(steady(60, 98), 1)
			mxTx(t, m, []byte{mxRegFIFOConfig, 0x4F}, 0)
			mxTx(t, m, []byte{mxRegSpO2Config, 0x27}, 0)
			mxTx(t, m, []byte{mxRegLED1PA, 0x12, 0x24}, 0) // red at half the IR current
			if tt.setup == nil {
				mxTx(t, m, []byte{mxRegMultiLED1, mxSlotRed<<4 | mxSlotIR, 0}, 0)
				mxTx(t, m, []byte{mxRegModeConfig, mxModeMultiLED}, 0)
			} else {
				mxTx(t, m, tt.setup, 0)
			}
			time.Sleep(80 * time.Millisecond)
			b := mxTx(t, m, []byte{mxRegFIFOData}, tt.perByte)
			if got := mxPointers(t, m); got[2] != 1 {
				t.Errorf("%s: RD after %d bytes = %d, want 1", tt.name, tt.perByte, got[2])
			}
			for i, slot := range tt.slots {
				v := uint32(b[3*i])<<16 | uint32(b[3*i+1])<<8 | uint32(b[3*i+2])
				lo, hi := 40000.0, 50000.0 // red, 3.5 mA
				if slot == mxSlotIR {
					lo, hi = 110000, 130000 // IR, 7 mA
				}
				if float64(v) < lo || float64(v) > hi {
					t.Errorf("%s: slot %d = %d, want %v..%v", tt.name, i, v, lo, hi)
				}
			}
		})
	}
}

func TestMAX30102ResolutionFollowsPulseWidth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMAX30102(steady(60, 98), 1)
		mxStart(t, m, 0x4F)
		mxTx(t, m, []byte{mxRegSpO2Config, 0x24}, 0) // 69 us: 15 bits, left-justified
		time.Sleep(time.Second)
		b := mxTx(t, m, []byte{mxRegFIFOData}, 25*6)
		for i := 2; i < len(b); i += 3 {
			if b[i]&0x07 != 0 {
				t.Fatalf("byte %d = %#x: the 3 low bits of a 15-bit sample are set", i, b[i])
			}
		}
	})
}

func TestMAX30102Deterministic(t *testing.T) {
	read := func(seed int64) (b []byte) {
		synctest.Test(t, func(t *testing.T) {
			m := NewMAX30102(steady(60, 98), seed)
			mxStart(t, m, 0x4F)
			time.Sleep(time.Second)
			b = mxTx(t, m, []byte{mxRegFIFOData}, 25*6)
		})
		return b
	}
	a, b, c := read(1), read(1), read(2)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed 1 differ")
	}
	if bytes.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave the same samples")
	}
}

// The waveform carries the sleeper's vitals: its period is the heart rate,
// and its red and IR modulations are in the ratio R = (110 − SpO2)/25.
func TestMAX30102WaveformEncodesVitals(t *testing.T) {
	for _, v := range []struct{ hr, spo2 float64 }{{72, 97}, {45, 88}, {150, 100}} {
		synctest.Test(t, func(t *testing.T) {
			m := NewMAX30102(steady(v.hr, v.spo2), 3)
			mxStart(t, m, 0x1F) // no averaging: 100 Hz
			var red, ir []float64
			for range 10 {
				time.Sleep(300 * time.Millisecond) // 30 samples
				b := mxTx(t, m, []byte{mxRegFIFOData}, 30*6)
				for i := 0; i < len(b); i += 6 {
					red = append(red, float64(uint32(b[i])<<16|uint32(b[i+1])<<8|uint32(b[i+2])))
					ir = append(ir, float64(uint32(b[i+3])<<16|uint32(b[i+4])<<8|uint32(b[i+5])))
				}
			}
			if got := m.LostSamples(); got != 0 {
				t.Fatalf("lost %d samples", got)
			}
			// Regressing red on IR gives the ratio of their pulse
			// amplitudes without needing whole beats, and averages the
			// noise out.
			var mRed, mIR float64
			for i := range ir {
				mRed += red[i]
				mIR += ir[i]
			}
			mRed /= float64(len(red))
			mIR /= float64(len(ir))
			var cov, varIR float64
			for i := range ir {
				cov += (red[i] - mRed) * (ir[i] - mIR)
				varIR += (ir[i] - mIR) * (ir[i] - mIR)
			}
			r := cov / varIR * mIR / mRed
			if want := vitals.RatioFromSpO2(v.spo2); math.Abs(r-want) > 0.01*want {
				t.Errorf("HR %v SpO2 %v: R = %.4f, want %.4f ± 1 %%", v.hr, v.spo2, r, want)
			}
			// Systoles: the IR counts dip to their lowest third once per
			// beat (the dicrotic wave does not go that deep), and come back
			// above the middle in between.
			lo, hi := slices.Min(ir), slices.Max(ir)
			beats, armed := 0, true
			for _, s := range ir {
				switch {
				case armed && s < lo+(hi-lo)/3:
					beats++
					armed = false
				case s > (lo+hi)/2:
					armed = true
				}
			}
			if want := v.hr / 60 * 3; math.Abs(float64(beats)-want) > 1 {
				t.Errorf("HR %v: %d beats in 3 s, want %.1f ± 1", v.hr, beats, want)
			}
		})
	}
}

func TestPPGPulseHasDicroticNotch(t *testing.T) {
	var maxima, minima []float64
	const n = 1000
	for i := range n {
		prev, cur, next := ppgPulse(float64(i-1)/n), ppgPulse(float64(i)/n), ppgPulse(float64(i+1)/n)
		if cur > prev && cur > next {
			maxima = append(maxima, float64(i)/n)
		}
		if cur < prev && cur < next {
			minima = append(minima, float64(i)/n)
		}
	}
	// One systolic peak, the notch, the dicrotic peak, the diastolic low.
	if len(maxima) != 2 || len(minima) != 2 || !(maxima[0] < minima[0] && minima[0] < maxima[1]) {
		t.Errorf("maxima at %v, minima at %v; want systolic peak, notch, dicrotic peak", maxima, minima)
	}
	if p := ppgPulse(maxima[0]); math.Abs(p-1) > 0.02 {
		t.Errorf("systolic peak = %.3f, want ≈ 1", p)
	}
}
