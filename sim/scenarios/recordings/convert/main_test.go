package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMilliToUnit(t *testing.T) {
	for in, want := range map[string]string{
		"0.0": "0", "0": "0", "8.54790319355": "0.00854790319355", "12821.0": "12.821",
		"1000": "1", "128210.5": "128.2105", "-5": "-0.005", "-0.0": "0", "999": "0.999", "5.": "0.005",
	} {
		if got, err := milliToUnit(in); got != want || err != nil {
			t.Errorf("milliToUnit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1e3", "abc", "1.2.3", "-"} {
		if got, err := milliToUnit(in); err == nil {
			t.Errorf("milliToUnit(%q) = %q, want an error", in, got)
		}
	}
}

func TestConversions(t *testing.T) {
	tests := []struct {
		name    string
		convert func(r *strings.Reader, w *bytes.Buffer) error
		in      string
		want    string
		wantErr string
	}{
		{"column", func(r *strings.Reader, w *bytes.Buffer) error { return column("ir")(r, w) },
			"530\n 518\n\n-2.8e+01\n", "ir\n530\n518\n-2.8e+01\n", ""},
		{"column with text", func(r *strings.Reader, w *bytes.Buffer) error { return column("ir")(r, w) },
			"530\nx\n", "", `line 2: "x" is not a number`},
		{"empatica", func(r *strings.Reader, w *bytes.Buffer) error { return empatica("eda_us", 4)(r, w) },
			"1560279825.000000\n4.000000\n0.000000\n0.020499\n", "eda_us\n0.000000\n0.020499\n", ""},
		{"empatica at another rate", func(r *strings.Reader, w *bytes.Buffer) error { return empatica("eda_us", 4)(r, w) },
			"1560279825.000000\n32.000000\n0.1\n", "", "line 2: rate 32 Hz, want 4"},
		{"timer", func(r *strings.Reader, w *bytes.Buffer) error { return timerMs("timer,hr", "ir")(r, w) },
			"timer,hr\n0.0,515\n8.54790319355,514\n", "t,ir\n0,515\n0.00854790319355,514\n", ""},
		{"timer, another header", func(r *strings.Reader, w *bytes.Buffer) error { return timerMs("timer,hr", "ir")(r, w) },
			"time,ppg\n0,1\n", "", `line 1: header "time,ppg", want "timer,hr"`},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := tt.convert(strings.NewReader(tt.in), &out)
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || out.String() != tt.want):
			t.Errorf("%s: %q, %v; want %q", tt.name, out.String(), err, tt.want)
		}
	}
}

// A WFDB record's signal becomes a column of its stored samples; a record
// at another rate than the one expected, or without the signal, is
// refused and writes nothing.
func TestWriteRecord(t *testing.T) {
	dir := t.TempDir()
	hea := "r 2 100 3\nr.dat 16+2 100(10)/mV 16 0 0 0 0 A\nr.dat 16+2 4/NU 16 0 0 0 0 B\n"
	if err := os.WriteFile(filepath.Join(dir, "r.hea"), []byte(hea), 0o644); err != nil {
		t.Fatal(err)
	}
	dat := []byte{0xff, 0xff, 110, 0, 8, 0, 0xa6, 0xff, 0xfc, 0xff, 10, 0, 0x90, 0x01} // 110 8, -90 -4, 10 400
	if err := os.WriteFile(filepath.Join(dir, "r.dat"), dat, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.csv")
	if err := writeRecord(filepath.Join(dir, "r.hea"), out, record{signal: "B", rateHz: 100, col: "ir"}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != "ir\n8\n-4\n400\n" {
		t.Errorf("wrote %q, %v; want the column ir of 8, -4, 400", got, err)
	}
	for _, r := range []record{{signal: "B", rateHz: 250, col: "ir"}, {signal: "PLETH", rateHz: 100, col: "ir"}} {
		bad := filepath.Join(dir, "bad.csv")
		if err := writeRecord(filepath.Join(dir, "r.hea"), bad, r); err == nil {
			t.Errorf("%+v: no error", r)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Errorf("%+v: wrote %s (%v)", r, bad, err)
		}
	}
}

// The committed recordings are what the command writes from the original
// files, where this checkout has them beside it (../shared/data/real from
// the repository's root).
func TestRecordingsAreUpToDate(t *testing.T) {
	src := filepath.Join("..", "..", "..", "..", "..", "shared", "data", "real")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("the original files are not here (%v)", err)
	}
	dst := t.TempDir()
	if err := run(src, dst); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(conversions) + len(records) + len(licences); len(names) != want {
		t.Errorf("wrote %d files, want %d", len(names), want)
	}
	for _, e := range names {
		want, err := os.ReadFile(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", e.Name()))
		if err != nil {
			t.Errorf("%v (run the command to write it)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("recordings/%s differs from what convert writes (run it again)", e.Name())
		}
	}
}
