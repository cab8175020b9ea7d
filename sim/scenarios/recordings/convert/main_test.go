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
	if len(names) != len(conversions)+len(licences) {
		t.Errorf("wrote %d files, want %d", len(names), len(conversions)+len(licences))
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
