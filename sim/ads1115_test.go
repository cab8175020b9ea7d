package sim

import (
	"bytes"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func a1115Tx(t *testing.T, m *ADS1115, w []byte, n int) []byte {
	t.Helper()
	r := make([]byte, n)
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

func constant(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

func TestADS1115RegistersAndPointer(t *testing.T) {
	m := NewADS1115(constant(1))
	tests := []struct {
		ptr  byte
		want []byte
	}{
		{adsRegConversion, []byte{0x00, 0x00}},
		{adsRegConfig, []byte{0x85, 0x83}},
		{adsRegLoThresh, []byte{0x80, 0x00}},
		{adsRegHiThresh, []byte{0x7F, 0xFF}},
		{0x05, []byte{0x85, 0x83}}, // the reserved pointer bits are ignored
	}
	for _, tt := range tests {
		if got := a1115Tx(t, m, []byte{tt.ptr}, 2); !bytes.Equal(got, tt.want) {
			t.Errorf("register %#x = % X, want % X", tt.ptr, got, tt.want)
		}
	}
	// The pointer is kept: a read alone reads the last register pointed
	// at; a longer read repeats it.
	a1115Tx(t, m, []byte{adsRegHiThresh}, 0)
	if got := a1115Tx(t, m, nil, 5); !bytes.Equal(got, []byte{0x7F, 0xFF, 0x7F, 0xFF, 0x7F}) {
		t.Errorf("read of 5 at Hi_thresh = % X, want 7F FF 7F FF 7F", got)
	}
	// Thresholds keep what is written; a half write and a write of
	// Conversion change nothing.
	a1115Tx(t, m, []byte{adsRegLoThresh, 0x12, 0x34}, 0)
	a1115Tx(t, m, []byte{adsRegHiThresh, 0x56}, 0)
	a1115Tx(t, m, []byte{adsRegConversion, 0x11, 0x11}, 0)
	for ptr, want := range map[byte]uint16{adsRegLoThresh: 0x1234, adsRegHiThresh: 0x7FFF, adsRegConversion: 0} {
		if got := m.Register(ptr); got != want {
			t.Errorf("register %#x = %#04x, want %#04x", ptr, got, want)
		}
	}
	if !m.PoweredDown() || m.Conversions() != 0 {
		t.Errorf("at power-up: powered down %v, %d conversions; want true, 0", m.PoweredDown(), m.Conversions())
	}
}

func TestADS1115SingleShot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewADS1115(constant(1.65))
		a1115Tx(t, m, []byte{adsRegConfig, 0xC3, 0x83}, 0) // OS, AIN0, ±4.096 V, single shot, 128 sps
		if got := a1115Tx(t, m, []byte{adsRegConfig}, 2); !bytes.Equal(got, []byte{0x43, 0x83}) || m.PoweredDown() {
			t.Errorf("Config while converting = % X, powered down %v; want 43 83, false", got, m.PoweredDown())
		}
		// OS = 1 during a conversion starts nothing more.
		a1115Tx(t, m, []byte{adsRegConfig, 0xC3, 0x83}, 0)
		time.Sleep(7812500*time.Nanosecond - time.Nanosecond)
		if got := a1115Tx(t, m, []byte{adsRegConversion}, 2); !bytes.Equal(got, []byte{0, 0}) || m.Register(adsRegConfig) != 0x4383 {
			t.Errorf("just before 1/128 s: Conversion % X, Config %#04x; want 00 00, 0x4383", got, m.Register(adsRegConfig))
		}
		time.Sleep(time.Nanosecond)
		// 1.65 V / 125 µV = 13200 = 0x3390
		if got := a1115Tx(t, m, []byte{adsRegConversion}, 2); !bytes.Equal(got, []byte{0x33, 0x90}) || m.Register(adsRegConfig) != 0xC383 {
			t.Errorf("at 1/128 s: Conversion % X, Config %#04x; want 33 90, 0xC383", got, m.Register(adsRegConfig))
		}
		time.Sleep(time.Second)
		if !m.PoweredDown() || m.Conversions() != 1 {
			t.Errorf("a second later: powered down %v, %d conversions; want true, 1", m.PoweredDown(), m.Conversions())
		}
	})
}

func TestADS1115ConversionTimeFollowsDataRate(t *testing.T) {
	for dr, want := range []time.Duration{125 * time.Millisecond, 62500 * time.Microsecond, 31250 * time.Microsecond,
		15625 * time.Microsecond, 7812500, 4 * time.Millisecond, time.Second / 475, time.Second / 860} {
		synctest.Test(t, func(t *testing.T) {
			m := NewADS1115(constant(1))
			a1115Tx(t, m, []byte{adsRegConfig, 0xC3, byte(dr<<5 | 3)}, 0)
			time.Sleep(want - time.Nanosecond)
			if m.Conversions() != 0 {
				t.Errorf("DR %d: converted before %v", dr, want)
			}
			time.Sleep(time.Nanosecond)
			if m.Conversions() != 1 {
				t.Errorf("DR %d: not converted at %v", dr, want)
			}
		})
	}
}

func TestADS1115Continuous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := NewADS1115(func(t time.Time) float64 { return t.Sub(start).Seconds() }) // 1 V/s
		a1115Tx(t, m, []byte{adsRegConfig, 0x42, 0x83}, 0)                           // continuous, 128 sps
		time.Sleep(time.Second)
		if got := m.Register(adsRegConfig); got != 0x4283 || m.Conversions() != 128 || m.PoweredDown() {
			t.Errorf("after 1 s: Config %#04x, %d conversions, powered down %v; want 0x4283, 128, false", got, m.Conversions(), m.PoweredDown())
		}
		if got := m.Register(adsRegConversion); got != 8000 { // 1 V
			t.Errorf("Conversion after 1 s = %d, want 8000", got)
		}
		// Back to single shot: the conversion in progress ends, then the
		// chip powers down.
		time.Sleep(time.Millisecond)
		a1115Tx(t, m, []byte{adsRegConfig, 0x43, 0x83}, 0)
		time.Sleep(time.Second)
		if !m.PoweredDown() || m.Conversions() != 129 {
			t.Errorf("after single shot: powered down %v, %d conversions; want true, 129", m.PoweredDown(), m.Conversions())
		}
	})
}

func TestADS1115InputsAndRanges(t *testing.T) {
	tests := []struct {
		cfg  uint16
		want int16
	}{
		{0xC383, 800},    // AIN0 0.1 V, ±4.096 V
		{0xD383, 1600},   // AIN1
		{0xE383, 2400},   // AIN2
		{0xF383, 3200},   // AIN3
		{0x8383, -800},   // AIN0 − AIN1
		{0x9383, -2400},  // AIN0 − AIN3
		{0xB383, -800},   // AIN2 − AIN3
		{0xC983, 6400},   // AIN0, ±0.512 V
		{0xEB83, 32767},  // AIN2 0.3 V over ±0.256 V: clamped
		{0x9B83, -32768}, // AIN0 − AIN3 −0.3 V over ±0.256 V
		{0xC183, 533},    // AIN0, ±6.144 V: 0.1 / 187.5 µV = 533.3
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			m := NewADS1115(constant(0.1))
			m.SetInput(1, constant(0.2))
			m.SetInput(2, constant(0.3))
			m.SetInput(3, constant(0.4))
			a1115Tx(t, m, []byte{adsRegConfig, byte(tt.cfg >> 8), byte(tt.cfg)}, 0)
			time.Sleep(time.Second)
			if got := int16(m.Register(adsRegConversion)); got != tt.want {
				t.Errorf("Config %#04x: code %d, want %d", tt.cfg, got, tt.want)
			}
		})
	}
}

func TestADS1115SaturateAndNaN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := 1.0
		m := NewADS1115(func(time.Time) float64 { return v })
		convert := func() int16 {
			a1115Tx(t, m, []byte{adsRegConfig, 0xC3, 0x83}, 0)
			time.Sleep(time.Second)
			return int16(m.Register(adsRegConversion))
		}
		m.Saturate(true)
		if got := convert(); got != 32767 {
			t.Errorf("saturated: code %d, want 32767", got)
		}
		m.Saturate(false)
		if got := convert(); got != 8000 {
			t.Errorf("after: code %d, want 8000", got)
		}
		v = -0.1
		if got := convert(); got != -800 {
			t.Errorf("-0.1 V: code %d, want -800", got)
		}
		v = math.NaN()
		if got := convert(); got != 0 {
			t.Errorf("NaN: code %d, want 0", got)
		}
	})
}

// Any sequence of transactions leaves the model answering as a chip: the
// thresholds and Config's 15 low bits read back as last written. Each
// transaction is a header byte (bits 2:0 the bytes written, 5:3 the bytes
// read), then the bytes written; a millisecond passes between them.
func FuzzADS1115Tx(f *testing.F) {
	f.Add([]byte{3, 0x01, 0xC3, 0x83, 0x11, 0x00, 3, 0x02, 0x12, 0x34, 0x10})
	f.Add([]byte{1, 0x01, 2, 0x01, 0xFF, 3, 0x05, 0x42, 0x83, 0x28})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			m := NewADS1115(constant(2))
			want := [4]uint16{0, 0x0583, 0x8000, 0x7FFF}
			for len(data) > 0 {
				n := min(int(data[0]&0x07), len(data)-1)
				r := make([]byte, data[0]>>3&0x07)
				w := data[1 : 1+n]
				data = data[1+n:]
				if err := m.Tx(w, r); err != nil {
					t.Fatal(err)
				}
				if len(w) >= 3 && w[0]&3 != 0 {
					want[w[0]&3] = uint16(w[1])<<8 | uint16(w[2])
				}
				time.Sleep(time.Millisecond)
			}
			if got := m.Register(adsRegConfig) & 0x7FFF; got != want[1]&0x7FFF {
				t.Fatalf("Config = %#04x, want %#04x", got, want[1]&0x7FFF)
			}
			if m.Register(adsRegLoThresh) != want[2] || m.Register(adsRegHiThresh) != want[3] {
				t.Fatalf("thresholds %#04x %#04x, want %#04x %#04x", m.Register(adsRegLoThresh), m.Register(adsRegHiThresh), want[2], want[3])
			}
		})
	})
}
