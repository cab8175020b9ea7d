package dreamscape

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Validate checks every rule of the format on p and reports every problem,
// each naming p.Source, the track, the keyframe's index and time, and the
// field (errors.Join). Parse and Load return only programs that pass it.
func (p *Program) Validate() error {
	c := newChecker(p.Source)
	c.program(p)
	return c.err()
}

// checker collects the problems of one program. Fields that did not
// convert from the document's text are reported once, when converted, and
// marked failed so that the value checks leave them out.
type checker struct {
	source string
	errs   []problem
	failed map[string]bool // "duration", "lights.canopy[2].level", ...
}

// problem is one error and where it belongs in the report: the top-level
// keys first, then the light tracks and the haptic tracks by name, each
// track's own problems before its keyframes', the keyframes in order.
type problem struct {
	order string
	index int
	err   error
}

func order(where string) string {
	switch {
	case strings.HasPrefix(where, "lights."):
		return "1" + where
	case strings.HasPrefix(where, "haptics."):
		return "2" + where
	}
	return "0"
}

// err is every problem found, in report order, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b problem) int {
		return cmp.Or(strings.Compare(a.order, b.order), cmp.Compare(a.index, b.index))
	})
	errs := make([]error, len(c.errs))
	for i, p := range c.errs {
		errs[i] = p.err
	}
	return errors.Join(errs...)
}

func newChecker(source string) *checker {
	return &checker{source: source, failed: map[string]bool{}}
}

// keyRef names a keyframe in errors: its track, its index and, once known,
// its time: "lights.canopy[2] (at 10m)".
type keyRef struct {
	track string
	i     int
	at    time.Duration
	atOK  bool
}

func (r keyRef) String() string {
	s := fmt.Sprintf("%s[%d]", r.track, r.i)
	if r.atOK {
		s += " (at " + formatDuration(r.at) + ")"
	}
	return s
}

func (r keyRef) field(f string) string { return fmt.Sprintf("%s[%d].%s", r.track, r.i, f) }

// bad reports a problem of a top-level key or a track.
func (c *checker) bad(where, format string, args ...any) {
	err := fmt.Errorf("%s: %s: %s", c.source, where, fmt.Sprintf(format, args...))
	c.errs = append(c.errs, problem{order: order(where), index: -1, err: err})
}

func (c *checker) fail(key string) { c.failed[key] = true }

// keyBad reports a problem of one field of a keyframe and marks the field
// failed.
func (c *checker) keyBad(r keyRef, field, format string, args ...any) {
	err := fmt.Errorf("%s: %s: %s %s", c.source, r, field, fmt.Sprintf(format, args...))
	c.errs = append(c.errs, problem{order: order(r.track), index: r.i, err: err})
	c.failed[r.field(field)] = true
}

func (c *checker) ok(r keyRef, field string) bool { return !c.failed[r.field(field)] }

// formatDuration writes d as a program would: "10m" rather than "10m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// program checks the values of p.
func (c *checker) program(p *Program) {
	if !c.failed["name"] {
		if err := checkName(p.Name, true); err != nil {
			c.bad("name", "%v", err)
		}
	}
	durOK := !c.failed["duration"]
	if durOK && (p.Duration < MinDuration || p.Duration > MaxDuration) {
		c.bad("duration", "%s is outside %s..%s", formatDuration(p.Duration), formatDuration(MinDuration), formatDuration(MaxDuration))
		durOK = false
	}
	if len(p.Lights)+len(p.Haptics) == 0 {
		c.bad("lights, haptics", "no track: a program names at least one light zone or haptic place")
	}
	if len(p.Lights) > MaxTracks {
		c.bad("lights", "%d zones, at most %d", len(p.Lights), MaxTracks)
	}
	if len(p.Haptics) > MaxTracks {
		c.bad("haptics", "%d places, at most %d", len(p.Haptics), MaxTracks)
	}
	seen := map[string]bool{}
	for _, t := range p.Lights {
		path := trackPath("lights", t.Zone)
		c.trackName(path, t.Zone, "zone", seen)
		ats := make([]time.Duration, len(t.Keys))
		for i, k := range t.Keys {
			ats[i] = k.At
		}
		refs := c.times(path, ats, p.Duration, durOK)
		for i, k := range t.Keys {
			c.lightKey(refs[i], k)
		}
	}
	clear(seen)
	for _, t := range p.Haptics {
		path := trackPath("haptics", t.Place)
		c.trackName(path, t.Place, "place", seen)
		ats := make([]time.Duration, len(t.Keys))
		for i, k := range t.Keys {
			ats[i] = k.At
		}
		refs := c.times(path, ats, p.Duration, durOK)
		for i, k := range t.Keys {
			c.hapticKey(refs[i], k)
		}
	}
}

// checkName checks a program's name (free text) or a zone's or place's
// (letters, digits, '-' and '_').
func checkName(s string, text bool) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("is %d bytes long, at most %d", len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return errors.New("is not UTF-8")
	}
	for _, r := range s {
		switch {
		case text && !unicode.IsControl(r):
		case r == '-' || r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
		case text:
			return fmt.Errorf("%q has a control character", s)
		default:
			return fmt.Errorf("%q: a name is ASCII letters, digits, '-' and '_'", s)
		}
	}
	return nil
}

// trackPath names a track in errors, "lights.canopy"; a name that is not
// a valid one is quoted, so that no error spans lines.
func trackPath(kind, name string) string {
	if checkName(name, false) != nil {
		return kind + "." + strconv.Quote(name)
	}
	return kind + "." + name
}

func (c *checker) trackName(path, name, what string, seen map[string]bool) {
	if err := checkName(name, false); err != nil {
		c.bad(path, "the %s's name %v", what, err)
	}
	if seen[name] {
		c.bad(path, "the %s is named twice", what)
	}
	seen[name] = true
}

// times checks a track's keyframe times: there are 1..MaxKeyframes of them,
// the first at 0, strictly increasing, within 0..dur (dur only when durOK).
// It returns each keyframe's name for the field checks.
func (c *checker) times(path string, ats []time.Duration, dur time.Duration, durOK bool) []keyRef {
	switch {
	case len(ats) == 0:
		c.bad(path, "no keyframes: a track starts with one at 0s")
	case len(ats) > MaxKeyframes:
		c.bad(path, "%d keyframes, at most %d", len(ats), MaxKeyframes)
	}
	refs := make([]keyRef, len(ats))
	prev := -1
	for i, at := range ats {
		r := keyRef{track: path, i: i}
		refs[i] = r
		if !c.ok(r, "at") {
			continue
		}
		r.at, r.atOK = at, true
		refs[i] = r
		switch {
		case i == 0 && at != 0:
			c.keyBad(r, "at", "is not 0s: the first keyframe starts the program")
		case at < 0:
			c.keyBad(r, "at", "%s is negative", formatDuration(at))
		case durOK && at > dur:
			c.keyBad(r, "at", "%s is after the program's end (duration %s)", formatDuration(at), formatDuration(dur))
		case prev >= 0 && at <= ats[prev]:
			c.keyBad(r, "at", "%s is not after the keyframe before it (%s[%d] at %s): keyframes are in time order",
				formatDuration(at), path, prev, formatDuration(ats[prev]))
		}
		prev = i
	}
	return refs
}

func unit(v float64) bool { return v >= 0 && v <= 1 } // false for NaN

func (c *checker) lightKey(r keyRef, k LightKey) {
	if c.ok(r, "color") && !(unit(k.Color.R) && unit(k.Color.G) && unit(k.Color.B)) {
		c.keyBad(r, "color", "%+v has a channel outside 0..1", k.Color)
	}
	if c.ok(r, "level") && !unit(k.Level) {
		c.keyBad(r, "level", "%v is outside 0..1", k.Level)
	}
	if c.ok(r, "ease") && k.Ease >= numEases {
		c.keyBad(r, "ease", "%d is not one of %s", k.Ease, easeList())
	}
}

func (c *checker) hapticKey(r keyRef, k HapticKey) {
	if c.ok(r, "ease") && k.Ease >= numEases {
		c.keyBad(r, "ease", "%d is not one of %s", k.Ease, easeList())
	}
	intensityOK := c.ok(r, "intensity")
	if intensityOK && !unit(k.Intensity) {
		c.keyBad(r, "intensity", "%v is outside 0..1", k.Intensity)
		intensityOK = false
	}
	if !c.ok(r, "pattern") {
		return
	}
	if k.Pattern >= numPatterns {
		c.keyBad(r, "pattern", "%d is not one of %s", k.Pattern, patternList())
		return
	}
	if intensityOK && k.Pattern == Off && k.Intensity != 0 {
		c.keyBad(r, "intensity", "%v with pattern off: off takes none", k.Intensity)
	}
	if !c.ok(r, "period") {
		return
	}
	switch {
	case !k.Pattern.periodic() && k.Period != 0:
		c.keyBad(r, "period", "%s with pattern %s: %s has no period", formatDuration(k.Period), k.Pattern, k.Pattern)
	case !k.Pattern.periodic():
	case k.Period == 0:
		c.keyBad(r, "period", "is missing (%s..%s) for pattern %s", formatDuration(MinPeriod), formatDuration(MaxPeriod), k.Pattern)
	case k.Period < MinPeriod:
		c.keyBad(r, "period", "%s is shorter than %s: 1 Hz is already a fast buzz for a sleeper", formatDuration(k.Period), formatDuration(MinPeriod))
	case k.Period > MaxPeriod:
		c.keyBad(r, "period", "%s is longer than %s: write slower changes as keyframes", formatDuration(k.Period), formatDuration(MaxPeriod))
	}
}
