package dreamscape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sleegation/podd/actuators/light"
)

// The YAML shapes. Pointers tell a key left out from a key set to zero;
// durations and names stay text until validation so that a bad one is
// reported with the keyframe it belongs to.
type fileDoc struct {
	Name     *string                   `yaml:"name"`
	Duration *string                   `yaml:"duration"`
	Loop     *bool                     `yaml:"loop"`
	Lights   map[string][]lightKeyDoc  `yaml:"lights"`
	Haptics  map[string][]hapticKeyDoc `yaml:"haptics"`
}

type lightKeyDoc struct {
	At    *string  `yaml:"at"`
	Color *string  `yaml:"color"`
	Level *float64 `yaml:"level"`
	Ease  *string  `yaml:"ease"`
}

type hapticKeyDoc struct {
	At        *string  `yaml:"at"`
	Pattern   *string  `yaml:"pattern"`
	Intensity *float64 `yaml:"intensity"`
	Period    *string  `yaml:"period"`
	Ease      *string  `yaml:"ease"`
}

// Load reads a program file and parses it (Parse), naming it by path in
// errors. A file larger than MaxFileSize is refused without being read
// whole.
func Load(path string) (*Program, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse reads a program from YAML (or JSON, which is YAML) and validates
// it. name names the source in every error ("calm-night.yaml: ..."). Every
// problem is reported, one error each, joined (errors.Join): first those of
// the document's structure (YAML syntax, unknown keys, a value of the wrong
// type), and, once the structure is right, those of its values. A program
// with any error is never returned.
func Parse(name string, data []byte) (*Program, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	// The first pass reads the document as a tree to report syntax errors
	// and to map lines back to keyframes; the second decodes it strictly.
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty: a program needs a name, a duration and a track", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: line %d: a second YAML document; a program file holds one", name, extra.Line)
	}

	var doc fileDoc
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&doc); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		idx := newLineIndex(&root)
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, fmt.Errorf("%s: %s", name, idx.explain(msg)))
		}
		return nil, errors.Join(errs...)
	}
	return build(name, &doc)
}

// build converts a decoded document into a Program, reporting text that
// does not convert (a duration, a colour, an ease, a pattern) and required
// keys left out, and then checks the values (checker.program), leaving out
// of those checks the fields that did not convert.
func build(source string, doc *fileDoc) (*Program, error) {
	c := newChecker(source)
	p := &Program{Source: source}
	if doc.Name == nil {
		c.bad("name", "missing")
		c.fail("name")
	} else {
		p.Name = *doc.Name
	}
	switch {
	case doc.Duration == nil:
		c.bad("duration", "missing (write e.g. 30m)")
		c.fail("duration")
	default:
		d, err := parseDuration(*doc.Duration)
		if err != nil {
			c.bad("duration", "%v", err)
			c.fail("duration")
		}
		p.Duration = d
	}
	p.Loop = doc.Loop != nil && *doc.Loop

	for _, zone := range sortedKeys(doc.Lights) {
		keys := doc.Lights[zone]
		t := LightTrack{Zone: zone, Keys: make([]LightKey, len(keys))}
		for i, kd := range keys {
			t.Keys[i] = c.convLight(keyRef{track: trackPath("lights", zone), i: i}, kd)
		}
		p.Lights = append(p.Lights, t)
	}
	for _, place := range sortedKeys(doc.Haptics) {
		keys := doc.Haptics[place]
		t := HapticTrack{Place: place, Keys: make([]HapticKey, len(keys))}
		for i, kd := range keys {
			t.Keys[i] = c.convHaptic(keyRef{track: trackPath("haptics", place), i: i}, kd)
		}
		p.Haptics = append(p.Haptics, t)
	}
	c.program(p)
	if err := c.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// parseDuration reads a duration as Go writes one ("30m", "1h30m",
// "500ms").
func parseDuration(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 30m, 1h30m or 500ms)", text)
	}
	return d, nil
}

// keyAt converts a keyframe's `at` into r, which then names the keyframe
// with it in later errors.
func (c *checker) keyAt(r *keyRef, text *string) time.Duration {
	if text == nil {
		c.keyBad(*r, "at", "is missing")
		return 0
	}
	d, err := parseDuration(*text)
	if err != nil {
		c.keyBad(*r, "at", "%v", err)
		return 0
	}
	r.at, r.atOK = d, true
	return d
}

// convLight converts one light keyframe; what does not convert is reported
// and marked failed.
func (c *checker) convLight(r keyRef, kd lightKeyDoc) LightKey {
	var k LightKey
	k.At = c.keyAt(&r, kd.At)
	switch {
	case kd.Color == nil:
		c.keyBad(r, "color", "is missing (write e.g. \"#ff9040\")")
	default:
		col, err := light.ParseHex(*kd.Color)
		if err != nil {
			c.keyBad(r, "color", "%q is not an sRGB colour (write \"#rrggbb\")", *kd.Color)
			break
		}
		k.Hex, k.Color = *kd.Color, col
	}
	if kd.Level == nil {
		c.keyBad(r, "level", "is missing (0..1)")
	} else {
		k.Level = *kd.Level
	}
	k.Ease = c.ease(r, kd.Ease)
	return k
}

// convHaptic converts one haptic keyframe; what does not convert is reported
// and marked failed.
func (c *checker) convHaptic(r keyRef, kd hapticKeyDoc) HapticKey {
	var k HapticKey
	k.At = c.keyAt(&r, kd.At)
	patternOK := false
	switch {
	case kd.Pattern == nil:
		c.keyBad(r, "pattern", "is missing (%s)", patternList())
	default:
		pt, ok := parsePattern(*kd.Pattern)
		if !ok {
			c.keyBad(r, "pattern", "%q is not one of %s", *kd.Pattern, patternList())
			break
		}
		k.Pattern, patternOK = pt, true
	}
	switch {
	case kd.Intensity != nil:
		k.Intensity = *kd.Intensity
	case patternOK && k.Pattern != Off:
		c.keyBad(r, "intensity", "is missing (0..1)")
	}
	if kd.Period != nil {
		d, err := parseDuration(*kd.Period)
		if err != nil {
			c.keyBad(r, "period", "%v", err)
		}
		k.Period = d
	}
	k.Ease = c.ease(r, kd.Ease)
	return k
}

// ease converts a keyframe's ease; none is Linear.
func (c *checker) ease(r keyRef, text *string) Ease {
	if text == nil {
		return Linear
	}
	e, ok := parseEase(*text)
	if !ok {
		c.keyBad(r, "ease", "%q is not one of %s", *text, easeList())
	}
	return e
}

func patternList() string { return strings.Join(patternNames[:], "|") }
func easeList() string    { return strings.Join(easeNames[:], "|") }
