package vitals

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// The a103l header as the harness reads it, and bad headers each refused
// with an error.
func TestParseWFDBHeader(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "a103l.hea"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseWFDBHeader(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if h.fs != 250 || h.samples != 82500 || len(h.signals) != 3 {
		t.Fatalf("header = %+v, want 250 Hz, 82500 samples, 3 signals", h)
	}
	want := wfdbSignal{file: "a103l.mat", format: 16, offset: 24, gain: 12530, baseline: 0, desc: "PLETH"}
	if h.signals[2] != want {
		t.Errorf("signal 3 = %+v, want %+v", h.signals[2], want)
	}
	withBase, err := parseWFDBHeader("r 1 100 2\nr.dat 16 200(-5)/mV 16 3 0 0 0 ECG\n")
	if err != nil || withBase.signals[0].baseline != -5 || withBase.signals[0].offset != 0 {
		t.Errorf("baseline in parentheses: %+v, %v; want baseline -5, offset 0", withBase, err)
	}
	for _, bad := range []string{
		"",
		"# only a comment\n",
		"r 1 100\nr.dat 16 200 16 0 0 0 0 X\n", // no sample count
		"r 2 100 10\nr.dat 16 200 16 0 0 0 0 X\n",                            // one signal line of two
		"r 1 0 10\nr.dat 16 200 16 0 0 0 0 X\n",                              // no frequency
		"r 1 100 10\nr.dat 212 200 16 0 0 0 0 X\n",                           // format 212
		"r 1 100 10\nr.dat 16 0 16 0 0 0 0 X\n",                              // zero gain
		"r 1 100 10\nr.dat 16+-3 200 16 0 0 0 0 X\n",                         // negative offset
		"r 1 100 10\nr.dat 16 200(x/mV 16 0 0 0 0 X\n",                       // broken baseline
		"r 2 100 10\na.dat 16 200 16 0 0 0 0 X\nb.dat 16 200 16 0 0 0 0 Y\n", // two files
	} {
		if h, err := parseWFDBHeader(bad); err == nil {
			t.Errorf("parseWFDBHeader(%q) = %+v, want an error", bad, h)
		}
	}
}

// Samples of format 16 interleaved by frame, after the byte offset, in
// physical units; a file of the wrong length is refused.
func TestDecodeWFDB16(t *testing.T) {
	h, err := parseWFDBHeader("r 2 100 3\nr.dat 16+2 100(10)/mV 16 0 0 0 0 A\nr.dat 16+2 4/NU 16 0 0 0 0 B\n")
	if err != nil {
		t.Fatal(err)
	}
	raw := []int16{110, 8, -90, -4, 10, 400}
	b := make([]byte, 2, 2+2*len(raw))
	for _, v := range raw {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	got, err := decodeWFDB16(b, h, "B")
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{2, -1, 100}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("B = %v, want %v", got, want)
	}
	if got, err := decodeWFDB16(b, h, "A"); err != nil || got[0] != 1 || got[1] != -1 || got[2] != 0 {
		t.Errorf("A = %v, %v; want [1 -1 0]", got, err)
	}
	if _, err := decodeWFDB16(b[:len(b)-1], h, "A"); err == nil {
		t.Error("a file a byte short: no error")
	}
	if _, err := decodeWFDB16(b, h, "C"); err == nil {
		t.Error("an unknown signal: no error")
	}
}

// Any header either parses into a usable header or is refused: no panic,
// and a parsed one decodes a file of the length it names.
func FuzzParseWFDBHeader(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "a103l.hea")); err == nil {
		f.Add(string(b))
	}
	f.Add("r 1 100 2\nr.dat 16 200(-5)/mV 16 3 0 0 0 ECG\n")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseWFDBHeader(s)
		if err != nil {
			return
		}
		if !(h.fs > 0) || h.samples < 1 || len(h.signals) == 0 {
			t.Fatalf("parsed %q into %+v", s, h)
		}
		if h.samples > 1<<16 || h.signals[0].offset > 1<<20 {
			return
		}
		sg := h.signals[0]
		x, err := decodeWFDB16(make([]byte, sg.offset+2*len(h.signals)*h.samples), h, sg.desc)
		if err != nil || len(x) != h.samples {
			t.Fatalf("decoding %+v: %d samples, %v", h, len(x), err)
		}
	})
}
