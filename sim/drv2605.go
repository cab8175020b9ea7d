package sim

import (
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// DRV2605L registers and fields (DRV2605L data sheet SLOS854D, "Register
// Map").
const (
	drvRegStatus   = 0x00
	drvRegMode     = 0x01
	drvRegRTPInput = 0x02
	drvRegLibrary  = 0x03
	drvRegRated    = 0x16
	drvRegODClamp  = 0x17
	drvRegFeedback = 0x1A
	drvRegControl3 = 0x1D
	drvNumRegs     = 0x23 // 0x00 to 0x22 (LRA_PERIOD)

	drvDevReset      = 1 << 7 // MODE
	drvStandby       = 1 << 6 // MODE
	drvModeMask      = 0x07   // MODE[2:0]
	drvModeRTP       = 5
	drvModeWritable  = drvStandby | drvModeMask
	drvOverTemp      = 1 << 1 // STATUS
	drvOverCurrent   = 1 << 0 // STATUS
	drvLRA           = 1 << 7 // FEEDBACK N_ERM_LRA
	drvERMOpenLoop   = 1 << 5 // CONTROL3
	drvRTPUnsigned   = 1 << 3 // CONTROL3 DATA_FORMAT_RTP
	drvLRAOpenLoop   = 1 << 0 // CONTROL3
	drvDeviceIDShift = 5

	// DRV2605LDeviceID is STATUS's DEVICE_ID of the DRV2605L.
	DRV2605LDeviceID = 7
)

// DRV2605Startup is how long the DRV2605L takes after EN rises before it
// takes I²C commands (DRV2605L data sheet SLOS854D, "Initialization
// Procedure": 250 µs; TI's DRV2605 Setup Guide SLOA189, "Device Startup and
// Power": a 250 µs start-up sequence, after which the chip is in standby).
const DRV2605Startup = 250 * time.Microsecond

// drvReset is the register file after power-up or DEV_RESET (the DRV2605
// data sheet's register map, SLOS825E, with the L part's DEVICE_ID):
// standby, RTP_INPUT 0, OD_CLAMP 0x89, FEEDBACK 0x36 (ERM), CONTROL3 0xA0
// (ERM open loop, signed RTP).
var drvReset = [drvNumRegs]byte{
	drvRegStatus: DRV2605LDeviceID << drvDeviceIDShift,
	drvRegMode:   drvStandby,
	0x04:         0x01, // WAV_FRM_SEQ1
	0x11:         0x05, 0x12: 0x19, 0x13: 0xFF, 0x14: 0x19, 0x15: 0xFF,
	drvRegRated: 0x3F, drvRegODClamp: 0x89, 0x18: 0x0D, 0x19: 0x6D,
	drvRegFeedback: 0x36, 0x1B: 0x93, 0x1C: 0xF5, drvRegControl3: 0xA0, 0x1E: 0x20,
}

// DRV2605 is a register-level model of Texas Instruments' DRV2605L haptic
// driver with its motor. It implements Device; attach it at 0x5A.
//
// Bus protocol as on the chip: a transaction's first written byte is the
// register address, the bytes after it are written to that register and the
// ones after (the address advances), and a read returns bytes from the
// address on, advancing likewise. Addresses past 0x22 read 0 and ignore
// writes. STATUS is read-only; MODE's DEV_RESET restores the power-up
// values and clears itself; MODE's bits 5:3 and LIBRARY's reserved bits read
// 0.
//
// The motor's drive, Drive and Intensity, follows the registers: none in
// standby (MODE bit 6), in any mode but real-time playback (MODE[2:0] 5),
// or while an over-temperature or over-current condition holds (the chip
// shuts its output down). In RTP mode RTP_INPUT is read as CONTROL3's
// DATA_FORMAT_RTP says: signed, 0x00 none, 0x7F full forward, 0x81 full
// reverse; unsigned, 0x7F none, 0xFF full forward, 0x00 full reverse. Open
// loop (an ERM with ERM_OPEN_LOOP, an LRA with LRA_OPEN_LOOP; FEEDBACK
// bit 7 says which), full scale is OD_CLAMP. Closed loop, steady state only:
// full scale is RATED_VOLTAGE, no more than OD_CLAMP, and the input below
// mid-scale brakes (no drive). Drive is a fraction of the chip's own full
// scale, OD_CLAMP 255; the volts per code differ between ERM and LRA and are
// not modelled.
//
// The EN pin is the line given to NewDRV2605L (nil: EN tied to VDD). While
// EN reads low the chip is shut down: the motor gets no drive whatever the
// registers say, every transaction is acknowledged but writes nothing and
// reads 0x00 (data sheet, "Operation With EN Control": with EN low the chip
// can still acknowledge, but no read or write is possible), and the
// registers are at their power-up values when EN rises again. The data sheet
// does not say whether the registers survive EN low; the model takes the
// side a driver must survive: they are lost, so a driver that plays after EN
// rose without configuring the chip anew finds it in standby with OD_CLAMP
// at its default. For DRV2605Startup after EN rises the chip answers every
// transaction with a NACK.
//
// The waveform sequencer, GO, the ROM libraries, auto-calibration,
// diagnostics, the PWM, analog and audio-to-vibe inputs are not modelled:
// in those modes the motor gets no drive. Bus faults (a NACK, a stuck bus,
// a device gone) are injected at the I2CBus.
type DRV2605 struct {
	en *Line // nil: EN tied to VDD

	mu       sync.Mutex
	enLow    bool      // EN was low when last looked at (enWritten)
	enRoseAt time.Time // when EN last rose

	ptr         byte
	regs        [drvNumRegs]byte
	overTemp    bool // the condition, as SetOverTemp set it
	overCurrent bool
	dropWrites  bool
}

// DRV2605Addr is the DRV2605L's fixed I²C address.
const DRV2605Addr = 0x5A

// NewDRV2605L returns a powered-up DRV2605L, in standby with its reset
// register values, whose EN input is en: a line the pod drives as an
// output (nil: EN tied to VDD, the chip always enabled). A non-nil en is
// watched (Line.Watch): each level written to it takes effect at once.
func NewDRV2605L(en *Line) *DRV2605 {
	m := &DRV2605{en: en, regs: drvReset}
	if en != nil {
		m.enLow = en.Read() == gpio.Low
		en.Watch(m.enWritten)
	}
	return m
}

// enWritten follows a level written to EN: falling, the chip shuts down and
// loses its registers; rising, it starts up (DRV2605Startup).
func (m *DRV2605) enWritten() {
	low := m.en.Read() == gpio.Low
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case low && !m.enLow:
		m.reset()
	case !low && m.enLow:
		m.enRoseAt = time.Now()
	}
	m.enLow = low
}

// off reports whether the chip is shut down by EN. Called with mu held.
func (m *DRV2605) off() bool {
	return m.en != nil && m.en.Read() == gpio.Low
}

// Enabled reports whether EN is high (or tied to VDD): the chip is on.
func (m *DRV2605) Enabled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.off()
}

// SetDeviceID makes the chip report id in STATUS's DEVICE_ID (bits 7:5),
// as another part of the family would: 3 is the DRV2605, 4 the DRV2604,
// 6 the DRV2604L.
func (m *DRV2605) SetDeviceID(id uint8) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs[drvRegStatus] = m.regs[drvRegStatus]&0x1F | id<<drvDeviceIDShift
}

// SetOverTemp starts or ends an over-temperature condition. While it holds,
// STATUS's OVER_TEMP reads 1 and the output is off; the flag latches, and a
// read of STATUS after the condition ended clears it.
func (m *DRV2605) SetOverTemp(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.overTemp = on
	if on {
		m.regs[drvRegStatus] |= drvOverTemp
	}
}

// SetOverCurrent starts or ends an over-current condition (a shorted
// load), latched in OC_DETECT as SetOverTemp latches OVER_TEMP.
func (m *DRV2605) SetOverCurrent(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.overCurrent = on
	if on {
		m.regs[drvRegStatus] |= drvOverCurrent
	}
}

// DropWrites models a chip that acknowledges writes and keeps its
// registers as they were: while on, every register write is ignored.
func (m *DRV2605) DropWrites(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropWrites = on
}

// PowerCycle models a brown-out: every register returns to its power-up
// value (standby), the conditions set by SetOverTemp and SetOverCurrent
// stay.
func (m *DRV2605) PowerCycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reset()
}

// Register returns a register's value without the side effects of a bus
// read (OVER_TEMP and OC_DETECT stay latched); 0 past 0x22.
func (m *DRV2605) Register(reg byte) byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if int(reg) >= drvNumRegs {
		return 0
	}
	return m.regs[reg]
}

// Drive returns the drive the motor gets now, as a fraction of the chip's
// full scale (OD_CLAMP 255): -1 (full reverse) to 1 (full forward), 0 when
// the output is off (type doc).
func (m *DRV2605) Drive() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.drive()
}

// Intensity returns how hard the motor is driven now, 0 to 1 of the chip's
// full scale, whichever its direction: |Drive|.
func (m *DRV2605) Intensity() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return math.Abs(m.drive())
}

// Standby reports whether MODE's STANDBY bit is set.
func (m *DRV2605) Standby() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs[drvRegMode]&drvStandby != 0
}

func (m *DRV2605) drive() float64 {
	mode := m.regs[drvRegMode]
	if m.off() || mode&drvStandby != 0 || mode&drvModeMask != drvModeRTP || m.overTemp || m.overCurrent {
		return 0
	}
	rtp := m.regs[drvRegRTPInput]
	var in float64 // -1 to 1 of full scale
	if m.regs[drvRegControl3]&drvRTPUnsigned != 0 {
		if rtp >= 0x7F {
			in = float64(rtp-0x7F) / 0x80
		} else {
			in = float64(int(rtp)-0x7F) / 0x7F
		}
	} else {
		in = max(float64(int8(rtp))/0x7F, -1)
	}
	c3 := m.regs[drvRegControl3]
	openLoop := c3&drvERMOpenLoop != 0
	if m.regs[drvRegFeedback]&drvLRA != 0 {
		openLoop = c3&drvLRAOpenLoop != 0
	}
	clamp := float64(m.regs[drvRegODClamp]) / 255
	if openLoop {
		return in * clamp
	}
	return min(max(in, 0)*float64(m.regs[drvRegRated])/255, clamp)
}

func (m *DRV2605) reset() {
	id := m.regs[drvRegStatus] &^ 0x1F
	m.regs = drvReset
	m.regs[drvRegStatus] = id
	if m.overTemp {
		m.regs[drvRegStatus] |= drvOverTemp
	}
	if m.overCurrent {
		m.regs[drvRegStatus] |= drvOverCurrent
	}
}

// Tx implements Device.
func (m *DRV2605) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.off() {
		clear(r)
		return nil
	}
	if m.en != nil && !m.enRoseAt.IsZero() && time.Since(m.enRoseAt) < DRV2605Startup {
		return fmt.Errorf("sim: drv2605l: %v after EN rose, still starting up: %w", time.Since(m.enRoseAt), ErrNACK)
	}
	if len(w) > 0 {
		m.ptr = w[0]
		for i, v := range w[1:] {
			m.write(m.ptr+byte(i), v)
		}
	}
	for i := range r {
		reg := m.ptr + byte(i)
		if int(reg) >= drvNumRegs {
			r[i] = 0
			continue
		}
		r[i] = m.regs[reg]
		if reg == drvRegStatus {
			m.clearLatches()
		}
	}
	return nil
}

// clearLatches clears, after a read of STATUS, the flags whose condition
// has ended.
func (m *DRV2605) clearLatches() {
	if !m.overTemp {
		m.regs[drvRegStatus] &^= drvOverTemp
	}
	if !m.overCurrent {
		m.regs[drvRegStatus] &^= drvOverCurrent
	}
}

func (m *DRV2605) write(reg, v byte) {
	if m.dropWrites || int(reg) >= drvNumRegs {
		return
	}
	switch reg {
	case drvRegStatus:
	case drvRegMode:
		if v&drvDevReset != 0 {
			m.reset()
			return
		}
		m.regs[reg] = v & drvModeWritable
	case drvRegLibrary:
		m.regs[reg] = v & 0x17 // HI_Z and LIBRARY_SEL
	default:
		m.regs[reg] = v
	}
}
