package playback

import (
	"math"
	"slices"
	"time"
)

// MaxColumns is the most data columns a recording has (an ADS1299's eight
// channels), the size of a Sample.
const MaxColumns = 8

// Sample is one moment of a recording: slot i holds the column named
// Options.Columns[i], in the file's units. Slots of columns the file does
// not have are 0 (see Has).
type Sample [MaxColumns]float64

// Playback is a recording loaded from a CSV file. Build it with Read or
// Load; the zero value is not usable.
type Playback struct {
	name    string
	columns []string // Options.Columns: the slots' names
	has     [MaxColumns]bool
	slots   []int     // per data column of the file, in file order: its slot
	vals    []float64 // row-major, len(slots) values per row
	rows    int
	t       []float64 // seconds since the first row; nil for evenly spaced rows
	rateHz  float64   // evenly spaced rows only
	loop    bool
	end     time.Duration // the last d at which At is ok without loop
	// gap is the loop's wrap from the last row to the first, in seconds
	// (t column) or rows (evenly spaced).
	gap float64
}

// At returns the recording d after the simulator started, interpolated
// linearly between the two rows around d. ok is false before 0 and after
// the last row when the recording does not loop: the device then behaves
// as unplugged. It does not allocate.
func (p *Playback) At(d time.Duration) (s Sample, ok bool) {
	if d < 0 {
		return s, false
	}
	i, frac, ok := p.locate(d)
	if !ok {
		return s, false
	}
	n := len(p.slots)
	a := p.vals[i*n : (i+1)*n]
	if frac == 0 {
		for k, slot := range p.slots {
			s[slot] = a[k]
		}
		return s, true
	}
	j := i + 1
	if j == p.rows {
		j = 0 // the loop's wrap
	}
	b := p.vals[j*n : (j+1)*n]
	for k, slot := range p.slots {
		v := a[k] + (b[k]-a[k])*frac
		// Rounding must not carry a value outside its two rows.
		s[slot] = min(max(v, min(a[k], b[k])), max(a[k], b[k]))
	}
	return s, true
}

// locate returns the row at or before d and how far d is toward the next
// row (0 <= frac < 1); ok is false past the end of a recording that does not
// loop.
func (p *Playback) locate(d time.Duration) (i int, frac float64, ok bool) {
	if p.t == nil {
		x := float64(d) * p.rateHz / float64(time.Second) // in rows
		if p.loop {
			x = math.Mod(x, float64(p.rows))
		} else if x > float64(p.rows-1) {
			return 0, 0, false
		}
		i = min(int(x), p.rows-1)
		return i, clamp01(x - float64(i)), true
	}
	x := float64(d) / float64(time.Second)
	last := p.t[p.rows-1]
	if p.loop {
		x = math.Mod(x, last+p.gap)
		if x > last {
			return p.rows - 1, clamp01((x - last) / p.gap), true
		}
	} else if x > last {
		return 0, 0, false
	}
	// The last row whose t is at or before x.
	n, found := slices.BinarySearch(p.t, x)
	if found {
		return n, 0, true
	}
	i = n - 1
	return i, clamp01((x - p.t[i]) / (p.t[i+1] - p.t[i])), true
}

func clamp01(f float64) float64 { return min(max(f, 0), 1) }

// End returns the time of the last row, to the nanosecond: without loop,
// At reports ok = false after it.
func (p *Playback) End() time.Duration { return p.end }

// findEnd sets end to the last nanosecond that locates a row without loop:
// the last row's time in seconds, rounded as locate rounds.
func (p *Playback) findEnd() {
	last := float64(p.rows-1) / p.rateHz
	if p.t != nil {
		last = p.t[p.rows-1]
	}
	ns := last * float64(time.Second)
	if ns >= math.MaxInt64 {
		p.end = math.MaxInt64
		return
	}
	loop := p.loop
	p.loop = false
	defer func() { p.loop = loop }()
	ok := func(d time.Duration) bool { _, _, ok := p.locate(d); return ok }
	e := time.Duration(ns)
	for e < math.MaxInt64 && ok(e+1) {
		e++
	}
	for e > 0 && !ok(e) {
		e--
	}
	p.end = e
}

// Loop reports whether the recording repeats after its last row.
func (p *Playback) Loop() bool { return p.loop }

// Rows returns the number of rows the file holds.
func (p *Playback) Rows() int { return p.rows }

// Has reports whether the file has the column of slot i (the column named
// Options.Columns[i]). An absent column's slot is always 0.
func (p *Playback) Has(slot int) bool { return slot >= 0 && slot < MaxColumns && p.has[slot] }

// Columns returns the slots' names, Options.Columns. The slice is a copy.
func (p *Playback) Columns() []string { return slices.Clone(p.columns) }

// String returns the file's name as it was given to Read or Load.
func (p *Playback) String() string { return p.name }
