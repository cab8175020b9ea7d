package playback

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Options say what a recording's file may hold and how it is timed.
type Options struct {
	// Device names the chip the recording stands in for, in errors only
	// (e.g. "max30102").
	Device string
	// Columns are the data columns a file may have, at most MaxColumns, in
	// slot order: a Sample's slot i is Columns[i] (e.g. "ir", "red").
	Columns []string
	// Required are the columns the file must have; a file needs at least
	// one data column whatever Required says.
	Required []string
	// RateHz (0 < RateHz <= MaxRateHz) spaces the rows evenly; 0 means the
	// file has a `t` column in seconds.
	RateHz float64
	// Loop repeats the recording after its last row.
	Loop bool
	// Offset is added to every value of the data columns, in the file's
	// units: a recording played at another level than it was taken (a
	// wrist's skin temperature raised to the core's), its shape kept.
	// |Offset| is at most MaxAbsValue, and so is every value with it.
	Offset float64
}

// Limits of what Read accepts.
const (
	// MaxFileBytes bounds a recording's size: 64 MiB of CSV is hours of an
	// 8-channel EEG, and a simulator must not fill a pod's memory.
	MaxFileBytes = 64 << 20
	// MaxAbsValue bounds every value: well above any count or microvolt a
	// chip reports (an ADS1299 at gain 1 spans ±4.5e6 µV), low enough that
	// interpolation cannot overflow.
	MaxAbsValue = 1e9
	// MaxRateHz bounds RateHz.
	MaxRateHz = 100e3
	// maxLine bounds one line of the file.
	maxLine = 64 << 10
)

// TimeColumn is the name of the column of row times, in seconds.
const TimeColumn = "t"

// Load reads the recording at path (see Read). A missing file is an error
// that errors.Is reports as fs.ErrNotExist.
func Load(path string, o Options) (*Playback, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the path
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		// A FIFO or a device would block or never end.
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return Read(f, path, o)
}

// Read reads a recording from r; name is the file's name for errors. Every
// error starts with name and, where it is about one line, the line number
// ("ppg.csv: line 7, column 2 (red): \"x\" is not a number"). It reads at
// most MaxFileBytes.
func Read(r io.Reader, name string, o Options) (*Playback, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lr := &io.LimitedReader{R: r, N: MaxFileBytes + 1}
	p, err := read(lr, o)
	if lr.N == 0 {
		// Whatever went wrong at the cut, the cut is the problem.
		err = fmt.Errorf("larger than %d MiB", MaxFileBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.name = name
	return p, nil
}

func (o Options) check() error {
	switch {
	case len(o.Columns) == 0 || len(o.Columns) > MaxColumns:
		return fmt.Errorf("playback of %s: %d columns (1..%d)", o.Device, len(o.Columns), MaxColumns)
	case !(o.RateHz >= 0 && o.RateHz <= MaxRateHz): // NaN too
		return fmt.Errorf("playback of %s: rate %g Hz is outside 0..%g", o.Device, o.RateHz, MaxRateHz)
	case !(math.Abs(o.Offset) <= MaxAbsValue): // NaN too
		return fmt.Errorf("playback of %s: offset %g is outside ±%g", o.Device, o.Offset, MaxAbsValue)
	}
	for i, c := range o.Columns {
		if c == "" || c == TimeColumn || slices.Contains(o.Columns[:i], c) {
			return fmt.Errorf("playback of %s: column name %q is empty, t or given twice", o.Device, c)
		}
	}
	for _, c := range o.Required {
		if !slices.Contains(o.Columns, c) {
			return fmt.Errorf("playback of %s: required column %q is not one of its columns", o.Device, c)
		}
	}
	return nil
}

func read(r io.Reader, o Options) (*Playback, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	p := &Playback{columns: slices.Clone(o.Columns), rateHz: o.RateHz, loop: o.Loop}

	line := 0
	next := func() (string, bool) {
		for sc.Scan() {
			line++
			text := strings.TrimSuffix(sc.Text(), "\r")
			if line == 1 {
				text = strings.TrimPrefix(text, "\ufeff") // a byte order mark
			}
			if strings.TrimSpace(text) != "" {
				return text, true
			}
		}
		return "", false
	}
	scanErr := func() error {
		err := sc.Err()
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than %d bytes", line+1, maxLine)
		}
		return err
	}

	header, ok := next()
	if !ok {
		if err := scanErr(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("empty: the first line names the columns (%s)", allowed(o))
	}
	tCol, err := p.readHeader(line, header, o)
	if err != nil {
		return nil, err
	}

	fields := make([]string, 0, len(p.slots)+1)
	var t0 float64
	for {
		text, ok := next()
		if !ok {
			break
		}
		fields = splitFields(fields[:0], text)
		if want := len(p.slots) + btoi(tCol >= 0); len(fields) != want {
			return nil, fmt.Errorf("line %d: %d values, the header names %d columns", line, len(fields), want)
		}
		dataCol := 0
		for c, f := range fields {
			v, err := parseValue(f)
			if err != nil {
				name := TimeColumn
				if c != tCol {
					name = p.columns[p.slots[dataCol]]
				}
				return nil, fmt.Errorf("line %d, column %d (%s): %w", line, c+1, name, err)
			}
			if c == tCol {
				// Times relative to the first row, which plays at 0.
				if p.rows == 0 {
					t0 = v
				} else if prev := p.t[len(p.t)-1]; !(v-t0 > prev) {
					return nil, fmt.Errorf("line %d, column %d (t): %s is not after the previous row's %s (t must increase)",
						line, c+1, f, strconv.FormatFloat(prev+t0, 'g', -1, 64))
				}
				p.t = append(p.t, v-t0)
				continue
			}
			if o.Offset != 0 {
				if v += o.Offset; math.Abs(v) > MaxAbsValue {
					return nil, fmt.Errorf("line %d, column %d (%s): %s with the offset %g is outside ±%g",
						line, c+1, p.columns[p.slots[dataCol]], f, o.Offset, MaxAbsValue)
				}
			}
			p.vals = append(p.vals, v)
			dataCol++
		}
		p.rows++
	}
	if err := scanErr(); err != nil {
		return nil, err
	}
	if p.rows < 2 {
		return nil, fmt.Errorf("%d rows: a recording needs at least 2", p.rows)
	}
	if p.t != nil {
		p.gap = p.t[p.rows-1] / float64(p.rows-1)
	}
	p.findEnd()
	return p, nil
}

// readHeader reads the column names; it returns the index of the t column,
// -1 if there is none.
func (p *Playback) readHeader(line int, header string, o Options) (tCol int, err error) {
	tCol = -1
	names := splitFields(nil, header)
	for c, name := range names {
		switch {
		case name == "":
			return 0, fmt.Errorf("line %d, column %d: no name (the first line names the columns: %s)", line, c+1, allowed(o))
		case slices.Contains(names[:c], name):
			return 0, fmt.Errorf("line %d, column %d: %q given twice", line, c+1, name)
		case name == TimeColumn:
			tCol = c
		default:
			slot := slices.Index(o.Columns, name)
			if slot < 0 {
				return 0, fmt.Errorf("line %d, column %d: %q is not a column of %s (allowed: %s)", line, c+1, name, o.Device, allowed(o))
			}
			p.slots = append(p.slots, slot)
			p.has[slot] = true
		}
	}
	for _, req := range o.Required {
		if !slices.Contains(names, req) {
			return 0, fmt.Errorf("line %d: no %s column (a recording of %s needs one)", line, req, o.Device)
		}
	}
	if len(p.slots) == 0 {
		return 0, fmt.Errorf("line %d: no data column (give one or more of %s)", line, strings.Join(o.Columns, ", "))
	}
	switch {
	case tCol >= 0 && o.RateHz > 0:
		return 0, fmt.Errorf("line %d: both a t column and rate_hz %g time the rows (keep one: t for timestamps, rate_hz for evenly spaced rows)", line, o.RateHz)
	case tCol < 0 && o.RateHz == 0:
		return 0, fmt.Errorf("line %d: neither a t column nor rate_hz times the rows (give rate_hz for evenly spaced rows, or a t column in seconds)", line)
	}
	return tCol, nil
}

func allowed(o Options) string {
	return TimeColumn + ", " + strings.Join(o.Columns, ", ")
}

func splitFields(dst []string, text string) []string {
	for f := range strings.SplitSeq(text, ",") {
		dst = append(dst, strings.TrimSpace(f))
	}
	return dst
}

func parseValue(f string) (float64, error) {
	v, err := strconv.ParseFloat(f, 64)
	var numErr *strconv.NumError
	switch {
	case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is outside ±%g", f, MaxAbsValue)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", f)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number", f)
	case math.Abs(v) > MaxAbsValue:
		return 0, fmt.Errorf("%q is outside ±%g", f, MaxAbsValue)
	}
	return v, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
