package eeg

import (
	"bufio"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

// loadSamples reads a YASA recording: one value in µV per line.
func loadSamples(t testing.TB, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// reference is one row of eeg_bandpower.csv.
type reference struct {
	file     string
	fs       float64
	seconds  float64
	abs, rel Powers
}

func loadReference(t testing.TB) []reference {
	t.Helper()
	f, err := os.Open("testdata/eeg_bandpower.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var out []reference
	for _, row := range rows[1:] {
		r := reference{file: row[0], fs: num(row[2]), seconds: num(row[3])}
		for b := range NumBands {
			r.abs[b] = num(row[4+2*b])
			r.rel[b] = num(row[5+2*b])
		}
		out = append(out, r)
	}
	return out
}

// TestRecordingsMatchScipy feeds each YASA recording whole to an Estimator
// whose span is the recording's length, so that it averages the segments
// scipy.signal.welch averaged, and compares every band with
// eeg_bandpower.csv. The reference is printed to 3 decimals (4 for the
// relative powers): the tolerance is half a unit of its last digit plus
// 1e-4 relative.
func TestRecordingsMatchScipy(t *testing.T) {
	refs := loadReference(t)
	if len(refs) != 2 {
		t.Fatalf("eeg_bandpower.csv has %d rows, want 2", len(refs))
	}
	for _, ref := range refs {
		t.Run(ref.file, func(t *testing.T) {
			x := loadSamples(t, "testdata/"+ref.file)
			if got := float64(len(x)) / ref.fs; got != ref.seconds {
				t.Fatalf("recording lasts %g s, reference says %g s", got, ref.seconds)
			}
			e, err := New(Opts{Channels: 1, SampleRateHz: ref.fs, SpanSeconds: ref.seconds, FullScaleMicrovolts: 187500})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range x {
				e.Add([]float64{v})
			}
			r := e.Estimate()
			ch := r.Channels[0]
			if !ch.Valid {
				t.Fatalf("channel invalid: %v", ch.Reason)
			}
			for b := range NumBands {
				t.Logf("%-5v abs %9.3f µV² (ref %9.3f, %+.4f %%)  rel %.4f (ref %.4f)", Band(b),
					ch.Abs[b], ref.abs[b], 100*(ch.Abs[b]/ref.abs[b]-1), ch.Rel[b], ref.rel[b])
				if d := math.Abs(ch.Abs[b] - ref.abs[b]); d > 0.0005+1e-4*ref.abs[b] {
					t.Errorf("%v: absolute power %.4f µV², reference %.3f", Band(b), ch.Abs[b], ref.abs[b])
				}
				if d := math.Abs(ch.Rel[b] - ref.rel[b]); d > 0.00005+1e-4*ref.rel[b] {
					t.Errorf("%v: relative power %.5f, reference %.4f", Band(b), ch.Rel[b], ref.rel[b])
				}
			}
			want := ch
			want.Segments = 1 // the summary counts channels
			// The recent ratio is the channel's change over its span
			// times the span's ratio: equal to within rounding.
			got := r.Summary
			if math.Abs(got.RecentBetaAlpha/want.RecentBetaAlpha-1) > 1e-12 {
				t.Errorf("summary's recent beta/alpha %v, want the channel's %v", got.RecentBetaAlpha, want.RecentBetaAlpha)
			}
			got.RecentBetaAlpha = want.RecentBetaAlpha
			if got != want {
				t.Errorf("summary of one valid channel %+v, want the channel %+v", r.Summary, ch)
			}
		})
	}
}
