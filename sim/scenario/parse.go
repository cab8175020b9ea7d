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
	Name     string     `yaml:"name"`
	Baseline *vitalsDoc `yaml:"baseline"`
	Occupied *bool      `yaml:"occupied"`
	Timeline []stepDoc  `yaml:"timeline"`
}

type vitalsDoc struct {
	HeartRateBPM      *float64 `yaml:"heart_rate_bpm"`
	SpO2Pct           *float64 `yaml:"spo2_pct"`
	SkinConductanceUS *float64 `yaml:"skin_conductance_us"`
	BodyTempC         *float64 `yaml:"body_temp_c"`
}

type stepDoc struct {
	At       *string    `yaml:"at"`
	Ramp     *string    `yaml:"ramp"`
	Set      *vitalsDoc `yaml:"set"`
	Fault    *faultDoc  `yaml:"fault"`
	Press    *string    `yaml:"press"`
	Occupied *bool      `yaml:"occupied"`
}

type faultDoc struct {
	Device *string `yaml:"device"`
	Kind   *string `yaml:"kind"`
	For    *string `yaml:"for"`
}

func (v *vitalsDoc) array() [numVitals]*float64 {
	return [numVitals]*float64{v.HeartRateBPM, v.SpO2Pct, v.SkinConductanceUS, v.BodyTempC}
}

// vitalSpec is what validation knows about one vital. The ranges are what a
// living sleeper (or a sensor that reads one) can show; they keep a typo
// such as spo2_pct: 970 from reaching the drivers as a plausible reading.
type vitalSpec struct {
	key      string
	lo, hi   float64
	positive bool // a baseline of 0 would be a sleeper without a pulse
}

var vitalSpecs = [numVitals]vitalSpec{
	vitalHR:   {key: "heart_rate_bpm", lo: 0, hi: 300, positive: true},
	vitalSpO2: {key: "spo2_pct", lo: 0, hi: 100, positive: true},
	vitalSC:   {key: "skin_conductance_us", lo: 0, hi: 100},
	vitalTemp: {key: "body_temp_c", lo: 20, hi: 45, positive: true},
}

// Parse reads a scenario from YAML and validates it. Every problem found is
// reported, one error per line, each naming the key (as in
// "timeline[2].set.spo2_pct") and, where it can, the line of the file.
func Parse(data []byte) (*Scenario, error) {
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
	return build(&doc, idx)
}

// maxDuration bounds `at + ramp` and `at + for`, which must stay representable.
const maxDuration = time.Duration(math.MaxInt64)

// build validates a decoded document and compiles it.
func build(doc *fileDoc, idx *nodeIndex) (*Scenario, error) {
	var errs []error
	bad := func(path, format string, args ...any) {
		msg := path + ": " + fmt.Sprintf(format, args...)
		if line := idx.lineOf(path); line > 0 {
			msg += fmt.Sprintf(" (line %d)", line)
		}
		errs = append(errs, errors.New(msg))
	}
	// duration parses an optional duration key; ok is false when it is
	// present and bad (and reported).
	duration := func(path string, text *string) (d time.Duration, ok bool) {
		if text == nil {
			return 0, true
		}
		d, err := time.ParseDuration(*text)
		switch {
		case err != nil:
			bad(path, "%q is not a duration (write e.g. 10s or 1m30s)", *text)
			return 0, false
		case d < 0:
			bad(path, "%s is negative", d)
			return 0, false
		}
		return d, true
	}

	s := &Scenario{Name: doc.Name, Occupied: doc.Occupied == nil || *doc.Occupied}

	if doc.Baseline == nil {
		bad("baseline", "missing (give %s)", vitalKeys())
	} else {
		var base [numVitals]float64
		for i, v := range doc.Baseline.array() {
			spec := vitalSpecs[i]
			path := "baseline." + spec.key
			switch {
			case v == nil:
				bad(path, "missing")
			case !spec.contains(*v):
				bad(path, "%g is outside %g..%g", *v, spec.lo, spec.hi)
			case spec.positive && *v <= 0:
				bad(path, "%g must be above 0", *v)
			default:
				base[i] = *v
			}
		}
		s.Baseline = vitalsFromArray(base)
	}

	var prevAt time.Duration
	prevStep := -1
	for i, sd := range doc.Timeline {
		path := fmt.Sprintf("timeline[%d]", i)
		var st Step

		if sd.At == nil {
			bad(path+".at", "missing")
		} else if at, ok := duration(path+".at", sd.At); ok {
			st.At = at
			if prevStep >= 0 && at < prevAt {
				bad(path+".at", "%s is before timeline[%d].at %s (steps must be in time order)", at, prevStep, prevAt)
			}
			prevAt, prevStep = at, i
		}

		var kinds []string
		if sd.Set != nil {
			kinds = append(kinds, "set")
		}
		if sd.Fault != nil {
			kinds = append(kinds, "fault")
		}
		if sd.Press != nil {
			kinds = append(kinds, "press")
		}
		if sd.Occupied != nil {
			kinds = append(kinds, "occupied")
			v := *sd.Occupied
			st.Occupied = &v
		}
		if len(kinds) != 1 {
			has := "none"
			if len(kinds) > 1 {
				has = strings.Join(kinds, " and ")
			}
			bad(path, "needs exactly one of set, fault, press, occupied (has %s)", has)
		}

		if sd.Ramp != nil {
			if sd.Set == nil {
				bad(path+".ramp", "only a set step ramps")
			} else if ramp, ok := duration(path+".ramp", sd.Ramp); ok {
				if ramp > maxDuration-st.At {
					bad(path+".ramp", "%s after %s ends too late to represent", ramp, st.At)
				} else {
					st.Ramp = ramp
				}
			}
		}

		if sd.Set != nil {
			t := &Targets{}
			targets := [numVitals]**float64{&t.HeartRateBPM, &t.SpO2Pct, &t.SkinConductanceUS, &t.BodyTempC}
			named := false
			for j, v := range sd.Set.array() {
				if v == nil {
					continue
				}
				named = true
				spec := vitalSpecs[j]
				if !spec.contains(*v) {
					bad(path+".set."+spec.key, "%g is outside %g..%g", *v, spec.lo, spec.hi)
					continue
				}
				val := *v
				*targets[j] = &val
			}
			if !named {
				bad(path+".set", "names no vital (give at least one of %s)", vitalKeys())
			}
			st.Set = t
		}

		if fd := sd.Fault; fd != nil {
			f := &Fault{}
			switch {
			case fd.Device == nil:
				bad(path+".fault.device", "missing (one of %s)", strings.Join(devices, ", "))
			case !slices.Contains(devices, *fd.Device):
				bad(path+".fault.device", "%q is not a device (one of %s)", *fd.Device, strings.Join(devices, ", "))
			default:
				f.Device = *fd.Device
			}
			switch {
			case fd.Kind == nil:
				bad(path+".fault.kind", "missing (one of %s)", strings.Join(faultKinds, ", "))
			case !slices.Contains(faultKinds, *fd.Kind):
				bad(path+".fault.kind", "%q is not a fault kind (one of %s)", *fd.Kind, strings.Join(faultKinds, ", "))
			default:
				f.Kind = *fd.Kind
			}
			if forD, ok := duration(path+".fault.for", fd.For); ok && fd.For != nil {
				switch {
				case forD == 0:
					bad(path+".fault.for", "0s ends the fault as it starts (leave for out to keep it until the end)")
				case forD > maxDuration-st.At:
					bad(path+".fault.for", "%s after %s ends too late to represent", forD, st.At)
				default:
					f.For = forD
				}
			}
			st.Fault = f
		}

		if sd.Press != nil {
			if slices.Contains(pressKinds, *sd.Press) {
				st.Press = *sd.Press
			} else {
				bad(path+".press", "%q is not a press (one of %s)", *sd.Press, strings.Join(pressKinds, ", "))
			}
		}

		s.Timeline = append(s.Timeline, st)
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.plan = compile(s.Baseline, s.Occupied, s.Timeline)
	return s, nil
}

func (v vitalSpec) contains(x float64) bool {
	return x >= v.lo && x <= v.hi // false for NaN
}

func vitalKeys() string {
	keys := make([]string, len(vitalSpecs))
	for i, v := range vitalSpecs {
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
	for _, v := range []any{fileDoc{}, vitalsDoc{}, stepDoc{}, faultDoc{}} {
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
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return "a mapping"
}
