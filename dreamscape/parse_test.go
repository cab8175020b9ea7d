package dreamscape

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// example is the format's example (doc.go, docs/dreamscapes.md).
const example = `name: calm-night
duration: 30m          # Go duration; the program's length
loop: true             # play again from the start at the end
lights:
  canopy:              # a light zone's name
    - {at: 0s,  color: "#ff9040", level: 0.05, ease: linear}
    - {at: 10m, color: "#ff7030", level: 0.02, ease: in-out}
haptics:
  back:                # a haptic place's name
    - {at: 0s, pattern: off}
    - {at: 5m, pattern: breathe, intensity: 0.2, period: 6s}
`

func hex(t testing.TB, s string) light.RGB {
	t.Helper()
	c, err := light.ParseHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustParse(t testing.TB, src string) *Program {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", src, err)
	}
	return p
}

func TestParseExample(t *testing.T) {
	got := mustParse(t, example)
	want := &Program{
		Source:   "test.yaml",
		Name:     "calm-night",
		Duration: 30 * time.Minute,
		Loop:     true,
		Lights: []LightTrack{{Zone: "canopy", Keys: []LightKey{
			{At: 0, Hex: "#ff9040", Color: hex(t, "#ff9040"), Level: 0.05, Ease: Linear},
			{At: 10 * time.Minute, Hex: "#ff7030", Color: hex(t, "#ff7030"), Level: 0.02, Ease: InOut},
		}}},
		Haptics: []HapticTrack{{Place: "back", Keys: []HapticKey{
			{At: 0, Pattern: Off, Ease: Linear},
			{At: 5 * time.Minute, Pattern: Breathe, Intensity: 0.2, Period: 6 * time.Second, Ease: Linear},
		}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// JSON is YAML: the same program written as JSON parses to the same value.
func TestParseJSON(t *testing.T) {
	js := `{"name": "calm-night", "duration": "30m", "loop": true,
	  "lights": {"canopy": [{"at": "0s", "color": "#ff9040", "level": 0.05, "ease": "linear"},
	                        {"at": "10m", "color": "#ff7030", "level": 0.02, "ease": "in-out"}]},
	  "haptics": {"back": [{"at": "0s", "pattern": "off"},
	                       {"at": "5m", "pattern": "breathe", "intensity": 0.2, "period": "6s"}]}}`
	got, err := Parse("test.json", []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	want := mustParse(t, example)
	want.Source = "test.json"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// Tracks come out sorted by name whatever the file's order, and an ease
// left out is linear.
func TestParseSortsTracksAndDefaultsEase(t *testing.T) {
	p := mustParse(t, `name: x
duration: 1m
lights:
  sides: [{at: 0s, color: "#000000", level: 0}]
  canopy: [{at: 0s, color: "#000000", level: 0}]
haptics:
  feet: [{at: 0s, pattern: steady, intensity: 0.1}]
  back: [{at: 0s, pattern: off, intensity: 0}]
`)
	if z := p.Zones(); !reflect.DeepEqual(z, []string{"canopy", "sides"}) {
		t.Errorf("zones %v", z)
	}
	if pl := p.Places(); !reflect.DeepEqual(pl, []string{"back", "feet"}) {
		t.Errorf("places %v", pl)
	}
	if p.Loop || p.Lights[0].Keys[0].Ease != Linear || p.Haptics[1].Keys[0].Ease != Linear {
		t.Errorf("defaults: loop %v, eases %v %v", p.Loop, p.Lights[0].Keys[0].Ease, p.Haptics[1].Keys[0].Ease)
	}
}

const head = "name: x\nduration: 30m\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every line of the error, in order
	}{
		{"level outside 0..1", head + `lights:
  canopy:
    - {at: 0s, color: "#ff9040", level: 0.05}
    - {at: 5m, color: "#ff9040", level: 0.05}
    - {at: 10m, color: "#ff7030", level: 1.5}
`, []string{"calm-night.yaml: lights.canopy[2] (at 10m): level 1.5 is outside 0..1"}},
		{"level NaN", head + "lights: {canopy: [{at: 0s, color: \"#000000\", level: .nan}]}\n",
			[]string{"calm-night.yaml: lights.canopy[0] (at 0s): level NaN is outside 0..1"}},
		{"name and duration missing", "lights: {canopy: [{at: 0s, color: \"#000000\", level: 0}]}\n", []string{
			"calm-night.yaml: name: missing",
			"calm-night.yaml: duration: missing (write e.g. 30m)"}},
		{"duration not a duration", "name: x\nduration: 30\nhaptics: {back: [{at: 0s, pattern: off}]}\n",
			[]string{`calm-night.yaml: duration: "30" is not a duration (write e.g. 30m, 1h30m or 500ms)`}},
		{"duration too short", "name: x\nduration: 500ms\nhaptics: {back: [{at: 0s, pattern: off}]}\n",
			[]string{"calm-night.yaml: duration: 500ms is outside 1s..24h"}},
		{"duration too long", "name: x\nduration: 24h1s\nhaptics: {back: [{at: 0s, pattern: off}]}\n",
			[]string{"calm-night.yaml: duration: 24h0m1s is outside 1s..24h"}},
		{"no track", head, []string{
			"calm-night.yaml: lights, haptics: no track: a program names at least one light zone or haptic place"}},
		{"empty track", head + "lights: {canopy: []}\n", []string{
			"calm-night.yaml: lights.canopy: no keyframes: a track starts with one at 0s"}},
		{"bad zone name", head + "lights: {\"can opy\": [{at: 0s, color: \"#000000\", level: 0}]}\n", []string{
			`calm-night.yaml: lights."can opy": the zone's name "can opy": a name is ASCII letters, digits, '-' and '_'`}},
		{"name with a control character", "name: \"a\\x07\"\nduration: 1m\nhaptics: {back: [{at: 0s, pattern: off}]}\n",
			[]string{`calm-night.yaml: name: "a\a" has a control character`}},
		{"times", head + `lights:
  canopy:
    - {at: 1s, color: "#000000", level: 0}
    - {at: 2m, color: "#000000", level: 0}
    - {at: 1m, color: "#000000", level: 0}
    - {at: 1m, color: "#000000", level: 0}
    - {at: 31m, color: "#000000", level: 0}
    - {color: "#000000", level: 0}
    - {at: soon, color: "#000000", level: 0}
`, []string{
			"calm-night.yaml: lights.canopy[0] (at 1s): at is not 0s: the first keyframe starts the program",
			"calm-night.yaml: lights.canopy[2] (at 1m): at 1m is not after the keyframe before it (lights.canopy[1] at 2m): keyframes are in time order",
			"calm-night.yaml: lights.canopy[3] (at 1m): at 1m is not after the keyframe before it (lights.canopy[2] at 1m): keyframes are in time order",
			"calm-night.yaml: lights.canopy[4] (at 31m): at 31m is after the program's end (duration 30m)",
			"calm-night.yaml: lights.canopy[5]: at is missing",
			`calm-night.yaml: lights.canopy[6]: at "soon" is not a duration (write e.g. 30m, 1h30m or 500ms)`,
		}},
		{"colours and eases", head + `lights:
  canopy:
    - {at: 0s, color: "#fff", level: 0}
    - {at: 1m, level: 0, ease: bounce}
    - {at: 2m, color: "#000000"}
`, []string{
			`calm-night.yaml: lights.canopy[0] (at 0s): color "#fff" is not an sRGB colour (write "#rrggbb")`,
			`calm-night.yaml: lights.canopy[1] (at 1m): color is missing (write e.g. "#ff9040")`,
			`calm-night.yaml: lights.canopy[1] (at 1m): ease "bounce" is not one of linear|step|in|out|in-out`,
			"calm-night.yaml: lights.canopy[2] (at 2m): level is missing (0..1)",
		}},
		{"haptics", head + `haptics:
  back:
    - {at: 0s, pattern: off, intensity: 0.3}
    - {at: 1m, pattern: breathe, intensity: 0.2, period: 500ms}
    - {at: 2m, pattern: wave, intensity: 0.2, period: 11m}
    - {at: 3m, pattern: pulse, intensity: 0.2}
    - {at: 4m, pattern: steady, intensity: 0.2, period: 5s}
    - {at: 5m, pattern: steady}
    - {at: 6m, pattern: steady, intensity: -0.1}
    - {at: 7m, pattern: buzz, intensity: 0.1}
    - {at: 8m, intensity: 0.1}
    - {at: 9m, pattern: off, period: 1s}
    - {at: 10m, pattern: breathe, intensity: 0.2, period: often}
`, []string{
			"calm-night.yaml: haptics.back[0] (at 0s): intensity 0.3 with pattern off: off takes none",
			"calm-night.yaml: haptics.back[1] (at 1m): period 500ms is shorter than 1s: 1 Hz is already a fast buzz for a sleeper",
			"calm-night.yaml: haptics.back[2] (at 2m): period 11m is longer than 10m: write slower changes as keyframes",
			"calm-night.yaml: haptics.back[3] (at 3m): period is missing (1s..10m) for pattern pulse",
			"calm-night.yaml: haptics.back[4] (at 4m): period 5s with pattern steady: steady has no period",
			"calm-night.yaml: haptics.back[5] (at 5m): intensity is missing (0..1)",
			"calm-night.yaml: haptics.back[6] (at 6m): intensity -0.1 is outside 0..1",
			`calm-night.yaml: haptics.back[7] (at 7m): pattern "buzz" is not one of off|steady|pulse|breathe|wave`,
			"calm-night.yaml: haptics.back[8] (at 8m): pattern is missing (off|steady|pulse|breathe|wave)",
			"calm-night.yaml: haptics.back[9] (at 9m): period 1s with pattern off: off has no period",
			`calm-night.yaml: haptics.back[10] (at 10m): period "often" is not a duration (write e.g. 30m, 1h30m or 500ms)`,
		}},
		{"structure", head + `lights:
  canopy:
    - {at: 0s, colour: "#ff9040", level: x}
    - at: 1s
      color: "#000000"
      level: [1]
  sides: 3
haptic: {}
loop: maybe
`, []string{
			"calm-night.yaml: lights.canopy[0] (at 0s): unknown field colour (allowed: at, color, level, ease) (line 5)",
			`calm-night.yaml: lights.canopy[0] (at 0s): "x" is not a number (line 5)`,
			"calm-night.yaml: lights.canopy[1] (at 1s): a seq where a number belongs (line 8)",
			`calm-night.yaml: lights.sides: "3" is not a list of keyframes (line 9)`,
			"calm-night.yaml: haptic: unknown field haptic (allowed: name, duration, loop, lights, haptics) (line 10)",
			`calm-night.yaml: loop: "maybe" is not true or false (line 11)`,
		}},
		{"the keyframe on a line of several is the one the value names", head +
			"lights: {canopy: [{at: 0s, color: \"#000000\", level: 0}, 4]}\n", []string{
			`calm-night.yaml: lights.canopy[1]: "4" is not a keyframe (a mapping such as {at: 0s, ...}) (line 3)`}},
		{"empty", "", []string{"calm-night.yaml: empty: a program needs a name, a duration and a track"}},
		{"two documents", example + "---\nname: y\n", []string{
			"calm-night.yaml: line 12: a second YAML document; a program file holds one"}},
		{"syntax", "name: [x\n", []string{"calm-night.yaml: yaml: line 1: did not find expected ',' or ']'"}},
		{"not a mapping", "- 1\n", []string{
			"calm-night.yaml: line 1: a seq where a program (a mapping of name, duration, loop, lights, haptics) belongs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("calm-night.yaml", []byte(tc.src))
			if p != nil {
				t.Errorf("a program with errors was returned: %+v", p)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "haptics:\n  back:\n")
	for i := range MaxKeyframes + 1 {
		b.WriteString("    - {at: " + (time.Duration(i) * time.Second).String() + ", pattern: off}\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	if want := "many.yaml: haptics.back: 1001 keyframes, at most 1000"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	var tracks strings.Builder
	tracks.WriteString(head + "haptics:\n")
	for i := range MaxTracks + 1 {
		tracks.WriteString("  p" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ": [{at: 0s, pattern: off}]\n")
	}
	_, err = Parse("wide.yaml", []byte(tracks.String()))
	if want := "wide.yaml: haptics: 65 places, at most 64"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	big := []byte(example + "#" + strings.Repeat("x", MaxFileSize) + "\n")
	_, err = Parse("big.yaml", big)
	if want := "big.yaml: larger than 1048576 bytes"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "calm-night.yaml")
	if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != path || p.Name != "calm-night" {
		t.Errorf("source %q, name %q", p.Source, p.Name)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(example, "0.02", "2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if want := bad + ": lights.canopy[1] (at 10m): level 2 is outside 0..1"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || err.Error() != big+": larger than 1048576 bytes" {
		t.Errorf("got %v", err)
	}

	if _, err := Load(filepath.Join(dir, "none.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A Program changed in code after Parse is checked again by Validate and
// refused by Bind.
func TestValidateCatchesProgramsChangedInCode(t *testing.T) {
	p := mustParse(t, example)
	if err := p.Validate(); err != nil {
		t.Fatalf("a parsed program does not validate: %v", err)
	}
	p.Lights[0].Keys[1].Level = 2
	p.Lights[0].Keys[0].Color = light.RGB{R: 1.5}
	p.Haptics[0].Keys[1].Pattern = Pattern(9)
	p.Haptics[0].Keys[0].Ease = Ease(7)
	want := []string{
		"test.yaml: lights.canopy[0] (at 0s): color {R:1.5 G:0 B:0} has a channel outside 0..1",
		"test.yaml: lights.canopy[1] (at 10m): level 2 is outside 0..1",
		"test.yaml: haptics.back[0] (at 0s): ease 7 is not one of linear|step|in|out|in-out",
		"test.yaml: haptics.back[1] (at 5m): pattern 9 is not one of off|steady|pulse|breathe|wave",
	}
	err := p.Validate()
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if b, err := p.Bind([]string{"canopy"}, []string{"back"}); b != nil || err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Bind: %v, %v", b, err)
	}
	p.Lights = append(p.Lights, p.Lights[0])
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "test.yaml: lights.canopy: the zone is named twice") {
		t.Errorf("a zone twice: %v", err)
	}
}

func TestBind(t *testing.T) {
	p := mustParse(t, example)
	b, err := p.Bind([]string{"floor", "canopy", "sides"}, []string{"feet", "back"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Zones(), []string{"floor", "canopy", "sides"}) || !reflect.DeepEqual(b.Places(), []string{"feet", "back"}) {
		t.Errorf("zones %v, places %v", b.Zones(), b.Places())
	}
	if b.Name() != "calm-night" || b.Duration() != 30*time.Minute || !b.Loop() {
		t.Errorf("name %q, duration %v, loop %v", b.Name(), b.Duration(), b.Loop())
	}
	// The Bound keeps its own copy.
	p.Lights[0].Keys[0].Level = 1
	if got := b.Program().Lights[0].Keys[0].Level; got != 0.05 {
		t.Errorf("the bound program changed with the parsed one: level %v", got)
	}

	_, err = p.Bind([]string{"floor", "sides"}, nil)
	want := "test.yaml: lights.canopy: the pod has no light zone \"canopy\" (its zones: floor, sides)\n" +
		"test.yaml: haptics.back: the pod has no haptic place \"back\" (the pod has no places)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = p.Bind([]string{"canopy", "canopy"}, []string{"back"})
	if want := `test.yaml: the pod's zones name "canopy" twice`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// The example in docs/dreamscapes.md is the one these tests parse, and
// the errors it quotes are the ones Parse gives.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/dreamscapes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```yaml\n")
	block, _, _ := strings.Cut(rest, "```")
	if block != example {
		t.Errorf("docs/dreamscapes.md's example:\n%s\nis not the tests' example:\n%s", block, example)
	}
	_, rest, _ = strings.Cut(rest, "## Errors")
	_, rest, _ = strings.Cut(rest, "```\n")
	quoted, _, _ := strings.Cut(rest, "```")
	for _, c := range []struct{ from, to string }{
		{"- {at: 10m, color: \"#ff7030\", level: 0.02, ease: in-out}\n",
			"- {at: 5m, color: \"#ff7030\", level: 0.02, ease: in-out}\n    - {at: 10m, color: \"#ff7030\", level: 1.5}\n"},
		{"period: 6s", "period: 500ms"},
		{"color: \"#ff9040\"", "colour: \"#ff9040\""},
	} {
		_, err := Parse("calm-night.yaml", []byte(strings.Replace(example, c.from, c.to, 1)))
		if err == nil || !strings.Contains(quoted, err.Error()+"\n") {
			t.Errorf("Parse says %v; the docs do not quote it", err)
		}
	}
}
