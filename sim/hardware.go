package sim

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sleegation/podd/sim/scenario"
)

// Hardware is a whole simulated pod: the I²C bus with the pulse oximeter, the
// SPI port with the LED strip, and the sleeper of a scenario.
type Hardware struct {
	I2C      *I2CBus
	SPI      *SPIPort
	Oximeter *MAX30102
	Strip    *APA102

	scenario *scenario.Scenario
	start    time.Time
	log      *slog.Logger
	occupied bool // what the oximeter model was last told
}

// FaultPeriod is how often Run applies the scenario's faults.
const FaultPeriod = 100 * time.Millisecond

// NewHardware builds the simulated pod for sc, with the scenario's clock
// starting at start and a strip of leds LEDs.
func NewHardware(sc *scenario.Scenario, leds int, start time.Time, log *slog.Logger) (*Hardware, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hardware{scenario: sc, start: start, log: log}
	h.Oximeter = NewMAX30102(func(t time.Time) (float64, float64) {
		v := sc.VitalsAt(t.Sub(start))
		return v.HeartRateBPM, v.SpO2Pct
	}, 1)
	h.I2C = NewI2CBus("sim-i2c")
	if err := h.I2C.Attach(MAX30102Addr, h.Oximeter); err != nil {
		return nil, fmt.Errorf("sim.NewHardware: %w", err)
	}
	h.Strip = NewAPA102(leds)
	h.SPI = NewSPIPort("sim-spi", h.Strip)
	h.setFaults(0)
	return h, nil
}

// Run applies the scenario's faults and occupancy (a finger on the
// oximeter or not) and reports its presses until ctx is done.
func (h *Hardware) Run(ctx context.Context) error {
	t := time.NewTicker(FaultPeriod)
	defer t.Stop()
	prev := -time.Nanosecond // so a press at 0s is reported
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Since(h.start)
		h.apply(prev, now)
		prev = now
	}
}

func (h *Hardware) setFaults(now time.Duration) {
	if occ := h.scenario.OccupiedAt(now); occ != h.occupied || now == 0 {
		h.occupied = occ
		h.Oximeter.SetFingerPresent(occ)
	}
	h.I2C.SetFault(MAX30102Addr, Fault(h.scenario.FaultAt(scenario.DeviceMAX30102, now)))
	h.SPI.SetFault(Fault(h.scenario.FaultAt(scenario.DeviceAPA102, now)))
}

// apply sets the faults active at now and logs the presses in (prev, now].
func (h *Hardware) apply(prev, now time.Duration) {
	h.setFaults(now)
	for _, p := range h.scenario.PressesBetween(prev, now) {
		// Consent and the panic button are inputs of the merge, which this pod does not run yet.
		h.log.Info("simulated press", "input", p, "at", now)
	}
}
