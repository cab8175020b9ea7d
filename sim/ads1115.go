package sim

import (
	"math"
	"sync"
	"time"
)

// ADS1115 register pointers and Config fields (datasheet, section 9.6).
const (
	adsRegConversion = 0x00
	adsRegConfig     = 0x01
	adsRegLoThresh   = 0x02
	adsRegHiThresh   = 0x03
	adsConfigReset   = 0x8583
	adsLoReset       = 0x8000
	adsHiReset       = 0x7FFF
	adsOS            = 1 << 15
	adsModeSingle    = 1 << 8
	a1115CodeMax     = 32767
	a1115CodeMin     = -32768
)

var (
	adsFullScales = [8]float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256}
	adsRates      = [8]time.Duration{8, 16, 32, 64, 128, 250, 475, 860}
	// adsMUX lists each MUX code's positive and negative input; -1 is GND.
	adsMUX = [8][2]int{{0, 1}, {0, 3}, {1, 3}, {2, 3}, {0, -1}, {1, -1}, {2, -1}, {3, -1}}
)

// ADS1115 is a register-level model of Texas Instruments' ADS1115 16-bit ADC.
// It implements Device; attach it at 0x48 to 0x4B (a pod wires it at 0x49).
//
// Pointer semantics as on the chip: a transaction's first written byte sets
// the address pointer (bits 1:0; the model ignores the reserved bits 7:2), the
// next two bytes, MSB first, are written to that register; a read returns
// that register's 16 bits MSB first (a longer read repeats them). A write of
// the pointer and a single byte changes nothing. Conversion is read-only.
//
// Conversions follow the model's clock (time.Now, so testing/synctest drives
// them) and take 1/DR: in single-shot mode, writing OS = 1 while powered down
// starts one, OS reads 0 until it ends, then the Conversion register holds
// the result and the chip powers down; in continuous mode a conversion ends
// every 1/DR from the Config write, and OS reads 0 throughout. The input is
// sampled at the end of each conversion, without noise: the code is
// round(V/LSB), LSB = FSR/32768, clamped to −32768..32767. A conversion in
// progress keeps the configuration it started with. The comparator, the
// ALERT/RDY pin and the general-call reset are not modelled.
type ADS1115 struct {
	mu        sync.Mutex
	inputs    [4]func(time.Time) float64
	ptr       byte
	regs      [4]uint16 // Config's OS bit is computed on read
	convEnd   time.Time // end of the conversion in progress; zero if none
	convCfg   uint16    // the configuration that conversion uses
	converted int
	saturated bool
}

// NewADS1115 returns a powered-up chip (Config 0x8583, powered down in
// single-shot mode) with ain0 as the voltage at AIN0 against GND, in V, at a
// given time; the other inputs read 0 V until SetInput. An input function is
// called with the model's lock held, once per conversion, and must not call
// back into the model; NaN reads as 0 V.
func NewADS1115(ain0 func(time.Time) float64) *ADS1115 {
	m := &ADS1115{}
	m.inputs[0] = ain0
	m.regs = [4]uint16{0, adsConfigReset &^ adsOS, adsLoReset, adsHiReset}
	return m
}

// SetInput sets the voltage at input ch (0 to 3 for AIN0 to AIN3), in V; nil
// grounds it.
func (m *ADS1115) SetInput(ch int, v func(time.Time) float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.inputs[ch] = v
}

// Saturate models an input driven beyond full scale (an open electrode
// pulled to the supply, a broken divider): while on, every conversion reads
// 32767 whatever the input and range.
func (m *ADS1115) Saturate(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.saturated = on
}

// Register returns a register's value as a read of it would (Config with its
// OS bit), without a transaction.
func (m *ADS1115) Register(ptr byte) uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.reg(ptr & 0x03)
}

// Conversions returns how many conversions ended since power-up.
func (m *ADS1115) Conversions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.converted
}

// PoweredDown reports whether the chip is in single-shot mode with no
// conversion in progress: it draws its power-down current.
func (m *ADS1115) PoweredDown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.regs[adsRegConfig]&adsModeSingle != 0 && m.convEnd.IsZero()
}

// Tx implements Device.
func (m *ADS1115) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.advance(now)
	if len(w) > 0 {
		m.ptr = w[0] & 0x03
		if len(w) >= 3 {
			m.write(now, uint16(w[1])<<8|uint16(w[2]))
		}
	}
	if len(r) > 0 {
		v := m.reg(m.ptr)
		for i := range r {
			r[i] = byte(v >> (8 * (1 - i%2)))
		}
	}
	return nil
}

func (m *ADS1115) reg(ptr byte) uint16 {
	v := m.regs[ptr]
	if ptr == adsRegConfig && m.convEnd.IsZero() {
		v |= adsOS // not converting
	}
	return v
}

func (m *ADS1115) write(now time.Time, v uint16) {
	switch m.ptr {
	case adsRegConversion:
		return
	case adsRegLoThresh, adsRegHiThresh:
		m.regs[m.ptr] = v
		return
	}
	m.regs[adsRegConfig] = v &^ adsOS
	switch {
	case v&adsModeSingle == 0: // continuous: (re)start now
		m.convCfg = v
		m.convEnd = now.Add(adsPeriod(v))
	case v&adsOS != 0 && m.convEnd.IsZero():
		m.convCfg = v
		m.convEnd = now.Add(adsPeriod(v))
	}
	// Otherwise a conversion in progress ends as it started, and in
	// single-shot mode the chip powers down after it.
}

// advance ends the conversions due by now.
func (m *ADS1115) advance(now time.Time) {
	if m.convEnd.IsZero() || now.Before(m.convEnd) {
		return
	}
	if m.convCfg&adsModeSingle != 0 || m.regs[adsRegConfig]&adsModeSingle != 0 {
		m.regs[adsRegConversion] = m.code(m.convEnd)
		m.converted++
		m.convEnd = time.Time{}
		return
	}
	p := adsPeriod(m.convCfg)
	n := now.Sub(m.convEnd) / p
	last := m.convEnd.Add(n * p)
	m.regs[adsRegConversion] = m.code(last)
	m.converted += int(n) + 1
	m.convEnd = last.Add(p)
}

// code converts the input at t with the configuration of the conversion.
func (m *ADS1115) code(t time.Time) uint16 {
	if m.saturated {
		return a1115CodeMax
	}
	mux := adsMUX[m.convCfg>>12&0x07]
	v := m.volts(mux[0], t) - m.volts(mux[1], t)
	lsb := adsFullScales[m.convCfg>>9&0x07] / 32768
	c := math.Round(v / lsb)
	if math.IsNaN(c) {
		c = 0
	}
	return uint16(int16(min(max(c, a1115CodeMin), a1115CodeMax)))
}

func (m *ADS1115) volts(ch int, t time.Time) float64 {
	if ch < 0 || m.inputs[ch] == nil {
		return 0
	}
	if v := m.inputs[ch](t); !math.IsNaN(v) {
		return v
	}
	return 0
}

func adsPeriod(cfg uint16) time.Duration { return time.Second / adsRates[cfg>>5&0x07] }
