package sim

import (
	"bytes"
	"errors"
	"testing"
)

func drvTx(t *testing.T, m *DRV2605, w []byte, n int) []byte {
	t.Helper()
	r := make([]byte, n)
	if err := m.Tx(w, r); err != nil {
		t.Fatalf("Tx(% X): %v", w, err)
	}
	return r
}

func TestDRV2605PowersUpInStandbyWithItsResetValues(t *testing.T) {
	m := NewDRV2605L(nil)
	got := drvTx(t, m, []byte{0x00}, 4)
	if want := []byte{0xE0, 0x40, 0x00, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("STATUS..LIBRARY = % X, want % X", got, want)
	}
	got = drvTx(t, m, []byte{0x16}, 2)
	if want := []byte{0x3F, 0x89}; !bytes.Equal(got, want) {
		t.Errorf("RATED_VOLTAGE, OD_CLAMP = % X, want % X", got, want)
	}
	if f, c3 := m.Register(0x1A), m.Register(0x1D); f != 0x36 || c3 != 0xA0 {
		t.Errorf("FEEDBACK 0x%02X, CONTROL3 0x%02X; want 0x36, 0xA0", f, c3)
	}
	if !m.Standby() || m.Drive() != 0 || m.Intensity() != 0 {
		t.Errorf("Standby %v, Drive %v, Intensity %v; want true, 0, 0", m.Standby(), m.Drive(), m.Intensity())
	}
	// Past the last register: reads 0, writes ignored.
	drvTx(t, m, []byte{0x23, 0x55}, 0)
	if got := drvTx(t, m, []byte{0x22}, 3); !bytes.Equal(got, []byte{0, 0, 0}) {
		t.Errorf("0x22..0x24 = % X, want 00 00 00", got)
	}
}

func TestDRV2605AddressAdvancesAndReadOnlyBits(t *testing.T) {
	m := NewDRV2605L(nil)
	drvTx(t, m, []byte{0x16, 0x10, 0x20}, 0) // RATED_VOLTAGE, OD_CLAMP in one write
	if r, c := m.Register(0x16), m.Register(0x17); r != 0x10 || c != 0x20 {
		t.Errorf("RATED_VOLTAGE 0x%02X, OD_CLAMP 0x%02X; want 0x10, 0x20", r, c)
	}
	drvTx(t, m, []byte{0x00, 0x1F}, 0) // STATUS is read-only
	drvTx(t, m, []byte{0x01, 0x3D}, 0) // MODE: bits 5:3 read 0
	drvTx(t, m, []byte{0x03, 0xFE}, 0) // LIBRARY: bits 7:5 and 3 reserved
	if got := drvTx(t, m, []byte{0x00}, 4); !bytes.Equal(got, []byte{0xE0, 0x05, 0x00, 0x16}) {
		t.Errorf("STATUS..LIBRARY = % X, want E0 05 00 16", got)
	}
	// DEV_RESET restores the power-up values and clears itself.
	drvTx(t, m, []byte{0x01, 0x80}, 0)
	if mode, c := m.Register(0x01), m.Register(0x17); mode != 0x40 || c != 0x89 {
		t.Errorf("after DEV_RESET MODE 0x%02X, OD_CLAMP 0x%02X; want 0x40, 0x89", mode, c)
	}
}

// rtpSetup puts m in RTP mode with OD_CLAMP, FEEDBACK and CONTROL3.
func rtpSetup(t *testing.T, m *DRV2605, odClamp, feedback, control3 byte) {
	t.Helper()
	drvTx(t, m, []byte{0x17, odClamp}, 0)
	drvTx(t, m, []byte{0x1A, feedback}, 0)
	drvTx(t, m, []byte{0x1D, control3}, 0)
	drvTx(t, m, []byte{0x01, 0x05}, 0)
}

func TestDRV2605RTPDriveFollowsTheFormatAndOD_CLAMP(t *testing.T) {
	tests := []struct {
		name                 string
		odClamp, fb, c3, rtp byte
		want                 float64
	}{
		{"signed full scale, clamp 255", 0xFF, 0x36, 0xA0, 0x7F, 1},
		{"signed zero", 0xFF, 0x36, 0xA0, 0x00, 0},
		{"signed half", 0xFF, 0x36, 0xA0, 0x40, 64.0 / 127},
		{"signed full reverse", 0xFF, 0x36, 0xA0, 0x81, -1},
		{"signed -128 is full reverse", 0xFF, 0x36, 0xA0, 0x80, -1},
		{"unsigned mid-scale is no drive", 0xFF, 0x36, 0xA8, 0x7F, 0},
		{"unsigned 0x00 is full reverse", 0xFF, 0x36, 0xA8, 0x00, -1},
		{"unsigned 0xFF is full forward", 0xFF, 0x36, 0xA8, 0xFF, 1},
		{"OD_CLAMP 69 caps full scale", 69, 0x36, 0xA0, 0x7F, 69.0 / 255},
		{"OD_CLAMP 138, half", 138, 0x36, 0xA0, 0x40, 64.0 / 127 * 138 / 255},
		{"LRA open loop", 100, 0xB6, 0xA1, 0x7F, 100.0 / 255},
		// Closed loop: RATED_VOLTAGE (0x3F at reset) is full scale.
		{"ERM closed loop", 0x89, 0x36, 0x80, 0x7F, 63.0 / 255},
		{"LRA closed loop (LRA_OPEN_LOOP 0)", 0x89, 0xB6, 0xA0, 0x7F, 63.0 / 255},
		{"closed loop brakes below mid-scale", 0x89, 0x36, 0x80, 0x81, 0},
		{"closed loop capped by OD_CLAMP", 0x20, 0x36, 0x80, 0x7F, 32.0 / 255},
	}
	for _, tt := range tests {
		m := NewDRV2605L(nil)
		rtpSetup(t, m, tt.odClamp, tt.fb, tt.c3)
		drvTx(t, m, []byte{0x02, tt.rtp}, 0)
		if got := m.Drive(); got != tt.want {
			t.Errorf("%s: Drive = %v, want %v", tt.name, got, tt.want)
		}
		if got, want := m.Intensity(), max(tt.want, -tt.want); got != want {
			t.Errorf("%s: Intensity = %v, want %v", tt.name, got, want)
		}
	}
}

func TestDRV2605NoDriveOutsideRTPOrInStandby(t *testing.T) {
	for _, mode := range []byte{0x45, 0x00, 0x01, 0x03, 0x04, 0x06, 0x07} {
		m := NewDRV2605L(nil)
		rtpSetup(t, m, 0xFF, 0x36, 0xA0)
		drvTx(t, m, []byte{0x02, 0x7F}, 0)
		drvTx(t, m, []byte{0x01, mode}, 0)
		if m.Intensity() != 0 {
			t.Errorf("MODE 0x%02X: Intensity %v, want 0", mode, m.Intensity())
		}
	}
}

func TestDRV2605FaultFlagsLatchAndCutTheOutput(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*DRV2605, bool)
		bit  byte
	}{
		{"over-temperature", (*DRV2605).SetOverTemp, 0x02},
		{"over-current", (*DRV2605).SetOverCurrent, 0x01},
	} {
		m := NewDRV2605L(nil)
		rtpSetup(t, m, 0xFF, 0x36, 0xA0)
		drvTx(t, m, []byte{0x02, 0x7F}, 0)
		tt.set(m, true)
		if m.Intensity() != 0 {
			t.Errorf("%s: Intensity %v during the condition, want 0", tt.name, m.Intensity())
		}
		// Set on every read while the condition holds.
		for i := range 2 {
			if st := drvTx(t, m, []byte{0x00}, 1)[0]; st != 0xE0|tt.bit {
				t.Errorf("%s: read %d during the condition: STATUS 0x%02X, want 0x%02X", tt.name, i, st, 0xE0|tt.bit)
			}
		}
		tt.set(m, false)
		if m.Intensity() != 1 {
			t.Errorf("%s: Intensity %v after the condition, want 1", tt.name, m.Intensity())
		}
		// Latched until read once after the condition ended.
		if m.Register(0x00) != 0xE0|tt.bit {
			t.Errorf("%s: Register(STATUS) 0x%02X, want it still latched", tt.name, m.Register(0x00))
		}
		if st := drvTx(t, m, []byte{0x00}, 1)[0]; st != 0xE0|tt.bit {
			t.Errorf("%s: first read after: STATUS 0x%02X, want 0x%02X", tt.name, st, 0xE0|tt.bit)
		}
		if st := drvTx(t, m, []byte{0x00}, 1)[0]; st != 0xE0 {
			t.Errorf("%s: second read after: STATUS 0x%02X, want 0xE0", tt.name, st)
		}
	}
}

func TestDRV2605DeviceIDDropWritesAndPowerCycle(t *testing.T) {
	m := NewDRV2605L(nil)
	m.SetDeviceID(3)
	if st := drvTx(t, m, []byte{0x00}, 1)[0]; st != 0x60 {
		t.Errorf("DEVICE_ID 3: STATUS 0x%02X, want 0x60", st)
	}
	m.DropWrites(true)
	drvTx(t, m, []byte{0x01, 0x05}, 0)
	if m.Register(0x01) != 0x40 {
		t.Errorf("MODE 0x%02X with writes dropped, want 0x40", m.Register(0x01))
	}
	m.DropWrites(false)
	rtpSetup(t, m, 0x45, 0x36, 0xA0)
	drvTx(t, m, []byte{0x02, 0x7F}, 0)
	m.SetOverCurrent(true)
	m.PowerCycle()
	if got := drvTx(t, m, []byte{0x00}, 3); !bytes.Equal(got, []byte{0x61, 0x40, 0x00}) {
		t.Errorf("after PowerCycle STATUS..RTP_INPUT = % X, want 61 40 00 (DEVICE_ID kept, OC_DETECT held)", got)
	}
	if m.Register(0x17) != 0x89 || m.Intensity() != 0 {
		t.Errorf("after PowerCycle OD_CLAMP 0x%02X, Intensity %v; want 0x89, 0", m.Register(0x17), m.Intensity())
	}
}

func TestDRV2605OnTheBusTakesItsFaults(t *testing.T) {
	bus := NewI2CBus("sim-i2c")
	m := NewDRV2605L(nil)
	if err := bus.Attach(0x5A, m); err != nil {
		t.Fatal(err)
	}
	bus.SetFault(0x5A, FaultNACK)
	if err := bus.Tx(0x5A, []byte{0x01, 0x05}, nil); !errors.Is(err, ErrNACK) {
		t.Errorf("write under NACK = %v, want ErrNACK", err)
	}
	if m.Register(0x01) != 0x40 {
		t.Errorf("MODE 0x%02X after a NACKed write, want 0x40", m.Register(0x01))
	}
	bus.SetFault(0x5A, FaultNone)
	r := make([]byte, 1)
	if err := bus.Tx(0x5A, []byte{0x01}, r); err != nil || r[0] != 0x40 {
		t.Fatalf("read MODE = 0x%02X, %v", r[0], err)
	}
	// Stuck: a read repeats its last answer though the register changed.
	bus.SetFault(0x5A, FaultStuck)
	if err := bus.Tx(0x5A, []byte{0x01, 0x05}, nil); err != nil {
		t.Fatal(err)
	}
	if err := bus.Tx(0x5A, []byte{0x01}, r); err != nil || r[0] != 0x40 {
		t.Errorf("stuck read of MODE = 0x%02X, %v; want the old 0x40", r[0], err)
	}
}
