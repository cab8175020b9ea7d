package sim

import (
	"bytes"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func pcaTx(t *testing.T, m *PCA9685, w []byte, n int) []byte {
	t.Helper()
	r := make([]byte, n)
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

// pcaAwake returns a chip awake with auto-increment, the oscillator started
// long ago, every channel full off.
func pcaAwake(t *testing.T, oe *Line) *PCA9685 {
	t.Helper()
	m := NewPCA9685(oe)
	pcaTx(t, m, []byte{pcaRegMode1, pcaAI}, 0)
	return m
}

func zeros(n int) []float64 { return make([]float64, n) }

func TestPCA9685PowerOnValues(t *testing.T) {
	m := NewPCA9685(nil)
	want := map[byte]byte{0x00: 0x11, 0x01: 0x04, 0x02: 0xE2, 0x03: 0xE4, 0x04: 0xE8, 0x05: 0xE0,
		0x06: 0, 0x07: 0, 0x08: 0, 0x09: 0x10, 0x44: 0, 0x45: 0x10, 0x46: 0, 0xF9: 0,
		0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFD: 0, 0xFE: 0x1E, 0xFF: 0}
	for p, v := range want {
		// AI is clear at power-on: one byte per register.
		if got := pcaTx(t, m, []byte{p}, 1)[0]; got != v {
			t.Errorf("register %#02x = %#02x at power-on; want %#02x", p, got, v)
		}
	}
	if !m.Asleep() {
		t.Error("Asleep() = false at power-on; want true (MODE1 SLEEP)")
	}
	// 25 MHz / (4096 × 31) = 196.887600806 Hz
	if got := m.Frequency(); got != 196887600 {
		t.Errorf("Frequency() = %v (%d µHz); want 196.887600 Hz", got, int64(got))
	}
	if got := m.Duties(); !slices.Equal(got, zeros(16)) {
		t.Errorf("Duties() = %v at power-on; want all 0", got)
	}
}

func TestPCA9685PointerWithAndWithoutAutoIncrement(t *testing.T) {
	m := NewPCA9685(nil)
	// AI clear: every byte of a write lands in the register pointed at, a
	// longer read repeats it.
	pcaTx(t, m, []byte{0x02, 0x11, 0x22, 0x33}, 0)
	if got := pcaTx(t, m, []byte{0x02}, 3); !bytes.Equal(got, []byte{0x33, 0x33, 0x33}) || m.Register(0x03) != 0xE4 {
		t.Errorf("AI clear: SUBADR1 read thrice % X, SUBADR2 %#02x; want 33 33 33, 0xE4", got, m.Register(0x03))
	}
	pcaTx(t, m, []byte{pcaRegMode1, pcaSleep | pcaAI}, 0)
	// AI set: LED0's four registers in one write; bits 7:5 of the high
	// bytes are not writable.
	pcaTx(t, m, []byte{pcaRegLED0, 0x01, 0xE2, 0x03, 0xE4}, 0)
	if got := pcaTx(t, m, []byte{pcaRegLED0}, 4); !bytes.Equal(got, []byte{0x01, 0x02, 0x03, 0x04}) {
		t.Errorf("LED0 = % X; want 01 02 03 04", got)
	}
	// From LED15_OFF_H the pointer rolls over to MODE1, and from PRE_SCALE.
	if got := pcaTx(t, m, []byte{pcaRegLED15End}, 3); !bytes.Equal(got, []byte{0x10, pcaSleep | pcaAI, 0x04}) {
		t.Errorf("read of 3 from 0x45 = % X; want 10 30 04", got)
	}
	if got := pcaTx(t, m, []byte{pcaRegAllLED}, 7); !bytes.Equal(got, []byte{0, 0, 0, 0, 0x1E, pcaSleep | pcaAI, 0x04}) {
		t.Errorf("read of 7 from 0xFA = % X; want 00 00 00 00 1E 30 04", got)
	}
	// A read alone goes on from where the last transaction left the pointer.
	pcaTx(t, m, []byte{0x05}, 0)
	if got := pcaTx(t, m, nil, 2); !bytes.Equal(got, []byte{0xE0, 0x01}) {
		t.Errorf("read of 2 after pointing at 0x05 = % X; want E0 01", got)
	}
	if m.ProtocolErrors() != 0 {
		t.Errorf("ProtocolErrors() = %d; want 0", m.ProtocolErrors())
	}
}

func TestPCA9685PreScaleOnlyWhileAsleepAndAtLeast3(t *testing.T) {
	m := NewPCA9685(nil)
	pcaTx(t, m, []byte{pcaRegPreScale, 0x05}, 0)
	if got := m.Register(pcaRegPreScale); got != 5 {
		t.Fatalf("PRE_SCALE written asleep = %d; want 5", got)
	}
	pcaTx(t, m, []byte{pcaRegPreScale, 0x01}, 0)
	if got := m.Register(pcaRegPreScale); got != 3 {
		t.Errorf("PRE_SCALE written 1 = %d; want 3 (the hardware's minimum)", got)
	}
	pcaTx(t, m, []byte{pcaRegMode1, 0x00}, 0)
	pcaTx(t, m, []byte{pcaRegPreScale, 0x79}, 0)
	if got, errs := m.Register(pcaRegPreScale), m.ProtocolErrors(); got != 3 || errs != 1 {
		t.Errorf("PRE_SCALE written awake: %d, %d protocol errors; want 3 (blocked), 1", got, errs)
	}
	// 25 MHz / (4096 × 4) = 1525.87890625 Hz
	if got := m.Frequency(); got != 1525878906 {
		t.Errorf("Frequency() = %v; want 1525.878906 Hz", got)
	}
}

func TestPCA9685DutyFromTheCountsWithFullOffWinning(t *testing.T) {
	tests := []struct {
		name string
		regs [4]byte // ON_L, ON_H, OFF_L, OFF_H
		want float64
	}{
		{"full off", [4]byte{0, 0, 0, 0x10}, 0},
		{"full off wins over full on", [4]byte{0, 0x10, 0, 0x10}, 0},
		{"full off with counts", [4]byte{0, 0, 0x00, 0x18}, 0},
		{"full on", [4]byte{0, 0x10, 0, 0}, 1},
		{"full on, counts ignored", [4]byte{0xFF, 0x13, 0x34, 0x02}, 1},
		{"on 0 off 2048", [4]byte{0, 0, 0, 0x08}, 0.5},
		{"on 511 off 3071 (data sheet example 1)", [4]byte{0xFF, 0x01, 0xFF, 0x0B}, 2560.0 / 4096},
		{"on 2047 off 767 (example 2)", [4]byte{0xFF, 0x07, 0xFF, 0x02}, 2816.0 / 4096},
		{"on = off (example 4)", [4]byte{0xFF, 0x03, 0xFF, 0x03}, 0},
		{"on 0 off 1", [4]byte{0, 0, 1, 0}, 1.0 / 4096},
		{"on 0 off 4095", [4]byte{0, 0, 0xFF, 0x0F}, 4095.0 / 4096},
	}
	for _, tt := range tests {
		m := pcaAwake(t, nil)
		pcaTx(t, m, append([]byte{pcaRegLED0 + 4*7}, tt.regs[:]...), 0)
		want := zeros(16)
		want[7] = tt.want
		if got := m.Duties(); !slices.Equal(got, want) {
			t.Errorf("%s: Duties() = %v; want channel 7 at %v, others 0", tt.name, got, tt.want)
		}
	}
}

func TestPCA9685AllLEDLoadsEveryChannelAndReadsZero(t *testing.T) {
	m := pcaAwake(t, nil)
	pcaTx(t, m, []byte{pcaRegAllLED, 0x00, 0x00, 0x00, 0x04}, 0) // every channel 1024/4096
	want := slices.Repeat([]float64{0.25}, 16)
	if got := m.Duties(); !slices.Equal(got, want) {
		t.Errorf("after ALL_LED 0..1024: Duties() = %v; want all 0.25", got)
	}
	if got := pcaTx(t, m, []byte{pcaRegAllLED}, 4); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("ALL_LED reads % X; want zeros", got)
	}
	pcaTx(t, m, []byte{pcaRegAllEnd, 0xF0}, 0) // full off, bits 7:5 not writable
	if got := m.Duties(); !slices.Equal(got, zeros(16)) || m.Register(pcaRegLED0+4*9+3) != 0x10 {
		t.Errorf("after ALL_LED_OFF_H 0xF0: Duties() = %v, LED9_OFF_H %#02x; want all 0, 0x10", got, m.Register(pcaRegLED0+4*9+3))
	}
}

// Sleeping with a channel running sets RESTART; after waking the channels
// wait for a 1 written to RESTART, which the chip takes only once the
// oscillator has run for 500 µs.
func TestPCA9685SleepAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := pcaAwake(t, nil)
		pcaTx(t, m, []byte{pcaRegLED0 + 4*3, 0, 0x10, 0, 0}, 0) // channel 3 full on
		pcaTx(t, m, []byte{pcaRegMode1, pcaSleep | pcaAI}, 0)
		if got := m.Register(pcaRegMode1); got != pcaRestart|pcaSleep|pcaAI || !slices.Equal(m.Duties(), zeros(16)) {
			t.Fatalf("asleep with channel 3 on: MODE1 %#02x, Duties %v; want 0xB0, all 0", got, m.Duties())
		}
		pcaTx(t, m, []byte{pcaRegMode1, pcaAI}, 0) // wake; RESTART written 0 does nothing
		if got := m.Register(pcaRegMode1); got != pcaRestart|pcaAI || !slices.Equal(m.Duties(), zeros(16)) {
			t.Fatalf("awake, not restarted: MODE1 %#02x, Duties %v; want 0xA0, all 0", got, m.Duties())
		}
		time.Sleep(pcaOscStart - time.Nanosecond)
		pcaTx(t, m, []byte{pcaRegMode1, pcaRestart | pcaAI}, 0)
		if got, errs := m.Register(pcaRegMode1), m.ProtocolErrors(); got != pcaRestart|pcaAI || errs != 1 {
			t.Fatalf("RESTART written 1 ns before 500 µs: MODE1 %#02x, %d protocol errors; want 0xA0, 1", got, errs)
		}
		time.Sleep(time.Nanosecond)
		pcaTx(t, m, []byte{pcaRegMode1, pcaRestart | pcaAI}, 0)
		want := zeros(16)
		want[3] = 1
		if got := m.Register(pcaRegMode1); got != pcaAI || !slices.Equal(m.Duties(), want) {
			t.Errorf("RESTART written at 500 µs: MODE1 %#02x, Duties %v; want 0x20, channel 3 on", got, m.Duties())
		}

		// Sleeping with a channel on, then writing a channel register
		// after waking also clears RESTART.
		pcaTx(t, m, []byte{pcaRegMode1, pcaSleep | pcaAI}, 0)
		pcaTx(t, m, []byte{pcaRegMode1, pcaAI}, 0)
		pcaTx(t, m, []byte{pcaRegLED0 + 4*3, 0, 0, 0x00, 0x08}, 0)
		want[3] = 0.5
		if got := m.Register(pcaRegMode1); got != pcaAI || !slices.Equal(m.Duties(), want) {
			t.Errorf("a channel written after waking: MODE1 %#02x, Duties %v; want 0x20, channel 3 at 0.5", got, m.Duties())
		}

		// Every channel full off before sleeping: no RESTART.
		pcaTx(t, m, []byte{pcaRegAllEnd, pcaFull}, 0)
		pcaTx(t, m, []byte{pcaRegMode1, pcaSleep | pcaAI}, 0)
		if got := m.Register(pcaRegMode1); got != pcaSleep|pcaAI {
			t.Errorf("asleep after ALL_LED_OFF_H full off: MODE1 %#02x; want 0x30", got)
		}
	})
}

func TestPCA9685EXTCLKIsSticky(t *testing.T) {
	m := NewPCA9685(nil)
	pcaTx(t, m, []byte{pcaRegMode1, pcaSleep | pcaExtClk}, 0)
	pcaTx(t, m, []byte{pcaRegMode1, pcaSleep}, 0)
	if got := m.Register(pcaRegMode1); got != pcaSleep|pcaExtClk {
		t.Errorf("MODE1 after writing EXTCLK 1 then 0 = %#02x; want 0x50", got)
	}
}

// With OE high the outputs take MODE2's OUTNE level: off only when that is
// the level of an output that is off.
func TestPCA9685OEHighOverridesTheOutputsWithOUTNE(t *testing.T) {
	tests := []struct {
		mode2 byte
		want  float64
	}{
		{0x04, 0}, // totem pole, OUTNE 00: low, off
		{0x05, 1}, // totem pole, OUTNE 01: high, on
		{0x06, 0}, // totem pole, OUTNE 10: high-impedance
		{0x14, 1}, // inverted totem pole, OUTNE 00: low, which is on
		{0x15, 0}, // inverted totem pole, OUTNE 01: high, off
		{0x00, 0}, // open drain, OUTNE 00: low, off (on is released)
		{0x01, 1}, // open drain, OUTNE 01: high-impedance, the level of on
		{0x11, 0}, // inverted open drain, OUTNE 01: high-impedance, off
		{0x10, 1}, // inverted open drain, OUTNE 00: low, which is on
	}
	for _, tt := range tests {
		oe := NewLine("OE", 5)
		m := pcaAwake(t, oe)
		pcaTx(t, m, []byte{pcaRegMode2, tt.mode2}, 0)
		pcaTx(t, m, []byte{pcaRegAllLED, 0, 0, 0, 0x08}, 0) // every channel at 0.5
		if got := m.Duties(); !slices.Equal(got, slices.Repeat([]float64{0.5}, 16)) {
			t.Errorf("MODE2 %#02x, OE low: Duties() = %v; want all 0.5", tt.mode2, got)
		}
		if err := oe.Out(gpio.High); err != nil {
			t.Fatal(err)
		}
		if got := m.Duties(); !slices.Equal(got, slices.Repeat([]float64{tt.want}, 16)) {
			t.Errorf("MODE2 %#02x, OE high: Duties() = %v; want all %v", tt.mode2, got, tt.want)
		}
	}
}

func TestPCA9685StuckIgnoresWritesAndAnswersReads(t *testing.T) {
	oe := NewLine("OE", 5)
	m := pcaAwake(t, oe)
	pcaTx(t, m, []byte{pcaRegAllLED, 0, 0x10, 0, 0}, 0) // every channel full on
	m.SetStuck(true)
	pcaTx(t, m, []byte{pcaRegAllEnd, pcaFull}, 0)
	pcaTx(t, m, []byte{pcaRegMode1, pcaSleep}, 0)
	if got := m.Duties(); !slices.Equal(got, slices.Repeat([]float64{1}, 16)) {
		t.Errorf("stuck, after full off and sleep written: Duties() = %v; want all 1 (writes ignored)", got)
	}
	if got := pcaTx(t, m, []byte{pcaRegMode1}, 2); !bytes.Equal(got, []byte{pcaAI, 0x04}) {
		t.Errorf("stuck: MODE1, MODE2 read % X; want 20 04", got)
	}
	if err := oe.Out(gpio.High); err != nil {
		t.Fatal(err)
	}
	if got := m.Duties(); !slices.Equal(got, zeros(16)) {
		t.Errorf("stuck, OE high: Duties() = %v; want all 0", got)
	}
	m.SetStuck(false)
	pcaTx(t, m, []byte{pcaRegAllEnd, pcaFull}, 0)
	if got := m.Register(pcaRegLED0 + 3); got != pcaFull {
		t.Errorf("no longer stuck: LED0_OFF_H after full off = %#02x; want 0x10", got)
	}
}

func TestPCA9685ReservedAndTestModeWritesAreProtocolErrors(t *testing.T) {
	m := pcaAwake(t, nil)
	pcaTx(t, m, []byte{0x46, 0x12}, 0)
	pcaTx(t, m, []byte{pcaRegTestMode, 0x12}, 0)
	if got, errs := m.Register(0x46), m.ProtocolErrors(); got != 0 || errs != 2 {
		t.Errorf("after writes to 0x46 and 0xFF: 0x46 reads %#02x, %d protocol errors; want 0, 2", got, errs)
	}
}

// FuzzPCA9685Tx sends any transactions: the model holds the chip's
// invariants whatever it is sent.
func FuzzPCA9685Tx(f *testing.F) {
	f.Add([]byte{0x00, 0x20, 0x06, 0x00, 0x10, 0x00, 0x00}, uint8(2))
	f.Add([]byte{0xFA, 0x00, 0x10, 0x00, 0x10}, uint8(0))
	f.Add([]byte{0xFE, 0x00, 0x00, 0x30, 0xFE, 0x01}, uint8(5))
	f.Fuzz(func(t *testing.T, w []byte, n uint8) {
		m := NewPCA9685(nil)
		// Split w into transactions at every 0xFF byte, so one input
		// drives several.
		for tx := range bytes.SplitSeq(w, []byte{0xFF}) {
			wasAsleep, pre := m.Asleep(), m.Register(pcaRegPreScale)
			// A write may reach MODE1 only at the pointer or, with AI,
			// by rolling over.
			mode1 := len(tx) > 1 && (tx[0] == pcaRegMode1 || m.Register(pcaRegMode1)&pcaAI != 0)
			r := make([]byte, n%8)
			if err := m.Tx(tx, r); err != nil {
				t.Fatal(err)
			}
			if !wasAsleep && !mode1 && m.Register(pcaRegPreScale) != pre {
				t.Fatalf("PRE_SCALE changed from %d to %d while awake by % X", pre, m.Register(pcaRegPreScale), tx)
			}
		}
		if p := m.Register(pcaRegPreScale); p < 3 {
			t.Fatalf("PRE_SCALE = %d; the chip holds no value below 3", p)
		}
		for p := byte(pcaRegLED15End + 1); p != 0; p++ {
			if p != pcaRegPreScale && m.Register(p) != 0 {
				t.Fatalf("register %#02x reads %#02x; want 0", p, m.Register(p))
			}
		}
		d := m.Duties()
		for n, v := range d {
			off := m.Register(byte(pcaRegLED0 + 4*n + 3))
			if v < 0 || v > 1 || off&pcaFull != 0 && v != 0 || off&^pcaHighMask != 0 {
				t.Fatalf("channel %d: duty %v with LEDn_OFF_H %#02x", n, v, off)
			}
		}
	})
}
