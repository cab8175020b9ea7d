package ads1115_test

import (
	"fmt"
	"log"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sim"
)

func Example() {
	// On a pod the bus comes from periph's i2creg.Open; here it is the
	// simulator's, with a sleeper's skin at 4 µS in the default divider.
	bus := sim.NewI2CBus("sim-i2c")
	skin := func(time.Time) float64 { return eda.DefaultDivider.Volts(4) }
	if err := bus.Attach(ads1115.AddrVDD, sim.NewADS1115(skin)); err != nil {
		log.Fatal(err)
	}

	dev, err := ads1115.New(bus, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Halt()
	fmt.Println(dev)

	volts, err := dev.Read() // takes one conversion: 7.8 ms at 128 sps
	if err != nil {
		log.Fatal(err) // ErrSaturated, a bus error, a conversion that never ends
	}
	us, err := eda.DefaultDivider.Conductance(volts)
	if err != nil {
		log.Fatal(err) // no contact, or shorted electrodes
	}
	fmt.Printf("%.4f V: %.2f µS\n", volts, us)
	// Output:
	// ADS1115{sim-i2c(73)}
	// 1.8334 V: 4.00 µS
}
