package sensing

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// The replay chips: register-accurate answers to the drivers, computed
// before the measurement (the signals' bytes) and handed out on the real
// clock, without allocating and without synthesising anything, so that
// BenchmarkRateSetDrivers measures the pod's own work. Each chip counts
// its conversions from the instant it was started, as the chip does, and
// answers with the newest; a conversion k of a chip of L prepared ones
// reads the prepared one k mod L. Each is used by one loop goroutine and
// read by the benchmark's, so counts are atomic.

// tickPin is a DRDY line (gpio.PinIO) whose falling edges come from one
// real-clock ticker at the conversion rate: each edge wakes the goroutine
// blocked in WaitForEdge once, as a GPIO interrupt does on a pod. Its
// level is low while a conversion is unread (the replay port says which
// it read), as the ADS1299's DRDY is.
//
// A tickPin without a ticker (readyPin) always has a new conversion
// waiting: WaitForEdge returns at once, for benchmarks of the frames'
// path without the wake.
//
// A tickPin from newTimerfdPin has its edges from the kernel instead: a
// periodic timerfd, non-blocking, which WaitForEdge reads through Go's
// network poller with a read deadline, as periph's gpioioctl reads a GPIO
// line's edge events (GPIOLine.WaitForEdge: SetReadDeadline, then a read of
// the line's file). The wake is then the one a pod's DRDY interrupt
// makes: the kernel wakes the poller, not the Go runtime's timers.
type tickPin struct {
	period time.Duration
	t0     time.Time // conversion k completes at t0 + k·period
	ticker *time.Ticker
	edges  *os.File // the timerfd, if the edges come from one
	rawFd  int      // its descriptor, to drain it without blocking
	buf    [8]byte  // a timerfd read: the expirations since the last
	// wait is WaitForEdge's timeout timer, made once and reset at each
	// wait that must block.
	wait *time.Timer
	read atomic.Uint64 // the newest conversion read
}

// newTickPin starts the conversions: one every period from now.
func newTickPin(period time.Duration) *tickPin {
	p := &tickPin{period: period, wait: time.NewTimer(time.Hour)}
	p.wait.Stop()
	p.t0 = time.Now()
	p.ticker = time.NewTicker(period)
	return p
}

// newTimerfdPin starts the conversions on a periodic timerfd: one every
// period from now.
func newTimerfdPin(period time.Duration) (*tickPin, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	p := &tickPin{period: period, rawFd: fd, edges: os.NewFile(uintptr(fd), "timerfd")}
	spec := unix.ItimerSpec{Interval: unix.NsecToTimespec(period.Nanoseconds()), Value: unix.NsecToTimespec(period.Nanoseconds())}
	p.t0 = time.Now()
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		p.edges.Close()
		return nil, fmt.Errorf("timerfd_settime: %w", err)
	}
	return p, nil
}

// readyPin returns a tickPin that always has a new conversion waiting.
func readyPin() *tickPin { return &tickPin{} }

// conversion is the newest conversion completed at now (0: none yet).
func (p *tickPin) conversion(now time.Time) uint64 {
	if p.ticker == nil && p.edges == nil {
		return p.read.Load() + 1
	}
	return uint64(now.Sub(p.t0) / p.period)
}

func (p *tickPin) stop() {
	if p.ticker != nil {
		p.ticker.Stop()
	}
	if p.edges != nil {
		p.edges.Close()
	}
}

func (p *tickPin) String() string   { return "DRDY(replay)" }
func (p *tickPin) Halt() error      { return nil }
func (p *tickPin) Name() string     { return "DRDY" }
func (p *tickPin) Number() int      { return 25 }
func (p *tickPin) Function() string { return "In/" + p.Read().String() }

// In drops the edges queued before, as a GPIO line does when its edge
// detection is set up.
func (p *tickPin) In(gpio.Pull, gpio.Edge) error {
	if p.edges != nil {
		_, _ = unix.Read(p.rawFd, p.buf[:]) // EAGAIN: none queued
		return nil
	}
	if p.ticker == nil {
		return nil
	}
	select {
	case <-p.ticker.C:
	default:
	}
	return nil
}

// Read is low while the newest conversion is unread.
func (p *tickPin) Read() gpio.Level {
	if p.ticker == nil && p.edges == nil {
		return gpio.Low
	}
	if p.conversion(time.Now()) > p.read.Load() {
		return gpio.Low
	}
	return gpio.High
}

func (p *tickPin) WaitForEdge(timeout time.Duration) bool {
	if p.edges != nil {
		deadline := time.Time{}
		if timeout >= 0 {
			deadline = time.Now().Add(timeout)
		}
		if p.edges.SetReadDeadline(deadline) != nil {
			return false
		}
		_, err := p.edges.Read(p.buf[:])
		return err == nil
	}
	if p.ticker == nil {
		return true
	}
	select {
	case <-p.ticker.C:
		return true
	default:
	}
	if timeout < 0 {
		<-p.ticker.C
		return true
	}
	p.wait.Reset(timeout)
	defer p.wait.Stop()
	select {
	case <-p.ticker.C:
		return true
	case <-p.wait.C:
		return false
	}
}

func (p *tickPin) Pull() gpio.Pull                       { return gpio.Float }
func (p *tickPin) DefaultPull() gpio.Pull                { return gpio.Float }
func (p *tickPin) Out(gpio.Level) error                  { return nil }
func (p *tickPin) PWM(gpio.Duty, physic.Frequency) error { return nil }

var _ gpio.PinIO = (*tickPin)(nil)

// ADS1299 opcodes and registers the replay port answers.
const (
	rpSDATAC  = 0x11
	rpRDATAC  = 0x10
	rpRREG    = 0x20
	rpWREG    = 0x40
	rpOpMask  = 0xE0
	rpRegMask = 0x1F
	rpID      = 0x3E
)

// replayEEG is an ADS1299 behind an SPI chip select (spi.Port and
// spi.Conn) answering as the chip does what the driver sends: RREG and
// WREG in SDATAC mode (ID 0x3E, the registers hold what is written), and
// in RDATAC mode the newest conversion's 27-byte frame for each
// transaction, prepared beforehand (status word 0xC00000 and the channels'
// codes). Conversions are the DRDY pin's.
type replayEEG struct {
	drdy   *tickPin
	frames [][27]byte

	mu     sync.Mutex // the set-up's registers (New, Halt)
	regs   [0x18]byte
	rdatac bool // written by the set-up, read by the loop's transactions after it
	reads  atomic.Int64
}

func (p *replayEEG) String() string { return "spi-eeg(replay)" }
func (p *replayEEG) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) {
	return p, nil
}
func (p *replayEEG) LimitSpeed(physic.Frequency) error { return nil }
func (p *replayEEG) Close() error                      { return nil }
func (p *replayEEG) Duplex() conn.Duplex               { return conn.Full }
func (p *replayEEG) TxPackets([]spi.Packet) error      { return nil }

func (p *replayEEG) Tx(w, r []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rdatac && len(r) == len(p.frames[0]) && len(w) > 0 && w[0] == 0 {
		k := p.drdy.conversion(time.Now())
		copy(r, p.frames[k%uint64(len(p.frames))][:])
		p.drdy.read.Store(k)
		p.reads.Add(1)
		return nil
	}
	if len(w) == 0 {
		return nil
	}
	switch op := w[0]; {
	case op == rpSDATAC:
		p.rdatac = false
	case op == rpRDATAC:
		p.rdatac = true
	case op&rpOpMask == rpWREG && !p.rdatac && len(w) > 2:
		copy(p.regs[op&rpRegMask:], w[2:])
	case op&rpOpMask == rpRREG && !p.rdatac && len(w) > 2:
		p.regs[0] = rpID
		copy(r[2:], p.regs[op&rpRegMask:])
	}
	return nil
}

// MAX30102 registers the replay bus answers.
const (
	rpMxStatus1  = 0x00
	rpMxPtrs     = 0x04
	rpMxData     = 0x07
	rpMxMode     = 0x09
	rpMxPartID   = 0xFF
	rpMxAFull    = 0x80
	rpMxDepth    = 32
	rpMxAFullAt  = 17 // unread samples that set A_FULL (FIFO_A_FULL 15)
	rpMxModeSpO2 = 0x03
	rpMxOvfMax   = 31
)

// replayPPG is a MAX30102 on an I²C bus answering the driver: its part
// ID, the reset and configuration writes, and from the MODE_CONFIG write
// that starts SpO2 mode, one sample every period into a 32-sample FIFO
// with FIFO_ROLLOVER_EN off (a full FIFO drops new samples and counts
// them in OVF_COUNTER). A read of registers 0x00-0x06 answers INT_STATUS1
// (A_FULL since the last such read, then cleared) and the pointers; a
// burst of FIFO_DATA pops whole samples of 6 prepared bytes (red then IR,
// 18 bits each).
type replayPPG struct {
	period  time.Duration
	samples [][6]byte

	mu       sync.Mutex
	t0       time.Time // sampling started; zero: not sampling
	produced uint64    // samples made since t0
	fifo     [rpMxDepth]uint64
	rd, n    int // oldest unread, unread
	ovf      int
	aFull    bool
	txs      atomic.Int64
}

func (b *replayPPG) String() string                  { return "i2c-ppg(replay)" }
func (b *replayPPG) SetSpeed(physic.Frequency) error { return nil }

// advance pushes the samples made by now.
func (b *replayPPG) advance(now time.Time) {
	if b.t0.IsZero() {
		return
	}
	due := uint64(now.Sub(b.t0) / b.period)
	if due-b.produced > 2*rpMxDepth {
		// Long unread: the FIFO filled long ago, the rest was dropped.
		b.ovf = rpMxOvfMax
		b.produced = due - 2*rpMxDepth
	}
	for ; b.produced < due; b.produced++ {
		if b.n == rpMxDepth {
			b.ovf = min(b.ovf+1, rpMxOvfMax)
			continue
		}
		b.fifo[(b.rd+b.n)%rpMxDepth] = b.produced
		b.n++
		if b.n >= rpMxAFullAt {
			b.aFull = true
		}
	}
}

func (b *replayPPG) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs.Add(1)
	now := time.Now()
	b.advance(now)
	switch {
	case len(w) == 1 && w[0] == rpMxPartID:
		r[0] = 0x15
	case len(w) == 1 && w[0] == rpMxMode:
		r[0] = 0 // RESET done at once
	case len(w) == 2 && w[0] == rpMxMode:
		if w[1] == rpMxModeSpO2 {
			b.t0, b.produced = now, 0
		} else {
			b.t0 = time.Time{} // reset or shutdown
		}
	case len(w) == 4 && w[0] == rpMxPtrs:
		b.rd, b.n, b.ovf, b.aFull = 0, 0, 0, false
	case len(w) == 1 && w[0] == rpMxStatus1 && len(r) == 7:
		clear(r)
		if b.aFull {
			r[0] = rpMxAFull
		}
		b.aFull = false
		r[4] = byte((b.rd + b.n) % rpMxDepth)
		r[5] = byte(b.ovf)
		r[6] = byte(b.rd)
	case len(w) == 1 && w[0] == rpMxData:
		for i := 0; i+6 <= len(r); i += 6 {
			if b.n == 0 {
				clear(r[i:])
				break
			}
			s := &b.samples[b.fifo[b.rd]%uint64(len(b.samples))]
			copy(r[i:i+6], s[:])
			b.rd, b.n, b.ovf = (b.rd+1)%rpMxDepth, b.n-1, 0
		}
	}
	return nil
}

// ADS1115 registers the replay bus answers.
const (
	rpAdsConversion = 0x00
	rpAdsConfig     = 0x01
	rpAdsOS         = 0x8000
)

// replayADS1115 is an ADS1115 in single-shot mode: Config holds what is
// written; a write with OS set starts a conversion that ends conv later
// (OS reads 0 meanwhile, 1 otherwise); Conversion reads the prepared
// code of the conversion's number.
type replayADS1115 struct {
	conv  time.Duration
	codes []uint16

	mu    sync.Mutex
	cfg   uint16
	ptr   byte
	start time.Time
	n     uint64 // conversions started
	txs   atomic.Int64
}

func (b *replayADS1115) String() string                  { return "i2c-eda(replay)" }
func (b *replayADS1115) SetSpeed(physic.Frequency) error { return nil }

func (b *replayADS1115) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs.Add(1)
	if len(w) > 0 {
		b.ptr = w[0]
	}
	if len(w) == 3 && b.ptr == rpAdsConfig {
		v := uint16(w[1])<<8 | uint16(w[2])
		if v&rpAdsOS != 0 {
			b.start = time.Now()
			b.n++
		}
		b.cfg = v &^ rpAdsOS
	}
	if len(r) == 2 {
		var v uint16
		switch b.ptr {
		case rpAdsConfig:
			v = b.cfg
			if b.start.IsZero() || time.Since(b.start) >= b.conv {
				v |= rpAdsOS
			}
		case rpAdsConversion:
			v = b.codes[(b.n-1)%uint64(len(b.codes))]
		}
		r[0], r[1] = byte(v>>8), byte(v)
	}
	return nil
}

// TMP117 registers the replay bus answers.
const (
	rpTmpResult    = 0x00
	rpTmpConfig    = 0x01
	rpTmpDeviceID  = 0x0F
	rpTmpDataReady = 1 << 13
)

// replayTMP117 is a TMP117 in continuous mode: from each Configuration
// write, a result every cycle, the first one averaging after it; a read
// of Configuration sets Data_Ready if a result came since the last read
// of Configuration or Temp_Result, and clears it, as on the chip.
// Temp_Result reads the prepared code of the result's number (0x8000
// before the first).
type replayTMP117 struct {
	cycle, averaging time.Duration
	codes            []uint16

	mu   sync.Mutex
	cfg  uint16
	ptr  byte
	t0   time.Time // the last Configuration write
	seen uint64    // results seen by a read that clears Data_Ready
	txs  atomic.Int64
}

func (b *replayTMP117) String() string                  { return "i2c-temp(replay)" }
func (b *replayTMP117) SetSpeed(physic.Frequency) error { return nil }

// results is how many results have come by now since the last
// Configuration write.
func (b *replayTMP117) results(now time.Time) uint64 {
	d := now.Sub(b.t0) - b.averaging
	if b.t0.IsZero() || d < 0 {
		return 0
	}
	return uint64(d/b.cycle) + 1
}

func (b *replayTMP117) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs.Add(1)
	now := time.Now()
	if len(w) > 0 {
		b.ptr = w[0]
	}
	if len(w) == 3 && b.ptr == rpTmpConfig {
		b.cfg, b.t0, b.seen = uint16(w[1])<<8|uint16(w[2]), now, 0
	}
	if len(r) == 2 {
		var v uint16
		n := b.results(now)
		switch b.ptr {
		case rpTmpDeviceID:
			v = 0x0117
		case rpTmpConfig:
			v = b.cfg & 0x0FFC
			if n > b.seen {
				v |= rpTmpDataReady
			}
			b.seen = n
		case rpTmpResult:
			v = 0x8000
			if n > 0 {
				v = b.codes[(n-1)%uint64(len(b.codes))]
			}
			b.seen = n
		}
		r[0], r[1] = byte(v>>8), byte(v)
	}
	return nil
}
