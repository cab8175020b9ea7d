package wfdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxSignals is the most signals a header may declare.
const MaxSignals = 64

// Header is what is read of a record's header: the record line ("name
// nsig fs nsamp") and, per signal, its file, format, byte offset, gain,
// baseline and description.
type Header struct {
	Name        string
	FrequencyHz float64 // samples per second of each signal
	Samples     int     // samples of each signal
	Signals     []Signal
}

// Signal is one signal line of a header.
type Signal struct {
	File           string // the signal file, relative to the header's directory
	Format, Offset int    // storage format (16) and bytes before the first sample
	Gain           float64
	Baseline       float64 // physical = (stored − Baseline)/Gain
	Description    string  // e.g. "II", "PLETH"
}

// ParseHeader parses a WFDB header of one segment whose signals share one
// file: "name nsig fs[/counter] nsamp", then per signal "file fmt[+offset]
// gain[(baseline)][/units] adcres adczero initval checksum blocksize
// description"; blank lines and lines starting with # are ignored. Only
// format 16 is accepted. It returns an error naming the field that is
// missing or malformed.
func ParseHeader(text string) (Header, error) {
	var h Header
	var lines []string
	for l := range strings.SplitSeq(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return h, fmt.Errorf("wfdb header: empty")
	}
	rec := strings.Fields(lines[0])
	if len(rec) < 4 {
		return h, fmt.Errorf("wfdb header: record line %q: want name, signals, frequency, samples", lines[0])
	}
	nsig, err := strconv.Atoi(rec[1])
	if err != nil || nsig < 1 || nsig > MaxSignals {
		return h, fmt.Errorf("wfdb header: %q signals: want 1 to %d", rec[1], MaxSignals)
	}
	fs, err := strconv.ParseFloat(strings.SplitN(rec[2], "/", 2)[0], 64)
	if err != nil || !(fs > 0) || math.IsInf(fs, 0) {
		return h, fmt.Errorf("wfdb header: sampling frequency %q: want a positive number", rec[2])
	}
	n, err := strconv.Atoi(rec[3])
	if err != nil || n < 1 {
		return h, fmt.Errorf("wfdb header: %q samples: want a positive count", rec[3])
	}
	if len(lines)-1 != nsig {
		return h, fmt.Errorf("wfdb header: %d signal lines, want %d", len(lines)-1, nsig)
	}
	h.Name, h.FrequencyHz, h.Samples = rec[0], fs, n
	for i, l := range lines[1:] {
		s, err := parseSignal(l)
		if err != nil {
			return h, fmt.Errorf("wfdb header: signal %d: %w", i+1, err)
		}
		if i > 0 && (s.File != h.Signals[0].File || s.Offset != h.Signals[0].Offset) {
			return h, fmt.Errorf("wfdb header: signal %d: in %s+%d, want every signal in one file", i+1, s.File, s.Offset)
		}
		h.Signals = append(h.Signals, s)
	}
	return h, nil
}

func parseSignal(line string) (Signal, error) {
	f := strings.Fields(line)
	if len(f) < 9 {
		return Signal{}, fmt.Errorf("%d fields, want 9", len(f))
	}
	s := Signal{File: f[0], Description: strings.Join(f[8:], " ")}
	if s.File != filepath.Base(s.File) || s.File == "." || s.File == ".." {
		return s, fmt.Errorf("file %q: want a file beside the header", s.File)
	}
	format, off, hasOff := strings.Cut(f[1], "+")
	var err error
	if s.Format, err = strconv.Atoi(format); err != nil || s.Format != 16 {
		return s, fmt.Errorf("format %q: only 16 is read", f[1])
	}
	if hasOff {
		if s.Offset, err = strconv.Atoi(off); err != nil || s.Offset < 0 {
			return s, fmt.Errorf("byte offset %q", off)
		}
	}
	gain, _, _ := strings.Cut(f[2], "/")
	gain, base, hasBase := strings.Cut(gain, "(")
	if s.Gain, err = strconv.ParseFloat(gain, 64); err != nil || s.Gain == 0 || math.IsInf(s.Gain, 0) || math.IsNaN(s.Gain) {
		return s, fmt.Errorf("gain %q: want a non-zero number", f[2])
	}
	zero, err := strconv.Atoi(f[4])
	if err != nil {
		return s, fmt.Errorf("adc zero %q", f[4])
	}
	s.Baseline = float64(zero)
	if hasBase {
		b, err := strconv.Atoi(strings.TrimSuffix(base, ")"))
		if err != nil || !strings.HasSuffix(base, ")") {
			return s, fmt.Errorf("baseline in %q", f[2])
		}
		s.Baseline = float64(b)
	}
	return s, nil
}

// ReadHeader reads and parses the header file at path.
func ReadHeader(path string) (Header, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Header{}, err
	}
	h, err := ParseHeader(string(b))
	if err != nil {
		return h, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// Stored returns the samples of the signal described as desc in b, the
// contents of the header's signal file, as stored (ADC units). It refuses
// an unknown signal and a file whose length is not Samples frames of
// every signal after the offset.
func (h Header) Stored(b []byte, desc string) ([]int16, error) {
	k := slices.IndexFunc(h.Signals, func(s Signal) bool { return s.Description == desc })
	if k < 0 {
		return nil, fmt.Errorf("wfdb: no signal %q", desc)
	}
	s, nsig := h.Signals[k], len(h.Signals)
	if want := s.Offset + 2*nsig*h.Samples; len(b) != want {
		return nil, fmt.Errorf("wfdb: %d bytes, want %d (%d samples of %d signals after %d)", len(b), want, h.Samples, nsig, s.Offset)
	}
	x := make([]int16, h.Samples)
	for i := range x {
		x[i] = int16(binary.LittleEndian.Uint16(b[s.Offset+2*(i*nsig+k):]))
	}
	return x, nil
}

// Physical is Stored in the signal's physical units: (v − Baseline)/Gain.
func (h Header) Physical(b []byte, desc string) ([]float64, error) {
	v, err := h.Stored(b, desc)
	if err != nil {
		return nil, err
	}
	s := h.Signals[slices.IndexFunc(h.Signals, func(s Signal) bool { return s.Description == desc })]
	x := make([]float64, len(v))
	for i, v := range v {
		x[i] = (float64(v) - s.Baseline) / s.Gain
	}
	return x, nil
}

// ReadSignal reads the header at path and the signal described as desc
// from the signal file beside it, as stored (ADC units).
func ReadSignal(path, desc string) (Header, []int16, error) {
	h, b, err := read(path)
	if err != nil {
		return h, nil, err
	}
	x, err := h.Stored(b, desc)
	if err != nil {
		return h, nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, x, nil
}

// ReadPhysical is ReadSignal in the signal's physical units.
func ReadPhysical(path, desc string) (Header, []float64, error) {
	h, b, err := read(path)
	if err != nil {
		return h, nil, err
	}
	x, err := h.Physical(b, desc)
	if err != nil {
		return h, nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, x, nil
}

func read(path string) (Header, []byte, error) {
	h, err := ReadHeader(path)
	if err != nil {
		return h, nil, err
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), h.Signals[0].File))
	return h, b, err
}
