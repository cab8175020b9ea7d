package ads1299_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sim"
)

// slowClockLine is the DRDY line of a chip whose oscillator runs slow: a
// conversion every period (instead of the nominal tDR), from t0. The
// frames themselves come from the simulated chip.
type slowClockLine struct {
	*sim.Line
	t0     time.Time
	period time.Duration
	mu     sync.Mutex
	k      int // conversions taken
}

func (l *slowClockLine) WaitForEdge(timeout time.Duration) bool {
	l.mu.Lock()
	l.k++
	at := l.t0.Add(time.Duration(l.k) * l.period)
	l.mu.Unlock()
	if d := time.Until(at); d > timeout {
		time.Sleep(timeout)
		return false
	} else if d > 0 {
		time.Sleep(d)
	}
	return true
}

func (l *slowClockLine) Read() gpio.Level { return gpio.Low }

// The ADS1299's internal oscillator is 2.048 MHz ±0.5 % at 25 °C and
// ±2.5 % over temperature (datasheet, electrical characteristics), and
// its conversions follow it, not the host's clock. Frame.Skipped is
// counted on a grid of nominal periods (1/RateHz of the host's clock)
// from the earliest read: the grid only ever moves earlier (to a read
// earlier than it) and otherwise steps by whole nominal periods. What is
// wrong: with a chip 1 % slow (a conversion every 2.02 ms at 500 sps),
// every conversion is read on time and none is lost, but each comes
// 0.02 ms later on the grid than the one before, and every 90 reads the
// lag passes 0.9 period and Skipped says 1: about 5 "lost" frames a
// second, each of which sensing.EEG fills with an interpolated frame that
// was never converted (a 1 % longer time base, every band's power moved
// down in frequency), and the count of lost frames is false. Correct:
// a chip a few percent off its nominal rate, read on every DRDY edge,
// skips nothing (track the chip's own period, e.g. let the grid follow
// late reads slowly, or count a skip only when a read comes more than
// 1.5 periods after the one before).
func TestReviewASlowOscillatorSkipsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chipLine := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(zero, chipLine)
		port := sim.NewSPIPort("sim-spi", chip)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = chip.Run(ctx) })
		defer func() { cancel(); wg.Wait() }()

		line := &slowClockLine{Line: chipLine, period: 2020 * time.Microsecond}
		d, err := ads1299.New(port, line, nil) // 500 sps: 2 ms nominal
		if err != nil {
			t.Fatal(err)
		}
		defer d.Halt()
		line.mu.Lock()
		line.t0 = time.Now()
		line.mu.Unlock()
		var f ads1299.Frame
		skipped, reads := 0, 0
		for range 1000 { // 2.02 s of conversions, every one read
			if err := d.Read(&f, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			reads++
			skipped += f.Skipped
		}
		// The same chip at its nominal 2 ms skips nothing here.
		if skipped != 0 {
			t.Errorf("a chip 1 %% slow, every conversion read: Skipped adds up to %d over %d reads, want 0", skipped, reads)
		}
	})
}
