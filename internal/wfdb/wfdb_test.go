package wfdb

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// a103l is the project's copy of an ICU record (sensors/vitals/testdata).
var a103l = filepath.Join("..", "..", "sensors", "vitals", "testdata", "a103l.hea")

// The a103l header as PhysioNet writes it, and bad headers each refused
// with an error.
func TestParseHeader(t *testing.T) {
	h, err := ReadHeader(a103l)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "a103l" || h.FrequencyHz != 250 || h.Samples != 82500 || len(h.Signals) != 3 {
		t.Fatalf("header = %+v, want a103l, 250 Hz, 82500 samples, 3 signals", h)
	}
	want := Signal{File: "a103l.mat", Format: 16, Offset: 24, Gain: 12530, Baseline: 0, Description: "PLETH"}
	if h.Signals[2] != want {
		t.Errorf("signal 3 = %+v, want %+v", h.Signals[2], want)
	}
	withBase, err := ParseHeader("r 1 100 2\nr.dat 16 200(-5)/mV 16 3 0 0 0 ECG\n")
	if err != nil || withBase.Signals[0].Baseline != -5 || withBase.Signals[0].Offset != 0 {
		t.Errorf("baseline in parentheses: %+v, %v; want baseline -5, offset 0", withBase, err)
	}
	for _, bad := range []string{
		"",
		"# only a comment\n",
		"r 1 100\nr.dat 16 200 16 0 0 0 0 X\n", // no sample count
		"r 2 100 10\nr.dat 16 200 16 0 0 0 0 X\n",                            // one signal line of two
		"r 65 100 10\nr.dat 16 200 16 0 0 0 0 X\n",                           // too many signals
		"r 1 0 10\nr.dat 16 200 16 0 0 0 0 X\n",                              // no frequency
		"r 1 100 10\nr.dat 212 200 16 0 0 0 0 X\n",                           // format 212
		"r 1 100 10\nr.dat 16 0 16 0 0 0 0 X\n",                              // zero gain
		"r 1 100 10\nr.dat 16+-3 200 16 0 0 0 0 X\n",                         // negative offset
		"r 1 100 10\nr.dat 16 200(x/mV 16 0 0 0 0 X\n",                       // broken baseline
		"r 1 100 10\nr.dat 16 200 16 z 0 0 0 X\n",                            // adc zero not a number
		"r 1 100 10\nr.dat 16 200 16 0 0 0 X\n",                              // a field short
		"r 1 100 10\n../r.dat 16 200 16 0 0 0 0 X\n",                         // a file elsewhere
		"r 2 100 10\na.dat 16 200 16 0 0 0 0 X\nb.dat 16 200 16 0 0 0 0 Y\n", // two files
	} {
		if h, err := ParseHeader(bad); err == nil {
			t.Errorf("ParseHeader(%q) = %+v, want an error", bad, h)
		}
	}
}

// Samples of format 16 interleaved by frame, after the byte offset, as
// stored and in physical units; a file of the wrong length and an unknown
// signal are refused.
func TestDecodeFormat16(t *testing.T) {
	h, err := ParseHeader("r 2 100 3\nr.dat 16+2 100(10)/mV 16 0 0 0 0 A\nr.dat 16+2 4/NU 16 0 0 0 0 B\n")
	if err != nil {
		t.Fatal(err)
	}
	raw := []int16{110, 8, -90, -4, 10, 400}
	b := make([]byte, 2, 2+2*len(raw))
	for _, v := range raw {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	if got, err := h.Stored(b, "B"); err != nil || len(got) != 3 || got[0] != 8 || got[1] != -4 || got[2] != 400 {
		t.Errorf("B stored = %v, %v; want [8 -4 400]", got, err)
	}
	got, err := h.Physical(b, "B")
	if want := []float64{2, -1, 100}; err != nil || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("B = %v, %v; want %v", got, err, want)
	}
	if got, err := h.Physical(b, "A"); err != nil || got[0] != 1 || got[1] != -1 || got[2] != 0 {
		t.Errorf("A = %v, %v; want [1 -1 0]", got, err)
	}
	if _, err := h.Stored(b[:len(b)-1], "A"); err == nil {
		t.Error("a file a byte short: no error")
	}
	if _, err := h.Physical(b, "C"); err == nil {
		t.Error("an unknown signal: no error")
	}
}

// a103l's PLETH from the files: 82500 samples, the first ones as stored
// and in normalised units (its ADC zero, the baseline, is 0).
func TestReadSignal(t *testing.T) {
	h, x, err := ReadSignal(a103l, "PLETH")
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := ReadPhysical(a103l, "PLETH")
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != h.Samples || len(p) != h.Samples {
		t.Fatalf("%d and %d samples, want %d", len(x), len(p), h.Samples)
	}
	for i := range 10 {
		if want := float64(x[i]) / 12530; p[i] != want {
			t.Errorf("sample %d: %v, want %d/12530 = %v", i, p[i], x[i], want)
		}
	}
	if _, _, err := ReadSignal(filepath.Join(t.TempDir(), "none.hea"), "PLETH"); !os.IsNotExist(err) {
		t.Errorf("a missing header: %v, want a not-exist error", err)
	}
}

// Any header either parses into a usable header or is refused: no panic,
// and a parsed one decodes a file of the length it names.
func FuzzParseHeader(f *testing.F) {
	if b, err := os.ReadFile(a103l); err == nil {
		f.Add(string(b))
	}
	f.Add("r 1 100 2\nr.dat 16 200(-5)/mV 16 3 0 0 0 ECG\n")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			return
		}
		if !(h.FrequencyHz > 0) || h.Samples < 1 || len(h.Signals) == 0 || len(h.Signals) > MaxSignals {
			t.Fatalf("parsed %q into %+v", s, h)
		}
		if h.Samples > 1<<16 || h.Signals[0].Offset > 1<<20 {
			return
		}
		sg := h.Signals[0]
		x, err := h.Physical(make([]byte, sg.Offset+2*len(h.Signals)*h.Samples), sg.Description)
		if err != nil || len(x) != h.Samples {
			t.Fatalf("decoding %+v: %d samples, %v", h, len(x), err)
		}
	})
}
