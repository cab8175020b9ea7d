package sim

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// MAX30102Addr is the chip's fixed 7-bit I²C address.
const MAX30102Addr = 0x57

// MAX30102 register map (datasheet table 1). Unlisted addresses are reserved:
// they read 0 and ignore writes.
const (
	mxRegIntStatus1 = 0x00
	mxRegIntStatus2 = 0x01
	mxRegIntEnable1 = 0x02
	mxRegIntEnable2 = 0x03
	mxRegFIFOWrPtr  = 0x04
	mxRegOvfCounter = 0x05
	mxRegFIFORdPtr  = 0x06
	mxRegFIFOData   = 0x07
	mxRegFIFOConfig = 0x08
	mxRegModeConfig = 0x09
	mxRegSpO2Config = 0x0A
	mxRegLED1PA     = 0x0C // red
	mxRegLED2PA     = 0x0D // IR
	mxRegMultiLED1  = 0x11 // SLOT2[6:4], SLOT1[2:0]
	mxRegMultiLED2  = 0x12 // SLOT4[6:4], SLOT3[2:0]
	mxRegTempInt    = 0x1F
	mxRegTempFrac   = 0x20
	mxRegTempConfig = 0x21
	mxRegRevID      = 0xFE
	mxRegPartID     = 0xFF
	mxPartID        = 0x15
	mxRevID         = 0x03
	mxFIFODepth     = 32
	mxPtrMask       = mxFIFODepth - 1
	mxOvfMax        = 0x1F
	mxADCMax        = 1<<18 - 1
	mxModeShutdown  = 0x80
	mxModeReset     = 0x40
	mxModeMask      = 0x07
	mxModeHR        = 0x02
	mxModeSpO2      = 0x03
	mxModeMultiLED  = 0x07
	mxIntAFull      = 0x80
	mxIntPPGRdy     = 0x40
	mxIntPwrRdy     = 0x01
	mxIntDieTempRdy = 0x02
	mxFIFORollover  = 0x10
	mxMaxBacklog    = 1 << 16
	mxSlotRed       = 1
	mxSlotIR        = 2
)

// Physiological and optical constants of the simulated finger. They are
// chosen to give counts like a real MAX30102 on a fingertip at the reference
// settings (7 mA, 4096 nA range, 411 us): an IR level near 120 000 of
// 262 143 and a red level near 90 000, so that 50 mA saturates the ADC as it
// does on the bench.
const (
	mxIRCountsPerMA  = 17000.0
	mxRedCountsPerMA = 12750.0
	mxIRPerfusion    = 0.02 // AC/DC of the IR channel: a perfusion index of 2 %
	mxNoiseFrac      = 1e-4 // noise standard deviation relative to DC, before averaging
	// mxNoiseFloor is the noise that remains with little light (the ADC's
	// and the photodiode's dark current), counts, before averaging: a
	// model figure, not the datasheet's; an empty sensor's counts are never
	// exactly constant.
	mxNoiseFloor    = 2.0
	mxNoFingerFrac  = 0.01   // light that reaches the photodiode with no finger on it
	mxRefPulseWidth = 411e-6 // the pulse width at which the counts above hold
	mxRefRangeNA    = 4096.0
)

var (
	mxSampleRates = [8]int64{50, 100, 200, 400, 800, 1000, 1600, 3200}
	mxPulseWidths = [4]float64{69e-6, 118e-6, 215e-6, 411e-6}
	mxRanges      = [4]float64{2048, 4096, 8192, 16384}
	// mxResolutionMask keeps the top 15..18 bits: the chip left-justifies
	// its samples at lower resolutions.
	mxResolutionMask = [4]uint32{mxADCMax &^ 7, mxADCMax &^ 3, mxADCMax &^ 1, mxADCMax}
)

// MAX30102 is a register-level model of Analog Devices' MAX30102 pulse
// oximeter. It implements Device; attach it at MAX30102Addr.
//
// The model produces samples from its own clock: each transaction first adds
// the samples the chip would have made since the previous one, at the
// configured rate (SR / SMP_AVE), using time.Now (so testing/synctest's fake
// clock drives it). Each sample is a photoplethysmogram of the simulated
// finger: the light that reaches the photodiode falls at every systole, more
// for red than for IR as SpO2 falls, in the ratio of ratios R that the
// estimator's calibration curve maps to the SpO2 (vitals.RatioFromSpO2): a
// finger that follows the calibration.
//
// What the datasheet leaves open, the model decides as follows: a software
// reset and a die-temperature conversion complete at once; reading FIFO_DATA
// from an empty FIFO returns zeros and pops nothing; with FIFO_ROLLOVER_EN
// set, a sample pushed into a full FIFO overwrites the oldest (the read
// pointer moves with the write pointer) and is counted in OVF_COUNTER like a
// lost one; any SR/LED_PW pair is honoured (the driver refuses the ones the
// datasheet forbids).
type MAX30102 struct {
	vitals func(time.Time) (heartRateBPM, spo2Pct float64)

	mu       sync.Mutex
	regs     [256]byte
	addr     byte // register address pointer
	fifo     [mxFIFODepth][3]uint32
	count    int       // unread samples; the pointers cannot tell empty from full
	byteIdx  int       // next byte of the sample at the read pointer
	next     time.Time // when the next sample completes, while sampling
	phase    float64   // cardiac cycle, 0..1
	rng      *rand.Rand
	lost     int
	noFinger bool
	// recording, when set, replaces the synthetic pulse (SetRecording).
	recording func(time.Time) (ir, red float64)
	saturated bool // SetSaturated
	swapped   bool // SetLEDsSwapped
}

// SetLEDsSwapped models a clone board that wires its LEDs the other way
// round: LED1 (the datasheet's red, set by LED1_PA, read in the red slot)
// is the IR LED, and LED2 the red one. The FIFO's red slot then holds the
// IR light and the IR slot the red light, so a driver that reads the
// reference wiring measures the inverse ratio of ratios.
func (m *MAX30102) SetLEDsSwapped(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.swapped = on
}

// SetSaturated models a photodiode flooded with light (ambient light
// through the pod's canopy, a sensor lifted towards a lamp): while on,
// every channel of every sample reads the ADC's full scale.
func (m *MAX30102) SetSaturated(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.saturated = on
}

// PerfusionIR is the model's perfusion index: the IR channel's pulse
// amplitude relative to its DC level (2 %).
const PerfusionIR = mxIRPerfusion

// SetRecording replaces the synthetic pulse by a recorded one: rec gives,
// at a sample's time, each channel's deviation from its DC level as a
// fraction of it (counts = DC·(1 + dev); a systole makes it negative, as
// less light comes back). The LED currents, ranges, averaging and noise
// still apply. rec is called with the model's lock held and must not call
// back into it; nil restores the synthetic pulse.
func (m *MAX30102) SetRecording(rec func(t time.Time) (ir, red float64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.recording = rec
}

// NewMAX30102 returns a powered-up chip. vitals reports the sleeper's heart
// rate and SpO2 at a given time; it is called with the model's lock held, once
// per sample, and must not call back into the model. A heart rate ≤ 0 means
// no pulse. seed makes the measurement noise reproducible.
func NewMAX30102(vitals func(time.Time) (heartRateBPM, spo2Pct float64), seed int64) *MAX30102 {
	m := &MAX30102{
		vitals: vitals,
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x30102)),
	}
	m.reset()
	m.regs[mxRegIntStatus1] = mxIntPwrRdy
	return m
}

// Tx implements Device: w[0] sets the register address pointer, the rest of w
// is written from there, then r is read from there. The pointer increments
// after every byte, except at FIFO_DATA, where a read pops the FIFO instead.
func (m *MAX30102) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.advance(now)
	if len(w) > 0 {
		m.addr = w[0]
		for _, v := range w[1:] {
			m.write(now, m.addr, v)
			m.addr++
		}
	}
	for i := range r {
		r[i] = m.read(m.addr)
		if m.addr != mxRegFIFOData {
			m.addr++
		}
	}
	return nil
}

// SetFingerPresent models the sleeper's finger leaving the sensor (false) or
// returning (true). Without a finger almost no light comes back and there is
// no pulse.
func (m *MAX30102) SetFingerPresent(present bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	m.noFinger = !present
}

// Mode returns MODE_CONFIG's MODE bits (0x02 HR, 0x03 SpO2, 0x07 multi-LED).
func (m *MAX30102) Mode() byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs[mxRegModeConfig] & mxModeMask
}

// Shutdown reports whether the chip is in power-save mode (SHDN).
func (m *MAX30102) Shutdown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs[mxRegModeConfig]&mxModeShutdown != 0
}

// Buffered returns how many unread samples the FIFO holds now.
func (m *MAX30102) Buffered() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.count
}

// LostSamples returns how many samples were dropped or overwritten in a full
// FIFO since power-up. Unlike OVF_COUNTER it neither saturates nor clears.
func (m *MAX30102) LostSamples() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.lost
}

// Register returns a register's value without the side effects of a bus
// read (no FIFO pop, no interrupt clear).
func (m *MAX30102) Register(reg byte) byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(time.Now())
	return m.regs[reg]
}

// SampleRate returns the effective rate at which samples enter the FIFO, in
// Hz, or 0 while the chip is not sampling.
func (m *MAX30102) SampleRate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.sampling() {
		return 0
	}
	return float64(time.Second) / float64(m.period())
}

func (m *MAX30102) reset() {
	m.regs = [256]byte{}
	m.regs[mxRegRevID] = mxRevID
	m.regs[mxRegPartID] = mxPartID
	m.count, m.byteIdx = 0, 0
}

func (m *MAX30102) sampling() bool {
	mode := m.regs[mxRegModeConfig]
	if mode&mxModeShutdown != 0 {
		return false
	}
	switch mode & mxModeMask {
	case mxModeHR, mxModeSpO2, mxModeMultiLED:
		return true
	}
	return false
}

// period is the time between two samples entering the FIFO. Every
// SR × SMP_AVE pair gives a whole number of nanoseconds.
func (m *MAX30102) period() time.Duration {
	sps := mxSampleRates[(m.regs[mxRegSpO2Config]>>2)&0x07]
	ave := int64(1) << min((m.regs[mxRegFIFOConfig]>>5)&0x07, 5)
	return time.Duration(int64(time.Second) * ave / sps)
}

// channels lists which LED each 3-byte slot of a FIFO sample holds.
func (m *MAX30102) channels() (ch [4]byte, n int) {
	switch m.regs[mxRegModeConfig] & mxModeMask {
	case mxModeHR:
		return [4]byte{mxSlotRed}, 1
	case mxModeSpO2:
		return [4]byte{mxSlotRed, mxSlotIR}, 2
	case mxModeMultiLED:
		slots := [4]byte{
			m.regs[mxRegMultiLED1] & 0x07, (m.regs[mxRegMultiLED1] >> 4) & 0x07,
			m.regs[mxRegMultiLED2] & 0x07, (m.regs[mxRegMultiLED2] >> 4) & 0x07,
		}
		// The datasheet: slots are filled in order and the first disabled
		// slot ends the sequence.
		for _, s := range slots {
			if s == 0 {
				break
			}
			ch[n] = s
			n++
		}
		return ch, n
	}
	return ch, 0
}

// advance pushes the samples made since the last transaction.
func (m *MAX30102) advance(now time.Time) {
	if !m.sampling() || now.Before(m.next) {
		return
	}
	p := m.period()
	n := int64(now.Sub(m.next)/p) + 1
	if n > mxMaxBacklog {
		// After a long silence only the newest samples can still be in the
		// FIFO, so the older ones are counted as lost without being computed.
		skip := n - mxMaxBacklog
		m.next = m.next.Add(time.Duration(skip) * p)
		hr, _ := m.vitals(m.next)
		m.phase = math.Mod(m.phase+max(hr, 0)/60*(time.Duration(skip)*p).Seconds(), 1)
		m.lost += int(skip)
		m.regs[mxRegOvfCounter] = byte(min(int64(m.regs[mxRegOvfCounter])+skip, mxOvfMax))
		n = mxMaxBacklog
	}
	for range n {
		hr, spo2 := m.vitals(m.next)
		if hr > 0 {
			m.phase = math.Mod(m.phase+hr/60*p.Seconds(), 1)
		}
		m.push(m.measure(m.next, hr, spo2))
		m.next = m.next.Add(p)
	}
}

func (m *MAX30102) push(s [3]uint32) {
	wr, rd := m.regs[mxRegFIFOWrPtr], m.regs[mxRegFIFORdPtr]
	if m.count == mxFIFODepth {
		m.lost++
		if m.regs[mxRegOvfCounter] < mxOvfMax {
			m.regs[mxRegOvfCounter]++
		}
		if m.regs[mxRegFIFOConfig]&mxFIFORollover == 0 {
			return
		}
		rd = (rd + 1) & mxPtrMask
		m.count--
		m.byteIdx = 0
	}
	m.fifo[wr] = s
	m.regs[mxRegFIFOWrPtr] = (wr + 1) & mxPtrMask
	m.regs[mxRegFIFORdPtr] = rd
	m.count++
	m.regs[mxRegIntStatus1] |= mxIntPPGRdy
	if m.count >= mxFIFODepth-int(m.regs[mxRegFIFOConfig]&0x0F) {
		m.regs[mxRegIntStatus1] |= mxIntAFull
	}
}

// measure returns one FIFO sample: the counts for each slot.
func (m *MAX30102) measure(t time.Time, hr, spo2 float64) [3]uint32 {
	ch, n := m.channels()
	spo2Cfg := m.regs[mxRegSpO2Config]
	gain := mxRefRangeNA / mxRanges[spo2Cfg>>5&0x03] * mxPulseWidths[spo2Cfg&0x03] / mxRefPulseWidth
	mask := mxResolutionMask[spo2Cfg&0x03]
	ave := float64(int(1) << min((m.regs[mxRegFIFOConfig]>>5)&0x07, 5))

	// Light that reaches the photodiode falls as blood fills the finger at
	// systole: counts = DC·(1 − k·(pulse − mean pulse)), so DC is the mean and
	// k the AC/DC ratio of each channel.
	pulse := 0.0
	if hr > 0 && !m.noFinger {
		pulse = ppgPulse(m.phase) - ppgPulseMean
	}
	r := vitals.RatioFromSpO2(spo2)
	var recIR, recRed float64
	if m.recording != nil && !m.noFinger {
		recIR, recRed = m.recording(t)
	}
	var s [3]uint32
	for i := range min(n, len(s)) {
		var dc, k float64
		slot := ch[i]
		led := m.regs[mxRegLED1PA]
		if slot == mxSlotIR {
			led = m.regs[mxRegLED2PA]
		}
		if m.swapped && (slot == mxSlotRed || slot == mxSlotIR) {
			slot = mxSlotRed + mxSlotIR - slot // the LED in the other's place
		}
		switch slot {
		case mxSlotRed:
			dc, k = mxRedCountsPerMA*mxLEDmA(led), r*mxIRPerfusion
		case mxSlotIR:
			dc, k = mxIRCountsPerMA*mxLEDmA(led), mxIRPerfusion
		}
		if m.noFinger {
			dc *= mxNoFingerFrac
		}
		dc *= gain
		noise := 0.0
		if dc > 0 { // an LED that is off gives a channel of zeros
			noise = math.Hypot(dc*mxNoiseFrac, mxNoiseFloor)
		}
		mod := 1 - k*pulse
		if m.recording != nil {
			mod = 1 + recIR
			if slot == mxSlotRed {
				mod = 1 + recRed
			}
		}
		v := dc*mod + noise/math.Sqrt(ave)*m.rng.NormFloat64()
		if m.saturated && dc > 0 {
			v = mxADCMax
		}
		s[i] = uint32(math.Round(min(max(v, 0), mxADCMax))) & mask
	}
	return s
}

func mxLEDmA(code byte) float64 { return float64(code) * 50 / 255 }

func (m *MAX30102) write(now time.Time, reg, v byte) {
	switch reg {
	case mxRegIntEnable1:
		m.regs[reg] = v & 0xE0
	case mxRegIntEnable2:
		m.regs[reg] = v & 0x02
	case mxRegFIFOWrPtr, mxRegOvfCounter, mxRegFIFORdPtr:
		m.regs[reg] = v & mxPtrMask
		m.count = int((m.regs[mxRegFIFOWrPtr] - m.regs[mxRegFIFORdPtr]) & mxPtrMask)
		m.byteIdx = 0
	case mxRegFIFOConfig, mxRegModeConfig, mxRegSpO2Config:
		if reg == mxRegModeConfig && v&mxModeReset != 0 {
			m.reset()
			return
		}
		wasSampling, oldPeriod := m.sampling(), m.period()
		m.regs[reg] = v
		if reg == mxRegModeConfig {
			m.regs[reg] = v & (mxModeShutdown | mxModeMask)
		}
		if reg == mxRegSpO2Config {
			m.regs[reg] = v & 0x7F
		}
		if m.sampling() && (!wasSampling || m.period() != oldPeriod) {
			m.next = now.Add(m.period())
		}
	case mxRegLED1PA, mxRegLED2PA:
		m.regs[reg] = v
	case mxRegMultiLED1, mxRegMultiLED2:
		m.regs[reg] = v & 0x77
	case mxRegTempConfig:
		if v&0x01 != 0 {
			// A fingertip-warmed die: 31.25 °C.
			m.regs[mxRegTempInt] = 31
			m.regs[mxRegTempFrac] = 4
			m.regs[mxRegIntStatus2] |= mxIntDieTempRdy
		}
	}
}

func (m *MAX30102) read(reg byte) byte {
	switch reg {
	case mxRegIntStatus1, mxRegIntStatus2:
		v := m.regs[reg]
		m.regs[reg] = 0
		return v
	case mxRegFIFOData:
		return m.readFIFOByte()
	}
	return m.regs[reg]
}

// readFIFOByte returns the next byte of the oldest sample; reading its last
// byte pops it, which also clears OVF_COUNTER and A_FULL as on the chip.
func (m *MAX30102) readFIFOByte() byte {
	_, n := m.channels()
	if m.count == 0 || n == 0 {
		return 0
	}
	rd := m.regs[mxRegFIFORdPtr]
	v := m.fifo[rd][m.byteIdx/3]
	b := byte(v >> (8 * (2 - m.byteIdx%3)))
	if m.byteIdx%3 == 0 {
		b &= 0x03
	}
	m.byteIdx++
	if m.byteIdx == 3*n {
		m.byteIdx = 0
		m.regs[mxRegFIFORdPtr] = (rd + 1) & mxPtrMask
		m.regs[mxRegOvfCounter] = 0
		m.regs[mxRegIntStatus1] &^= mxIntAFull
		m.count--
	}
	return b
}

// ppgPulse is the shape of one cardiac cycle at phase 0..1, peaking near 1:
// a systolic wave, then the dicrotic notch where the aortic valve closes,
// then the smaller dicrotic wave. Distances wrap around the cycle so that
// consecutive beats join smoothly.
func ppgPulse(phase float64) float64 {
	g := func(mu, sigma float64) float64 {
		d := math.Abs(phase - mu)
		d = min(d, 1-d)
		return math.Exp(-0.5 * (d / sigma) * (d / sigma))
	}
	return g(0.22, 0.08) + 0.4*g(0.5, 0.1)
}

// ppgPulseMean is ppgPulse's mean over a cycle.
var ppgPulseMean = func() float64 {
	const n = 10000
	s := 0.0
	for i := range n {
		s += ppgPulse((float64(i) + 0.5) / n)
	}
	return s / n
}()
