package safety

import (
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim"
)

// tripRig is the abort path as cmd/podd wires it in sim mode: the
// watchdog's SafeStater is the actuators' gate holding an APA102 strip
// (60 LEDs, the driver at its default clock) on the simulator's SPI port
// and strip model. Every rule is armed (a merge, three sensors watched).
type tripRig struct {
	w     *Watchdog
	gate  *actuators.Gate
	strip *apa102.Dev
	model *sim.APA102
	lit   []apa102.Color

	// reported and abort are set by OnAbort, which the watchdog calls on
	// the goroutine that evaluated, once every output's Halt returned.
	reported time.Time
	abort    Abort
}

const tripLEDs = 60

func newTripRig(tb testing.TB) *tripRig {
	tb.Helper()
	r := &tripRig{model: sim.NewAPA102(tripLEDs), lit: make([]apa102.Color, tripLEDs)}
	for i := range r.lit {
		r.lit[i] = apa102.Color{R: 40, G: 18, B: 4}
	}
	strip, err := apa102.New(sim.NewSPIPort("sim-spi", r.model), &apa102.Opts{NumPixels: tripLEDs, Speed: apa102.DefaultOpts.Speed})
	if err != nil {
		tb.Fatal(err)
	}
	r.strip, r.gate = strip, actuators.NewGate(strip)
	l := DefaultLimits()
	l.StartupGrace = 0
	r.w, err = New(l, r.gate, Options{OnAbort: func(a Abort) {
		r.reported = time.Now()
		r.abort = a
	}})
	if err != nil {
		tb.Fatal(err)
	}
	r.w.WatchSensors(newSensor("ads1299"), newSensor("ads1115"), newSensor("tmp117"))
	r.w.SetMerge(true)
	return r
}

// trip is one way to trip a rule: the reading fed, and the rule expected.
type trip struct {
	rule string
	r    vitals.Reading
}

// trips go through every rule on the vitals, in turn.
var trips = []trip{
	{RuleHeartRateHigh, reading(150, 97)},
	{RuleHeartRateLow, reading(35, 97)},
	{RuleSpO2Low, reading(60, 88)},
	{RuleSpO2Critical, reading(60, 80)},
	{RuleVitalsStale, vitals.Reading{}},
}

// prime readies a trip: the previous abort acknowledged on vitals in
// range, the gate opened and the strip lit, then the trip's reading fed
// and evaluated once, and its alarm delay (or vitals_stale's StaleAfter)
// moved back into the past, so the next evaluation finds it run out.
// Moving the start of the delay stands for waiting it out: it leaves the
// path from that evaluation to the safe state as the watchdog's tick
// takes it.
func (r *tripRig) prime(tb testing.TB, t trip) {
	r.w.Feed(reading(60, 97))
	r.w.evaluate()
	if st := r.w.Status(); st.Latched != nil {
		if err := r.w.Ack(*st.Latched); err != nil {
			tb.Fatal(err)
		}
	}
	if err := r.gate.Open(); err != nil {
		tb.Fatal(err)
	}
	if err := r.strip.Write(r.lit); err != nil {
		tb.Fatal(err)
	}
	if r.model.Dark() {
		tb.Fatal("the strip is dark after a write of a lit frame")
	}
	r.w.Feed(t.r)
	r.w.evaluate()
	back := 20 * time.Second // longer than any alarm delay or StaleAfter
	r.w.mu.Lock()
	// The first sight of the condition moves back with its onset: waiting
	// the delay out also waits out MinConditionSeen. Only running delays
	// move (a zero one moved back would start).
	for rule, since := range r.w.pending {
		if !since.IsZero() {
			r.w.pending[rule], r.w.seen[rule] = since.Add(-back), r.w.seen[rule].Add(-back)
		}
	}
	if t.rule == RuleVitalsStale {
		r.w.lastValid = r.w.lastValid.Add(-back)
	}
	latched := r.w.latched
	r.w.mu.Unlock()
	if latched != nil {
		tb.Fatalf("%s: tripped while priming: %+v", t.rule, latched)
	}
}

// fire evaluates once, which must trip t's rule, and returns the time
// from the start of that evaluation to the abort's report (every output's
// Halt has returned by then).
func (r *tripRig) fire(tb testing.TB, t trip) time.Duration {
	r.reported = time.Time{}
	start := time.Now()
	r.w.evaluate()
	if r.reported.IsZero() {
		tb.Fatalf("%s: no abort reported", t.rule)
	}
	return r.reported.Sub(start)
}

// check verifies the trip's outcome: t's rule latched, the strip dark on
// the model, the gate closed, no output failed.
func (r *tripRig) check(tb testing.TB, t trip) {
	if r.abort.Rule != t.rule || r.abort.SafeStateError != "" {
		tb.Fatalf("abort %+v, want %s with every output safe", r.abort, t.rule)
	}
	if !r.model.Dark() || !r.gate.Safe() {
		tb.Fatalf("%s: strip dark %v, gate safe %v after the abort", t.rule, r.model.Dark(), r.gate.Safe())
	}
}

// percentile is the p-th percentile (0 < p <= 1) of sorted durations,
// the nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Each rule on the vitals trips through the real gate and the simulated
// strip: its abort latched, the strip dark, and the latency the abort
// reports (detection to every output safe) no longer than the time from
// the start of the evaluation to the report, which contains it, and not
// zero: the dark frame went over the simulated SPI port.
func TestTripReachesTheSimulatedStrip(t *testing.T) {
	r := newTripRig(t)
	for range 3 {
		for _, tr := range trips {
			r.prime(t, tr)
			d := r.fire(t, tr)
			r.check(t, tr)
			reported := time.Duration(r.abort.LatencyMS * float64(time.Millisecond))
			if reported <= 0 || reported > d {
				t.Errorf("%s: the abort reports %v from detection to safe, measured %v from the evaluation to the report", tr.rule, reported, d)
			}
		}
	}
}

// BenchmarkTripToSafeState is the latency of the abort path, in process
// with the simulated actuators: from the start of the evaluation that
// finds a rule's alarm delay run out to the abort's report, after the
// gate closed and the strip's Halt wrote its dark frame on the simulated
// SPI port. Each iteration is one trip, the rules on the vitals in turn
// (see prime); it reports the median, the 99th percentile and the
// maximum in µs. ns/op is the evaluation that trips alone (priming is
// outside the timer). Run it with many trips:
//
//	go test -run '^$' -bench TripToSafeState -benchtime 1000x ./safety/
func BenchmarkTripToSafeState(b *testing.B) {
	r := newTripRig(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		tr := trips[i%len(trips)]
		r.prime(b, tr)
		b.StartTimer()
		d := r.fire(b, tr)
		b.StopTimer()
		r.check(b, tr)
		lat = append(lat, d)
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(percentile(lat, 0.50)), "p50-µs")
	b.ReportMetric(us(percentile(lat, 0.99)), "p99-µs")
	b.ReportMetric(us(lat[len(lat)-1]), "max-µs")
}
