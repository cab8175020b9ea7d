package sim

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// adsTx is one transaction of n bytes (0: write only) sending w.
func adsTx(t *testing.T, m *ADS1299, n int, w ...byte) []byte {
	t.Helper()
	var r []byte
	if n > 0 {
		r = make([]byte, n)
		w = append(w, make([]byte, n-len(w))...)
	}
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

// adsRREG reads n registers from addr.
func adsRREG(t *testing.T, m *ADS1299, addr byte, n int) []byte {
	t.Helper()
	return adsTx(t, m, n+2, adsOpRREG|addr, byte(n-1))[2:]
}

func constSignal(uv float64) func(time.Time, int) float64 {
	return func(time.Time, int) float64 { return uv }
}

func TestADS1299ResetValues(t *testing.T) {
	m := NewADS1299(constSignal(0), NewLine("DRDY", 1))
	want := []byte{0x3E, 0x96, 0xC0, 0x60, 0x00, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61,
		0, 0, 0, 0, 0, 0, 0, 0x0F, 0, 0, 0}
	// Power-up is in RDATAC: RREG is ignored until SDATAC, and the
	// transaction shifts out a frame (no conversion yet: zeros after the
	// status word C0 00 00).
	if got := adsTx(t, m, 26, adsOpRREG, 23); !bytes.Equal(got, append([]byte{0xC0, 0, 0}, make([]byte, 23)...)) {
		t.Errorf("RREG in RDATAC mode = % X, want a frame C0 00 00 and zeros", got)
	}
	adsTx(t, m, 0, adsOpSDATAC)
	if got := adsRREG(t, m, 0, 24); !bytes.Equal(got, want) {
		t.Errorf("registers after power-up = % X, want % X", got, want)
	}
	adsTx(t, m, 0, adsOpWREG|0x01, 2, 0x95, 0xD0, 0xE0)
	adsTx(t, m, 0, adsOpReset)
	if m.ReadingContinuously() != true {
		t.Errorf("RESET left SDATAC mode")
	}
	adsTx(t, m, 0, adsOpSDATAC)
	if got := adsRREG(t, m, 0, 24); !bytes.Equal(got, want) {
		t.Errorf("registers after RESET = % X, want % X", got, want)
	}
}

func TestADS1299RegisterAccess(t *testing.T) {
	m := NewADS1299(constSignal(0), NewLine("DRDY", 1))
	adsTx(t, m, 0, adsOpSDATAC)
	// One WREG of 4 registers from CH1SET, then a burst read back.
	adsTx(t, m, 0, adsOpWREG|0x05, 3, 0x10, 0x20, 0x30, 0x81)
	if got := adsRREG(t, m, 0x04, 6); !bytes.Equal(got, []byte{0x00, 0x10, 0x20, 0x30, 0x81, 0x61}) {
		t.Errorf("LOFF..CH5SET = % X, want 00 10 20 30 81 61", got)
	}
	// Read-only: ID, LOFF_STATP/N, CONFIG3's BIAS_STAT.
	adsTx(t, m, 0, adsOpWREG, 0, 0x00) // ID
	adsTx(t, m, 0, adsOpWREG|0x12, 1, 0xFF, 0xFF)
	adsTx(t, m, 0, adsOpWREG|0x03, 0, 0xED)
	if got := []byte{m.Register(0x00), m.Register(0x12), m.Register(0x13), m.Register(0x03)}; !bytes.Equal(got, []byte{0x3E, 0, 0, 0xEC}) {
		t.Errorf("ID, LOFF_STATP, LOFF_STATN, CONFIG3 = % X, want 3E 00 00 EC", got)
	}
	// A WREG cut by the end of its transaction writes what came; the next
	// transaction starts a new command.
	adsTx(t, m, 0, adsOpWREG|0x0D, 2, 0x01)
	adsTx(t, m, 0, 0x02) // WAKEUP, not data for BIAS_SENSN
	if got := adsRREG(t, m, 0x0D, 2); !bytes.Equal(got, []byte{0x01, 0x00}) {
		t.Errorf("BIAS_SENSP/N after a cut WREG = % X, want 01 00", got)
	}
	// In RDATAC, WREG is ignored.
	adsTx(t, m, 0, adsOpRDATAC)
	adsTx(t, m, 0, adsOpWREG|0x0D, 0, 0x7F)
	if got := m.Register(0x0D); got != 0x01 {
		t.Errorf("WREG in RDATAC wrote BIAS_SENSP = %#x", got)
	}
}

// adsStart configures m as the driver does, for rate code dr, and starts it.
func adsStart(t *testing.T, m *ADS1299, dr byte) {
	t.Helper()
	adsTx(t, m, 0, adsOpSDATAC)
	adsTx(t, m, 0, adsOpWREG|0x01, 11, 0x90|dr, 0xC0, 0xEC, 0x00, 0x60, 0x00, 0x10, 0x20, 0x30, 0x40, 0x51, 0x81)
	adsTx(t, m, 0, adsOpStart)
}

func TestADS1299ConvertsAtConfiguredRate(t *testing.T) {
	for _, tt := range []struct {
		dr   byte
		want uint64
	}{{6, 250}, {5, 500}, {4, 1000}, {0, 16000}, {7, 250}} {
		synctest.Test(t, func(t *testing.T) {
			m := NewADS1299(constSignal(0), NewLine("DRDY", 1))
			start := time.Now()
			adsStart(t, m, tt.dr)
			time.Sleep(time.Second - time.Nanosecond)
			if n, _ := m.Conversions(); n != tt.want-1 {
				t.Errorf("DR %d: %d conversions just before 1 s, want %d", tt.dr, n, tt.want-1)
			}
			time.Sleep(time.Nanosecond)
			if n, at := m.Conversions(); n != tt.want || !at.Equal(start.Add(time.Second)) {
				t.Errorf("DR %d: %d conversions after 1 s, newest at %v; want %d at 1s", tt.dr, n, at.Sub(start), tt.want)
			}
		})
	}
}

func TestADS1299FrameValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewADS1299(func(_ time.Time, ch int) float64 { return float64(ch) * 1000 }, NewLine("DRDY", 1))
		adsStart(t, m, 5)
		// GPIO data bits show in the status word.
		adsTx(t, m, 0, adsOpWREG|0x14, 0, 0xA0)
		if got := adsTx(t, m, 28, adsOpRDATA)[1:]; !bytes.Equal(got, append([]byte{0xC0, 0x00, 0x0A}, make([]byte, 24)...)) {
			t.Errorf("RDATA before the first conversion = % X, want C0 00 0A and zeros", got)
		}
		time.Sleep(2 * time.Millisecond)
		got := adsTx(t, m, 28, adsOpRDATA)[1:]
		// Gains 24, 1, 2, 4, 6, 8 on channels 1..6 (µV × gain × 2^23 /
		// 4.5e6), then CH7SET 0x51 (inputs shorted), CH8SET 0x81 (PD).
		code := func(uv, gain float64) int32 { return int32(uv*gain*(1<<23)/4.5e6 + 0.5) }
		want := []int32{code(1000, 24), code(2000, 1), code(3000, 2), code(4000, 4), code(5000, 6), code(6000, 8), 0, 0}
		if !bytes.Equal(got[:3], []byte{0xC0, 0x00, 0x0A}) {
			t.Errorf("status = % X, want C0 00 0A", got[:3])
		}
		for i, w := range want {
			b := got[3+3*i:]
			if v := int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8) >> 8; v != w {
				t.Errorf("channel %d = %d, want %d", i+1, v, w)
			}
		}
	})
}

func TestADS1299LeadOffStatus(t *testing.T) {
	m := NewADS1299(constSignal(0), NewLine("DRDY", 1))
	adsTx(t, m, 0, adsOpSDATAC)
	if err := m.SetLeadOff(2, true); err != nil {
		t.Fatal(err)
	}
	_ = m.SetLeadOff(5, true)
	if got := adsRREG(t, m, 0x12, 1)[0]; got != 0 {
		t.Errorf("LOFF_STATP without lead-off detection = %#x, want 0", got)
	}
	adsTx(t, m, 0, adsOpWREG|0x0F, 0, 0x03) // sensing on channels 1, 2
	if got := adsRREG(t, m, 0x12, 1)[0]; got != 0 {
		t.Errorf("LOFF_STATP with the comparators off = %#x, want 0", got)
	}
	adsTx(t, m, 0, adsOpWREG|0x17, 0, 0x02)
	if got := adsRREG(t, m, 0x12, 1)[0]; got != 0x02 {
		t.Errorf("LOFF_STATP = %#x, want 0x02 (channel 2 only: 5 is not sensed)", got)
	}
	if got := adsTx(t, m, 4, adsOpRDATA)[1:]; !bytes.Equal(got, []byte{0xC0, 0x20, 0x00}) {
		t.Errorf("status word = % X, want C0 20 00", got)
	}
	if err := m.SetSaturated(0, true); err == nil {
		t.Errorf("SetSaturated(0) accepted")
	}
}

// adsRun runs m's DRDY clock for the duration of a synctest bubble's test.
func adsRun(t *testing.T, m *ADS1299) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// edges counts the falling edges queued on l, without waiting.
func edges(l *Line) int {
	n := 0
	for {
		select {
		case <-l.edges:
			n++
		default:
			return n
		}
	}
}

func TestADS1299DRDY(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drdy := NewLine("DRDY", 1)
		m := NewADS1299(constSignal(0), drdy)
		if err := drdy.In(gpio.Float, gpio.FallingEdge); err != nil {
			t.Fatal(err)
		}
		if drdy.Read() != gpio.High {
			t.Errorf("DRDY idle is %v, want High", drdy.Read())
		}
		adsRun(t, m)
		adsStart(t, m, 5)
		adsTx(t, m, 0, adsOpRDATAC)
		// Unread conversions each pulse DRDY: one falling edge each.
		time.Sleep(10*time.Millisecond + time.Microsecond)
		if got := edges(drdy); got != 5 || drdy.Read() != gpio.Low || m.Unread() != 5 {
			t.Errorf("5 unread conversions: %d edges, DRDY %v, %d unread; want 5, Low, 5", got, drdy.Read(), m.Unread())
		}
		// A read raises DRDY until the next conversion.
		adsTx(t, m, 27)
		if drdy.Read() != gpio.High || m.Unread() != 0 {
			t.Errorf("after a read: DRDY %v, %d unread; want High, 0", drdy.Read(), m.Unread())
		}
		time.Sleep(2 * time.Millisecond)
		if got := edges(drdy); got != 1 || drdy.Read() != gpio.Low {
			t.Errorf("next conversion: %d edges, DRDY %v; want 1, Low", got, drdy.Read())
		}
		// STOP, STANDBY and a power loss stop the edges.
		for k, stop := range []func(){
			func() { adsTx(t, m, 0, adsOpSDATAC, adsOpStop) },
			func() { adsTx(t, m, 0, adsOpStandby) },
			func() { m.SetPowered(false) },
		} {
			adsTx(t, m, 0, adsOpStart, adsOpWakeup)
			m.SetPowered(true)
			adsStart(t, m, 5)
			time.Sleep(5 * time.Millisecond) // between conversions: Run has had its turn
			if !m.Converting() || edges(drdy) == 0 {
				t.Fatalf("not converting after START")
			}
			stop()
			time.Sleep(20 * time.Millisecond)
			if c, e := m.Converting(), edges(drdy); c || e != 0 {
				t.Errorf("stop %d: converting %v, %d edges after it; want false, 0", k, c, e)
			}
		}
		// Unpowered, the chip answers zeros.
		if got := adsTx(t, m, 3, adsOpSDATAC); !bytes.Equal(got, []byte{0, 0, 0}) {
			t.Errorf("unpowered chip answered % X", got)
		}
	})
}

func TestADS1299WakeupAfterStandby(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewADS1299(constSignal(0), NewLine("DRDY", 1))
		adsStart(t, m, 6)
		adsTx(t, m, 0, adsOpStandby)
		time.Sleep(time.Second)
		if n, _ := m.Conversions(); n != 0 || !m.Standby() {
			t.Errorf("standby: %d conversions, Standby() %v; want 0, true", n, m.Standby())
		}
		adsTx(t, m, 0, adsOpWakeup)
		time.Sleep(40 * time.Millisecond)
		if n, _ := m.Conversions(); n != 10 || m.Standby() {
			t.Errorf("after WAKEUP: %d conversions in 40 ms at 250 sps, Standby() %v; want 10, false", n, m.Standby())
		}
	})
}

// BenchmarkADS1299Frame measures the model's side of one 500 sps frame with
// an EEGSignal of every band, 1/f noise and artefacts: what the simulator
// spends per conversion.
func BenchmarkADS1299Frame(b *testing.B) {
	t0 := time.Now()
	eeg, err := NewEEGSignal(EEGOpts{Bands: [EEGBands]float64{100, 20, 30, 10, 5, 1}, PinkNoise: 3,
		BlinksPerMinute: 15, MovementsPerMinute: 1, Start: t0, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	// Each frame is a new conversion 2 ms after the previous, as at
	// 500 sps, whenever the benchmark reads it.
	k := 0
	sig := func(_ time.Time, ch int) float64 { return eeg.At(t0.Add(time.Duration(k)*2*time.Millisecond), ch) }
	m := NewADS1299(sig, NewLine("DRDY", 1))
	cfg := []byte{adsOpSDATAC, adsOpWREG | 0x01, 11, 0x95, 0xC0, 0xEC, 0, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60,
		adsOpStart, adsOpRDATAC}
	if err := m.Tx(cfg, nil); err != nil {
		b.Fatal(err)
	}
	w, r := make([]byte, adsFrameSize), make([]byte, adsFrameSize)
	time.Sleep(3 * time.Millisecond) // a conversion to read
	b.ReportAllocs()
	for b.Loop() {
		k++
		if err := m.Tx(w, r); err != nil {
			b.Fatal(err)
		}
	}
	if r[0] != 0xC0 || bytes.Equal(r[3:], make([]byte, 24)) {
		b.Fatalf("frame % X: no conversion was computed", r)
	}
}
