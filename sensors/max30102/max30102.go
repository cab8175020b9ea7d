package max30102

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/mmr"
	"periph.io/x/conn/v3/physic"
)

// Addr is the chip's fixed 7-bit I²C address.
const Addr = 0x57

// FIFODepth is how many samples the chip buffers; a dst of this length lets
// ReadFIFO drain the FIFO in one call.
const FIFODepth = 32

// MaxLost is the most OVF_COUNTER counts: a ReadFIFO that reports this many
// lost samples may have lost more.
const MaxLost = 31

// ErrHalted is returned by ReadFIFO after Halt.
var ErrHalted = errors.New("max30102: halted")

const (
	regIntStatus1  = 0x00 // INT_STATUS1, then INT_STATUS2, INT_ENABLE1/2 and the FIFO pointers
	regFIFOPtrs    = 0x04 // FIFO_WR_PTR, then OVF_COUNTER and FIFO_RD_PTR
	intAFull       = 0x80 // INT_STATUS1's A_FULL
	regFIFOData    = 0x07
	regFIFOConfig  = 0x08
	regModeConfig  = 0x09
	regSpO2Config  = 0x0A
	regLED1PA      = 0x0C // red; LED2_PA (IR) follows
	regTempInt     = 0x1F // TEMP_INT, then TEMP_FRAC
	regTempConfig  = 0x21 // TEMP_CONFIG: TEMP_EN, bit 0, self-clearing
	tempEn         = 0x01
	tempTimeout    = 100 * time.Millisecond // a conversion takes 29 ms (datasheet, tTEMP)
	tempPoll       = 2 * time.Millisecond
	regPartID      = 0xFF
	partID         = 0x15
	modeShutdown   = 0x80
	modeReset      = 0x40
	modeSpO2       = 0x03
	ptrMask        = FIFODepth - 1
	sampleBytes    = 6 // red then IR, 3 bytes each
	sampleMask     = 1<<18 - 1
	fifoAlmostFull = 0x0F // A_FULL with 15 free slots left, for boards that wire INT
	resetTimeout   = 100 * time.Millisecond
	resetPoll      = time.Millisecond
	maxLEDCurrent  = 50 * physic.MilliAmpere
)

// Opts configures the chip. The chip always runs in SpO2 mode: package
// vitals needs both the red and the IR channel.
type Opts struct {
	// SampleRate is the ADC's rate before averaging: 50, 100, 200, 400,
	// 800, 1000, 1600 or 3200 Hz.
	SampleRate physic.Frequency
	// Averaging is how many ADC samples the chip averages into one FIFO
	// sample (SMP_AVE): 1, 2, 4, 8, 16 or 32. It divides the output rate.
	Averaging int
	// PulseWidth is the LED pulse width, which sets the resolution:
	// 69 µs (15 bits), 118 µs (16), 215 µs (17) or 411 µs (18). A wider
	// pulse caps the sample rate (datasheet table 11).
	PulseWidth time.Duration
	// ADCRange is the ADC's full scale: 2048, 4096, 8192 or 16384 nA.
	ADCRange physic.ElectricCurrent
	// RedCurrent and IRCurrent drive LED1 (red) and LED2 (IR), 0 to 50 mA
	// in steps of 50/255 mA. 0 switches an LED off.
	RedCurrent, IRCurrent physic.ElectricCurrent
	// SwapRedIR is for boards that wire the LEDs the other way round (some
	// clone modules: LED1 is the IR LED): RedCurrent then drives LED2 and
	// IRCurrent LED1, and ReadFIFO swaps each sample's two channels, so
	// that Red and IR are the colours they say.
	SwapRedIR bool
}

// DefaultOpts is Maxim's reference design setting (RD117): 100 sps averaged
// by 4 to 25 Hz, 411 µs (18-bit), a 4096 nA range and about 7 mA per LED,
// enough for a fingertip without saturating the ADC.
var DefaultOpts = Opts{
	SampleRate: 100 * physic.Hertz,
	Averaging:  4,
	PulseWidth: 411 * time.Microsecond,
	ADCRange:   4096 * physic.NanoAmpere,
	RedCurrent: 7 * physic.MilliAmpere,
	IRCurrent:  7 * physic.MilliAmpere,
}

var (
	sampleRates = [...]physic.Frequency{50 * physic.Hertz, 100 * physic.Hertz, 200 * physic.Hertz, 400 * physic.Hertz,
		800 * physic.Hertz, 1000 * physic.Hertz, 1600 * physic.Hertz, 3200 * physic.Hertz}
	pulseWidths = [...]time.Duration{69 * time.Microsecond, 118 * time.Microsecond, 215 * time.Microsecond, 411 * time.Microsecond}
	// maxSpO2Rate is the highest sample rate SpO2 mode allows at each
	// pulse width (datasheet table 11).
	maxSpO2Rate = [...]physic.Frequency{1600 * physic.Hertz, 1000 * physic.Hertz, 800 * physic.Hertz, 400 * physic.Hertz}
	adcRanges   = [...]physic.ElectricCurrent{2048 * physic.NanoAmpere, 4096 * physic.NanoAmpere, 8192 * physic.NanoAmpere, 16384 * physic.NanoAmpere}
)

// config holds the register values Opts encodes to.
type config struct {
	fifo, spo2, red, ir byte    // red drives LED1, ir LED2; swapped by New when swap
	rate                float64 // effective sample rate, Hz
	swap                bool
}

func (o *Opts) encode() (config, error) {
	var c config
	sr := slices.Index(sampleRates[:], o.SampleRate)
	if sr < 0 {
		return c, fmt.Errorf("max30102: invalid SampleRate %s (want 50, 100, 200, 400, 800, 1000, 1600 or 3200 Hz)", o.SampleRate)
	}
	ave := slices.Index([]int{1, 2, 4, 8, 16, 32}, o.Averaging)
	if ave < 0 {
		return c, fmt.Errorf("max30102: invalid Averaging %d (want 1, 2, 4, 8, 16 or 32)", o.Averaging)
	}
	pw := slices.Index(pulseWidths[:], o.PulseWidth)
	if pw < 0 {
		return c, fmt.Errorf("max30102: invalid PulseWidth %s (want 69µs, 118µs, 215µs or 411µs)", o.PulseWidth)
	}
	if limit := maxSpO2Rate[pw]; o.SampleRate > limit {
		return c, fmt.Errorf("max30102: SampleRate %s too high for PulseWidth %s (at most %s)", o.SampleRate, o.PulseWidth, limit)
	}
	rge := slices.Index(adcRanges[:], o.ADCRange)
	if rge < 0 {
		return c, fmt.Errorf("max30102: invalid ADCRange %s (want 2048, 4096, 8192 or 16384 nA)", o.ADCRange)
	}
	red, err := ledCode("RedCurrent", o.RedCurrent)
	if err != nil {
		return c, err
	}
	ir, err := ledCode("IRCurrent", o.IRCurrent)
	if err != nil {
		return c, err
	}
	return config{
		fifo: byte(ave)<<5 | fifoAlmostFull, // FIFO_ROLLOVER_EN off: overflows are counted, not hidden
		spo2: byte(rge)<<5 | byte(sr)<<2 | byte(pw),
		red:  red,
		ir:   ir,
		swap: o.SwapRedIR,
		rate: float64(sampleRates[sr]/physic.Hertz) / float64(o.Averaging),
	}, nil
}

func ledCode(name string, c physic.ElectricCurrent) (byte, error) {
	if c < 0 || c > maxLEDCurrent {
		return 0, fmt.Errorf("max30102: invalid %s %s (want 0 to 50mA)", name, c)
	}
	return byte(math.Round(float64(c) * 255 / float64(maxLEDCurrent))), nil
}

// Sample is one SpO2 sample: the 18-bit ADC counts of the red and the IR
// channel. The counts fall as blood fills the finger at each heartbeat.
type Sample struct {
	Red, IR uint32
}

// Dev is a MAX30102 on an I²C bus. Its methods are safe for concurrent use.
type Dev struct {
	c    i2c.Dev
	regs mmr.Dev8
	rate float64
	swap bool // Opts.SwapRedIR

	mu     sync.Mutex
	halted bool
	// Buffers reused by ReadFIFO so that polling does not allocate.
	cmd   [2]byte // INT_STATUS1, FIFO_DATA
	regs7 [7]byte // INT_STATUS1, INT_STATUS2, INT_ENABLE1, INT_ENABLE2, WR, OVF, RD
	buf   [FIFODepth * sampleBytes]byte
	// popped is set by a read of FIFO_DATA that failed, for the next
	// read to count the samples it popped; dropped is OVF_COUNTER at the
	// last read, the samples missing before the next read's.
	popped  *poppedFrom
	dropped int
}

// poppedFrom is where a failed read of FIFO_DATA started: FIFO_RD_PTR then,
// and how many samples it asked for.
type poppedFrom struct {
	rd    byte
	asked int
	ovf   int // OVF_COUNTER then
}

// New checks that a MAX30102 answers on bus, resets it and starts it
// sampling with opts (DefaultOpts if nil), with an empty FIFO.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	cfg, err := opts.encode()
	if err != nil {
		return nil, err
	}
	d := &Dev{c: i2c.Dev{Bus: bus, Addr: Addr}, rate: cfg.rate, swap: cfg.swap, cmd: [2]byte{regIntStatus1, regFIFOData}}
	led1, led2 := cfg.red, cfg.ir
	if cfg.swap {
		led1, led2 = led2, led1
	}
	d.regs = mmr.Dev8{Conn: &d.c, Order: binary.BigEndian}

	id, err := d.regs.ReadUint8(regPartID)
	if err != nil {
		return nil, fmt.Errorf("max30102: read part ID: %w", err)
	}
	if id != partID {
		return nil, fmt.Errorf("max30102: part ID 0x%02X, want 0x%02X: not a MAX30102", id, partID)
	}
	if err := d.reset(); err != nil {
		return nil, err
	}
	// MODE_CONFIG goes last: the chip starts sampling only once it is
	// configured and its FIFO is empty.
	writes := []struct {
		name string
		w    []byte
	}{
		{"FIFO_CONFIG", []byte{regFIFOConfig, cfg.fifo}},
		{"SPO2_CONFIG", []byte{regSpO2Config, cfg.spo2}},
		{"LED_PA", []byte{regLED1PA, led1, led2}},
		{"FIFO pointers", []byte{regFIFOPtrs, 0, 0, 0}},
		{"MODE_CONFIG", []byte{regModeConfig, modeSpO2}},
	}
	for _, w := range writes {
		if err := d.c.Tx(w.w, nil); err != nil {
			return nil, fmt.Errorf("max30102: write %s: %w", w.name, err)
		}
	}
	return d, nil
}

// reset restores the power-on register values, which also stops sampling,
// and waits for the chip to clear the self-clearing RESET bit.
func (d *Dev) reset() error {
	if err := d.regs.WriteUint8(regModeConfig, modeReset); err != nil {
		return fmt.Errorf("max30102: reset: %w", err)
	}
	deadline := time.Now().Add(resetTimeout)
	for {
		v, err := d.regs.ReadUint8(regModeConfig)
		if err != nil {
			return fmt.Errorf("max30102: poll reset: %w", err)
		}
		if v&modeReset == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("max30102: reset not complete after %s", resetTimeout)
		}
		time.Sleep(resetPoll)
	}
}

// ReadFIFO moves up to len(dst) of the oldest unread samples into dst and
// returns how many it moved. lost is how many samples are missing just
// before dst[0], saturating at MaxLost: the chip runs with
// FIFO_ROLLOVER_EN off, so a full FIFO drops the newest samples, after the
// ones it holds, and OVF_COUNTER counts them; those are missing after the
// samples of the read that saw the count, so the next read reports them.
// Samples a failed read of FIFO_DATA popped (counted from FIFO_RD_PTR; all
// 32 or none read as MaxLost) are missing before the next read's too. When
// lost is not 0 the caller must not treat the signal as continuous. The
// place of the gap is exact when every read drains the FIFO (dst of
// FIFODepth samples) and no read fails; otherwise it may be off by the
// samples that read left in the FIFO. On an error n and lost are 0 and dst
// is untouched; the chip keeps sampling, and the next read that succeeds
// returns what it kept and counts what is missing.
//
// The FIFO's 5-bit pointers are equal both when it is empty and when it
// holds 32 samples (datasheet, "FIFO Data"): OVF_COUNTER tells them apart
// only once a sample was lost. So each read takes INT_STATUS1 in the same
// burst as the pointers (registers 0x00 to 0x06; the read clears the
// status): A_FULL, set once the FIFO held 32 - FIFO_A_FULL (17) unread
// samples, is set when equal pointers mean a full FIFO. The status is read,
// and cleared, on every call, so A_FULL always speaks of the samples since
// the last call. ReadFIFO must be the only reader of INT_STATUS1.
func (d *Dev) ReadFIFO(dst []Sample) (n, lost int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return 0, 0, ErrHalted
	}
	if err := d.c.Tx(d.cmd[:1], d.regs7[:]); err != nil {
		return 0, 0, fmt.Errorf("max30102: read FIFO pointers: %w", err)
	}
	aFull := d.regs7[0]&intAFull != 0
	wr, ovf, rd := d.regs7[4]&ptrMask, d.regs7[5]&ptrMask, d.regs7[6]&ptrMask
	// Missing before the samples read now: those a full FIFO dropped after
	// the previous read's (counted then), and those a failed read popped.
	lost = d.dropped
	if p := d.popped; p != nil {
		k := int((rd - p.rd) & ptrMask)
		if k == 0 && p.asked == FIFODepth {
			k = MaxLost // none or all 32: unknown
		}
		if k > 0 {
			// A pop clears OVF_COUNTER: what it counted before the
			// failed read is only known from then.
			k += p.ovf
		}
		lost += k
	}
	lost = min(lost, MaxLost)
	n = int((wr - rd) & ptrMask)
	if n == 0 && (ovf > 0 || aFull) {
		n = FIFODepth
	}
	n = min(n, len(dst))
	if n == 0 {
		d.dropped, d.popped = 0, nil
		return 0, lost, nil
	}
	b := d.buf[:n*sampleBytes]
	if err := d.c.Tx(d.cmd[1:], b); err != nil {
		// The read may have popped some of the samples, uncounted by
		// OVF_COUNTER: the next read counts them from FIFO_RD_PTR. What
		// was missing before them is still missing: kept for the read
		// that succeeds.
		d.dropped, d.popped = lost, &poppedFrom{rd: rd, asked: n, ovf: int(ovf)}
		return 0, 0, fmt.Errorf("max30102: read FIFO data: %w", err)
	}
	d.popped = nil
	// The samples a full FIFO dropped come after those it held, read now:
	// they are missing before the next read's.
	d.dropped = int(ovf)
	for i := range n {
		s := b[i*sampleBytes:]
		led1 := (uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2])) & sampleMask
		led2 := (uint32(s[3])<<16 | uint32(s[4])<<8 | uint32(s[5])) & sampleMask
		if d.swap {
			led1, led2 = led2, led1
		}
		dst[i] = Sample{Red: led1, IR: led2}
	}
	return n, lost, nil
}

// Temperature measures the die's temperature: TEMP_EN starts one
// conversion and clears itself when it is done (polled every 2 ms, for at
// most 100 ms), then T = TEMP_INT (two's complement, °C) + TEMP_FRAC ×
// 0.0625 °C (datasheet, "Temperature Data"). DIE_TEMP_RDY is not waited
// for: ReadFIFO's burst read of the status registers clears it. The die
// is warmed by the LEDs and the finger: it says whether the sensor is
// working in range, not the sleeper's temperature.
func (d *Dev) Temperature() (physic.Temperature, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return 0, ErrHalted
	}
	if err := d.regs.WriteUint8(regTempConfig, tempEn); err != nil {
		return 0, fmt.Errorf("max30102: start a temperature conversion: %w", err)
	}
	deadline := time.Now().Add(tempTimeout)
	for {
		v, err := d.regs.ReadUint8(regTempConfig)
		if err != nil {
			return 0, fmt.Errorf("max30102: poll the temperature conversion: %w", err)
		}
		if v&tempEn == 0 {
			break
		}
		if !time.Now().Before(deadline) {
			return 0, fmt.Errorf("max30102: temperature conversion not done after %s", tempTimeout)
		}
		time.Sleep(tempPoll)
	}
	var t [2]byte
	if err := d.c.Tx([]byte{regTempInt}, t[:]); err != nil {
		return 0, fmt.Errorf("max30102: read the temperature: %w", err)
	}
	// 0.0625 °C is 62 500 µK.
	return physic.ZeroCelsius + physic.Temperature(int8(t[0]))*physic.Kelvin + physic.Temperature(t[1]&0x0F)*62500*physic.MicroKelvin, nil
}

// SampleRate returns the rate, in Hz, at which samples enter the FIFO: the
// ADC rate divided by the averaging.
func (d *Dev) SampleRate() float64 { return d.rate }

// Halt puts the chip in shutdown: the LEDs go dark and sampling stops; the
// registers keep their values. Halting a halted Dev does nothing.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	if err := d.regs.WriteUint8(regModeConfig, modeShutdown|modeSpO2); err != nil {
		return fmt.Errorf("max30102: halt: %w", err)
	}
	d.halted = true
	return nil
}

// String implements conn.Resource.
func (d *Dev) String() string { return "MAX30102{" + d.c.String() + "}" }
