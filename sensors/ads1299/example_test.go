package ads1299_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sim"
)

func Example() {
	// On a pod the port comes from periph's spireg.Open and DRDY from
	// gpioreg.ByName; here they are the simulator's, with 12.5 µV on
	// every electrode and the chip's conversion clock running.
	drdy := sim.NewLine("GPIO25", 25)
	chip := sim.NewADS1299(func(time.Time, int) float64 { return 12.5 }, drdy)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = chip.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	dev, err := ads1299.New(sim.NewSPIPort("spi0.0", chip), drdy, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Halt()
	fmt.Printf("%s: %d sps, %d channels\n", dev, dev.Rate(), dev.Channels())

	// The sensor loop: one Read per conversion, each waiting for DRDY.
	var f ads1299.Frame
	if err := dev.Read(&f, 100*time.Millisecond); err != nil {
		log.Fatal(err) // ErrNoDRDY: the chip stopped; ErrBadStatus: the bus
	}
	fmt.Printf("channel 1: %.1f µV, electrodes off: %08b\n", dev.Microvolts(f.Raw[0]), dev.LeadOff(&f))
	// Output:
	// ADS1299{spi0.0, DRDY GPIO25(25)}: 500 sps, 8 channels
	// channel 1: 12.5 µV, electrodes off: 00000000
}
