package sim

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim/scenario"
)

// EN low shuts the chip down: no drive, transfers acknowledged but reading
// 0 and writing nothing, and the registers at their power-up values when EN
// rises; for 250 µs after it rises every transfer is NACKed.
func TestDRV2605ENShutsTheChipDownAndLosesItsRegisters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		en := NewLine("SIM_DRV2605_EN", 13)
		m := NewDRV2605L(en)
		if m.Enabled() {
			t.Fatal("a chip whose EN line was never driven is enabled; want shut down (the line reads Low)")
		}
		if err := en.Out(gpio.High); err != nil {
			t.Fatal(err)
		}
		if err := m.Tx([]byte{0x00}, make([]byte, 1)); !errors.Is(err, ErrNACK) {
			t.Errorf("Tx at once after EN rose = %v; want a NACK", err)
		}
		time.Sleep(DRV2605Startup - time.Nanosecond)
		if err := m.Tx([]byte{0x00}, make([]byte, 1)); !errors.Is(err, ErrNACK) {
			t.Errorf("Tx 1 ns before the start-up's end = %v; want a NACK", err)
		}
		time.Sleep(time.Nanosecond)
		rtpSetup(t, m, 0x80, 0x36, 0xA0) // ERM, open loop, signed
		drvTx(t, m, []byte{0x02, 0x7F}, 0)
		if got := m.Drive(); got != 0x80/255.0 {
			t.Fatalf("Drive with EN high = %v; want 128/255", got)
		}
		if err := en.Out(gpio.Low); err != nil {
			t.Fatal(err)
		}
		if m.Drive() != 0 || m.Enabled() {
			t.Errorf("with EN low: Drive %v, enabled %v; want 0, false", m.Drive(), m.Enabled())
		}
		if got := drvTx(t, m, []byte{0x00}, 3); !bytes.Equal(got, []byte{0, 0, 0}) {
			t.Errorf("STATUS..RTP_INPUT with EN low = % X; want 00 00 00", got)
		}
		drvTx(t, m, []byte{0x17, 0x20}, 0)
		if err := en.Out(gpio.High); err != nil {
			t.Fatal(err)
		}
		time.Sleep(DRV2605Startup)
		if got := drvTx(t, m, []byte{0x00}, 3); !bytes.Equal(got, []byte{0xE0, 0x40, 0x00}) {
			t.Errorf("STATUS..RTP_INPUT after EN rose = % X; want E0 40 00 (power-up values)", got)
		}
		if c := m.Register(0x17); c != 0x89 || m.Drive() != 0 {
			t.Errorf("OD_CLAMP 0x%02X, Drive %v after EN rose; want 0x89 (the write with EN low lost too), 0", c, m.Drive())
		}
	})
}

// A chip without an EN line (tied to VDD) is always on.
func TestDRV2605WithoutENIsAlwaysOn(t *testing.T) {
	m := NewDRV2605L(nil)
	if !m.Enabled() {
		t.Error("Enabled() = false for a chip with EN tied to VDD")
	}
}

// In the simulated pod, AddDRV2605 wires the chip's EN to HapticEN, pulled
// up until driven.
func TestAddDRV2605WiresEN(t *testing.T) {
	sc, err := scenario.Parse([]byte("name: haptic\nbaseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHardware(sc, 1, time.Unix(0, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddDRV2605(); err != nil {
		t.Fatal(err)
	}
	if h.HapticEN == nil || h.HapticEN.Name() != "SIM_DRV2605_EN" || h.HapticEN.Number() != 13 {
		t.Fatalf("HapticEN = %v; want SIM_DRV2605_EN(13)", h.HapticEN)
	}
	if !h.Haptic.Enabled() {
		t.Error("the haptic chip is shut down before EN was driven; want on (EN pulled up)")
	}
	if err := h.HapticEN.Out(gpio.Low); err != nil {
		t.Fatal(err)
	}
	if h.Haptic.Enabled() {
		t.Error("the haptic chip is on with EN driven low")
	}
}
