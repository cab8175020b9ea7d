package playback

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadErrors(t *testing.T) {
	eeg := Options{Device: "ads1299", Columns: []string{"ch1", "ch2"}, RateHz: 200}
	rated := withRate(ppg, 100, false)
	tests := []struct {
		name string
		src  string
		o    Options
		want string
	}{
		{"empty", "", rated, "test.csv: empty: the first line names the columns (t, ir, red)"},
		{"only blank lines", "\n \r\n", rated, "test.csv: empty: the first line names the columns (t, ir, red)"},
		{"a column without a name", "ir,,red\n", rated, "test.csv: line 1, column 2: no name (the first line names the columns: t, ir, red)"},
		{"a column twice", "ir,red,ir\n", rated, `test.csv: line 1, column 3: "ir" given twice`},
		{"an unknown column", "ir,green\n", rated, `test.csv: line 1, column 2: "green" is not a column of max30102 (allowed: t, ir, red)`},
		{"a required column missing", "red\n1\n2\n", rated, "test.csv: line 1: no ir column (a recording of max30102 needs one)"},
		{"only t", "t\n0\n1\n", eeg, "test.csv: line 1: no data column (give one or more of ch1, ch2)"},
		{"both t and rate_hz", "t,ch1\n0,1\n1,2\n", eeg, "test.csv: line 1: both a t column and rate_hz 200 time the rows (keep one: t for timestamps, rate_hz for evenly spaced rows)"},
		{"neither t nor rate_hz", "ir\n1\n2\n", ppg, "test.csv: line 1: neither a t column nor rate_hz times the rows (give rate_hz for evenly spaced rows, or a t column in seconds)"},
		{"a row too short", "ir,red\n1,2\n\n3\n", rated, "test.csv: line 4: 1 values, the header names 2 columns"},
		{"a row too long", "ir\n1,2\n", rated, "test.csv: line 2: 2 values, the header names 1 columns"},
		{"not a number", "ir,red\n1,2\n3,abc\n", rated, `test.csv: line 3, column 2 (red): "abc" is not a number`},
		{"an empty value", "ir,red\n1,\n", rated, `test.csv: line 2, column 2 (red): "" is not a number`},
		{"not a number in t", "t,ir\nzero,1\n", ppg, `test.csv: line 2, column 1 (t): "zero" is not a number`},
		{"NaN", "ch2,ch1\n1,NaN\n", eeg, `test.csv: line 2, column 2 (ch1): "NaN" is not a finite number`},
		{"infinity", "ir\n-Inf\n", rated, `test.csv: line 2, column 1 (ir): "-Inf" is not a finite number`},
		{"too large", "ir\n2e9\n", rated, `test.csv: line 2, column 1 (ir): "2e9" is outside ±1e+09`},
		{"beyond float64", "ir\n1e400\n", rated, `test.csv: line 2, column 1 (ir): "1e400" is outside ±1e+09`},
		{"t not increasing", "ir,t\n1,0\n2,0.5\n3,0.5\n", ppg, "test.csv: line 4, column 2 (t): 0.5 is not after the previous row's 0.5 (t must increase)"},
		{"t going back", "t,ir\n10,1\n9,2\n", ppg, "test.csv: line 3, column 1 (t): 9 is not after the previous row's 10 (t must increase)"},
		{"one row", "ir\n1\n", rated, "test.csv: 1 rows: a recording needs at least 2"},
		{"a header only", "ir\n", rated, "test.csv: 0 rows: a recording needs at least 2"},
		{"a line too long", "ir\n" + strings.Repeat("1", maxLine+1) + "\n", rated, "test.csv: line 2: longer than 65536 bytes"},
		{"bad options: no columns", "ir\n", Options{Device: "x", RateHz: 1}, "test.csv: playback of x: 0 columns (1..8)"},
		{"bad options: NaN rate", "ir\n", Options{Device: "x", Columns: []string{"ir"}, RateHz: nan()}, "test.csv: playback of x: rate NaN Hz is outside 0..100000"},
		{"bad options: t as a column", "ir\n", Options{Device: "x", Columns: []string{"t"}}, `test.csv: playback of x: column name "t" is empty, t or given twice`},
		{"bad options: required unknown", "ir\n", Options{Device: "x", Columns: []string{"ir"}, Required: []string{"red"}}, `test.csv: playback of x: required column "red" is not one of its columns`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Read(strings.NewReader(tt.src), "test.csv", tt.o)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Read = %v, %v\nwant error %s", p, err, tt.want)
			}
			if p != nil {
				t.Error("Read returned a recording with its error")
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// A file larger than MaxFileBytes is refused, however harmless its content.
func TestReadTooLarge(t *testing.T) {
	blank := strings.Repeat(" ", 1023) + "\n"
	r := io.MultiReader(strings.NewReader("ir\n1\n2\n"), &repeat{s: blank, n: MaxFileBytes / len(blank)})
	_, err := Read(r, "big.csv", withRate(ppg, 1, false))
	if want := "big.csv: larger than 64 MiB"; err == nil || err.Error() != want {
		t.Errorf("Read = %v, want %s", err, want)
	}
}

type repeat struct {
	s string
	n int
	i int // offset in s
}

func (r *repeat) Read(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		if r.n == 0 {
			if total == 0 {
				return 0, io.EOF
			}
			break
		}
		c := copy(b, r.s[r.i:])
		b, total, r.i = b[c:], total+c, r.i+c
		if r.i == len(r.s) {
			r.i, r.n = 0, r.n-1
		}
	}
	return total, nil
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ppg.csv")
	if err := os.WriteFile(path, []byte("ir\n1\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path, withRate(ppg, 2, false))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.At(250 * ms); s != (Sample{2}) || !ok || p.String() != path {
		t.Errorf("At(250ms) = %v, %v from %q; want [2], true from %q", s, ok, p.String(), path)
	}

	if _, err := Load(filepath.Join(dir, "absent.csv"), ppg); !errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "open "+filepath.Join(dir, "absent.csv")+": no such file or directory" {
		t.Errorf("Load of a missing file = %v", err)
	}
	if _, err := Load(dir, ppg); err == nil || err.Error() != dir+": not a regular file" {
		t.Errorf("Load of a directory = %v", err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("ir\n1\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, withRate(ppg, 2, false)); err == nil || err.Error() != bad+`: line 3, column 1 (ir): "x" is not a number` {
		t.Errorf("Load of a bad file = %v", err)
	}
}

// Options.Offset is added to every data value, not to t; a value that the
// offset takes past MaxAbsValue, and an offset that is not finite, are
// errors.
func TestReadOffset(t *testing.T) {
	o := Options{Device: "tmp117", Columns: []string{"temp_c"}, Offset: 4.5}
	p, err := Read(strings.NewReader("t,temp_c\n10,32\n12,33\n"), "temp.csv", o)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.At(time.Second); !ok || s[0] != 37 {
		t.Fatalf("At(1s) = %v, %v; want 37 (32.5 + 4.5)", s, ok)
	}
	if p.End() != 2*time.Second {
		t.Fatalf("End = %v: the offset moved t", p.End())
	}
	if _, err := Read(strings.NewReader("temp_c\n1e9\n0\n"), "temp.csv", Options{Device: "tmp117", Columns: []string{"temp_c"}, RateHz: 1, Offset: 1}); err == nil ||
		err.Error() != `temp.csv: line 2, column 1 (temp_c): 1e9 with the offset 1 is outside ±1e+09` {
		t.Fatalf("a value past the bound with the offset: %v", err)
	}
	for _, off := range []float64{math.NaN(), math.Inf(1), 2e9} {
		if _, err := Read(strings.NewReader("temp_c\n1\n2\n"), "temp.csv", Options{Device: "tmp117", Columns: []string{"temp_c"}, RateHz: 1, Offset: off}); err == nil ||
			!strings.Contains(err.Error(), "offset") {
			t.Fatalf("offset %g: %v", off, err)
		}
	}
}
