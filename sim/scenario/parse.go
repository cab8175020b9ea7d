package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML shapes. Pointers tell a key left out from a key set to zero;
// durations stay text until validation so that a bad one is reported with
// the step it belongs to.
type fileDoc struct {
	Name     string        `yaml:"name"`
	Baseline *vitalsDoc    `yaml:"baseline"`
	Occupied *bool         `yaml:"occupied"`
	Timeline []stepDoc     `yaml:"timeline"`
	Playback []playbackDoc `yaml:"playback"`
}

type vitalsDoc struct {
	HeartRateBPM      *float64 `yaml:"heart_rate_bpm"`
	SpO2Pct           *float64 `yaml:"spo2_pct"`
	SkinConductanceUS *float64 `yaml:"skin_conductance_us"`
	BodyTempC         *float64 `yaml:"body_temp_c"`
	EEG               *eegDoc  `yaml:"eeg"`
}

type eegDoc struct {
	Stage *string  `yaml:"stage"`
	Delta *float64 `yaml:"delta"`
	Theta *float64 `yaml:"theta"`
	Alpha *float64 `yaml:"alpha"`
	Sigma *float64 `yaml:"sigma"`
	Beta  *float64 `yaml:"beta"`
	Gamma *float64 `yaml:"gamma"`
}

type stepDoc struct {
	At       *string    `yaml:"at"`
	Ramp     *string    `yaml:"ramp"`
	Set      *vitalsDoc `yaml:"set"`
	Fault    *faultDoc  `yaml:"fault"`
	Press    *string    `yaml:"press"`
	Occupied *bool      `yaml:"occupied"`
	Event    *eventDoc  `yaml:"event"`
}

type faultDoc struct {
	Device   *string `yaml:"device"`
	Kind     *string `yaml:"kind"`
	For      *string `yaml:"for"`
	Channels *[]int  `yaml:"channels"`
}

type eventDoc struct {
	Kind        *string  `yaml:"kind"`
	For         *string  `yaml:"for"`
	AmplitudeUS *float64 `yaml:"amplitude_us"`
}

type playbackDoc struct {
	Device *string  `yaml:"device"`
	File   *string  `yaml:"file"`
	RateHz *float64 `yaml:"rate_hz"`
	Loop   *bool    `yaml:"loop"`
	Offset *float64 `yaml:"offset"`
}

// array returns the vitals the document gives, the EEG bands after the
// four others; a stage is not resolved here.
func (v *vitalsDoc) array() [numVitals]*float64 {
	a := [numVitals]*float64{v.HeartRateBPM, v.SpO2Pct, v.SkinConductanceUS, v.BodyTempC}
	if e := v.EEG; e != nil {
		copy(a[vitalEEG:], []*float64{e.Delta, e.Theta, e.Alpha, e.Sigma, e.Beta, e.Gamma})
	}
	return a
}

// vitalSpec is what validation knows about one vital. The ranges are what a
// living sleeper (or a sensor that reads one) can show; they keep a typo
// such as spo2_pct: 970 from reaching the drivers as a plausible reading.
type vitalSpec struct {
	key      string
	lo, hi   float64
	positive bool // a baseline of 0 would be a sleeper without a pulse
}

// maxBandPowerUV2 bounds an EEG band's power: scalp delta in N3 reaches a
// few thousand µV² in children, ten times the adult N2/N3 of StageBands.
const maxBandPowerUV2 = 10000

var vitalSpecs = [numVitals]vitalSpec{
	vitalHR:      {key: "heart_rate_bpm", lo: 0, hi: 300, positive: true},
	vitalSpO2:    {key: "spo2_pct", lo: 0, hi: 100, positive: true},
	vitalSC:      {key: "skin_conductance_us", lo: 0, hi: 100},
	vitalTemp:    {key: "body_temp_c", lo: 20, hi: 45, positive: true},
	vitalEEG + 0: {key: "eeg.delta", hi: maxBandPowerUV2},
	vitalEEG + 1: {key: "eeg.theta", hi: maxBandPowerUV2},
	vitalEEG + 2: {key: "eeg.alpha", hi: maxBandPowerUV2},
	vitalEEG + 3: {key: "eeg.sigma", hi: maxBandPowerUV2},
	vitalEEG + 4: {key: "eeg.beta", hi: maxBandPowerUV2},
	vitalEEG + 5: {key: "eeg.gamma", hi: maxBandPowerUV2},
}

// Parse reads a scenario from YAML and validates it. Every problem found is
// reported, one error per line, each naming the key (as in
// "timeline[2].set.spo2_pct") and, where it can, the line of the file.
// Recordings it plays are loaded with relative paths against the working
// directory; Load takes them against the scenario file's.
func Parse(data []byte) (*Scenario, error) { return parse(data, "") }

func parse(data []byte, dir string) (*Scenario, error) {
	// The first pass reads the document as a tree to report syntax errors
	// and to map each key back to its line; the second decodes it strictly.
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty: a scenario needs at least a baseline")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; a scenario file holds one", extra.Line)
	}
	idx := newNodeIndex(&root)

	var doc fileDoc
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&doc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs := make([]error, 0, len(te.Errors))
			for _, msg := range te.Errors {
				errs = append(errs, errors.New(idx.explain(msg)))
			}
			return nil, errors.Join(errs...)
		}
		return nil, err
	}
	return build(&doc, idx, dir)
}

// maxDuration bounds `at + ramp` and `at + for`, which must stay representable.
const maxDuration = time.Duration(math.MaxInt64)

// checker collects the problems validation finds, each naming its key and
// the key's line.
type checker struct {
	idx  *nodeIndex
	errs []error
}

func (c *checker) bad(path, format string, args ...any) {
	msg := path + ": " + fmt.Sprintf(format, args...)
	if line := c.idx.lineOf(path); line > 0 {
		msg += fmt.Sprintf(" (line %d)", line)
	}
	c.errs = append(c.errs, errors.New(msg))
}

// duration parses an optional duration key; ok is false when it is present
// and bad (and reported).
func (c *checker) duration(path string, text *string) (d time.Duration, ok bool) {
	if text == nil {
		return 0, true
	}
	d, err := time.ParseDuration(*text)
	switch {
	case err != nil:
		c.bad(path, "%q is not a duration (write e.g. 10s or 1m30s)", *text)
		return 0, false
	case d < 0:
		c.bad(path, "%s is negative", d)
		return 0, false
	}
	return d, true
}

// build validates a decoded document and compiles it. Each top-level key
// has its piece; each kind of timeline step has its own (stepKinds).
func build(doc *fileDoc, idx *nodeIndex, dir string) (*Scenario, error) {
	c := &checker{idx: idx}
	s := &Scenario{Name: doc.Name, Occupied: doc.Occupied == nil || *doc.Occupied}
	s.Baseline = c.baseline(doc.Baseline)
	s.Timeline = c.timeline(doc.Timeline)
	recs, loaded := c.recordings(doc.Playback, dir)
	s.Recordings = recs
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	s.plan = compile(s.Baseline, s.Occupied, s.Timeline, loaded)
	return s, nil
}

// baseline validates the vitals at the start: every vital is required but
// the EEG, whose bands left out take their stage's (DefaultStage's without
// one).
func (c *checker) baseline(d *vitalsDoc) Vitals {
	if d == nil {
		c.bad("baseline", "missing (give %s)", vitalKeys())
		return Vitals{}
	}
	given := d.array()
	stage := DefaultStage
	if d.EEG != nil {
		if st, ok := c.stage("baseline.eeg", d.EEG); ok && st != "" {
			stage = st
		}
	}
	defaults := stageBands[stage].Array()
	var base [numVitals]float64
	for i, v := range given {
		spec := vitalSpecs[i]
		path := "baseline." + spec.key
		switch {
		case v == nil && i >= vitalEEG:
			base[i] = defaults[i-vitalEEG]
		case v == nil:
			c.bad(path, "missing")
		case !spec.contains(*v):
			c.bad(path, "%g is outside %g..%g", *v, spec.lo, spec.hi)
		case spec.positive && *v <= 0:
			c.bad(path, "%g must be above 0", *v)
		default:
			base[i] = *v
		}
	}
	return vitalsFromArray(base)
}

// stage validates an eeg mapping's stage, "" when it names none; ok is
// false when it names an unknown one. An eeg mapping must give a stage or
// a band.
func (c *checker) stage(path string, e *eegDoc) (stage string, ok bool) {
	if e.Stage == nil {
		if e.Delta == nil && e.Theta == nil && e.Alpha == nil && e.Sigma == nil && e.Beta == nil && e.Gamma == nil {
			c.bad(path, "names no band (give stage or at least one of delta, theta, alpha, sigma, beta, gamma)")
		}
		return "", true
	}
	if !slices.Contains(stages, *e.Stage) {
		c.bad(path+".stage", "%q is not a stage (one of %s)", *e.Stage, strings.Join(stages, ", "))
		return "", false
	}
	return *e.Stage, true
}

// timeline validates the steps: each one's `at` and `ramp` here, then the
// piece of the one kind it gives.
func (c *checker) timeline(docs []stepDoc) []Step {
	var out []Step
	var prevAt time.Duration
	prevStep := -1
	for i := range docs {
		sd := &docs[i]
		path := fmt.Sprintf("timeline[%d]", i)
		var st Step

		if sd.At == nil {
			c.bad(path+".at", "missing")
		} else if at, ok := c.duration(path+".at", sd.At); ok {
			st.At = at
			if prevStep >= 0 && at < prevAt {
				c.bad(path+".at", "%s is before timeline[%d].at %s (steps must be in time order)", at, prevStep, prevAt)
			}
			prevAt, prevStep = at, i
		}

		var given []string
		for _, k := range stepKinds {
			if k.given(sd) {
				given = append(given, k.key)
			}
		}
		if len(given) != 1 {
			has := "none"
			if len(given) > 1 {
				has = strings.Join(given, " and ")
			}
			c.bad(path, "needs exactly one of %s (has %s)", stepKindKeys(), has)
		}

		if sd.Ramp != nil {
			if sd.Set == nil {
				c.bad(path+".ramp", "only a set step ramps")
			} else if ramp, ok := c.duration(path+".ramp", sd.Ramp); ok {
				if ramp > maxDuration-st.At {
					c.bad(path+".ramp", "%s after %s ends too late to represent", ramp, st.At)
				} else {
					st.Ramp = ramp
				}
			}
		}

		for _, k := range stepKinds {
			if k.given(sd) {
				k.build(c, path+"."+k.key, sd, &st)
			}
		}
		out = append(out, st)
	}
	return out
}

func (v vitalSpec) contains(x float64) bool {
	return x >= v.lo && x <= v.hi // false for NaN
}

// vitalKeys lists the vitals a baseline requires.
func vitalKeys() string {
	keys := make([]string, vitalEEG)
	for i, v := range vitalSpecs[:vitalEEG] {
		keys[i] = v.key
	}
	return strings.Join(keys, ", ")
}

// nodeIndex maps the document's nodes to the paths validation and yaml.v3's
// errors speak of, so that every problem names the key and its line.
type nodeIndex struct {
	nodes  []indexedNode
	lines  map[string]int // path -> line of its value
	byLine map[int][]int  // line -> indexes into nodes, in document order
}

type indexedNode struct {
	path string
	key  bool
	node *yaml.Node
	used bool
}

func newNodeIndex(root *yaml.Node) *nodeIndex {
	x := &nodeIndex{lines: map[string]int{}, byLine: map[int][]int{}}
	x.walk(root, "")
	for i, n := range x.nodes {
		x.byLine[n.node.Line] = append(x.byLine[n.node.Line], i)
	}
	return x
}

func (x *nodeIndex) walk(n *yaml.Node, path string) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			x.walk(c, path)
		}
		return
	}
	x.nodes = append(x.nodes, indexedNode{path: path, node: n})
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			x.nodes = append(x.nodes, indexedNode{path: p, key: true, node: k})
			x.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			x.walk(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// lineOf returns the line of path's value or, for a key left out, of the
// nearest enclosing key that is there; 0 if none is.
func (x *nodeIndex) lineOf(path string) int {
	for path != "" {
		if line, ok := x.lines[path]; ok {
			return line
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return 0
}

// find returns the first node not yet reported at line that match accepts,
// and marks it reported, so that two problems on one line name two keys.
func (x *nodeIndex) find(line int, match func(indexedNode) bool) (string, bool) {
	for _, i := range x.byLine[line] {
		n := &x.nodes[i]
		if !n.used && match(*n) {
			n.used = true
			return n.path, true
		}
	}
	return "", false
}

var (
	reLine    = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	reUnknown = regexp.MustCompile(`(?s)^field (.*) not found in type (\S+)$`)
	reTwice   = regexp.MustCompile(`(?s)^(?:field (.*) already set in type \S+|mapping key "(.*)" already defined at line \d+)$`)
	reType    = regexp.MustCompile("(?s)^cannot unmarshal (\\S+?)(?: `(.*)`)? into (\\S+)$")
)

// allowedKeys lists, per document type, the keys yaml.v3 accepts, for
// "unknown key" errors to say what was meant.
var allowedKeys = func() map[string]string {
	m := map[string]string{}
	for _, v := range []any{fileDoc{}, vitalsDoc{}, eegDoc{}, stepDoc{}, faultDoc{}, eventDoc{}, playbackDoc{}} {
		t := reflect.TypeOf(v)
		var keys []string
		for i := range t.NumField() {
			key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			keys = append(keys, key)
		}
		m[t.String()] = strings.Join(keys, ", ")
	}
	return m
}()

// explain rewrites one of yaml.v3's decoding errors ("line 4: field sett not
// found in type scenario.stepDoc") in the words of the scenario format
// ("timeline[0].sett: unknown key (allowed: ...) (line 4)"). A message it
// does not recognise is returned as it is.
func (x *nodeIndex) explain(msg string) string {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, err := strconv.Atoi(m[1])
	if err != nil {
		return msg
	}
	rest := m[2]
	at := fmt.Sprintf(" (line %d)", line)

	if u := reUnknown.FindStringSubmatch(rest); u != nil {
		path, ok := x.find(line, func(n indexedNode) bool { return n.key && n.node.Value == u[1] })
		if ok {
			allowed := ""
			if keys, ok := allowedKeys[u[2]]; ok {
				allowed = " (allowed: " + keys + ")"
			}
			return path + ": unknown key" + allowed + at
		}
	}
	if u := reTwice.FindStringSubmatch(rest); u != nil {
		key := u[1] + u[2]
		path, ok := x.find(line, func(n indexedNode) bool { return n.key && n.node.Value == key })
		if ok {
			return path + ": given twice" + at
		}
	}
	if u := reType.FindStringSubmatch(rest); u != nil {
		tag, value, into := u[1], u[2], u[3]
		path, ok := x.find(line, func(n indexedNode) bool {
			if n.key {
				return false
			}
			switch tag {
			case "!!seq":
				return n.node.Kind == yaml.SequenceNode
			case "!!map":
				return n.node.Kind == yaml.MappingNode
			}
			if n.node.Kind != yaml.ScalarNode {
				return false
			}
			// yaml.v3 shortens a long value to its first 7 bytes and "...".
			if n.node.Value == value {
				return true
			}
			short, cut := strings.CutSuffix(value, "...")
			return cut && len(n.node.Value) > 10 && strings.HasPrefix(n.node.Value, short)
		})
		if ok {
			if path == "" {
				path = "scenario"
			}
			return fmt.Sprintf("%s: %s is not %s%s", path, describeNode(tag, value), describeType(into), at)
		}
	}
	return msg
}

func describeNode(tag, value string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return strconv.Quote(value)
}

func describeType(goType string) string {
	switch {
	case goType == "float64":
		return "a number"
	case goType == "int":
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return "a mapping"
}
