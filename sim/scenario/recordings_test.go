package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/sim/playback"
)

// writeFiles writes name -> content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A scenario's playback entries are loaded with it, relative paths against
// the scenario file's directory, one recording per device.
func TestPlayback(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "temp.csv")
	writeFiles(t, dir, map[string]string{
		"recordings/ppg.csv": "ir\n100\n200\n400\n",
		"recordings/eeg.csv": "t,ch2,ch7\n0,1,-1\n0.5,3,-3\n2,0,0\n",
		"eda.csv":            "eda_us\n2\n4\n",
	})
	writeFiles(t, filepath.Dir(abs), map[string]string{"temp.csv": "temp_c\n36\n37\n"})
	writeFiles(t, dir, map[string]string{"night.yaml": base + `playback:
  - {device: max30102, file: recordings/ppg.csv, rate_hz: 100}
  - {device: ads1299, file: recordings/eeg.csv, loop: true}
  - {device: ads1115, file: eda.csv, rate_hz: 4, loop: false}
  - {device: tmp117, file: ` + abs + `, rate_hz: 1, offset: -0.5}
`})
	s, err := Load(filepath.Join(dir, "night.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantRecs := []Recording{
		{Device: "max30102", File: "recordings/ppg.csv", Path: filepath.Join(dir, "recordings/ppg.csv"), RateHz: 100},
		{Device: "ads1299", File: "recordings/eeg.csv", Path: filepath.Join(dir, "recordings/eeg.csv"), Loop: true},
		{Device: "ads1115", File: "eda.csv", Path: filepath.Join(dir, "eda.csv"), RateHz: 4},
		{Device: "tmp117", File: abs, Path: abs, RateHz: 1, Offset: -0.5},
	}
	if !slices.Equal(s.Recordings, wantRecs) {
		t.Errorf("Recordings = %+v\nwant %+v", s.Recordings, wantRecs)
	}
	tests := []struct {
		device string
		d      time.Duration
		want   playback.Sample
		ok     bool
	}{
		{"max30102", 15 * time.Millisecond, playback.Sample{PlaybackIR: 300}, true},
		{"max30102", 21 * time.Millisecond, playback.Sample{}, false},
		{"ads1299", 250 * time.Millisecond, playback.Sample{1: 2, 6: -2}, true},
		{"ads1299", 1250 * time.Millisecond, playback.Sample{1: 1.5, 6: -1.5}, true},
		{"ads1299", 3 * time.Second, playback.Sample{1: 1, 6: -1}, true}, // one period is 2 s + a 1 s wrap
		{"ads1115", 125 * time.Millisecond, playback.Sample{PlaybackEDAUS: 3}, true},
		{"tmp117", 500 * time.Millisecond, playback.Sample{PlaybackTempC: 36}, true}, // 36.5 with the offset -0.5
		{"tmp117", 2 * time.Second, playback.Sample{}, false},
	}
	for _, tt := range tests {
		p := s.Playback(tt.device)
		if p == nil {
			t.Fatalf("Playback(%s) = nil", tt.device)
		}
		if got, ok := p.At(tt.d); got != tt.want || ok != tt.ok {
			t.Errorf("Playback(%s).At(%v) = %v, %v; want %v, %v", tt.device, tt.d, got, ok, tt.want, tt.ok)
		}
	}
	if p := s.Playback("max30102"); p.Has(PlaybackRed) || !p.Has(PlaybackIR) {
		t.Errorf("max30102 recording: Has(red) %v, Has(ir) %v; want false, true", p.Has(PlaybackRed), p.Has(PlaybackIR))
	}
	if p := s.Playback("apa102"); p != nil {
		t.Errorf("Playback(apa102) = %v, want nil", p)
	}
	if p := mustParse(t, base).Playback("max30102"); p != nil {
		t.Errorf("a scenario without playback: Playback(max30102) = %v", p)
	}
}

// Parse has no file: relative paths are the working directory's.
func TestParsePlaybackRelativeToWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ppg.csv": "ir,red\n1,2\n3,4\n"})
	t.Chdir(dir)
	s := mustParse(t, base+"playback: [{device: max30102, file: ppg.csv, rate_hz: 10}]\n")
	if got, ok := s.Playback("max30102").At(50 * time.Millisecond); got != (playback.Sample{2, 3}) || !ok {
		t.Errorf("At(50ms) = %v, %v; want [2 3], true", got, ok)
	}
}

func TestPlaybackErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ppg.csv":   "ir\n1\n2\n",
		"t.csv":     "t,ir\n0,1\n1,2\n",
		"bad.csv":   "ir,red\n1,2\n3,x\n",
		"order.csv": "t,temp_c\n0,36\n0,37\n",
		"cols.csv":  "ir,spo2\n1,2\n",
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name, entries string
		want          []string
	}{
		{
			"device missing, unknown, an output; file missing",
			"  - {file: ppg.csv, rate_hz: 1}\n  - {device: bme280, file: ppg.csv, rate_hz: 1}\n  - {device: apa102, file: ppg.csv, rate_hz: 1}\n  - {device: tmp117}\n",
			[]string{
				"playback[0].device: missing (one of max30102, ads1299, ads1115, tmp117) (line 3)",
				`playback[1].device: "bme280" does not play a recording (one of max30102, ads1299, ads1115, tmp117) (line 4)`,
				`playback[2].device: "apa102" does not play a recording (one of max30102, ads1299, ads1115, tmp117) (line 5)`,
				"playback[3].file: missing (a CSV file, relative to the scenario file's directory) (line 6)",
			},
		},
		{
			"a device twice", "  - {device: max30102, file: ppg.csv, rate_hz: 1}\n  - {device: max30102, file: ppg.csv, rate_hz: 2}\n",
			[]string{"playback[1].device: max30102 already plays playback[0] (one recording per device) (line 4)"},
		},
		{
			"a missing file", "  - {device: max30102, file: absent.csv, rate_hz: 1}\n",
			[]string{"playback[0].file: open " + at("absent.csv") + ": no such file or directory (line 3)"},
		},
		{
			"rate_hz zero, negative, too high, not a number",
			"  - {device: max30102, file: ppg.csv, rate_hz: 0}\n  - {device: ads1299, file: ppg.csv, rate_hz: -5}\n  - {device: ads1115, file: ppg.csv, rate_hz: 1e6}\n",
			[]string{
				"playback[0].rate_hz: 0 is outside 0..100000 (and must be above 0) (line 3)",
				"playback[1].rate_hz: -5 is outside 0..100000 (and must be above 0) (line 4)",
				"playback[2].rate_hz: 1e+06 is outside 0..100000 (and must be above 0) (line 5)",
			},
		},
		{
			"offset not finite, too large",
			"  - {device: max30102, file: ppg.csv, rate_hz: 1, offset: .nan}\n  - {device: ads1115, file: ppg.csv, rate_hz: 1, offset: 2e9}\n",
			[]string{
				"playback[0].offset: NaN is not a finite number within ±1e+09 (added to every value, in the file's units) (line 3)",
				"playback[1].offset: 2e+09 is not a finite number within ±1e+09 (added to every value, in the file's units) (line 4)",
			},
		},
		{
			"rate_hz not a number, loop not a bool", "  - {device: max30102, file: ppg.csv, rate_hz: fast, loop: often}\n",
			[]string{
				`playback[0].rate_hz: "fast" is not a number (line 3)`,
				`playback[0].loop: "often" is not true or false (line 3)`,
			},
		},
		{
			"both t and rate_hz, neither",
			"  - {device: max30102, file: t.csv, rate_hz: 100}\n  - {device: ads1115, file: ppg.csv}\n",
			[]string{
				"playback[0].file: " + at("t.csv") + ": line 1: both a t column and rate_hz 100 time the rows (keep one: t for timestamps, rate_hz for evenly spaced rows) (line 3)",
				`playback[1].file: ` + at("ppg.csv") + `: line 1, column 1: "ir" is not a column of ads1115 (allowed: t, eda_us) (line 4)`,
			},
		},
		{
			"neither t nor rate_hz", "  - {device: max30102, file: ppg.csv}\n",
			[]string{"playback[0].file: " + at("ppg.csv") + ": line 1: neither a t column nor rate_hz times the rows (give rate_hz for evenly spaced rows, or a t column in seconds) (line 3)"},
		},
		{
			"a bad value, t not increasing, an unknown column",
			"  - {device: max30102, file: bad.csv, rate_hz: 1}\n  - {device: tmp117, file: order.csv}\n  - {device: ads1299, file: cols.csv, rate_hz: 1}\n",
			[]string{
				"playback[0].file: " + at("bad.csv") + `: line 3, column 2 (red): "x" is not a number (line 3)`,
				"playback[1].file: " + at("order.csv") + ": line 3, column 1 (t): 0 is not after the previous row's 0 (t must increase) (line 4)",
				"playback[2].file: " + at("cols.csv") + `: line 1, column 1: "ir" is not a column of ads1299 (allowed: t, ch1, ch2, ch3, ch4, ch5, ch6, ch7, ch8) (line 5)`,
			},
		},
		{
			"an unknown key", "  - {device: max30102, file: ppg.csv, rate: 100}\n",
			[]string{"playback[0].rate: unknown key (allowed: device, file, rate_hz, loop, offset) (line 3)"},
		},
		{
			"not a list", "  device: max30102\n",
			[]string{"playback: a mapping is not a list (line 3)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "s.yaml")
			writeFiles(t, dir, map[string]string{"s.yaml": base + "playback:\n" + tt.entries})
			s, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded with %+v", s)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, "scenario "+path+": "+w)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("Load error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// Each shipped playback scenario plays its recording from the file's first
// row to its last, and stops or loops as its comment says.
func TestShippedPlayback(t *testing.T) {
	tests := []struct {
		scenario, device string
		first            playback.Sample
		rows             int
		end              time.Duration
		loop             bool
	}{
		{"ppg-heartpy", DeviceMAX30102, playback.Sample{PlaybackIR: 530}, 2483, 24820 * time.Millisecond, true},
		{"ppg-no-finger", DeviceMAX30102, playback.Sample{PlaybackIR: 515}, 15000, 128210 * time.Millisecond, false},
		{"ppg-a103l", DeviceMAX30102, playback.Sample{PlaybackIR: 6042}, 82500, 329996 * time.Millisecond, false},
		{"eeg-n2", DeviceADS1299, playback.Sample{-2.805092048645019531e+01}, 3000, 14995 * time.Millisecond, true},
		{"eda-e4", DeviceADS1115, playback.Sample{PlaybackEDAUS: 0}, 9998, 2499250 * time.Millisecond, false},
		{"temp-e4", DeviceTMP117, playback.Sample{PlaybackTempC: 32.13 + 4.5}, 4998, 1249250 * time.Millisecond, true},
	}
	for _, tt := range tests {
		s, err := Load("../scenarios/" + tt.scenario + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		p := s.Playback(tt.device)
		if p == nil || len(s.Recordings) != 1 {
			t.Fatalf("%s: Playback(%s) = %v, Recordings %+v", tt.scenario, tt.device, p, s.Recordings)
		}
		if got, ok := p.At(0); got != tt.first || !ok {
			t.Errorf("%s: At(0) = %v, %v; want %v, true", tt.scenario, got, ok, tt.first)
		}
		if p.Rows() != tt.rows || p.End() != tt.end || p.Loop() != tt.loop {
			t.Errorf("%s: Rows, End, Loop = %d, %v, %v; want %d, %v, %v", tt.scenario, p.Rows(), p.End(), p.Loop(), tt.rows, tt.end, tt.loop)
		}
		if _, ok := p.At(p.End() + 1); ok != tt.loop {
			t.Errorf("%s: At(End+1ns) ok = %v, want %v", tt.scenario, ok, tt.loop)
		}
	}
	if got := mustLoad(t, "../scenarios/eeg-n2.yaml").VitalsAt(0).EEG; got != n2 {
		t.Errorf("eeg-n2: baseline EEG %+v, want N2's", got)
	}
}

func mustLoad(t *testing.T, path string) *Scenario {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
