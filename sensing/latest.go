package sensing

import (
	"math"
	"sync/atomic"
)

// latestValue is a sensor's newest valid value, written by its loop at
// every sample and read by telemetry (Sensor.Report), without allocating
// per sample: the float64's bits, NaN while there is none.
type latestValue struct{ bits atomic.Uint64 }

func newLatestValue() *latestValue {
	l := new(latestValue)
	l.clear()
	return l
}

// set records v; a NaN is recorded as none.
func (l *latestValue) set(v float64) { l.bits.Store(math.Float64bits(v)) }

// clear records that there is no valid value.
func (l *latestValue) clear() { l.bits.Store(math.Float64bits(math.NaN())) }

// get returns the value, and false when there is none.
func (l *latestValue) get() (float64, bool) {
	v := math.Float64frombits(l.bits.Load())
	return v, !math.IsNaN(v)
}
