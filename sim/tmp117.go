package sim

import (
	"math"
	"sync"
	"time"
)

// TMP117 registers and Configuration fields (datasheet, section 7.6).
const (
	tmpRegTempResult = 0x00
	tmpRegConfig     = 0x01
	tmpRegTHigh      = 0x02
	tmpRegTLow       = 0x03
	tmpRegTempOffset = 0x07
	tmpRegDeviceID   = 0x0F
	tmpDeviceID      = 0x0117
	tmpConfigReset   = 0x0220 // continuous, 1 s cycle, 8 averages
	tmpTHighReset    = 0x6000
	tmpTLowReset     = 0x8000
	tmpNoConversion  = 0x8000
	tmpDataReady     = 1 << 13
	tmpConfigMask    = 0x0FFC // bits 11:2 read back as written
	tmpSoftReset     = 1 << 1
	tmpModeShift     = 10
	tmpModeShutdown  = 0b01
	tmpModeOneShot   = 0b11
	tmpLSB           = 0.0078125 // °C
)

var (
	// tmpAveraging is the active conversion time for each AVG code:
	// 15.5 ms per conversion, times 1, 8, 32 or 64.
	tmpAveraging = [4]time.Duration{15500 * time.Microsecond, 125 * time.Millisecond, 500 * time.Millisecond, time.Second}
	// tmpCycles is each CONV code's cycle time, at least the averaging's
	// (datasheet table 7-7).
	tmpCycles = [8]time.Duration{15500 * time.Microsecond, 125 * time.Millisecond, 250 * time.Millisecond,
		500 * time.Millisecond, time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
)

// TMP117 is a register-level model of Texas Instruments' TMP117 digital
// temperature sensor. It implements Device; attach it at 0x48 to 0x4B (a pod
// wires it at 0x48).
//
// Pointer semantics as on the chip: a transaction's first written byte sets
// the pointer register, the next two bytes, MSB first, are written to that
// register; a read returns that register's 16 bits MSB first (the chip does
// not auto-increment: a longer read repeats them). A write of the pointer and
// a single byte changes nothing. Temp_Result and Device_ID are read-only;
// unlisted pointers read 0 and ignore writes; the EEPROM registers (0x04 to
// 0x06, 0x08) hold what is written, and nothing is programmed.
//
// Conversions follow the model's clock (time.Now, so testing/synctest drives
// them). In continuous mode (MOD 00 or 10) a conversion of the averaging's
// length (15.5 ms × 1, 8, 32 or 64) ends at the start of each cycle plus the
// averaging, the cycle starting at the Configuration write or power-up: the
// first result of the reset configuration comes 125 ms after power-up, then
// one a second. Each writes Temp_Result (the temperature at its end plus
// Temp_Offset, LSB 7.8125 m°C) and sets Data_Ready; reading Configuration or
// Temp_Result clears Data_Ready. Temp_Result reads 0x8000 until the first
// conversion. Shutdown (MOD 01) lets a conversion in progress end; one-shot
// (MOD 11) makes one conversion, then MOD reads 01. Soft_Reset restores the
// reset values. HIGH_Alert, LOW_Alert and EEPROM_Busy read 0 and the ALERT
// pin is not modelled.
type TMP117 struct {
	celsius func(time.Time) float64

	mu        sync.Mutex
	ptr       byte
	regs      [16]uint16
	convEnd   time.Time // end of the next conversion; zero if none
	converted int
	stalled   bool
}

// NewTMP117 returns a powered-up chip in its reset configuration with
// celsius as the temperature it measures, in °C, at a given time. celsius is
// called with the model's lock held, once per conversion, and must not call
// back into the model; a NaN ends the conversion without a result.
func NewTMP117(celsius func(time.Time) float64) *TMP117 {
	m := &TMP117{celsius: celsius}
	m.reset(time.Now())
	return m
}

// StallConversions models a chip whose conversions stop (the fault the
// scenario calls stuck): while on, no conversion ends, Temp_Result keeps its
// value and Data_Ready is never set; the bus still answers.
func (m *TMP117) StallConversions(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.stalled = on
}

// Register returns a register's value without the side effects of a bus
// read (Data_Ready stays as it is).
func (m *TMP117) Register(ptr byte) uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.regs[ptr&0x0F]
}

// Conversions returns how many conversions ended with a result since
// power-up.
func (m *TMP117) Conversions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.converted
}

// Shutdown reports whether the chip is in shutdown with no conversion left.
func (m *TMP117) Shutdown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.mode() == tmpModeShutdown && m.convEnd.IsZero()
}

// Tx implements Device.
func (m *TMP117) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.advance(now)
	if len(w) > 0 {
		m.ptr = w[0]
		if len(w) >= 3 {
			m.write(now, uint16(w[1])<<8|uint16(w[2]))
		}
	}
	if len(r) > 0 {
		v := uint16(0)
		if m.ptr < byte(len(m.regs)) {
			v = m.regs[m.ptr]
		}
		for i := range r {
			r[i] = byte(v >> (8 * (1 - i%2)))
		}
		if m.ptr == tmpRegConfig || m.ptr == tmpRegTempResult {
			m.regs[tmpRegConfig] &^= tmpDataReady
		}
	}
	return nil
}

func (m *TMP117) reset(now time.Time) {
	m.regs = [16]uint16{}
	m.regs[tmpRegTempResult] = tmpNoConversion
	m.regs[tmpRegConfig] = tmpConfigReset
	m.regs[tmpRegTHigh] = tmpTHighReset
	m.regs[tmpRegTLow] = tmpTLowReset
	m.regs[tmpRegDeviceID] = tmpDeviceID
	m.convEnd = now.Add(m.averaging())
}

func (m *TMP117) mode() uint16 { return m.regs[tmpRegConfig] >> tmpModeShift & 0x03 }

func (m *TMP117) averaging() time.Duration { return tmpAveraging[m.regs[tmpRegConfig]>>5&0x03] }

func (m *TMP117) cycle() time.Duration {
	return max(tmpCycles[m.regs[tmpRegConfig]>>7&0x07], m.averaging())
}

func (m *TMP117) write(now time.Time, v uint16) {
	switch m.ptr {
	case tmpRegTempResult, tmpRegDeviceID:
		return
	case tmpRegConfig:
	case tmpRegTHigh, tmpRegTLow, 0x04, 0x05, 0x06, tmpRegTempOffset, 0x08:
		m.regs[m.ptr] = v
		return
	default:
		return
	}
	if v&tmpSoftReset != 0 {
		m.reset(now)
		return
	}
	inProgress := !m.convEnd.IsZero() && !now.Before(m.convEnd.Add(-m.averaging()))
	m.regs[tmpRegConfig] = m.regs[tmpRegConfig]&^tmpConfigMask | v&tmpConfigMask
	switch m.mode() {
	case tmpModeShutdown:
		if !inProgress {
			m.convEnd = time.Time{}
		}
	default: // continuous, or one-shot: a conversion starts now
		m.convEnd = now.Add(m.averaging())
	}
}

// advance ends the conversions due by now.
func (m *TMP117) advance(now time.Time) {
	if m.convEnd.IsZero() || now.Before(m.convEnd) {
		return
	}
	switch m.mode() {
	case tmpModeShutdown, tmpModeOneShot:
		m.convert(m.convEnd)
		m.convEnd = time.Time{}
		m.regs[tmpRegConfig] = m.regs[tmpRegConfig]&^(0x03<<tmpModeShift) | tmpModeShutdown<<tmpModeShift
		return
	}
	// Only the last of the conversions due leaves its result.
	c := m.cycle()
	k := now.Sub(m.convEnd) / c
	last := m.convEnd.Add(k * c)
	if m.convert(last) {
		m.converted += int(k)
	}
	m.convEnd = last.Add(c)
}

// convert ends a conversion at t and reports whether it left a result.
func (m *TMP117) convert(t time.Time) bool {
	if m.stalled {
		return false
	}
	v := m.celsius(t)
	if math.IsNaN(v) {
		return false
	}
	code := math.Round(v/tmpLSB) + float64(int16(m.regs[tmpRegTempOffset]))
	// -32768 is the chip's "no conversion yet": a result never reads so.
	m.regs[tmpRegTempResult] = uint16(int16(min(max(code, -32767), 32767)))
	m.regs[tmpRegConfig] |= tmpDataReady
	m.converted++
	return true
}
