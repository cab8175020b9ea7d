package scenario

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/sim/playback"
)

const base = "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5}\n"

func mustParse(t testing.TB, src string) *Scenario {
	t.Helper()
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", src, err)
	}
	return s
}

// awake is the EEG of a baseline that gives none.
var awake = EEGBands{Delta: 15, Theta: 8, Alpha: 40, Sigma: 6, Beta: 8, Gamma: 1.5}

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func TestVitalsAt(t *testing.T) {
	baseline := Vitals{HeartRateBPM: 60, SpO2Pct: 97, SkinConductanceUS: 2, BodyTempC: 36.5, EEG: awake}
	withHR := func(hr float64) Vitals { v := baseline; v.HeartRateBPM = hr; return v }
	type at struct {
		d    time.Duration
		want Vitals
	}
	tests := []struct {
		name     string
		timeline string
		at       []at
	}{
		{
			name:     "no timeline holds the baseline",
			timeline: "",
			at:       []at{{0, baseline}, {time.Hour, baseline}},
		},
		{
			name:     "before the start is the baseline",
			timeline: "  - {at: 0s, set: {heart_rate_bpm: 100}}\n",
			at:       []at{{-time.Second, baseline}, {0, withHR(100)}},
		},
		{
			name:     "a set without ramp is a step at its at",
			timeline: "  - {at: 10s, set: {heart_rate_bpm: 100}}\n",
			at:       []at{{sec(9.999), baseline}, {sec(10), withHR(100)}, {time.Hour, withHR(100)}},
		},
		{
			name:     "a ramp is linear from at to at+ramp, then holds",
			timeline: "  - {at: 10s, ramp: 10s, set: {heart_rate_bpm: 160}}\n",
			at: []at{
				{sec(10), withHR(60)}, {sec(12.5), withHR(85)}, {sec(15), withHR(110)},
				{sec(20), withHR(160)}, {time.Hour, withHR(160)},
			},
		},
		{
			name:     "a ramp down",
			timeline: "  - {at: 0s, ramp: 4s, set: {spo2_pct: 85}}\n",
			at: []at{
				{sec(1), Vitals{60, 94, 2, 36.5, awake}}, {sec(4), Vitals{60, 85, 2, 36.5, awake}},
			},
		},
		{
			name: "a ramp over one still in progress starts where that one has got to",
			timeline: "  - {at: 0s, ramp: 10s, set: {heart_rate_bpm: 160}}\n" +
				"  - {at: 5s, ramp: 10s, set: {heart_rate_bpm: 60}}\n",
			at: []at{
				{sec(2.5), withHR(85)}, {sec(5), withHR(110)}, {sec(10), withHR(85)},
				{sec(15), withHR(60)}, {time.Hour, withHR(60)},
			},
		},
		{
			name: "a step over a ramp in progress stops it",
			timeline: "  - {at: 0s, ramp: 10s, set: {heart_rate_bpm: 160}}\n" +
				"  - {at: 5s, set: {heart_rate_bpm: 70}}\n",
			at: []at{{sec(4), withHR(100)}, {sec(5), withHR(70)}, {sec(10), withHR(70)}},
		},
		{
			name: "a ramp after a finished ramp starts from its target",
			timeline: "  - {at: 0s, ramp: 2s, set: {heart_rate_bpm: 100}}\n" +
				"  - {at: 10s, ramp: 4s, set: {heart_rate_bpm: 60}}\n",
			at: []at{{sec(5), withHR(100)}, {sec(11), withHR(90)}, {sec(14), withHR(60)}},
		},
		{
			name: "a set of another vital leaves a ramp in progress running",
			timeline: "  - {at: 0s, ramp: 10s, set: {heart_rate_bpm: 160}}\n" +
				"  - {at: 5s, set: {spo2_pct: 90}}\n",
			at: []at{
				{sec(4), Vitals{100, 97, 2, 36.5, awake}}, {sec(5), Vitals{110, 90, 2, 36.5, awake}},
				{sec(10), Vitals{160, 90, 2, 36.5, awake}},
			},
		},
		{
			name: "of two steps at the same time the later wins",
			timeline: "  - {at: 10s, set: {heart_rate_bpm: 100}}\n" +
				"  - {at: 10s, set: {heart_rate_bpm: 120}}\n",
			at: []at{{sec(10), withHR(120)}},
		},
		{
			name:     "one step ramps several vitals together",
			timeline: "  - {at: 0s, ramp: 8s, set: {heart_rate_bpm: 100, spo2_pct: 89, skin_conductance_us: 10, body_temp_c: 38.5}}\n",
			at:       []at{{sec(2), Vitals{70, 95, 4, 37, awake}}, {sec(8), Vitals{100, 89, 10, 38.5, awake}}},
		},
		{
			name: "faults and presses do not move vitals",
			timeline: "  - {at: 1s, fault: {device: max30102, kind: stuck}}\n" +
				"  - {at: 2s, press: panic}\n",
			at: []at{{sec(3), baseline}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, base+"timeline:\n"+tt.timeline)
			for _, a := range tt.at {
				if got := s.VitalsAt(a.d); got != a.want {
					t.Errorf("VitalsAt(%v) = %+v, want %+v", a.d, got, a.want)
				}
			}
		})
	}
}

func TestFaultAt(t *testing.T) {
	type at struct {
		device string
		d      time.Duration
		want   string
	}
	tests := []struct {
		name     string
		timeline string
		at       []at
	}{
		{
			name:     "a fault with for is active from at to at+for, excluded",
			timeline: "  - {at: 30s, fault: {device: max30102, kind: disconnect, for: 20s}}\n",
			at: []at{
				{"max30102", sec(29.999), ""}, {"max30102", sec(30), "disconnect"},
				{"max30102", sec(49.999), "disconnect"}, {"max30102", sec(50), ""},
				{"apa102", sec(40), ""}, {"tmp117", sec(40), ""},
			},
		},
		{
			name:     "a fault without for lasts until the end",
			timeline: "  - {at: 5s, fault: {device: apa102, kind: nack}}\n",
			at:       []at{{"apa102", sec(4), ""}, {"apa102", sec(5), "nack"}, {"apa102", 1000 * time.Hour, "nack"}},
		},
		{
			name: "a later fault replaces the device's current one, and its end is the device's",
			timeline: "  - {at: 10s, fault: {device: max30102, kind: disconnect, for: 100s}}\n" +
				"  - {at: 20s, fault: {device: max30102, kind: nack, for: 5s}}\n",
			at: []at{
				{"max30102", sec(15), "disconnect"}, {"max30102", sec(20), "nack"},
				{"max30102", sec(25), ""}, {"max30102", sec(60), ""},
			},
		},
		{
			name: "devices fault independently",
			timeline: "  - {at: 10s, fault: {device: max30102, kind: stuck, for: 10s}}\n" +
				"  - {at: 15s, fault: {device: apa102, kind: disconnect}}\n",
			at: []at{
				{"max30102", sec(15), "stuck"}, {"apa102", sec(15), "disconnect"},
				{"max30102", sec(20), ""}, {"apa102", sec(20), "disconnect"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, base+"timeline:\n"+tt.timeline)
			for _, a := range tt.at {
				if got := s.FaultAt(a.device, a.d); got != a.want {
					t.Errorf("FaultAt(%q, %v) = %q, want %q", a.device, a.d, got, a.want)
				}
			}
		})
	}
}

func TestPressesBetween(t *testing.T) {
	s := mustParse(t, base+`timeline:
  - {at: 0s, press: consent}
  - {at: 10s, press: consent}
  - {at: 20s, press: panic}
  - {at: 20s, press: consent}
`)
	tests := []struct {
		from, to time.Duration
		want     []string
	}{
		{-time.Second, 0, []string{"consent"}},
		{0, sec(10), []string{"consent"}},
		{0, sec(9.999), nil},
		{sec(10), sec(20), []string{"panic", "consent"}},
		{0, time.Hour, []string{"consent", "panic", "consent"}},
		{sec(20), time.Hour, nil},
		{sec(10), sec(10), nil},
		{sec(20), sec(10), nil},
	}
	for _, tt := range tests {
		got := s.PressesBetween(tt.from, tt.to)
		if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("PressesBetween(%v, %v) = %#v, want %#v", tt.from, tt.to, got, tt.want)
		}
	}

	// The result is the caller's: changing it changes no later answer.
	got := s.PressesBetween(0, sec(10))
	got[0] = "panic"
	if again := s.PressesBetween(0, sec(10)); again[0] != "consent" {
		t.Errorf("after changing a result, PressesBetween = %q, want consent", again)
	}
}

// Occupancy starts as the file's top-level occupied says (true when left
// out) and follows the occupied steps, each from its at on.
func TestOccupiedAt(t *testing.T) {
	tests := []struct {
		name string
		src  string
		at   map[time.Duration]bool
	}{
		{"left out", base, map[time.Duration]bool{0: true, time.Hour: true}},
		{"an empty pod", base + "occupied: false\n", map[time.Duration]bool{0: false, time.Hour: false}},
		{"the sleeper arrives, leaves and comes back", base + `occupied: false
timeline:
  - {at: 10s, occupied: true}
  - {at: 1m, occupied: false}
  - {at: 2m, occupied: true}
`, map[time.Duration]bool{0: false, sec(9.999): false, sec(10): true, sec(59): true, time.Minute: false, 2 * time.Minute: true, time.Hour: true}},
	}
	for _, tt := range tests {
		s := mustParse(t, tt.src)
		for d, want := range tt.at {
			if got := s.OccupiedAt(d); got != want {
				t.Errorf("%s: OccupiedAt(%v) = %v, want %v", tt.name, d, got, want)
			}
		}
	}
	if _, err := Parse([]byte(base + "occupied: maybe\n")); err == nil || !strings.Contains(err.Error(), "occupied") {
		t.Errorf("occupied: maybe: error %v, want one naming occupied", err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name     string
		timeline string
		want     time.Duration
	}{
		{"no timeline", "", 0},
		{"a step", "  - {at: 10s, set: {heart_rate_bpm: 100}}\n", sec(10)},
		{"the end of a ramp", "  - {at: 10s, ramp: 5s, set: {heart_rate_bpm: 100}}\n", sec(15)},
		{"the end of a fault", "  - {at: 40s, fault: {device: max30102, kind: disconnect, for: 10s}}\n", sec(50)},
		{"the start of a fault without end", "  - {at: 40s, fault: {device: max30102, kind: stuck}}\n", sec(40)},
		{"a press", "  - {at: 1m30s, press: consent}\n", sec(90)},
		{
			"a long ramp of one vital outlasts later steps",
			"  - {at: 0s, ramp: 10m, set: {spo2_pct: 90}}\n  - {at: 1m, set: {heart_rate_bpm: 100}}\n",
			10 * time.Minute,
		},
		{
			"a ramp cut short ends where it is cut",
			"  - {at: 0s, ramp: 10m, set: {spo2_pct: 90}}\n  - {at: 1m, set: {spo2_pct: 95}}\n",
			time.Minute,
		},
		{
			"a fault cut short ends where it is cut",
			"  - {at: 0s, fault: {device: apa102, kind: nack, for: 10m}}\n  - {at: 1m, fault: {device: apa102, kind: stuck, for: 1s}}\n",
			time.Minute + time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, base+"timeline:\n"+tt.timeline)
			if got := s.Duration(); got != tt.want {
				t.Errorf("Duration() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTimeline(t *testing.T) {
	s := mustParse(t, `name: nightmare
baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 10s, ramp: 5s, set: {heart_rate_bpm: 150}}
  - {at: 40s, fault: {device: max30102, kind: disconnect, for: 10s}}
  - {at: 1m, fault: {device: apa102, kind: nack}}
  - at: 1m30s
    press: panic
`)
	hr := 150.0
	want := &Scenario{
		Name:     "nightmare",
		Occupied: true,
		Baseline: Vitals{HeartRateBPM: 58, SpO2Pct: 97, SkinConductanceUS: 2, BodyTempC: 36.6, EEG: awake},
		Timeline: []Step{
			{At: sec(10), Ramp: sec(5), Set: &Targets{HeartRateBPM: &hr}},
			{At: sec(40), Fault: &Fault{Device: "max30102", Kind: "disconnect", For: sec(10)}},
			{At: time.Minute, Fault: &Fault{Device: "apa102", Kind: "nack"}},
			{At: sec(90), Press: "panic"},
		},
	}
	s.plan = nil // compared separately, through the lookups
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse = %+v\nwant %+v", s, want)
	}
}

func TestParseErrors(t *testing.T) {
	step := func(steps ...string) string {
		return base + "timeline:\n  - " + strings.Join(steps, "\n  - ") + "\n"
	}
	tests := []struct {
		name string
		src  string
		want []string // each a whole line of the error
	}{
		{"empty", "", []string{"empty: a scenario needs at least a baseline"}},
		{"not yaml", "baseline: [", []string{"yaml: line 1: did not find expected node content"}},
		{"two documents", base + "---\n" + base, []string{"line 2: a second YAML document; a scenario file holds one"}},
		{"not a mapping", "hello", []string{`scenario: "hello" is not a mapping (line 1)`}},
		{
			"no baseline", "name: x\n",
			[]string{"baseline: missing (give heart_rate_bpm, spo2_pct, skin_conductance_us, body_temp_c)"},
		},
		{
			"baseline incomplete, zero and out of range",
			"baseline: {heart_rate_bpm: 0, spo2_pct: 101, body_temp_c: 36.5}\n",
			[]string{
				"baseline.heart_rate_bpm: 0 must be above 0 (line 1)",
				"baseline.spo2_pct: 101 is outside 0..100 (line 1)",
				"baseline.skin_conductance_us: missing (line 1)",
			},
		},
		{
			"baseline temperature out of range", "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 19.5}\n",
			[]string{"baseline.body_temp_c: 19.5 is outside 20..45 (line 1)"},
		},
		{
			"baseline not a number", "baseline: {heart_rate_bpm: fast, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5}\n",
			[]string{`baseline.heart_rate_bpm: "fast" is not a number (line 1)`},
		},
		{
			"NaN is out of range", "baseline: {heart_rate_bpm: .nan, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5}\n",
			[]string{"baseline.heart_rate_bpm: NaN is outside 0..300 (line 1)"},
		},
		{
			"unknown top-level key", base + "nmae: x\n",
			[]string{"nmae: unknown key (allowed: name, baseline, occupied, timeline, playback) (line 2)"},
		},
		{
			"unknown keys in a step, its set and its fault",
			step("{at: 1s, sett: {heart_rate_bpm: 1}}", "{at: 2s, set: {hr: 1}}", "{at: 3s, fault: {device: apa102, kind: nack, until: 4s}}"),
			[]string{
				"timeline[0].sett: unknown key (allowed: at, ramp, set, fault, press, occupied, event) (line 3)",
				"timeline[1].set.hr: unknown key (allowed: heart_rate_bpm, spo2_pct, skin_conductance_us, body_temp_c, eeg) (line 4)",
				"timeline[2].fault.until: unknown key (allowed: device, kind, for, channels) (line 5)",
			},
		},
		{
			"a key given twice", step("{at: 1s, at: 2s, press: panic}"),
			[]string{"timeline[0].at: given twice (line 3)"},
		},
		{
			"timeline not a list", base + "timeline: {at: 1s}\n",
			[]string{"timeline: a mapping is not a list (line 2)"},
		},
		{
			"a set value out of range", step("{at: 1s, set: {heart_rate_bpm: 80}}", "{at: 2s, set: {heart_rate_bpm: 80}}", "{at: 3s, set: {spo2_pct: 130}}"),
			[]string{"timeline[2].set.spo2_pct: 130 is outside 0..100 (line 5)"},
		},
		{
			"set values below range", step("{at: 1s, set: {heart_rate_bpm: -1, skin_conductance_us: -0.5, body_temp_c: 50}}"),
			[]string{
				"timeline[0].set.heart_rate_bpm: -1 is outside 0..300 (line 3)",
				"timeline[0].set.skin_conductance_us: -0.5 is outside 0..100 (line 3)",
				"timeline[0].set.body_temp_c: 50 is outside 20..45 (line 3)",
			},
		},
		{
			"an empty set", step("{at: 1s, set: {}}"),
			[]string{"timeline[0].set: names no vital (give at least one of heart_rate_bpm, spo2_pct, skin_conductance_us, body_temp_c, eeg) (line 3)"},
		},
		{
			"at missing, not a duration, negative",
			step("{press: panic}", "{at: 10, press: panic}", "{at: -1s, press: panic}"),
			[]string{
				"timeline[0].at: missing (line 3)",
				`timeline[1].at: "10" is not a duration (write e.g. 10s or 1m30s) (line 4)`,
				"timeline[2].at: -1s is negative (line 5)",
			},
		},
		{
			"steps out of order", step("{at: 30s, press: panic}", "{at: 1m, press: panic}", "{at: 20s, press: consent}"),
			[]string{"timeline[2].at: 20s is before timeline[1].at 1m0s (steps must be in time order) (line 5)"},
		},
		{
			"no kind, and two kinds", step("{at: 1s}", "{at: 2s, press: panic, set: {spo2_pct: 90}}"),
			[]string{
				"timeline[0]: needs exactly one of set, fault, press, occupied, event (has none) (line 3)",
				"timeline[1]: needs exactly one of set, fault, press, occupied, event (has set and press) (line 4)",
			},
		},
		{
			"occupied with a press", step("{at: 2s, press: panic, occupied: false}"),
			[]string{"timeline[0]: needs exactly one of set, fault, press, occupied, event (has press and occupied) (line 3)"},
		},
		{
			"ramp negative, ramp on a press", step("{at: 1s, ramp: -2s, set: {spo2_pct: 90}}", "{at: 2s, ramp: 2s, press: panic}"),
			[]string{
				"timeline[0].ramp: -2s is negative (line 3)",
				"timeline[1].ramp: only a set step ramps (line 4)",
			},
		},
		{
			"a ramp that ends past the representable", step("{at: 2000000h, ramp: 1000000h, set: {spo2_pct: 90}}"),
			[]string{"timeline[0].ramp: 1000000h0m0s after 2000000h0m0s ends too late to represent (line 3)"},
		},
		{
			"fault device and kind missing", step("{at: 1s, fault: {for: 1s}}"),
			[]string{
				"timeline[0].fault.device: missing (one of max30102, apa102, ads1299, ads1115, tmp117) (line 3)",
				"timeline[0].fault.kind: missing (one of nack, stuck, disconnect, lead_off, saturate) (line 3)",
			},
		},
		{
			"fault device and kind unknown, for zero", step("{at: 1s, fault: {device: bme280, kind: smoke, for: 0s}}"),
			[]string{
				`timeline[0].fault.device: "bme280" is not a device (one of max30102, apa102, ads1299, ads1115, tmp117) (line 3)`,
				`timeline[0].fault.kind: "smoke" is not a fault kind (one of nack, stuck, disconnect, lead_off, saturate) (line 3)`,
				"timeline[0].fault.for: 0s ends the fault as it starts (leave for out to keep it until the end) (line 3)",
			},
		},
		{
			"fault for negative", step("{at: 1s, fault: {device: apa102, kind: nack, for: -1s}}"),
			[]string{"timeline[0].fault.for: -1s is negative (line 3)"},
		},
		{
			"press unknown", step("{at: 1s, press: snooze}"),
			[]string{`timeline[0].press: "snooze" is not a press (one of consent, panic, ack) (line 3)`},
		},
		{
			"a block-style step reports the key's own line", base + "timeline:\n  - at: 1s\n    set:\n      spo2_pct: 130\n",
			[]string{"timeline[0].set.spo2_pct: 130 is outside 0..100 (line 5)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want errors %q", s, tt.want)
			}
			if s != nil {
				t.Errorf("Parse returned a scenario with its error")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("a missing file", func(t *testing.T) {
		path := filepath.Join(dir, "absent.yaml")
		_, err := Load(path)
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "scenario "+path+": ") {
			t.Errorf("Load = %v, want a not-exist error starting with the path", err)
		}
	})
	t.Run("each problem line names the file", func(t *testing.T) {
		path := write("bad.yaml", "baseline: {heart_rate_bpm: 60, spo2_pct: 97}\n")
		_, err := Load(path)
		if err == nil {
			t.Fatal("Load succeeded")
		}
		want := []string{
			"scenario " + path + ": baseline.skin_conductance_us: missing (line 1)",
			"scenario " + path + ": baseline.body_temp_c: missing (line 1)",
		}
		if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
			t.Errorf("Load error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a syntax error names the file", func(t *testing.T) {
		path := write("syntax.yaml", "baseline: [")
		_, err := Load(path)
		if want := "scenario " + path + ": yaml: line 1: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Load = %v, want prefix %q", err, want)
		}
	})
	t.Run("a scenario without name takes the file's", func(t *testing.T) {
		s, err := Load(write("quiet-night.yaml", base))
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "quiet-night" {
			t.Errorf("Name = %q, want quiet-night", s.Name)
		}
	})
	t.Run("a given name stays", func(t *testing.T) {
		s, err := Load(write("file.yaml", "name: given\n"+base))
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "given" {
			t.Errorf("Name = %q, want given", s.Name)
		}
	})
}

// The shipped scenarios are the contract other packages' tests rely on: each
// one parses, is named as its file, and does what its comment says.
func TestShippedScenarios(t *testing.T) {
	paths, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range paths {
		s, err := Load(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		if s.Name != name {
			t.Errorf("%s: name %q, want the file's name %q", path, s.Name, name)
		}
		names = append(names, name)
	}
	for _, want := range []string{
		"calm", "desaturation", "nightmare", "sensor-loss", "tachycardia",
		"ppg-heartpy", "ppg-no-finger", "ppg-a103l", "eeg-n2", "eda-e4", "temp-e4",
		"bradycardia", "desaturation-slow", "desaturation-deep",
		"nightmare-merge", "stress-merge", "eeg-arousal-merge", "eeg-leadoff-merge", "merge-calm",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("../scenarios/%s.yaml missing or broken", want)
		}
	}

	load := func(name string) *Scenario {
		s, err := Load("../scenarios/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("calm stays calm", func(t *testing.T) {
		s := load("calm")
		for d := time.Duration(0); d <= s.Duration()+time.Minute; d += time.Second {
			v := s.VitalsAt(d)
			if v.HeartRateBPM < 52 || v.HeartRateBPM > 62 || v.SpO2Pct < 96 || v.SpO2Pct > 98 {
				t.Fatalf("VitalsAt(%v) = %+v, want HR 52..62 and SpO2 96..98", d, v)
			}
		}
		for _, dev := range Devices() {
			if f := s.FaultAt(dev, s.Duration()/2); f != "" {
				t.Errorf("FaultAt(%s) = %q", dev, f)
			}
		}
		if p := s.PressesBetween(-1, s.Duration()); p != nil {
			t.Errorf("presses %q", p)
		}
	})

	type vital func(Vitals) float64
	hr := func(v Vitals) float64 { return v.HeartRateBPM }
	spo2 := func(v Vitals) float64 { return v.SpO2Pct }
	checks := []struct {
		scenario string
		vital    vital
		name     string
		at       time.Duration
		want     float64
	}{
		{"tachycardia", hr, "HR", sec(20), 60},
		{"tachycardia", hr, "HR", sec(27), 130},
		{"tachycardia", hr, "HR", sec(28), 140},
		{"tachycardia", hr, "HR", sec(29), 150},
		{"tachycardia", hr, "HR", 8 * time.Hour, 150},
		{"desaturation", spo2, "SpO2", sec(20), 97},
		{"desaturation", spo2, "SpO2", sec(27), 90},
		{"desaturation", spo2, "SpO2", sec(32), 85},
		{"desaturation", spo2, "SpO2", 8 * time.Hour, 85},
		{"bradycardia", hr, "HR", sec(20), 60},
		{"bradycardia", hr, "HR", sec(40), 40},
		{"bradycardia", hr, "HR", sec(45), 35},
		{"bradycardia", hr, "HR", 8 * time.Hour, 35},
		{"desaturation-slow", spo2, "SpO2", sec(20), 97},
		{"desaturation-slow", spo2, "SpO2", sec(62), 90},
		{"desaturation-slow", spo2, "SpO2", sec(80), 87},
		{"desaturation-slow", spo2, "SpO2", 8 * time.Hour, 87},
		{"desaturation-deep", spo2, "SpO2", sec(20), 97},
		{"desaturation-deep", spo2, "SpO2", sec(23.5), 90},
		{"desaturation-deep", spo2, "SpO2", sec(26), 85},
		{"desaturation-deep", spo2, "SpO2", sec(28), 81},
		{"desaturation-deep", spo2, "SpO2", 8 * time.Hour, 81},
		{"nightmare", hr, "HR", sec(10), 58},
		{"nightmare", hr, "HR", sec(15), 150},
		{"sensor-loss", hr, "HR", sec(40), 58},
	}
	for _, c := range checks {
		if got := c.vital(load(c.scenario).VitalsAt(c.at)); got != c.want {
			t.Errorf("%s: %s at %v = %v, want %v", c.scenario, c.name, c.at, got, c.want)
		}
	}

	faults := []struct {
		scenario string
		at       time.Duration
		want     string
	}{
		{"sensor-loss", sec(29), ""},
		{"sensor-loss", sec(30), "disconnect"},
		{"sensor-loss", sec(49), "disconnect"},
		{"sensor-loss", sec(50), ""},
		{"nightmare", sec(40), "disconnect"},
		{"nightmare", sec(50), ""},
		{"tachycardia", sec(30), ""},
	}
	for _, c := range faults {
		if got := load(c.scenario).FaultAt(DeviceMAX30102, c.at); got != c.want {
			t.Errorf("%s: max30102 fault at %v = %q, want %q", c.scenario, c.at, got, c.want)
		}
	}

	if got := load("nightmare").PressesBetween(sec(59), sec(60)); !slices.Equal(got, []string{"panic"}) {
		t.Errorf("nightmare: presses in (59s, 60s] = %q, want [panic]", got)
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ppg.csv": "ir,red\n1,2\n3,4\n5,6\n", "eeg.csv": "t,ch1,ch8\n0,1,2\n0.1,3,4\n0.3,5,6\n"})
	t.Chdir(dir)
	s := mustParse(t, base+`timeline:
  - {at: 0s, ramp: 10s, set: {heart_rate_bpm: 160, eeg: {stage: n3}}}
  - {at: 5s, ramp: 10s, set: {heart_rate_bpm: 60, spo2_pct: 90}}
  - {at: 6s, fault: {device: max30102, kind: stuck, for: 1s}}
  - {at: 6s, fault: {device: ads1299, kind: lead_off, channels: [2, 5]}}
  - {at: 7s, press: consent}
  - {at: 7s, event: {kind: blink, for: 200ms}}
  - {at: 7s, event: {kind: scr, amplitude_us: 0.2}}
playback:
  - {device: max30102, file: ppg.csv, rate_hz: 100, loop: true}
  - {device: ads1299, file: eeg.csv}
`)
	var sink Vitals
	var sample playback.Sample
	var n int
	lookups := map[string]func(){
		"VitalsAt":       func() { sink = s.VitalsAt(sec(7)) },
		"FaultAt":        func() { _ = s.FaultAt(DeviceMAX30102, sec(6.5)) },
		"LeadOffAt":      func() { _ = s.LeadOffAt(sec(6.5)) },
		"PressesBetween": func() { _ = s.PressesBetween(sec(7), sec(8)) },
		"EventsBetween": func() {
			evs := s.EventsBetween(sec(6), sec(8))
			for i := range evs.Len() {
				n += int(evs.At(i).For)
			}
			for ev := range evs.All() {
				n += int(ev.For)
			}
		},
		"Playback(max30102).At": func() { sample, _ = s.Playback(DeviceMAX30102).At(sec(7.0123)) },
		"Playback(ads1299).At":  func() { sample, _ = s.Playback(DeviceADS1299).At(sec(0.2)) },
	}
	for name, f := range lookups {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
	_, _, _ = sink, sample, n
}

func TestKindListsAreCopies(t *testing.T) {
	lists := []struct {
		name string
		get  func() []string
		want []string
	}{
		{"Devices", Devices, []string{"max30102", "apa102", "ads1299", "ads1115", "tmp117"}},
		{"FaultKinds", FaultKinds, []string{"nack", "stuck", "disconnect", "lead_off", "saturate"}},
		{"FaultKindsOf(ads1299)", func() []string { return FaultKindsOf("ads1299") }, []string{"nack", "stuck", "disconnect", "lead_off", "saturate"}},
		{"FaultKindsOf(tmp117)", func() []string { return FaultKindsOf("tmp117") }, []string{"nack", "stuck", "disconnect"}},
		{"EventKinds", EventKinds, []string{"blink", "movement", "scr"}},
		{"Stages", Stages, []string{"awake", "n1", "n2", "n3", "rem"}},
		{"PlaybackDevices", PlaybackDevices, []string{"max30102", "ads1299", "ads1115", "tmp117"}},
		{"PlaybackColumns(max30102)", func() []string { return PlaybackColumns("max30102") }, []string{"ir", "red"}},
		{"PressKinds", PressKinds, []string{"consent", "panic", "ack"}},
	}
	for _, l := range lists {
		got := l.get()
		if !slices.Equal(got, l.want) {
			t.Errorf("%s() = %q, want %q", l.name, got, l.want)
		}
		got[0] = "changed"
		if again := l.get(); !slices.Equal(again, l.want) {
			t.Errorf("after changing its result, %s() = %q", l.name, again)
		}
	}
}

func TestUnparsedScenarioPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "scenario: Scenario used without Parse or Load" {
			t.Errorf("recovered %v", r)
		}
	}()
	(&Scenario{}).VitalsAt(0)
}
