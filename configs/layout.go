package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// maxNodes bounds the walk of a document's tree, aliases counted at each
// use: a configuration has a few dozen keys, and a document whose aliases
// expand to millions of nodes must not stall the loader.
const maxNodes = 10000

// layout is the shape of a configuration file, read from its YAML tree
// before viper reads its values. Viper folds the case of keys and keeps one
// value per key, so a key written twice (heart_rate_high_bpm and
// HEART_RATE_HIGH_BPM, or safety and Safety) can only be seen in the tree.
type layout struct {
	problems []linedProblem
	// unchecked are the folded paths whose values are not checked: written
	// more than once, or a section written as a value. Their lines say why.
	unchecked []string
	empty     map[string]bool // sections written with no keys (null)
	// root is the document without the repetitions of keys written more
	// than once, for viper, which refuses a mapping that repeats a key; nil
	// when nothing is repeated.
	root *yaml.Node
}

type linedProblem struct {
	line int
	err  error
}

// entry is one key of a mapping, or one a merge key (<<) brings in.
type entry struct {
	path    string // folded as viper folds it: lower case, "." between levels
	spelled string // as written
	line    int
	parent  *yaml.Node // the mapping that holds it; nil when merged from another
	key     *yaml.Node
	value   *yaml.Node
}

// readLayout reads data's YAML tree. Syntax errors are viper's to report,
// so that they read as they always have.
func readLayout(data []byte) (*layout, error) {
	l := &layout{empty: map[string]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return l, nil
		}
		v := viper.New()
		v.SetConfigType("yaml")
		if verr := readConfig(v, data); verr != nil {
			return nil, verr
		}
		return nil, fmt.Errorf("configs: YAML: %s", oneLine(err.Error()))
	}
	// viper reads the first document only: a second one would be ignored.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		// It has no line: it goes after the others.
		l.add(math.MaxInt, fmt.Errorf("configs: YAML: a second document, which podd would ignore: %s", oneLine(err.Error())))
	case len(next.Content) > 0 && !isNull(next.Content[0]):
		l.add(next.Content[0].Line, fmt.Errorf("configs: YAML: line %d: a second document (after ---); a configuration file holds one", next.Content[0].Line))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return l, nil // viper reports anything but a mapping
	}
	w := walker{left: maxNodes, open: map[*yaml.Node]bool{}}
	w.value(doc.Content[0], "", "")
	if w.left < 0 {
		return nil, fmt.Errorf("configs: YAML: more than %d keys and values, counting each use of an alias", maxNodes)
	}
	l.repeats(w.entries, doc.Content[0])
	l.sections(w.entries)
	slices.SortStableFunc(l.problems, func(a, b linedProblem) int { return a.line - b.line })
	return l, nil
}

func (l *layout) add(line int, err error) {
	l.problems = append(l.problems, linedProblem{line, err})
}

// repeats reports every key written more than once, in any spelling, once:
// the repetitions of its keys, if it is a section, are the same mistake.
func (l *layout) repeats(entries []entry, root *yaml.Node) {
	byPath := map[string][]entry{}
	var paths []string
	for _, e := range entries {
		if byPath[e.path] == nil {
			paths = append(paths, e.path)
		}
		byPath[e.path] = append(byPath[e.path], e)
	}
	repeated := func(p string) bool { return len(byPath[p]) > 1 }
	drop := map[*yaml.Node]bool{}
	for _, p := range paths {
		es := byPath[p]
		if !repeated(p) {
			continue
		}
		for _, e := range es[1:] {
			if e.parent != nil {
				drop[e.key] = true
			}
		}
		if slices.ContainsFunc(ancestors(p), repeated) {
			continue
		}
		as := make([]string, len(es))
		for i, e := range es {
			as[i] = fmt.Sprintf("%s (line %d)", shown(e.spelled), e.line)
		}
		times := "twice"
		if len(es) > 2 {
			times = fmt.Sprintf("%d times", len(es))
		}
		last := len(as) - 1
		fix := ": write it once"
		if slices.ContainsFunc(es, func(e entry) bool { return e.spelled != es[0].spelled }) {
			fix = "; keys ignore case: write it once"
		}
		l.add(es[0].line, fmt.Errorf("%s: written %s, as %s and %s%s", shown(p), times, strings.Join(as[:last], ", "), as[last], fix))
		l.unchecked = append(l.unchecked, p)
	}
	if len(drop) == 0 {
		return
	}
	parents := map[*yaml.Node]bool{}
	for _, e := range entries {
		if drop[e.key] && e.parent != nil {
			parents[e.parent] = true
		}
	}
	for m := range parents {
		var kept []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if !drop[m.Content[i]] {
				kept = append(kept, m.Content[i], m.Content[i+1])
			}
		}
		m.Content = kept
	}
	l.root = root
}

// sections reports a section written as a value (safety: 5); one written
// with no keys (safety:) is an empty section.
func (l *layout) sections(entries []entry) {
	names := map[string]bool{}
	for _, k := range keys() {
		s, _, _ := strings.Cut(k.name, ".")
		names[s] = true
	}
	for _, e := range entries {
		if !names[e.path] || l.covers(e.path) {
			continue
		}
		n := resolve(e.value)
		switch {
		case n.Kind == yaml.MappingNode:
		case isNull(n):
			l.empty[e.path] = true
		default:
			var v any
			val := n.Value
			if n.Decode(&v) == nil {
				val = quote(v)
			}
			l.add(e.line, fmt.Errorf("%s: %s is not a section (a map of keys)", e.path, val))
			l.unchecked = append(l.unchecked, e.path)
		}
	}
}

// covers reports whether key is at or under a path whose values are not
// checked.
func (l *layout) covers(key string) bool {
	return slices.ContainsFunc(l.unchecked, func(p string) bool {
		return key == p || strings.HasPrefix(key, p+".")
	})
}

// read reads the document into v: as written, or without the repetitions
// of keys, which were reported.
func (l *layout) read(v *viper.Viper, data []byte) (err error) {
	if l.root == nil {
		return readConfig(v, data)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("configs: YAML: %s", oneLine(fmt.Sprint(r)))
		}
	}()
	var m map[string]any
	if err := l.root.Decode(&m); err != nil {
		return fmt.Errorf("configs: YAML: %s", oneLine(err.Error()))
	}
	return v.MergeConfigMap(m)
}

// walker collects the entries of every mapping of a document.
type walker struct {
	entries []entry
	left    int                 // nodes still to visit; below 0, the walk stopped
	open    map[*yaml.Node]bool // nodes being walked through an alias or a merge: a cycle
}

func (w *walker) value(n *yaml.Node, path, spelled string) {
	if w.left--; w.left < 0 {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || w.open[n.Alias] {
			return
		}
		w.open[n.Alias] = true
		defer delete(w.open, n.Alias)
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for _, e := range w.mapping(n, path, spelled, true) {
			w.entries = append(w.entries, e)
			w.value(e.value, e.path, e.spelled)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.value(c, fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", spelled, i))
		}
	}
}

// mapping returns the entries of m, the keys of merged mappings (<<: *a)
// included where the merge key is.
func (w *walker) mapping(m *yaml.Node, path, spelled string, own bool) []entry {
	var es []entry
	for i := 0; i+1 < len(m.Content) && w.left >= 0; i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		w.left--
		if k.Kind != yaml.ScalarNode {
			continue // not a key viper can read; it says so
		}
		if k.ShortTag() == "!!merge" {
			for _, src := range mergeSources(v) {
				if w.open[src] {
					continue
				}
				w.open[src] = true
				es = append(es, w.mapping(src, path, spelled, false)...)
				delete(w.open, src)
			}
			continue
		}
		e := entry{path: join(path, strings.ToLower(k.Value)), spelled: join(spelled, k.Value), line: k.Line, key: k, value: v}
		if own {
			e.parent = m
		}
		es = append(es, e)
	}
	return es
}

// mergeSources are the mappings a merge key's value names: one, or a
// sequence of them.
func mergeSources(v *yaml.Node) []*yaml.Node {
	v = resolve(v)
	if v.Kind == yaml.SequenceNode {
		var ms []*yaml.Node
		for _, c := range v.Content {
			if c = resolve(c); c.Kind == yaml.MappingNode {
				ms = append(ms, c)
			}
		}
		return ms
	}
	if v.Kind == yaml.MappingNode {
		return []*yaml.Node{v}
	}
	return nil
}

func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// ancestors are the paths that hold path: a.b and a for a.b.c.
func ancestors(path string) []string {
	var as []string
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '.' {
			as = append(as, path[:i])
		}
	}
	return as
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
