// Command convert writes the recordings in sim/scenarios/recordings/ from the
// project's copies of their original files, in the CSV format the
// scenarios' `playback` reads (package sim/playback): a header row naming
// the columns, then one row per sample. From the repository's root:
//
//	go run ./sim/scenarios/recordings/convert -src ../shared/data/real -dst sim/scenarios/recordings
//
// Each conversion only reshapes a file: it adds the header, drops the
// Empatica E4 export's two leading lines (start time and rate, checked),
// turns HeartPy's millisecond timer into seconds, and writes one signal of
// a WFDB record (internal/wfdb: PhysioNet's header and format-16 binary)
// as text, one stored sample (ADC units) per line. Sample values are
// copied as the source writes them. The licence file of each source is
// copied beside the recordings. The test checks that the committed
// recordings are what this command writes.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sleegation/podd/internal/wfdb"
)

// conversion turns one source file into one recording.
type conversion struct {
	src, dst string // relative to -src and -dst
	convert  func(r io.Reader, w io.Writer) error
}

var conversions = []conversion{
	// HeartPy data.csv: fingertip PPG, one wavelength, 100 Hz, no header.
	{src: "ppg/heartpy_data.csv", dst: "heartpy_data.csv", convert: column("ir")},
	// HeartPy data2.csv: timer (ms), hr (the PPG, ADC counts), ~117 Hz.
	{src: "ppg/heartpy_data2.csv", dst: "heartpy_data2.csv", convert: timerMs("timer,hr", "ir")},
	// YASA: single-channel N2 sleep EEG in µV, 200 Hz, no header.
	{src: "eeg/data_N2_spindles_15sec_200Hz.txt", dst: "yasa_n2_200hz.csv", convert: column("ch1")},
	// Empatica E4 (flirt test data): skin conductance in µS at 4 Hz.
	{src: "eda-temp/EDA.csv", dst: "e4_eda.csv", convert: empatica("eda_us", 4)},
	// Empatica E4 (flirt test data): skin temperature in °C at 4 Hz.
	{src: "eda-temp/TEMP.csv", dst: "e4_temp.csv", convert: empatica("temp_c", 4)},
}

// record is one signal of a WFDB record written as a recording: the column
// name, then the signal's stored samples, one per line.
type record struct {
	src      string  // the header, relative to -src; the signal file lies beside it
	signal   string  // the signal's description in the header
	rateHz   float64 // the record's sampling frequency, checked
	dst, col string  // the recording, relative to -dst, and its column
}

var records = []record{
	// a103l (PhysioNet/CinC Challenge 2015, from wfdb-python's sample
	// data): an ICU record's finger PLETH, 250 Hz, 330 s.
	{src: "ppg/a103l.hea", signal: "PLETH", rateHz: 250, dst: "a103l_pleth.csv", col: "ir"},
}

// licences are copied unchanged.
var licences = []string{"ppg/LICENSE.heartpy", "ppg/LICENSE.wfdb-python", "eeg/LICENSE.yasa", "eda-temp/LICENSE.flirt"}

func main() {
	src := flag.String("src", "../shared/data/real", "directory of the original files")
	dst := flag.String("dst", "sim/scenarios/recordings", "directory to write the recordings to")
	flag.Parse()
	if err := run(*src, *dst); err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
}

func run(src, dst string) error {
	for _, c := range conversions {
		if err := convertFile(filepath.Join(src, c.src), filepath.Join(dst, c.dst), c.convert); err != nil {
			return err
		}
	}
	for _, r := range records {
		if err := writeRecord(filepath.Join(src, r.src), filepath.Join(dst, r.dst), r); err != nil {
			return err
		}
	}
	for _, l := range licences {
		if err := convertFile(filepath.Join(src, l), filepath.Join(dst, filepath.Base(l)), copyAll); err != nil {
			return err
		}
	}
	return nil
}

func convertFile(from, to string, convert func(io.Reader, io.Writer) error) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(out)
	if err := convert(in, w); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	return w.Flush()
}

// writeRecord writes the signal r names of the WFDB record whose header is
// at from into the file to.
func writeRecord(from, to string, r record) (err error) {
	h, x, err := wfdb.ReadSignal(from, r.signal)
	if err != nil {
		return err
	}
	if h.FrequencyHz != r.rateHz {
		return fmt.Errorf("%s: %g Hz, want %g", from, h.FrequencyHz, r.rateHz)
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(out)
	if err := signalColumn(w, r.col, x); err != nil {
		return err
	}
	return w.Flush()
}

// signalColumn writes a header row of name and one stored sample per line.
func signalColumn(w io.Writer, name string, x []int16) error {
	if _, err := fmt.Fprintln(w, name); err != nil {
		return err
	}
	b := make([]byte, 0, 8)
	for _, v := range x {
		b = strconv.AppendInt(b[:0], int64(v), 10)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func copyAll(r io.Reader, w io.Writer) error {
	_, err := io.Copy(w, r)
	return err
}

// lines calls f with each non-blank line, trimmed, and its number.
func lines(r io.Reader, f func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

func number(n int, text string) (float64, error) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, fmt.Errorf("line %d: %q is not a number", n, text)
	}
	return v, nil
}

// column converts a headerless file of one value per line.
func column(name string) func(io.Reader, io.Writer) error {
	return func(r io.Reader, w io.Writer) error {
		fmt.Fprintln(w, name)
		return lines(r, func(n int, line string) error {
			if _, err := number(n, line); err != nil {
				return err
			}
			_, err := fmt.Fprintln(w, line)
			return err
		})
	}
}

// empatica converts an E4 export: line 1 the start (unix s), line 2 the rate
// (Hz, which must be rateHz), then one value per line.
func empatica(name string, rateHz float64) func(io.Reader, io.Writer) error {
	return func(r io.Reader, w io.Writer) error {
		fmt.Fprintln(w, name)
		return lines(r, func(n int, line string) error {
			v, err := number(n, line)
			switch {
			case err != nil:
				return err
			case n == 1: // the start time
				return nil
			case n == 2:
				if v != rateHz {
					return fmt.Errorf("line 2: rate %g Hz, want %g", v, rateHz)
				}
				return nil
			}
			_, err = fmt.Fprintln(w, line)
			return err
		})
	}
}

// timerMs converts a file whose header is header and whose rows are a timer
// in milliseconds and a value: to t in seconds and the value as name.
func timerMs(header, name string) func(io.Reader, io.Writer) error {
	return func(r io.Reader, w io.Writer) error {
		fmt.Fprintln(w, "t,"+name)
		return lines(r, func(n int, line string) error {
			if n == 1 {
				if line != header {
					return fmt.Errorf("line 1: header %q, want %q", line, header)
				}
				return nil
			}
			ms, value, ok := strings.Cut(line, ",")
			if !ok {
				return errors.New("line " + strconv.Itoa(n) + ": want timer,value")
			}
			if _, err := number(n, value); err != nil {
				return err
			}
			s, err := milliToUnit(ms)
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			_, err = fmt.Fprintf(w, "%s,%s\n", s, value)
			return err
		})
	}
}

// milliToUnit divides a plain decimal number by 1000 by moving its point,
// so that no rounding creeps in: "8.54790319355" becomes "0.00854790319355".
func milliToUnit(text string) (string, error) {
	sign, digits := "", text
	if rest, ok := strings.CutPrefix(digits, "-"); ok {
		sign, digits = "-", rest
	}
	whole, frac, _ := strings.Cut(digits, ".")
	all := whole + frac
	if all == "" || strings.Trim(all, "0123456789") != "" {
		return "", fmt.Errorf("%q is not a plain decimal number", text)
	}
	point := len(whole) - 3
	if point <= 0 {
		all = strings.Repeat("0", 1-point) + all
		point = 1
	}
	whole = strings.TrimLeft(all[:point], "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(all[point:], "0")
	if frac == "" {
		if whole == "0" {
			sign = ""
		}
		return sign + whole, nil
	}
	return sign + whole + "." + frac, nil
}
