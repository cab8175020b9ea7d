package sim

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// PCA9685Channels is how many PWM outputs the PCA9685 has.
const PCA9685Channels = 16

// PCA9685 registers and bits (NXP PCA9685 product data sheet, Rev. 4,
// section 7.3: table 4 for the map, tables 5 to 7 for the bits).
const (
	pcaRegMode1    = 0x00
	pcaRegMode2    = 0x01
	pcaRegLED0     = 0x06 // LED0_ON_L; LEDn_ON_L is 0x06 + 4n
	pcaRegLED15End = 0x45 // LED15_OFF_H, the last channel register
	pcaRegAllLED   = 0xFA // ALL_LED_ON_L to ALL_LED_OFF_H: 0xFA to 0xFD
	pcaRegAllEnd   = 0xFD
	pcaRegPreScale = 0xFE
	pcaRegTestMode = 0xFF

	pcaRestart = 0x80 // MODE1
	pcaExtClk  = 0x40
	pcaAI      = 0x20
	pcaSleep   = 0x10

	pcaInvrt  = 0x10 // MODE2
	pcaOutDrv = 0x04
	pcaOutNE  = 0x03

	pcaFull       = 0x10 // LEDn_ON_H: full on; LEDn_OFF_H: full off
	pcaHighMask   = 0x1F // bits 7:5 of LEDn_ON_H and LEDn_OFF_H are not writable
	pcaMode2Mask  = 0x1F // bits 7:5 of MODE2 are reserved
	pcaMinPre     = 3    // the hardware loads no PRE_SCALE below 3
	pcaOscillator = 25_000_000
	// pcaOscStart is how long the oscillator takes to start after SLEEP
	// is cleared: RESTART must not be written sooner.
	pcaOscStart = 500 * time.Microsecond
)

// PCA9685 is a register-level model of NXP's PCA9685 16-channel, 12-bit PWM
// controller, with its active-low OE input on a Line. It implements Device;
// attach it at its address (0x40 with A5..A0 to ground).
//
// Registers and pointer, as on the chip (data sheet, section 7.3): a
// transaction's first written byte sets the pointer (the control register);
// each further byte is written to the register it points at; reads start at
// the pointer. With MODE1's AI set the pointer moves on after every byte
// read or written, from LED15_OFF_H (0x45) and from PRE_SCALE (0xFE) back to
// MODE1; with AI clear it stays, so a longer write leaves its last byte and
// a longer read repeats the register. Power-on values: MODE1 0x11 (SLEEP,
// ALLCALL), MODE2 0x04 (totem pole), SUBADR1..3 0xE2, 0xE4, 0xE8, ALLCALLADR
// 0xE0, every LEDn_OFF_H 0x10 (full off), PRE_SCALE 0x1E (200 Hz).
// ALL_LED_ON_L..ALL_LED_OFF_H load that byte of all 16 channels and read
// zero. Bits 7:5 of LEDn_ON_H, LEDn_OFF_H and MODE2 are not writable. The
// registers between 0x46 and 0xF9 read zero and ignore writes.
//
// MODE1: SLEEP stops the oscillator and every output; PRE_SCALE can be
// written only while SLEEP is set (a write while awake is blocked and
// counted by ProtocolErrors) and loads no value below 3. Setting SLEEP
// while any channel is not full off sets RESTART: the channels stay stopped
// after waking until a 1 is written to RESTART (which clears it, once SLEEP
// has been clear for 500 µs; a write sooner is a ProtocolErrors count and
// changes nothing) or until a channel register is written. A 0 written to
// RESTART does nothing. EXTCLK is sticky: once set, only a power cycle
// clears it (the model has none). Writes to TestMode (0xFF) or to the
// reserved registers are counted by ProtocolErrors and ignored.
//
// Outputs (section 7.3.3): a channel with LEDn_OFF_H bit 4 set is off
// whatever its other bits (full off wins); else with LEDn_ON_H bit 4 set it
// is on; else it is on from the ON count to the OFF count of each 4096-count
// period, and never when the two counts are equal. OE high overrides every
// output with MODE2's OUTNE (table 10: 00 low, 01 high with OUTDRV or
// high-impedance without, 1x high-impedance). Output changes take effect
// at the end of the transaction (MODE2's OCH, change on STOP, is the only
// timing modelled).
//
// Not modelled: the I²C sub-addresses and LED All Call address (the model
// answers the address it is attached at only), the software reset call,
// the external clock's frequency, and the output delay given by the ON
// count (Duties reports the fraction of the period, not its phase).
type PCA9685 struct {
	oe *Line

	mu     sync.Mutex
	ptr    byte
	regs   [256]byte
	wokeAt time.Time // when SLEEP was last cleared
	stuck  bool
	errs   int
}

// NewPCA9685 returns a chip at its power-on values whose OE input is oe, a
// line the pod drives as an output (nil: OE tied to ground, outputs always
// enabled). The chip powers up asleep, every channel full off.
func NewPCA9685(oe *Line) *PCA9685 {
	m := &PCA9685{oe: oe}
	m.regs[pcaRegMode1] = 0x11
	m.regs[pcaRegMode2] = 0x04
	m.regs[0x02], m.regs[0x03], m.regs[0x04], m.regs[0x05] = 0xE2, 0xE4, 0xE8, 0xE0
	for n := range PCA9685Channels {
		m.regs[pcaRegLED0+4*n+3] = pcaFull
	}
	m.regs[pcaRegPreScale] = 0x1E
	return m
}

// SetStuck models a chip latched up by a glitch (the fault the scenario
// calls stuck): while on, it acknowledges every transaction and answers
// reads from its registers, but ignores every write, so its outputs keep
// what they drive; only OE still turns them off.
func (m *PCA9685) SetStuck(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stuck = on
}

// Tx implements Device.
func (m *PCA9685) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if len(w) > 0 {
		m.ptr = w[0]
		for _, v := range w[1:] {
			if !m.stuck {
				m.write(now, m.ptr, v)
			}
			m.ptr = m.next(m.ptr)
		}
	}
	for i := range r {
		r[i] = m.read(m.ptr)
		m.ptr = m.next(m.ptr)
	}
	return nil
}

// next is the pointer after a byte at p.
func (m *PCA9685) next(p byte) byte {
	switch {
	case m.regs[pcaRegMode1]&pcaAI == 0:
		return p
	case p == pcaRegLED15End, p == pcaRegPreScale:
		return pcaRegMode1
	}
	return p + 1
}

func (m *PCA9685) read(p byte) byte {
	if p > pcaRegLED15End && p != pcaRegPreScale {
		return 0 // reserved, ALL_LED (write only, read zero), TestMode
	}
	return m.regs[p]
}

func (m *PCA9685) write(now time.Time, p, v byte) {
	switch {
	case p == pcaRegMode1:
		m.writeMode1(now, v)
	case p == pcaRegMode2:
		m.regs[p] = v & pcaMode2Mask
	case p < pcaRegLED0:
		m.regs[p] = v // sub-addresses and All Call address: stored, not answered
	case p <= pcaRegLED15End:
		m.writeLED(p, v)
	case p >= pcaRegAllLED && p <= pcaRegAllEnd:
		for n := range PCA9685Channels {
			m.writeLED(pcaRegLED0+byte(4*n)+p-pcaRegAllLED, v)
		}
	case p == pcaRegPreScale:
		if m.regs[pcaRegMode1]&pcaSleep == 0 {
			m.errs++ // blocked while the oscillator runs
			return
		}
		m.regs[p] = max(v, pcaMinPre)
	default: // reserved, TestMode
		m.errs++
	}
}

func (m *PCA9685) writeLED(p, v byte) {
	if (p-pcaRegLED0)%2 == 1 { // LEDn_ON_H, LEDn_OFF_H
		v &= pcaHighMask
	}
	m.regs[p] = v
	m.regs[pcaRegMode1] &^= pcaRestart
}

func (m *PCA9685) writeMode1(now time.Time, v byte) {
	old := m.regs[pcaRegMode1]
	restart := old & pcaRestart
	if v&pcaRestart != 0 {
		if old&pcaSleep != 0 || v&pcaSleep != 0 || now.Sub(m.wokeAt) < pcaOscStart {
			m.errs++ // the oscillator has not run for 500 µs
		} else {
			restart = 0
		}
	}
	switch asleep, sleep := old&pcaSleep != 0, v&pcaSleep != 0; {
	case !asleep && sleep:
		if m.anyRunning() {
			restart = pcaRestart
		}
	case asleep && !sleep:
		m.wokeAt = now
	}
	m.regs[pcaRegMode1] = v&^(pcaRestart|pcaExtClk) | restart | (old|v)&pcaExtClk
}

// anyRunning reports whether a channel is not full off.
func (m *PCA9685) anyRunning() bool {
	for n := range PCA9685Channels {
		if m.regs[pcaRegLED0+4*n+3]&pcaFull == 0 {
			return true
		}
	}
	return false
}

// Register returns a register's value as a read of it would, without
// moving the pointer.
func (m *PCA9685) Register(p byte) byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.read(p)
}

// Asleep reports whether MODE1's SLEEP is set (oscillator off, outputs
// stopped).
func (m *PCA9685) Asleep() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs[pcaRegMode1]&pcaSleep != 0
}

// Frequency returns the PWM frequency PRE_SCALE gives with the internal
// 25 MHz oscillator: 25 MHz / (4096 × (PRE_SCALE + 1)).
func (m *PCA9685) Frequency() physic.Frequency {
	m.mu.Lock()
	defer m.mu.Unlock()
	return pcaOscillator * physic.Hertz / physic.Frequency(4096*(int64(m.regs[pcaRegPreScale])+1))
}

// ProtocolErrors reports how many writes the data sheet forbids the chip
// received: PRE_SCALE while awake, RESTART less than 500 µs after SLEEP was
// cleared (or with SLEEP set), TestMode or a reserved register.
func (m *PCA9685) ProtocolErrors() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errs
}

// pcaPin is the state of an output pin.
type pcaPin int

const (
	pinLow pcaPin = iota
	pinHigh
	pinHighZ
)

// Duties returns what each output drives, 0..1: the fraction of the PWM
// period during which the output is at the level a duty of 1 would give
// it (MODE2: high, or released when open-drain; low with INVRT). It is 0
// for every output while the chip sleeps or waits for a RESTART, and with
// OE high unless OUTNE puts the outputs at that level (a MODE2 that does
// not turn the outputs off with OE shows here).
func (m *PCA9685) Duties() []float64 {
	oeHigh := m.oe != nil && m.oe.Read() == gpio.High
	m.mu.Lock()
	defer m.mu.Unlock()
	mode2 := m.regs[pcaRegMode2]
	on := pinHigh // the level of an output that is on
	switch {
	case mode2&pcaInvrt != 0:
		on = pinLow
	case mode2&pcaOutDrv == 0:
		on = pinHighZ
	}
	d := make([]float64, PCA9685Channels)
	if oeHigh {
		pin := pinHighZ
		switch mode2 & pcaOutNE {
		case 0b00:
			pin = pinLow
		case 0b01:
			if mode2&pcaOutDrv != 0 {
				pin = pinHigh
			}
		}
		if pin == on {
			for n := range d {
				d[n] = 1
			}
		}
		return d
	}
	if m.regs[pcaRegMode1]&(pcaSleep|pcaRestart) != 0 {
		return d
	}
	for n := range d {
		d[n] = m.duty(n)
	}
	return d
}

// duty is channel n's fraction of the period on, from its registers.
func (m *PCA9685) duty(n int) float64 {
	r := m.regs[pcaRegLED0+4*n : pcaRegLED0+4*n+4]
	switch {
	case r[3]&pcaFull != 0:
		return 0
	case r[1]&pcaFull != 0:
		return 1
	}
	on := int(r[1]&0x0F)<<8 | int(r[0])
	off := int(r[3]&0x0F)<<8 | int(r[2])
	return float64((off-on+4096)%4096) / 4096
}
