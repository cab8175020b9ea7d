package sim

import (
	"testing"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// countingDevice counts the transactions that reach the device.
type countingDevice struct{ n int }

func (d *countingDevice) Tx(w, r []byte) error { d.n++; return nil }

// The SPI port counts one transaction per Tx and per packet of TxPackets,
// including those a fault or a closed port refuses, as I2CBus does; the
// device sees only those that reach it.
func TestSPIPortCountsTransactions(t *testing.T) {
	dev := &countingDevice{}
	p := NewSPIPort("spi", dev)
	if n := p.Transactions(); n != 0 {
		t.Fatalf("before Connect: %d transactions, want 0", n)
	}
	c, err := p.Connect(physic.MegaHertz, spi.Mode1, 8)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Transactions(); n != 0 {
		t.Fatalf("after Connect: %d transactions, want 0 (connecting is not a transaction)", n)
	}
	if err := c.Tx([]byte{0x12}, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if n := p.Transactions(); n != 1 {
		t.Fatalf("after one Tx: %d transactions, want 1", n)
	}
	pkts := []spi.Packet{{W: []byte{1}}, {W: []byte{2}}, {W: []byte{3}, R: make([]byte, 1)}}
	if err := c.TxPackets(pkts); err != nil {
		t.Fatal(err)
	}
	if n := p.Transactions(); n != 4 {
		t.Fatalf("after 3 packets: %d transactions, want 4", n)
	}
	p.SetFault(FaultNACK)
	if err := c.Tx([]byte{0x12}, nil); err == nil {
		t.Fatal("Tx on a NACKing port: no error")
	}
	p.SetFault(FaultNone)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Tx([]byte{0x12}, nil); err == nil {
		t.Fatal("Tx on a closed port: no error")
	}
	if n, reached := p.Transactions(), dev.n; n != 6 || reached != 4 {
		t.Errorf("%d transactions counted, %d reached the device; want 6 and 4", n, reached)
	}
}
