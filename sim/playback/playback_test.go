package playback

import (
	"strings"
	"testing"
	"time"
)

var ppg = Options{Device: "max30102", Columns: []string{"ir", "red"}, Required: []string{"ir"}}

func mustRead(t testing.TB, src string, o Options) *Playback {
	t.Helper()
	p, err := Read(strings.NewReader(src), "test.csv", o)
	if err != nil {
		t.Fatalf("Read:\n%s\nerror: %v", src, err)
	}
	return p
}

func withRate(o Options, hz float64, loop bool) Options {
	o.RateHz, o.Loop = hz, loop
	return o
}

const ms = time.Millisecond

type at struct {
	d    time.Duration
	want Sample
	ok   bool
}

func check(t *testing.T, p *Playback, ats []at) {
	t.Helper()
	for _, a := range ats {
		got, ok := p.At(a.d)
		if got != a.want || ok != a.ok {
			t.Errorf("At(%v) = %v, %v; want %v, %v", a.d, got, ok, a.want, a.ok)
		}
	}
}

// Evenly spaced rows play at 1/rate each, interpolated linearly between
// rows, and end after the last row.
func TestAtEvenlySpaced(t *testing.T) {
	p := mustRead(t, "ir,red\n0,100\n10,80\n30,80\n", withRate(ppg, 100, false))
	check(t, p, []at{
		{-1, Sample{}, false},
		{0, Sample{0, 100}, true},
		{5 * ms, Sample{5, 90}, true},
		{7500 * time.Microsecond, Sample{7.5, 85}, true},
		{10 * ms, Sample{10, 80}, true},
		{15 * ms, Sample{20, 80}, true},
		{20 * ms, Sample{30, 80}, true},
		{20*ms + 1, Sample{}, false},
		{time.Hour, Sample{}, false},
	})
	if got := p.End(); got != 20*ms {
		t.Errorf("End() = %v, want 20ms", got)
	}
	if p.Loop() || p.Rows() != 3 || p.String() != "test.csv" {
		t.Errorf("Loop, Rows, String = %v, %d, %q; want false, 3, test.csv", p.Loop(), p.Rows(), p.String())
	}
}

// A looping recording wraps from its last row to its first over one row
// interval, and repeats.
func TestAtLoopEvenlySpaced(t *testing.T) {
	p := mustRead(t, "ir\n0\n10\n30\n", withRate(ppg, 100, true))
	check(t, p, []at{
		{20 * ms, Sample{30}, true},
		{25 * ms, Sample{15}, true}, // halfway from the last row back to the first
		{30 * ms, Sample{0}, true},
		{35 * ms, Sample{5}, true},
		{time.Hour + 5*ms, Sample{5}, true}, // 1h is a whole number of 30 ms periods
		{time.Hour + 25*ms, Sample{15}, true},
	})
}

// A t column gives each row its time, relative to the first row's.
func TestAtTimestamps(t *testing.T) {
	src := "t,ir\n0.5,10\n1.0,20\n3.0,0\n"
	p := mustRead(t, src, ppg)
	check(t, p, []at{
		{0, Sample{10}, true},
		{250 * ms, Sample{15}, true},
		{500 * ms, Sample{20}, true},
		{1500 * ms, Sample{10}, true},
		{2500 * ms, Sample{0}, true},
		{2500*ms + 1, Sample{}, false},
	})
	if got := p.End(); got != 2500*ms {
		t.Errorf("End() = %v, want 2.5s", got)
	}

	// Looping, the wrap takes the mean row interval, (3.0-0.5)/2 = 1.25 s:
	// one period is 3.75 s.
	p = mustRead(t, src, Options{Device: "max30102", Columns: []string{"ir", "red"}, Loop: true})
	check(t, p, []at{
		{2500 * ms, Sample{0}, true},
		{3125 * ms, Sample{5}, true},
		{3750 * ms, Sample{10}, true},
		{4000 * ms, Sample{15}, true},
		{4*3750*ms + 1500*ms, Sample{10}, true},
	})
}

// A file with a subset of the columns fills their slots, whatever their
// order in the file; the others stay 0 and Has says so.
func TestColumnSubset(t *testing.T) {
	eeg := Options{Device: "ads1299", Columns: []string{"ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8"}, RateHz: 200}
	p := mustRead(t, "ch3, ch1\n-12.5, 3\n7.5, 5\n", eeg)
	check(t, p, []at{
		{0, Sample{3, 0, -12.5}, true},
		{2500 * time.Microsecond, Sample{4, 0, -2.5}, true},
	})
	for slot, want := range []bool{true, false, true, false, false, false, false, false} {
		if p.Has(slot) != want {
			t.Errorf("Has(%d) = %v, want %v", slot, p.Has(slot), want)
		}
	}
	if p.Has(-1) || p.Has(MaxColumns) {
		t.Error("Has outside the slots is true")
	}
	cols := p.Columns()
	cols[0] = "changed"
	if p.Columns()[0] != "ch1" {
		t.Error("Columns() returns the recording's own slice")
	}
}

// The file's quirks that are not errors: a byte order mark, CRLF line ends,
// spaces around values, blank lines, exponents.
func TestReadTolerates(t *testing.T) {
	p := mustRead(t, "\ufeffir , red\r\n\r\n 1e1 ,2\r\n\n3, 4.5E0\r\n\n", withRate(ppg, 1, false))
	check(t, p, []at{{0, Sample{10, 2}, true}, {time.Second, Sample{3, 4.5}, true}})
}

func TestAtDoesNotAllocate(t *testing.T) {
	even := mustRead(t, "ir,red\n0,100\n10,80\n30,80\n", withRate(ppg, 100, true))
	stamped := mustRead(t, "t,ir\n0,1\n0.3,2\n1,3\n", ppg)
	var sink Sample
	for name, p := range map[string]*Playback{"evenly spaced": even, "t column": stamped} {
		if n := testing.AllocsPerRun(100, func() { sink, _ = p.At(7 * ms) }); n != 0 {
			t.Errorf("%s: At allocates %v times per call", name, n)
		}
	}
	_ = sink
}
