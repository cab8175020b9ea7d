package sim

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// ADS1299 register map (datasheet SBAS499, "Register Map") and opcodes.
const (
	adsRegID        = 0x00
	adsRegConfig1   = 0x01
	adsRegConfig2   = 0x02
	adsRegConfig3   = 0x03
	adsRegCH1Set    = 0x05
	adsRegLOFFSensP = 0x0F
	adsRegLOFFSensN = 0x10
	adsRegLOFFStatP = 0x12
	adsRegLOFFStatN = 0x13
	adsRegGPIO      = 0x14
	adsRegConfig4   = 0x17
	adsRegs         = 0x18

	adsID        = 0x3E
	adsFrameSize = 27
	adsVREF      = 4.5 // V
	adsCodeMax   = 1<<23 - 1
	adsCodeMin   = -1 << 23
	adsLOFFComp  = 0x02 // CONFIG4's PD_LOFF_COMP

	adsOpWakeup  = 0x02
	adsOpStandby = 0x04
	adsOpReset   = 0x06
	adsOpStart   = 0x08
	adsOpStop    = 0x0A
	adsOpRDATAC  = 0x10
	adsOpSDATAC  = 0x11
	adsOpRDATA   = 0x12
	adsOpRREG    = 0x20
	adsOpWREG    = 0x40
)

// adsResetRegs are the register values after power-up and RESET.
var adsResetRegs = [adsRegs]byte{
	adsRegID: adsID, adsRegConfig1: 0x96, adsRegConfig2: 0xC0, adsRegConfig3: 0x60,
	0x05: 0x61, 0x06: 0x61, 0x07: 0x61, 0x08: 0x61, 0x09: 0x61, 0x0A: 0x61, 0x0B: 0x61, 0x0C: 0x61,
	adsRegGPIO: 0x0F,
}

var adsGains = [8]float64{1, 2, 4, 6, 8, 12, 24, 24} // GAIN code 7 is reserved: read as 24

// ADS1299 is a register-level model of Texas Instruments' ADS1299 EEG front
// end behind an SPI chip select. It implements Device; a Tx is one
// transaction with CS low, full duplex: byte i of r is what the chip shifts
// out while it takes in byte i of w (0 past the end of w). A command cut by
// the end of a transaction is dropped, as raising CS resets the chip's
// serial interface.
//
// Commands: WAKEUP, STANDBY, RESET, START, STOP, RDATAC, SDATAC, RDATA, and
// RREG/WREG with their count byte (registers 0x00..0x17; the ID and
// LOFF_STATP/N are read-only, CONFIG3's BIAS_STAT reads 0). In standby the
// model takes no command but WAKEUP (the datasheet forbids any other) and
// shifts out zeros. In RDATAC mode RREG and WREG are ignored, as on the
// chip, and every transaction shifts out the newest conversion: a 27-byte
// frame (status 1100 | LOFF_STATP | LOFF_STATN | GPIO[7:4], then channels 1
// to 8, 24-bit two's complement, MSB first), then zeros; RDATA does the
// same in SDATAC mode. The chip
// powers up, and resets, in RDATAC mode, not converting, with the datasheet's
// reset values (ID 0x3E, CONFIG1 0x96, CONFIG2 0xC0, CONFIG3 0x60, CHnSET
// 0x61, GPIO 0x0F, others 0).
//
// Conversions. While started (START) and awake, conversion k completes at
// START + k·tDR (tDR = 1/rate from CONFIG1's DR: 16 000 >> DR sps). They are
// computed lazily from time.Now (so testing/synctest's clock drives the
// model): a transaction reads the newest conversion, whose value is the
// signal at its own instant, however late the transaction comes; a
// conversion not read before the next one is overwritten, as on the chip.
// The model leaves out the settling of the first conversion after START
// (about 4 tDR on the chip): the first comes one tDR after it.
//
// DRDY. Run emits DRDY's falling edges on the Line given to NewADS1299: at
// each conversion not read yet, DRDY goes high, then low (the chip's pulse
// before a new conversion); a transaction that reads data raises it, as the
// first SCLK does on the chip. Run waits on a timer for each conversion's
// instant, so a late goroutine delays an edge, never the data; an edge whose
// conversion was read meanwhile is not emitted. This is the whole clock:
// without Run the data still advances, but DRDY never falls.
//
// Values. A channel in normal input (MUX 000) reads the signal in µV times
// its gain, as a code of LSB = 2·VREF/gain/2²⁴ (VREF 4.5 V), rounded and
// clipped to the 24-bit range (the chip saturates at ±VREF/gain). A channel
// whose electrode is off (SetLeadOff) or saturated (SetSaturated) reads the
// positive full scale 0x7FFFFF: the lead-off current source, or the
// artefact, drives the input to the rail. Powered-down channels and other
// inputs (shorted, test signal, supplies, temperature) read 0: the model
// does not simulate them. Electrode off shows in LOFF_STATP (bit n-1 for
// channel n) only when lead-off detection is configured: the channel's
// LOFF_SENSP bit and CONFIG4's PD_LOFF_COMP set. LOFF_STATN always reads 0:
// the model's electrodes come off on the positive input.
type ADS1299 struct {
	signal func(t time.Time, ch int) float64
	drdy   *Line
	wake   chan struct{}

	mu        sync.Mutex
	regs      [adsRegs]byte
	powered   bool
	rdatac    bool
	started   bool // START
	standby   bool
	next      time.Time // the next conversion's instant, while converting
	conv      uint64    // conversions since NewADS1299
	convAt    time.Time // the newest conversion's instant; zero: none since the last reset
	readConv  uint64    // the newest conversion a transaction read
	edgeConv  uint64    // the newest conversion DRDY fell for
	leadOff   [8]bool
	saturated [8]bool
	frame     [adsFrameSize]byte // what a transaction shifts out
}

// NewADS1299 returns a powered-up chip whose channel ch (1..8) measures
// signal(t, ch) µV at time t, and which drives drdy (its DRDY line: high
// while idle). signal is called with the model's lock held and must not
// call back into the model; NaN reads 0, ±Inf the full scale.
func NewADS1299(signal func(t time.Time, ch int) float64, drdy *Line) *ADS1299 {
	m := &ADS1299{signal: signal, drdy: drdy, wake: make(chan struct{}, 1)}
	m.powerOn()
	return m
}

func (m *ADS1299) powerOn() {
	m.powered = true
	m.reset()
	m.drdy.Set(gpio.High)
}

func (m *ADS1299) reset() {
	m.regs = adsResetRegs
	m.rdatac, m.started, m.standby = true, false, false
	m.convAt = time.Time{}
	m.readConv, m.edgeConv = m.conv, m.conv
	m.poke()
}

// poke tells Run that the conversion clock changed.
func (m *ADS1299) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *ADS1299) converting() bool { return m.powered && m.started && !m.standby }

// period is tDR from CONFIG1's DR field. DR 7 is reserved: read as 250 sps.
func (m *ADS1299) period() time.Duration {
	dr := min(m.regs[adsRegConfig1]&0x07, 6)
	return time.Second / time.Duration(16000>>dr)
}

// advance completes the conversions due by now.
func (m *ADS1299) advance(now time.Time) {
	if !m.converting() || now.Before(m.next) {
		return
	}
	p := m.period()
	n := now.Sub(m.next) / p
	m.conv += uint64(n) + 1
	m.convAt = m.next.Add(n * p)
	m.next = m.convAt.Add(p)
}

// restart begins conversions anew from now.
func (m *ADS1299) restart(now time.Time) {
	m.next = now.Add(m.period())
	m.poke()
}

// Run emits DRDY's falling edges, one per conversion not read yet, until ctx
// is done; it then returns nil. Run it in one goroutine per model, owned by
// the caller.
func (m *ADS1299) Run(ctx context.Context) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		m.mu.Lock()
		now := time.Now()
		m.advance(now)
		if m.conv > m.readConv && m.conv > m.edgeConv {
			m.drdy.Set(gpio.High)
			m.drdy.Set(gpio.Low)
			m.edgeConv = m.conv
		}
		var tick <-chan time.Time
		if m.converting() {
			t.Reset(m.next.Sub(now))
			tick = t.C
		} else {
			t.Stop()
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-tick:
		}
	}
}

// Tx implements Device.
func (m *ADS1299) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.advance(now)
	if !m.powered {
		clear(r) // MISO pulled low; nothing listens
		return nil
	}
	frame := &m.frame
	var out []byte
	n := max(len(w), len(r))
	if m.rdatac && n > 0 {
		m.readFrame(frame)
		out = frame[:]
	}
	// The command being decoded: its opcode, and for RREG/WREG its
	// address and the registers left to move.
	var op, addr byte
	left := 0
	haveCount := false
	for i := range n {
		if m.standby && op == 0 {
			// In standby the chip takes no command but WAKEUP
			// (datasheet, "STANDBY").
			if i < len(w) && w[i] == adsOpWakeup {
				m.opcode(now, w[i], frame, &out)
			}
			if i < len(r) {
				r[i] = 0
			}
			continue
		}
		var o byte
		if len(out) > 0 {
			o, out = out[0], out[1:]
		}
		if i < len(r) {
			r[i] = o
		}
		var in byte
		if i < len(w) {
			in = w[i]
		}
		switch {
		case op == 0:
			op, addr = m.opcode(now, in, frame, &out)
		case !haveCount:
			haveCount, left = true, int(in&0x1F)+1
			if op == adsOpRREG {
				regs := make([]byte, left)
				for j := range regs {
					regs[j] = m.readReg(addr + byte(j))
				}
				out = regs
				// The bytes clocked while the registers go out are
				// not decoded.
			}
		case op == adsOpWREG:
			m.writeReg(now, addr, in)
			addr++
			left--
		default: // RREG data going out
			left--
		}
		if haveCount && left == 0 {
			op, haveCount = 0, false
		}
	}
	return nil
}

// opcode executes a one-byte command, or returns RREG/WREG and their address
// for the count byte to follow (0 otherwise).
func (m *ADS1299) opcode(now time.Time, in byte, frame *[adsFrameSize]byte, out *[]byte) (op, addr byte) {
	switch {
	case in&0xE0 == adsOpRREG || in&0xE0 == adsOpWREG:
		if m.rdatac {
			return 0, 0 // ignored in RDATAC
		}
		return in & 0xE0, in & 0x1F
	case in == adsOpWakeup:
		if m.standby {
			m.standby = false
			m.restart(now)
		}
	case in == adsOpStandby:
		m.standby = true
		m.poke()
	case in == adsOpReset:
		m.reset()
	case in == adsOpStart:
		m.started = true
		m.restart(now)
	case in == adsOpStop:
		m.started = false
		m.poke()
	case in == adsOpRDATAC:
		m.rdatac = true
	case in == adsOpSDATAC:
		m.rdatac = false
	case in == adsOpRDATA:
		m.readFrame(frame)
		*out = frame[:]
	}
	return 0, 0
}

func (m *ADS1299) readReg(addr byte) byte {
	switch {
	case addr >= adsRegs:
		return 0
	case addr == adsRegLOFFStatP:
		return m.loffStatP()
	}
	return m.regs[addr]
}

func (m *ADS1299) writeReg(now time.Time, addr, v byte) {
	switch addr {
	case adsRegID, adsRegLOFFStatP, adsRegLOFFStatN:
		return // read-only
	case adsRegConfig3:
		v &^= 0x01 // BIAS_STAT is read-only
	}
	if addr >= adsRegs {
		return
	}
	old := m.regs[addr]
	m.regs[addr] = v
	if addr == adsRegConfig1 && (old^v)&0x07 != 0 && m.converting() {
		m.restart(now)
	}
}

// loffStatP is LOFF_STATP: the channels whose electrode is off, among those
// whose lead-off detection is configured.
func (m *ADS1299) loffStatP() byte {
	if m.regs[adsRegConfig4]&adsLOFFComp == 0 {
		return 0
	}
	var s byte
	for i, off := range m.leadOff {
		if off {
			s |= 1 << i
		}
	}
	return s & m.regs[adsRegLOFFSensP]
}

// readFrame fills b with the newest conversion and marks it read, raising
// DRDY.
func (m *ADS1299) readFrame(b *[adsFrameSize]byte) {
	status := 0xC00000 | uint32(m.loffStatP())<<12 | uint32(m.regs[adsRegLOFFStatN])<<4 | uint32(m.regs[adsRegGPIO]>>4)
	b[0], b[1], b[2] = byte(status>>16), byte(status>>8), byte(status)
	for ch := 1; ch <= 8; ch++ {
		c := uint32(m.code(ch))
		b[3*ch], b[3*ch+1], b[3*ch+2] = byte(c>>16), byte(c>>8), byte(c)
	}
	m.readConv = m.conv
	m.drdy.Set(gpio.High)
}

// code is channel ch's conversion code.
func (m *ADS1299) code(ch int) int32 {
	set := m.regs[adsRegCH1Set+ch-1]
	switch {
	case m.convAt.IsZero() || set&0x80 != 0:
		return 0
	case m.leadOff[ch-1] || m.saturated[ch-1]:
		return adsCodeMax
	case set&0x07 != 0:
		return 0
	}
	uv := m.signal(m.convAt, ch)
	if math.IsNaN(uv) {
		return 0
	}
	c := math.Round(uv * 1e-6 * adsGains[set>>4&0x07] * (1 << 23) / adsVREF)
	return int32(min(max(c, adsCodeMin), adsCodeMax))
}

// SetLeadOff models channel ch's electrode (1..8) coming off (true) or
// back on.
func (m *ADS1299) SetLeadOff(ch int, off bool) error {
	if ch < 1 || ch > 8 {
		return fmt.Errorf("sim: ads1299: channel %d, want 1 to 8", ch)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.leadOff[ch-1] = off
	return nil
}

// SetSaturated models channel ch (1..8) driven past its full scale (a large
// artefact or electrode offset) with its electrode still on: it reads
// 0x7FFFFF without a lead-off bit.
func (m *ADS1299) SetSaturated(ch int, on bool) error {
	if ch < 1 || ch > 8 {
		return fmt.Errorf("sim: ads1299: channel %d, want 1 to 8", ch)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.saturated[ch-1] = on
	return nil
}

// SetPowered models the chip losing its supply (false: it converts nothing,
// DRDY no longer falls, MISO reads 0x00 and what it is sent is lost) and
// getting it back (true: a power-on, with the reset values, in RDATAC mode,
// not converting, so the driver must configure it again).
func (m *ADS1299) SetPowered(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	switch {
	case on && !m.powered:
		m.powerOn()
	case !on && m.powered:
		m.powered = false
		m.poke()
	}
}

// Register returns a register's value as RREG would read it.
func (m *ADS1299) Register(addr byte) byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readReg(addr)
}

// Converting reports whether conversions are running: started, awake and
// powered.
func (m *ADS1299) Converting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.converting()
}

// ReadingContinuously reports whether the chip is in RDATAC mode.
func (m *ADS1299) ReadingContinuously() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rdatac
}

// Standby reports whether the chip is in standby (STANDBY, until WAKEUP).
func (m *ADS1299) Standby() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.standby
}

// Conversions returns how many conversions the chip completed since it was
// created, and the instant of the newest (zero if none since the last
// reset).
func (m *ADS1299) Conversions() (n uint64, newest time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.conv, m.convAt
}

// Unread returns how many conversions completed since the last one read:
// more than 1 means some were overwritten.
func (m *ADS1299) Unread() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.conv - m.readConv
}
