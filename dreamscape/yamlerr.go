package dreamscape

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// lineIndex names what each node of a document holds, by line, for
// yaml.v3's structural errors, which give only a line: the top-level key,
// the track ("lights.canopy") or the keyframe ("lights.canopy[2] (at
// 10m)"). Where a line holds more than one keyframe (flow style), the
// error's own text (the unknown key, the bad value) picks the node.
type lineIndex struct {
	lines map[int][]indexed
}

type indexed struct {
	value string // a scalar's text
	name  string
	depth int
}

func newLineIndex(root *yaml.Node) *lineIndex {
	x := &lineIndex{lines: map[int][]indexed{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return x
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		x.add(k, k.Value, 1)
		x.add(v, k.Value, 1)
		if (k.Value != "lights" && k.Value != "haptics") || v.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			zk, zv := v.Content[j], v.Content[j+1]
			track := trackPath(k.Value, zk.Value)
			x.add(zk, track, 2)
			x.add(zv, track, 2)
			if zv.Kind != yaml.SequenceNode {
				continue
			}
			for n, item := range zv.Content {
				r := keyRef{track: track, i: n}
				if item.Kind == yaml.MappingNode {
					for m := 0; m+1 < len(item.Content); m += 2 {
						if item.Content[m].Value == "at" {
							if d, err := parseDuration(item.Content[m+1].Value); err == nil {
								r.at, r.atOK = d, true
							}
						}
					}
				}
				x.addTree(item, r.String(), 3)
			}
		}
	}
	return x
}

func (x *lineIndex) add(n *yaml.Node, name string, depth int) {
	x.lines[n.Line] = append(x.lines[n.Line], indexed{value: n.Value, name: name, depth: depth})
}

func (x *lineIndex) addTree(n *yaml.Node, name string, depth int) {
	x.add(n, name, depth)
	for _, c := range n.Content {
		x.addTree(c, name, depth)
	}
}

// name is what line holds: of its nodes whose text is value (any node
// when none is, or value is ""), the first of the deepest.
func (x *lineIndex) name(line int, value string) string {
	best, bestMatch := indexed{depth: -1}, false
	for _, e := range x.lines[line] {
		match := value != "" && e.value == value
		if match && !bestMatch || match == bestMatch && e.depth > best.depth {
			best, bestMatch = e, match
		}
	}
	return best.name
}

var (
	reLine     = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	reUnknown  = regexp.MustCompile(`^field (\S+) not found in type \S*?(\w+)$`)
	reUnmarsh  = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
	fieldsOf   = map[string]string{"fileDoc": "name, duration, loop, lights, haptics", "lightKeyDoc": "at, color, level, ease", "hapticKeyDoc": "at, pattern, intensity, period, ease"}
	expectedOf = map[string]string{"float64": "a number", "bool": "true or false", "string": "text"}
)

// explain rewrites one of yaml.v3's structural errors ("line 7: field
// colour not found in type dreamscape.lightKeyDoc") in the format's words,
// naming what the line holds: "lights.canopy[2] (at 10m): unknown field
// colour (allowed: at, color, level, ease) (line 7)".
func (x *lineIndex) explain(msg string) string {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return oneLine(msg)
	}
	line, _ := strconv.Atoi(m[1])
	rest, value := m[2], ""
	if u := reUnknown.FindStringSubmatch(rest); u != nil {
		value = u[1]
		rest = "unknown field " + u[1]
		if f, ok := fieldsOf[u[2]]; ok {
			rest += " (allowed: " + f + ")"
		}
	} else if u := reUnmarsh.FindStringSubmatch(rest); u != nil {
		value = u[2]
		rest = "a " + strings.TrimPrefix(u[1], "!!") + " where " + expected(u[3]) + " belongs"
		if u[2] != "" {
			rest = strconv.Quote(u[2]) + " is not " + expected(u[3])
		}
	}
	rest = oneLine(rest)
	name := x.name(line, value)
	if name == "" {
		return "line " + m[1] + ": " + rest
	}
	return name + ": " + rest + " (line " + m[1] + ")"
}

// expected names what a Go type of the document's shapes reads.
func expected(goType string) string {
	if e, ok := expectedOf[goType]; ok {
		return e
	}
	switch {
	case strings.HasPrefix(goType, "map["):
		return "a mapping of names to keyframe lists"
	case strings.HasPrefix(goType, "[]"):
		return "a list of keyframes"
	case strings.HasSuffix(goType, "KeyDoc"):
		return "a keyframe (a mapping such as {at: 0s, ...})"
	case strings.HasSuffix(goType, "fileDoc"):
		return "a program (a mapping of name, duration, loop, lights, haptics)"
	}
	return goType
}

// oneLine keeps an error on its line: a value quoted from the document may
// span lines.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }
