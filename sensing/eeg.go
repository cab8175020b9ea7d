package sensing

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/vitals/eeg"
)

// eegBatch is how much signal one poll of the EEG reads: a tenth of a
// second of frames, each read on its own DRDY edge.
const eegBatch = 100 * time.Millisecond

// eegTimeout is how long a poll waits for one DRDY edge: many conversion
// periods, so a late edge is not a lost chip.
const eegTimeout = 500 * time.Millisecond

// Lost frames (ads1299.Frame.Skipped: a poll that came late, and the chip
// overwrote conversions nobody read): a gap of up to maxFilledGap is filled
// on the straight line from the frame before it to the one after, tens of
// milliseconds that move no band's power measurably (a host that is late
// now and then, as a loaded board is every second, must not cost whole 4 s
// segments); up to maxBridgedFrames frames with NaN, which the estimator
// leaves out of their segments; a longer gap starts the estimate over.
const (
	maxFilledGap     = 50 * time.Millisecond
	maxBridgedFrames = 50
)

// EEG is the EEG front end: an ADS1299 streaming frames, paced by its DRDY
// line, into an eeg.Estimator. open opens the chip (at start; after a
// loss, it restarts the same one: periph's ports connect once). channels
// are the channels wired, from CH1; rateHz and gain the chip's
// configuration.
//
// Health: an electrode off on every wired channel (the chip's lead-off
// bits) is lead_off, in every frame of a batch, or in its newest frame
// with every channel's signal lost (railed or flat: the batch in which the
// electrodes came off); every channel saturated or flat is otherwise
// saturated or flatline; no valid summary for eegInvalidFor (a minute) is no_contact. An
// estimate still filling its span, one electrode of several off, or
// movement artefacts leave the sensor ok: the summary is the median over
// the channels that are valid, and no band powers are reported while none
// is.
func EEG(open func() (*ads1299.Dev, error), channels, rateHz, gain int) (Sensor, error) {
	opts := eeg.DefaultOpts
	opts.Channels, opts.SampleRateHz = channels, float64(rateHz)
	if gain <= 0 {
		return Sensor{}, fmt.Errorf("sensing: eeg: gain %d", gain)
	}
	opts.FullScaleMicrovolts = ads1299.VREF / float64(gain) * 1e6
	if _, err := eeg.New(opts); err != nil {
		return Sensor{}, fmt.Errorf("sensing: eeg: %w", err)
	}
	latest := new(eegLatest)
	sink := new(estimatesSink)
	return Sensor{
		Name: "ads1299",
		Open: func() (Device, error) {
			d, err := open()
			if err != nil {
				return nil, err
			}
			est, _ := eeg.New(opts) // the options were checked above
			latest.set(nil)
			return &eegDevice{
				dev: d, est: est, latest: latest, sink: sink, frame: make([]float64, channels),
				next: make([]float64, channels), fill: make([]float64, channels),
				maxFilled: int(maxFilledGap.Seconds() * float64(rateHz)),
				batch:     max(int(eegBatch.Seconds()*float64(rateHz)), 1),
				all:       uint8(1<<channels - 1),
				lastValid: time.Now(),
				span:      time.Duration(opts.SpanSeconds * float64(time.Second)),
			}, nil
		},
		StaleAfter:  time.Second,
		ReopenAfter: 3 * time.Second,
		Report: func(v *Vitals) {
			latest.mu.Lock()
			defer latest.mu.Unlock()
			if latest.ok {
				v.EEG = make(map[string]float64, eeg.NumBands)
				for b := range eeg.NumBands {
					v.EEG[eeg.Band(b).String()] = latest.rel[b]
				}
			}
		},
		SetEstimates: sink.set,
	}, nil
}

// eegLatest is the newest valid summary's relative band powers, shared
// between the loop (set) and telemetry (Report) without allocating.
type eegLatest struct {
	mu  sync.Mutex
	ok  bool
	rel eeg.Powers
}

func (l *eegLatest) set(c *eeg.Channel) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ok = c != nil
	if c != nil {
		l.rel = c.Rel
	}
}

// eegInvalidFor is how long the EEG may have no valid summary before it is
// no_contact: its span (30 s) filled after an open, and as long again (a
// restless minute, frames lost to a loaded board). A summary invalid for longer says nothing of the sleeper (a
// reference electrode off: every channel mains hum), whatever the reason.
const eegInvalidFor = time.Minute

type eegDevice struct {
	dev    *ads1299.Dev
	est    *eeg.Estimator
	latest *eegLatest
	sink   *estimatesSink
	frame  []float64
	f      ads1299.Frame
	batch  int
	all    uint8 // every wired channel's bit
	primed bool  // frame holds a frame read
	// next and fill are working space of a frame each; maxFilled is
	// maxFilledGap in frames.
	next, fill []float64
	maxFilled  int
	// lastValid is when the summary was last valid, or when the device
	// was opened.
	lastValid time.Time
	// allOff is when a frame last had every wired electrode off; span is
	// the estimator's span: a railed or flat span within it of allOff is
	// what the electrodes coming off left in it, not the amplifier.
	allOff time.Time
	span   time.Duration
}

// Poll reads a batch of frames, each on its DRDY edge, and judges them.
func (e *eegDevice) Poll(now time.Time) (Poll, error) {
	var off, lastOff uint8 = 0xFF, 0
	read := 0
	for range e.batch {
		if err := e.dev.Read(&e.f, eegTimeout); err != nil {
			if read > 0 && errors.Is(err, ads1299.ErrNoDRDY) {
				break // judge what came; the next poll reports the loss
			}
			return Poll{}, err
		}
		read++
		for i := range e.next {
			e.next[i] = e.dev.Microvolts(e.f.Raw[i])
		}
		switch n := e.f.Skipped; {
		case n > maxBridgedFrames || n > 0 && !e.primed:
			e.est.Reset()
		case n > e.maxFilled:
			for i := range e.frame {
				e.frame[i] = math.NaN()
			}
			for range n {
				e.est.Add(e.frame)
			}
		case n > 0:
			// e.frame holds the frame before the gap, e.next the one
			// after: the line between them.
			prev := e.frame
			for k := 1; k <= n; k++ {
				w := float64(k) / float64(n+1)
				for i := range e.fill {
					e.fill[i] = prev[i] + w*(e.next[i]-prev[i])
				}
				e.est.Add(e.fill)
			}
		}
		e.primed = true
		copy(e.frame, e.next)
		e.est.Add(e.frame)
		lastOff = e.dev.LeadOff(&e.f)
		off &= lastOff
	}
	r := e.est.Estimate()
	if s := e.sink.get(); s != nil {
		s.FeedEEG(now, r.Summary)
	}
	if r.Summary.Valid {
		e.latest.set(&r.Summary)
		e.lastValid = now
	} else {
		e.latest.set(nil)
	}
	if lastOff&e.all == e.all || (read > 0 && off&e.all == e.all) {
		e.allOff = now
	}
	// off holds the channels off in every frame of the batch.
	if off&e.all == e.all {
		return Poll{Fresh: true, State: LeadOff}, nil
	}
	if !r.Summary.Valid && r.NumChannels > 0 {
		flat, sat := true, true
		for _, c := range r.Channels[:r.NumChannels] {
			flat = flat && c.Reason == eeg.ReasonFlat
			sat = sat && c.Reason == eeg.ReasonSaturated
		}
		switch {
		case (flat || sat) && !e.allOff.IsZero() && now.Sub(e.allOff) <= e.span:
			// The batch in which the electrodes came off (its newest
			// frame has them all off), or a span that still holds the
			// time they were off: what railed or went flat is the
			// lost signal, not the amplifier.
			return Poll{Fresh: true, State: LeadOff}, nil
		case flat:
			return Poll{Fresh: true, State: Flatline}, nil
		case sat:
			return Poll{Fresh: true, State: Saturated}, nil
		}
	}
	if now.Sub(e.lastValid) > eegInvalidFor {
		return Poll{Fresh: true, State: NoContact}, nil
	}
	return Poll{Fresh: true}, nil
}

func (e *eegDevice) Halt() error { return e.dev.Halt() }
