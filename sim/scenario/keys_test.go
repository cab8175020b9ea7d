package scenario

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantErrors parses src and checks the error's lines, exactly.
func wantErrors(t *testing.T, src string, want ...string) {
	t.Helper()
	s, err := Parse([]byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded with %+v, want errors %q", s, want)
	}
	if s != nil {
		t.Errorf("Parse returned a scenario with its error")
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("Parse error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func steps(steps ...string) string {
	return base + "timeline:\n  - " + strings.Join(steps, "\n  - ") + "\n"
}

var (
	n2  = EEGBands{Delta: 386.404, Theta: 24.515, Alpha: 13.034, Sigma: 24.683, Beta: 3.382, Gamma: 0.814}
	n3  = EEGBands{Delta: 321.064, Theta: 33.501, Alpha: 13.886, Sigma: 6.049, Beta: 1.557, Gamma: 0.090}
	n1  = EEGBands{Delta: 30, Theta: 20, Alpha: 10, Sigma: 5, Beta: 6, Gamma: 1}
	rem = EEGBands{Delta: 45, Theta: 25, Alpha: 8, Sigma: 4, Beta: 9, Gamma: 2}
)

// The stages' band powers are the reference table's absolute powers (and,
// for awake, the documented profile).
func TestStageBands(t *testing.T) {
	for stage, want := range map[string]EEGBands{"awake": awake, "n1": n1, "n2": n2, "n3": n3, "rem": rem} {
		if got, ok := StageBands(stage); !ok || got != want {
			t.Errorf("StageBands(%q) = %+v, %v; want %+v", stage, got, ok, want)
		}
	}
	if _, ok := StageBands("REM"); ok {
		t.Error(`StageBands("REM") is ok`)
	}
	// N1 and REM as the AASM describes them: theta above alpha, and a
	// beta/alpha ratio 3 and 5.6 times relaxed wakefulness's.
	for _, c := range []struct {
		name string
		b    EEGBands
		x    float64
	}{{"n1", n1, 3}, {"rem", rem, 5.625}} {
		if !(c.b.Theta > c.b.Alpha) || math.Abs((c.b.Beta/c.b.Alpha)/(awake.Beta/awake.Alpha)-c.x) > 1e-9 {
			t.Errorf("%s: theta %g, alpha %g, beta/alpha %g times awake's; want theta above alpha and %g times", c.name, c.b.Theta, c.b.Alpha, (c.b.Beta/c.b.Alpha)/(awake.Beta/awake.Alpha), c.x)
		}
	}
	if got := EEGBandsHz(); got != [NumEEGBands][2]float64{{0.5, 4}, {4, 8}, {8, 12}, {12, 16}, {16, 30}, {30, 40}} {
		t.Errorf("EEGBandsHz() = %v", got)
	}
	if got := n2.Array(); got != [NumEEGBands]float64{386.404, 24.515, 13.034, 24.683, 3.382, 0.814} {
		t.Errorf("Array() = %v", got)
	}
}

func TestBaselineEEG(t *testing.T) {
	core := "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5, "
	tests := []struct {
		name, eeg string
		want      EEGBands
	}{
		{"left out: awake", "", awake},
		{"every band", "eeg: {delta: 60, theta: 15, alpha: 10, sigma: 4, beta: 3, gamma: 0.5}", EEGBands{60, 15, 10, 4, 3, 0.5}},
		{"a stage", "eeg: {stage: n3}", n3},
		{"a stage with a band of its own", "eeg: {stage: n2, sigma: 40}", EEGBands{386.404, 24.515, 13.034, 40, 3.382, 0.814}},
		{"some bands: the others awake's", "eeg: {alpha: 50, gamma: 0}", EEGBands{15, 8, 50, 6, 8, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, core+tt.eeg+"}\n")
			if got := s.Baseline.EEG; got != tt.want {
				t.Errorf("Baseline.EEG = %+v, want %+v", got, tt.want)
			}
			if got := s.VitalsAt(time.Hour).EEG; got != tt.want {
				t.Errorf("VitalsAt(1h).EEG = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Band powers ramp like the other vitals, each band on its own; a stage
// sets all six.
func TestSetEEG(t *testing.T) {
	src := "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5,\n" +
		"  eeg: {delta: 60, theta: 15, alpha: 10, sigma: 4, beta: 3, gamma: 0.5}}\ntimeline:\n" +
		"  - {at: 10s, ramp: 10s, set: {eeg: {delta: 160, alpha: 0}}}\n" +
		"  - {at: 15s, ramp: 4s, set: {heart_rate_bpm: 80, eeg: {gamma: 2.5}}}\n" +
		"  - {at: 1m, ramp: 1m, set: {eeg: {stage: n3}}}\n" +
		"  - {at: 3m, set: {eeg: {stage: n2, beta: 7}}}\n"
	s := mustParse(t, src)
	tests := []struct {
		d    time.Duration
		want EEGBands
	}{
		{sec(10), EEGBands{60, 15, 10, 4, 3, 0.5}},
		{sec(15), EEGBands{110, 15, 5, 4, 3, 0.5}},
		{sec(17), EEGBands{130, 15, 3, 4, 3, 1.5}},
		{sec(20), EEGBands{160, 15, 0, 4, 3, 2.5}},
		{2 * time.Minute, n3},
		{3 * time.Minute, EEGBands{386.404, 24.515, 13.034, 24.683, 7, 0.814}},
	}
	for _, tt := range tests {
		if got := s.VitalsAt(tt.d).EEG; got != tt.want {
			t.Errorf("VitalsAt(%v).EEG = %+v, want %+v", tt.d, got, tt.want)
		}
	}
	if got := s.VitalsAt(sec(17)).HeartRateBPM; got != 70 {
		t.Errorf("VitalsAt(17s).HeartRateBPM = %v, want 70", got)
	}
	// Halfway to N3 from where the first steps left the bands.
	from := EEGBands{160, 15, 0, 4, 3, 2.5}.Array()
	got := s.VitalsAt(90 * time.Second).EEG.Array()
	for i, to := range n3.Array() {
		if want := (from[i] + to) / 2; math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("VitalsAt(90s) band %d = %v, want %v", i, got[i], want)
		}
	}
	if d := s.Duration(); d != 3*time.Minute {
		t.Errorf("Duration() = %v, want 3m", d)
	}
	h := 80.0
	want := Targets{HeartRateBPM: &h}
	g := 2.5
	want.EEG.Gamma = &g
	if st := s.Timeline[1].Set; st == nil || *st.HeartRateBPM != 80 || *st.EEG.Gamma != 2.5 || st.EEG.Delta != nil || st.SpO2Pct != nil {
		t.Errorf("Timeline[1].Set = %+v, want %+v", st, want)
	}
}

func TestEEGErrors(t *testing.T) {
	t.Run("baseline", func(t *testing.T) {
		wantErrors(t, "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5, eeg: {stage: deep, delta: -1, gamma: 10001}}\n",
			`baseline.eeg.stage: "deep" is not a stage (one of awake, n1, n2, n3, rem) (line 1)`,
			"baseline.eeg.delta: -1 is outside 0..10000 (line 1)",
			"baseline.eeg.gamma: 10001 is outside 0..10000 (line 1)",
		)
	})
	t.Run("baseline eeg empty", func(t *testing.T) {
		wantErrors(t, "baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.5, eeg: {}}\n",
			"baseline.eeg: names no band (give stage or at least one of delta, theta, alpha, sigma, beta, gamma) (line 1)")
	})
	wantErrors(t, steps(
		"{at: 1s, set: {eeg: {}}}",
		"{at: 2s, set: {eeg: {stage: REM}}}",
		"{at: 3s, set: {eeg: {alpha: .nan, kappa: 1}}}",
		"{at: 4s, set: {eeg: n2}}",
		"{at: 5s, set: {eeg: {beta: lots}}}",
	),
		"timeline[2].set.eeg.kappa: unknown key (allowed: stage, delta, theta, alpha, sigma, beta, gamma) (line 5)",
		`timeline[3].set.eeg: "n2" is not a mapping (line 6)`,
		`timeline[4].set.eeg.beta: "lots" is not a number (line 7)`,
	)
	wantErrors(t, steps(
		"{at: 1s, set: {eeg: {}}}",
		"{at: 2s, set: {eeg: {stage: REM}}}",
		"{at: 3s, set: {eeg: {alpha: .nan}}}",
	),
		"timeline[0].set.eeg: names no band (give stage or at least one of delta, theta, alpha, sigma, beta, gamma) (line 3)",
		`timeline[1].set.eeg.stage: "REM" is not a stage (one of awake, n1, n2, n3, rem) (line 4)`,
		"timeline[2].set.eeg.alpha: NaN is outside 0..10000 (line 5)",
	)
}

// Every device takes nack, stuck and disconnect; lead_off is the ads1299's
// and saturate the converters'. FaultAt answers per device.
func TestFaultsPerDevice(t *testing.T) {
	applies := map[string][]string{
		"max30102": {"nack", "stuck", "disconnect", "saturate"},
		"apa102":   {"nack", "stuck", "disconnect"},
		"ads1299":  {"nack", "stuck", "disconnect", "lead_off", "saturate"},
		"ads1115":  {"nack", "stuck", "disconnect", "saturate"},
		"tmp117":   {"nack", "stuck", "disconnect"},
	}
	for _, dev := range Devices() {
		for _, kind := range FaultKinds() {
			src := steps("{at: 10s, fault: {device: " + dev + ", kind: " + kind + ", for: 5s}}")
			if !slices.Contains(applies[dev], kind) {
				wantErrors(t, src, "timeline[0].fault.kind: "+kind+" does not apply to "+dev+" (it takes "+strings.Join(applies[dev], ", ")+") (line 3)")
				continue
			}
			s := mustParse(t, src)
			for _, other := range Devices() {
				want := ""
				if other == dev {
					want = kind
				}
				if got := s.FaultAt(other, sec(12)); got != want {
					t.Errorf("%s %s: FaultAt(%s, 12s) = %q, want %q", dev, kind, other, got, want)
				}
			}
			if got := s.FaultAt(dev, sec(15)); got != "" {
				t.Errorf("%s %s: FaultAt(15s) = %q after its for", dev, kind, got)
			}
		}
	}
}

func TestLeadOff(t *testing.T) {
	s := mustParse(t, steps(
		"{at: 10s, fault: {device: ads1299, kind: lead_off, channels: [3, 1], for: 10s}}",
		"{at: 30s, fault: {device: ads1299, kind: lead_off}}",
		"{at: 40s, fault: {device: ads1299, kind: saturate, for: 5s}}",
		"{at: 50s, fault: {device: max30102, kind: saturate}}",
	))
	tests := []struct {
		d     time.Duration
		fault string
		off   Channels
	}{
		{sec(9), "", 0},
		{sec(10), "lead_off", 0b101},
		{sec(19.999), "lead_off", 0b101},
		{sec(20), "", 0},
		{sec(30), "lead_off", AllChannels},
		{sec(40), "saturate", 0},
		{sec(45), "", 0},
		{sec(50), "", 0},
	}
	for _, tt := range tests {
		if got := s.FaultAt(DeviceADS1299, tt.d); got != tt.fault {
			t.Errorf("FaultAt(ads1299, %v) = %q, want %q", tt.d, got, tt.fault)
		}
		if got := s.LeadOffAt(tt.d); got != tt.off {
			t.Errorf("LeadOffAt(%v) = %v, want %v", tt.d, got, tt.off)
		}
	}
	off := s.LeadOffAt(sec(10))
	for n, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 8: false, 9: false} {
		if off.Has(n) != want {
			t.Errorf("%v.Has(%d) = %v, want %v", off, n, off.Has(n), want)
		}
	}
	if off.String() != "[1, 3]" || off.Len() != 2 || AllChannels.String() != "[1, 2, 3, 4, 5, 6, 7, 8]" || AllChannels.Len() != 8 {
		t.Errorf("String, Len = %s %d, %s %d", off, off.Len(), AllChannels, AllChannels.Len())
	}
	if f := s.Timeline[0].Fault; *f != (Fault{Device: "ads1299", Kind: "lead_off", For: sec(10), Channels: 0b101}) {
		t.Errorf("Timeline[0].Fault = %+v", f)
	}
	if f := s.Timeline[2].Fault; f.Channels != 0 {
		t.Errorf("a saturate fault has channels %v", f.Channels)
	}

	wantErrors(t, steps(
		"{at: 1s, fault: {device: ads1299, kind: nack, channels: [1]}}",
		"{at: 2s, fault: {device: ads1299, kind: lead_off, channels: []}}",
		"{at: 3s, fault: {device: ads1299, kind: lead_off, channels: [0, 9, 2, 2]}}",
		"{at: 4s, fault: {device: max30102, kind: lead_off, channels: [1]}}",
	),
		"timeline[0].fault.channels: only a lead_off fault names channels (line 3)",
		"timeline[1].fault.channels: names no channel (leave channels out for all 8) (line 4)",
		"timeline[2].fault.channels[0]: 0 is not a channel (1..8) (line 5)",
		"timeline[2].fault.channels[1]: 9 is not a channel (1..8) (line 5)",
		"timeline[2].fault.channels[3]: channel 2 given twice (line 5)",
		"timeline[3].fault.kind: lead_off does not apply to max30102 (it takes nack, stuck, disconnect, saturate) (line 6)",
	)
	wantErrors(t, steps(
		"{at: 1s, fault: {device: ads1299, kind: lead_off, channels: [x]}}",
		"{at: 2s, fault: {device: ads1299, kind: lead_off, channels: 3}}",
	),
		`timeline[0].fault.channels[0]: "x" is not a whole number (line 3)`,
		`timeline[1].fault.channels: "3" is not a list (line 4)`,
	)
}

func TestEvents(t *testing.T) {
	s := mustParse(t, steps(
		"{at: 10s, event: {kind: blink, for: 300ms}}",
		"{at: 20s, event: {kind: movement, for: 2m}}",
		"{at: 20s, event: {kind: scr, amplitude_us: 0.4}}",
		"{at: 30s, press: consent}",
	))
	blink := Event{At: sec(10), Kind: "blink", For: 300 * time.Millisecond}
	movement := Event{At: sec(20), Kind: "movement", For: 2 * time.Minute}
	scr := Event{At: sec(20), Kind: "scr", AmplitudeUS: 0.4}
	tests := []struct {
		from, to time.Duration
		want     []Event
	}{
		{0, sec(9.999), nil},
		{0, sec(10), []Event{blink}},
		{sec(10), sec(20), []Event{movement, scr}},
		{-1, time.Hour, []Event{blink, movement, scr}},
		{sec(20), time.Hour, nil},
		{sec(20), sec(10), nil},
	}
	for _, tt := range tests {
		evs := s.EventsBetween(tt.from, tt.to)
		var got, all []Event
		for i := range evs.Len() {
			got = append(got, evs.At(i))
		}
		for ev := range evs.All() {
			all = append(all, ev)
		}
		if !slices.Equal(got, tt.want) || !slices.Equal(all, tt.want) {
			t.Errorf("EventsBetween(%v, %v) = %+v (All: %+v), want %+v", tt.from, tt.to, got, all, tt.want)
		}
	}
	n := 0
	for range s.EventsBetween(-1, time.Hour).All() {
		n++
		break // All stops when the loop does
	}
	if n != 1 {
		t.Errorf("a loop over All that breaks at once ran %d times", n)
	}
	if got := s.Duration(); got != sec(20)+2*time.Minute {
		t.Errorf("Duration() = %v, want the movement's end 2m20s", got)
	}
	if *s.Timeline[0].Event != blink || s.Timeline[3].Event != nil {
		t.Errorf("Timeline events = %+v, %+v", s.Timeline[0].Event, s.Timeline[3].Event)
	}
	affects := map[string][]string{"blink": {"ads1299"}, "movement": {"ads1299", "max30102"}, "scr": {"ads1115"}}
	for _, ev := range []Event{blink, movement, scr} {
		for _, dev := range Devices() {
			if want := slices.Contains(affects[ev.Kind], dev); ev.Affects(dev) != want {
				t.Errorf("%s.Affects(%s) = %v, want %v", ev.Kind, dev, !want, want)
			}
		}
	}
	// Events do not move vitals or fault devices.
	if v := s.VitalsAt(sec(21)); v != s.Baseline {
		t.Errorf("VitalsAt(21s) = %+v, want the baseline", v)
	}

	wantErrors(t, steps(
		"{at: 1s, event: {}}",
		"{at: 2s, event: {kind: sneeze}}",
		"{at: 3s, event: {kind: blink}}",
		"{at: 4s, event: {kind: movement, for: 0s, amplitude_us: 1}}",
		"{at: 5s, event: {kind: scr, for: 2s}}",
		"{at: 6s, event: {kind: scr, amplitude_us: 0}}",
		"{at: 7s, event: {kind: scr, amplitude_us: 10.5}}",
		"{at: 8s, event: {kind: blink, for: soon}}",
		"{at: 9s, event: {kind: blink, for: 1s}, press: panic}",
		"{at: 2000000h, event: {kind: movement, for: 1000000h}}",
	),
		"timeline[0].event.kind: missing (one of blink, movement, scr) (line 3)",
		`timeline[1].event.kind: "sneeze" is not an event (one of blink, movement, scr) (line 4)`,
		"timeline[2].event.for: missing (how long the blink lasts, e.g. 300ms) (line 5)",
		"timeline[3].event.for: 0s: a movement lasts more than 0 (line 6)",
		"timeline[3].event.amplitude_us: only an scr takes amplitude_us (line 6)",
		"timeline[4].event.for: an scr takes amplitude_us, not for (the model gives its shape) (line 7)",
		"timeline[4].event.amplitude_us: missing (the response's peak over the tonic level in µS, e.g. 0.3) (line 7)",
		"timeline[5].event.amplitude_us: 0 is outside 0..10 µS (and must be above 0) (line 8)",
		"timeline[6].event.amplitude_us: 10.5 is outside 0..10 µS (and must be above 0) (line 9)",
		`timeline[7].event.for: "soon" is not a duration (write e.g. 10s or 1m30s) (line 10)`,
		"timeline[8]: needs exactly one of set, fault, press, occupied, event (has press and event) (line 11)",
		"timeline[9].event.for: 1000000h0m0s after 2000000h0m0s ends too late to represent (line 12)",
	)
}
