package max30102_test

import (
	"fmt"
	"log"
	"time"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim"
)

func Example() {
	// On a pod the bus comes from periph's i2creg.Open; here it is the
	// simulator's, with a sleeper at 60 bpm and 97 % SpO2.
	bus := sim.NewI2CBus("sim-i2c")
	sleeper := func(time.Time) (float64, float64) { return 60, 97 }
	if err := bus.Attach(max30102.Addr, sim.NewMAX30102(sleeper, 1)); err != nil {
		log.Fatal(err)
	}

	dev, err := max30102.New(bus, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Halt()
	fmt.Printf("%s at %g Hz\n", dev, dev.SampleRate())

	// One poll of the daemon's loop, which runs a few times a second.
	est := vitals.NewEstimator(dev.SampleRate())
	buf := make([]max30102.Sample, max30102.FIFODepth)
	n, lost, err := dev.ReadFIFO(buf)
	switch {
	case err != nil:
		log.Printf("pulse oximeter: %v", err) // the vitals are unknown until it reads again
		est.Reset()
	case lost > 0:
		est.Reset() // the samples before buf[0] are missing
	}
	for _, s := range buf[:n] {
		est.Add(s.Red, s.IR)
	}
	r := est.Estimate()
	fmt.Println("valid:", r.Valid()) // not yet: a reading needs 4 s of signal
	// Output:
	// MAX30102{sim-i2c(87)} at 25 Hz
	// valid: false
}
