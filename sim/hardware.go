package sim

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sim/scenario"
)

// Hardware is a whole simulated pod: the I²C bus with the pulse oximeter, the
// SPI port with the LED strip, and the sleeper of a scenario.
type Hardware struct {
	I2C      *I2CBus
	SPI      *SPIPort
	Oximeter *MAX30102
	Strip    *APA102
	// ConsentLine and PanicLine are the sleeper's buttons, each to ground
	// on a line with its pull-up: a scenario's press holds the line Low for
	// PressHold.
	ConsentLine, PanicLine *Line

	scenario *scenario.Scenario
	start    time.Time
	log      *slog.Logger
	occupied bool // what the oximeter model was last told
	// held are the lines a press holds Low, with when they are released
	// (scenario time); only Run's goroutine uses it.
	held map[*Line]time.Duration
}

// PressHold is how long a scenario's press holds its button down.
const PressHold = 200 * time.Millisecond

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
	h.ConsentLine = NewLine("SIM_CONSENT", 17)
	h.PanicLine = NewLine("SIM_PANIC", 27)
	h.held = map[*Line]time.Duration{}
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

// apply sets the faults and occupancy of now, releases the buttons whose
// press has lasted PressHold, and presses those of the presses in
// (prev, now].
func (h *Hardware) apply(prev, now time.Duration) {
	h.setFaults(now)
	for l, until := range h.held {
		if now >= until {
			l.Set(gpio.High)
			delete(h.held, l)
		}
	}
	for _, p := range h.scenario.PressesBetween(prev, now) {
		l := h.ConsentLine
		if p == scenario.PressPanic {
			l = h.PanicLine
		}
		h.log.Info("simulated press", "button", p, "at", now)
		l.Set(gpio.Low)
		h.held[l] = now + PressHold
	}
}
