package sim

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// Fault is a bus-level failure injected into a simulated device.
type Fault string

// The faults a scenario can inject.
const (
	FaultNone       Fault = ""
	FaultNACK       Fault = "nack"       // the device answers every transaction with a NACK
	FaultStuck      Fault = "stuck"      // the device repeats its last answer to each request
	FaultDisconnect Fault = "disconnect" // the device is gone from the bus
)

// ErrNACK is what a transaction to a NACKing device returns.
var ErrNACK = errors.New("sim: i2c: device did not acknowledge")

// Device is a register-level model of an I²C chip. Tx is one bus
// transaction addressed to it: write w, then read len(r) bytes into r.
type Device interface {
	Tx(w, r []byte) error
}

// I2CBus is a simulated I²C bus implementing periph's i2c.BusCloser. It is
// safe for concurrent use; transactions are serialised as on a real bus.
type I2CBus struct {
	name string

	mu      sync.Mutex
	devices map[uint16]Device
	faults  map[uint16]Fault
	last    map[uint16]map[string][]byte // per address, last answer per request (for FaultStuck)
	txs     int
	closed  bool
}

// NewI2CBus returns an empty bus called name.
func NewI2CBus(name string) *I2CBus {
	return &I2CBus{
		name:    name,
		devices: map[uint16]Device{},
		faults:  map[uint16]Fault{},
		last:    map[uint16]map[string][]byte{},
	}
}

// Attach places a device model at a 7-bit address.
func (b *I2CBus) Attach(addr uint16, d Device) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.devices[addr]; ok {
		return fmt.Errorf("sim: i2c address 0x%02X already in use", addr)
	}
	b.devices[addr] = d
	return nil
}

// SetFault injects f at addr; FaultNone clears it.
func (b *I2CBus) SetFault(addr uint16, f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f == FaultNone {
		delete(b.faults, addr)
		return
	}
	b.faults[addr] = f
}

// Transactions reports how many transactions the bus has carried.
func (b *I2CBus) Transactions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.txs
}

// String implements i2c.Bus.
func (b *I2CBus) String() string { return b.name }

// SetSpeed implements i2c.Bus; the simulated bus runs at any speed.
func (b *I2CBus) SetSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("sim: i2c: invalid speed %s", f)
	}
	return nil
}

// Close implements io.Closer. Later transactions fail.
func (b *I2CBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// Tx implements i2c.Bus.
func (b *I2CBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs++
	if b.closed {
		return errors.New("sim: i2c: bus closed")
	}
	d, ok := b.devices[addr]
	switch f := b.faults[addr]; {
	case !ok || f == FaultDisconnect:
		return fmt.Errorf("sim: i2c: no device at 0x%02X: %w", addr, ErrNACK)
	case f == FaultNACK:
		return fmt.Errorf("sim: i2c: 0x%02X: %w", addr, ErrNACK)
	case f == FaultStuck:
		if prev, ok := b.last[addr][string(w)]; ok && len(prev) == len(r) {
			copy(r, prev)
			return nil
		}
	}
	if err := d.Tx(w, r); err != nil {
		return err
	}
	if len(r) > 0 {
		m := b.last[addr]
		if m == nil {
			m = map[string][]byte{}
			b.last[addr] = m
		}
		// The answer kept for a stuck bus: the slice of the request's
		// last answer is reused when it has the length (a steady
		// poller allocates nothing), made anew otherwise.
		if prev, ok := m[string(w)]; ok && len(prev) == len(r) {
			copy(prev, r)
		} else {
			m[string(w)] = append([]byte(nil), r...)
		}
	}
	return nil
}

// SPIPort is a simulated SPI port with one device behind its chip select.
// It implements periph's spi.PortCloser.
type SPIPort struct {
	name string
	dev  Device

	mu        sync.Mutex
	fault     Fault
	connected bool
	closed    bool
	speed     physic.Frequency
	mode      spi.Mode
	txs       int
}

// NewSPIPort returns a port called name with dev behind its chip select.
func NewSPIPort(name string, dev Device) *SPIPort {
	return &SPIPort{name: name, dev: dev}
}

// SetFault injects f; on SPI a NACK or a disconnect both read as silence
// (MISO floats), and writes fail with an error as a broken spidev would.
func (p *SPIPort) SetFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// String implements spi.Port.
func (p *SPIPort) String() string { return p.name }

// LimitSpeed implements spi.PortCloser.
func (p *SPIPort) LimitSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("sim: spi: invalid speed %s", f)
	}
	return nil
}

// Close implements io.Closer.
func (p *SPIPort) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Connect implements spi.Port. As on periph's hosts, it may be called once.
func (p *SPIPort) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.connected {
		return nil, errors.New("sim: spi: Connect was already called")
	}
	if bits != 8 {
		return nil, fmt.Errorf("sim: spi: %d bits per word not supported", bits)
	}
	if f < 0 {
		return nil, fmt.Errorf("sim: spi: invalid speed %s", f)
	}
	p.connected = true
	p.speed = f
	p.mode = mode
	return &spiConn{p: p}, nil
}

type spiConn struct{ p *SPIPort }

func (c *spiConn) String() string       { return c.p.name }
func (c *spiConn) Duplex() conn.Duplex  { return conn.Full }
func (c *spiConn) Tx(w, r []byte) error { return c.p.tx(w, r) }

func (c *spiConn) TxPackets(pkts []spi.Packet) error {
	for _, pk := range pkts {
		if err := c.p.tx(pk.W, pk.R); err != nil {
			return err
		}
	}
	return nil
}

func (p *SPIPort) tx(w, r []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.txs++
	if p.closed {
		return errors.New("sim: spi: port closed")
	}
	switch p.fault {
	case FaultNACK, FaultDisconnect:
		return fmt.Errorf("sim: spi: %s: device %s", p.name, p.fault)
	case FaultStuck:
		return nil // the device ignores what it is sent
	}
	return p.dev.Tx(w, r)
}

// Transactions reports how many transactions (chip-select assertions: one
// per Tx, one per packet of TxPackets) the port has carried, failed ones
// included, as I2CBus.Transactions counts them.
func (p *SPIPort) Transactions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.txs
}

// Mode returns the SPI mode the device connected with (0 before Connect).
func (p *SPIPort) Mode() spi.Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Speed returns the clock the device connected with (0 before Connect).
func (p *SPIPort) Speed() physic.Frequency {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.speed
}
