package sim

import (
	"bytes"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func tmpTx(t *testing.T, m *TMP117, w []byte, n int) []byte {
	t.Helper()
	r := make([]byte, n)
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

func TestTMP117RegistersAndPointer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewTMP117(func(time.Time) float64 { return 36.6 })
		tests := []struct {
			ptr  byte
			want []byte
		}{
			{tmpRegTempResult, []byte{0x80, 0x00}}, // no conversion yet
			{tmpRegConfig, []byte{0x02, 0x20}},
			{tmpRegTHigh, []byte{0x60, 0x00}},
			{tmpRegTLow, []byte{0x80, 0x00}},
			{tmpRegTempOffset, []byte{0x00, 0x00}},
			{tmpRegDeviceID, []byte{0x01, 0x17}},
			{0x0A, []byte{0x00, 0x00}}, // unlisted
			{0x2F, []byte{0x00, 0x00}}, // beyond the map
		}
		for _, tt := range tests {
			if got := tmpTx(t, m, []byte{tt.ptr}, 2); !bytes.Equal(got, tt.want) {
				t.Errorf("register %#x = % X, want % X", tt.ptr, got, tt.want)
			}
		}
		// No auto-increment: a longer read repeats the register; a read
		// alone reads the register last pointed at.
		tmpTx(t, m, []byte{tmpRegDeviceID}, 0)
		if got := tmpTx(t, m, nil, 5); !bytes.Equal(got, []byte{0x01, 0x17, 0x01, 0x17, 0x01}) {
			t.Errorf("read of 5 at Device_ID = % X, want 01 17 01 17 01", got)
		}
		// Read-only registers, unlisted ones and half writes keep their
		// values; THigh keeps what is written.
		tmpTx(t, m, []byte{tmpRegDeviceID, 0x12, 0x34}, 0)
		tmpTx(t, m, []byte{tmpRegTempResult, 0x12, 0x34}, 0)
		tmpTx(t, m, []byte{0x0A, 0x12, 0x34}, 0)
		tmpTx(t, m, []byte{tmpRegTLow, 0x12}, 0)
		tmpTx(t, m, []byte{tmpRegTHigh, 0x50, 0x00}, 0)
		for ptr, want := range map[byte]uint16{tmpRegDeviceID: 0x0117, tmpRegTempResult: 0x8000, 0x0A: 0, tmpRegTLow: 0x8000, tmpRegTHigh: 0x5000} {
			if got := m.Register(ptr); got != want {
				t.Errorf("register %#x = %#04x, want %#04x", ptr, got, want)
			}
		}
	})
}

// From power-up, continuous conversions of 8 averages once a second; the
// first at 125 ms. Reading Configuration or Temp_Result clears Data_Ready.
func TestTMP117ContinuousAndDataReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := NewTMP117(func(t time.Time) float64 { return 36 + t.Sub(start).Seconds() })
		time.Sleep(125*time.Millisecond - time.Nanosecond)
		if got := m.Register(tmpRegConfig); got != 0x0220 || m.Conversions() != 0 {
			t.Errorf("just before 125 ms: Configuration %#04x, %d conversions; want 0x0220, 0", got, m.Conversions())
		}
		time.Sleep(time.Nanosecond)
		if got := tmpTx(t, m, []byte{tmpRegConfig}, 2); !bytes.Equal(got, []byte{0x22, 0x20}) {
			t.Errorf("Configuration at 125 ms = % X, want 22 20 (Data_Ready)", got)
		}
		if got := tmpTx(t, m, []byte{tmpRegConfig}, 2); !bytes.Equal(got, []byte{0x02, 0x20}) {
			t.Errorf("Configuration read again = % X, want 02 20 (cleared by the read)", got)
		}
		// 36.125 °C × 128 = 4624 = 0x1210
		if got := tmpTx(t, m, []byte{tmpRegTempResult}, 2); !bytes.Equal(got, []byte{0x12, 0x10}) {
			t.Errorf("Temp_Result = % X, want 12 10", got)
		}
		time.Sleep(time.Second)
		if m.Register(tmpRegConfig)&tmpDataReady == 0 {
			t.Errorf("Data_Ready clear after the second conversion")
		}
		// 37.125 °C × 128 = 4752 = 0x1290; reading Temp_Result clears Data_Ready too.
		if got := tmpTx(t, m, []byte{tmpRegTempResult}, 2); !bytes.Equal(got, []byte{0x12, 0x90}) || m.Register(tmpRegConfig) != 0x0220 {
			t.Errorf("Temp_Result = % X, Configuration %#04x after; want 12 90, 0x0220", got, m.Register(tmpRegConfig))
		}
		time.Sleep(10 * time.Second)
		if got, n := m.Register(tmpRegTempResult), m.Conversions(); got != 47*128+16 || n != 12 {
			t.Errorf("10 s later: Temp_Result %d, %d conversions; want %d (47.125 °C), 12", got, n, 47*128+16)
		}
	})
}

func TestTMP117CycleFollowsConfiguration(t *testing.T) {
	tests := []struct {
		cfg          uint16
		first, cycle time.Duration
	}{
		{0x0000, 15500 * time.Microsecond, 15500 * time.Microsecond}, // no averaging, CONV 0
		{0x0080, 15500 * time.Microsecond, 125 * time.Millisecond},   // no averaging, CONV 1
		{0x0040, 500 * time.Millisecond, 500 * time.Millisecond},     // 32 averages, CONV 0
		{0x0140, 500 * time.Millisecond, 500 * time.Millisecond},     // 32 averages, CONV 2 (250 ms) is 500 ms
		{0x02E0, time.Second, 4 * time.Second},                       // 64 averages, CONV 5
		{0x0BE0, time.Second, 16 * time.Second},                      // MOD 10 is continuous too; 64 averages, CONV 7
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			m := NewTMP117(func(time.Time) float64 { return 20 })
			time.Sleep(3 * time.Millisecond)
			tmpTx(t, m, []byte{tmpRegConfig, byte(tt.cfg >> 8), byte(tt.cfg)}, 0)
			time.Sleep(tt.first - time.Nanosecond)
			if n := m.Conversions(); n != 0 {
				t.Errorf("Configuration %#04x: %d conversions before %v", tt.cfg, n, tt.first)
			}
			time.Sleep(time.Nanosecond)
			if n := m.Conversions(); n != 1 {
				t.Errorf("Configuration %#04x: %d conversions at %v, want 1", tt.cfg, n, tt.first)
			}
			time.Sleep(tt.cycle * 3)
			if n := m.Conversions(); n != 4 {
				t.Errorf("Configuration %#04x: %d conversions 3 cycles of %v later, want 4", tt.cfg, n, tt.cycle)
			}
		})
	}
}

func TestTMP117OneShotAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewTMP117(func(time.Time) float64 { return 30 })
		// Shutdown during the standby after the first conversion.
		time.Sleep(500 * time.Millisecond)
		tmpTx(t, m, []byte{tmpRegConfig, 0x06, 0x20}, 0)
		if !m.Shutdown() || m.Conversions() != 1 {
			t.Errorf("shutdown in standby: %v, %d conversions; want true, 1", m.Shutdown(), m.Conversions())
		}
		time.Sleep(time.Minute)
		if m.Conversions() != 1 {
			t.Errorf("%d conversions in shutdown, want 1", m.Conversions())
		}
		// One-shot: one conversion of the averaging's length, then shutdown.
		tmpTx(t, m, []byte{tmpRegConfig, 0x0E, 0x20}, 0)
		if m.Shutdown() {
			t.Errorf("shut down during the one-shot conversion")
		}
		time.Sleep(125 * time.Millisecond)
		if got := m.Register(tmpRegConfig); got != 0x2620 || !m.Shutdown() || m.Conversions() != 2 {
			t.Errorf("after one shot: Configuration %#04x, shutdown %v, %d conversions; want 0x2620, true, 2", got, m.Shutdown(), m.Conversions())
		}
	})
}

func TestTMP117OffsetResetStallAndNaN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := 25.0
		m := NewTMP117(func(time.Time) float64 { return v })
		tmpTx(t, m, []byte{tmpRegTempOffset, 0xFF, 0x80}, 0) // −1 °C
		time.Sleep(125 * time.Millisecond)
		if got := int16(m.Register(tmpRegTempResult)); got != 24*128 {
			t.Errorf("with a −1 °C offset: %d, want %d", got, 24*128)
		}
		m.StallConversions(true)
		tmpTx(t, m, []byte{tmpRegConfig}, 2)
		v = 30
		time.Sleep(5 * time.Second)
		if got := int16(m.Register(tmpRegTempResult)); got != 24*128 || m.Register(tmpRegConfig)&tmpDataReady != 0 || m.Conversions() != 1 {
			t.Errorf("stalled: %d, Configuration %#04x, %d conversions; want %d, no Data_Ready, 1", got, m.Register(tmpRegConfig), m.Conversions(), 24*128)
		}
		m.StallConversions(false)
		v = math.NaN()
		time.Sleep(time.Second)
		if m.Conversions() != 1 || m.Register(tmpRegConfig)&tmpDataReady != 0 {
			t.Errorf("NaN: %d conversions, Configuration %#04x; want 1, no Data_Ready", m.Conversions(), m.Register(tmpRegConfig))
		}
		v = 300 // beyond the chip's range: clamped
		time.Sleep(time.Second)
		if got := m.Register(tmpRegTempResult); got != 0x7FFF {
			t.Errorf("300 °C: %#04x, want 0x7FFF", got)
		}
		// Soft_Reset: the reset values, no conversion yet, the first at 125 ms.
		tmpTx(t, m, []byte{tmpRegConfig, 0x00, 0x82}, 0)
		if got := m.Register(tmpRegTempResult); got != 0x8000 || m.Register(tmpRegConfig) != 0x0220 || m.Register(tmpRegTempOffset) != 0 {
			t.Errorf("after Soft_Reset: Temp_Result %#04x, Configuration %#04x, Temp_Offset %#04x; want 0x8000, 0x0220, 0",
				got, m.Register(tmpRegConfig), m.Register(tmpRegTempOffset))
		}
		v = -10
		time.Sleep(125 * time.Millisecond)
		if got := int16(m.Register(tmpRegTempResult)); got != -1280 {
			t.Errorf("-10 °C after the reset: %d, want -1280", got)
		}
	})
}

// Any sequence of transactions leaves the model answering as a chip:
// Device_ID unchanged, no flag of Configuration set but Data_Ready, and
// never Data_Ready with Temp_Result 0x8000. Each
// transaction is a header byte (bits 2:0 the bytes written, 5:3 the bytes
// read), then the bytes written; 10 ms pass between them.
func FuzzTMP117Tx(f *testing.F) {
	f.Add([]byte{3, 0x01, 0x0E, 0x20, 0x11, 0x01, 0x11, 0x00})
	f.Add([]byte{3, 0x07, 0x80, 0x00, 3, 0x01, 0x00, 0x02, 0x10})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			m := NewTMP117(func(time.Time) float64 { return 36.6 })
			for len(data) > 0 {
				n := min(int(data[0]&0x07), len(data)-1)
				r := make([]byte, data[0]>>3&0x07)
				w := data[1 : 1+n]
				data = data[1+n:]
				if err := m.Tx(w, r); err != nil {
					t.Fatal(err)
				}
				if m.Register(tmpRegDeviceID) != 0x0117 {
					t.Fatalf("Device_ID changed to %#04x", m.Register(tmpRegDeviceID))
				}
				if m.Register(tmpRegConfig)&0xD003 != 0 {
					t.Fatalf("Configuration %#04x has bits 15, 14, 12, 1 or 0 set", m.Register(tmpRegConfig))
				}
				if m.Register(tmpRegConfig)&tmpDataReady != 0 && m.Register(tmpRegTempResult) == 0x8000 {
					t.Fatalf("Data_Ready with Temp_Result 0x8000")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	})
}
