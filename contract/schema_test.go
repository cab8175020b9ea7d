package contract_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// The schemas by name: status, telemetry, event, envelope, reply, cmd,
// hub-status, receipt, and events/{type} for each event type.
var (
	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

func loadSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	schemasOnce.Do(func() {
		dir, err := filepath.Abs("schemas")
		if err != nil {
			schemasErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		schemas = map[string]*jsonschema.Schema{}
		schemasErr = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			name := strings.TrimSuffix(filepath.ToSlash(rel), ".json")
			s, err := c.Compile(path)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			schemas[name] = s
			return nil
		})
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas
}

// validate checks payload against the named schema and returns the error.
func validate(t testing.TB, name string, payload []byte) error {
	t.Helper()
	s, ok := loadSchemas(t)[name]
	if !ok {
		t.Fatalf("no schema %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}

// mustValidate fails the test when payload does not validate against name,
// and, for an event, against events/{type} as well.
func mustValidate(t testing.TB, name string, payload []byte) {
	t.Helper()
	if err := validate(t, name, payload); err != nil {
		t.Errorf("%s payload does not validate: %s\n%v", name, payload, err)
		return
	}
	if name == "event" {
		var e struct{ Type string }
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Fatal(err)
		}
		if err := validate(t, "events/"+e.Type, payload); err != nil {
			t.Errorf("event %s does not validate against its own schema: %s\n%v", e.Type, payload, err)
		}
	}
}

func TestSchemasCompile(t *testing.T) {
	s := loadSchemas(t)
	for _, want := range []string{"status", "telemetry", "event", "envelope", "reply", "cmd", "hub-status", "receipt"} {
		if s[want] == nil {
			t.Errorf("schemas/%s.json missing", want)
		}
	}
}

// postedEventTypes returns every event type the pod's code posts: the
// string constant given as Type in an Event composite literal (uplink.Event
// or, inside uplink, Event) in a non-test Go file of the module, with where
// it is posted.
func postedEventTypes(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isEventType(lit.Type) {
				return true
			}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Type" {
					continue
				}
				pos := fset.Position(kv.Pos())
				rel, _ := filepath.Rel(root, pos.Filename)
				where := fmt.Sprintf("%s:%d", filepath.ToSlash(rel), pos.Line)
				bl, ok := kv.Value.(*ast.BasicLit)
				if !ok || bl.Kind != token.STRING {
					// A type that is not a literal cannot be checked here.
					found["<not a string literal>"] = append(found["<not a string literal>"], where)
					continue
				}
				typ, err := strconv.Unquote(bl.Value)
				if err != nil {
					t.Fatal(err)
				}
				found[typ] = append(found[typ], where)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func isEventType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "Event"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "uplink" && x.Sel.Name == "Event"
	}
	return false
}

// Every event type the code posts has a schema, and event.json dispatches
// it; every event schema is of a type the code posts.
func TestEveryPostedEventTypeHasASchema(t *testing.T) {
	posted := postedEventTypes(t)
	if len(posted) < 5 {
		t.Fatalf("found only %v posted event types: the scan is broken", posted)
	}
	var disp struct {
		Properties struct {
			Type struct {
				Enum []string `json:"enum"`
			} `json:"type"`
		} `json:"properties"`
	}
	b, err := os.ReadFile("schemas/event.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &disp); err != nil {
		t.Fatal(err)
	}
	s := loadSchemas(t)
	for typ, where := range posted {
		if s["events/"+typ] == nil {
			t.Errorf("event type %q is posted (%s) but has no schema: add contract/schemas/events/%s.json", typ, strings.Join(where, ", "), typ)
		}
		if !slices.Contains(disp.Properties.Type.Enum, typ) {
			t.Errorf("event type %q is posted (%s) but schemas/event.json does not dispatch it", typ, strings.Join(where, ", "))
		}
	}
	for name := range s {
		if typ, ok := strings.CutPrefix(name, "events/"); ok && posted[typ] == nil {
			t.Errorf("schemas/events/%s.json: no code posts an event of type %q", typ, typ)
		}
	}
	for _, typ := range disp.Properties.Type.Enum {
		if posted[typ] == nil {
			t.Errorf("schemas/event.json dispatches %q, which no code posts", typ)
		}
	}
}

// captureJournal is an uplink.Journal that keeps the payload of every
// record the uplink appends, as the uplink's own encoder wrote it.
type captureJournal struct {
	mu     sync.Mutex
	seq    uint64
	recs   []journal.Record
	audits uint64 // the last audit entry's number
	last   string // and its hash
}

func (j *captureJournal) append(topic string, at time.Time, build func(uint64) ([]byte, error)) (journal.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	p, err := build(j.seq)
	if err != nil {
		return journal.Record{}, err
	}
	r := journal.Record{Seq: j.seq, Topic: topic, Payload: p}
	j.recs = append(j.recs, r)
	return r, nil
}

func (j *captureJournal) Append(topic string, at time.Time, build func(uint64) ([]byte, error)) (journal.Record, error) {
	return j.append(topic, at, build)
}

func (j *captureJournal) AppendLazy(topic string, at time.Time, build func(uint64) ([]byte, error)) (journal.Record, error) {
	return j.append(topic, at, build)
}

// AppendAudited stores the record with a link of an entry it does not
// keep: a chain of hashes of the fields, for the payload's shape.
func (j *captureJournal) AppendAudited(topic string, at time.Time, typ string, fields []byte, build func(uint64, journal.AuditLink) ([]byte, error)) (journal.Record, error) {
	j.mu.Lock()
	prev := j.last
	if prev == "" {
		prev = strings.Repeat("0", 64)
	}
	h := sha256.Sum256(append([]byte(prev+typ), fields...))
	link := journal.AuditLink{N: j.audits + 1, Prev: prev, Hash: hex.EncodeToString(h[:])}
	j.mu.Unlock()
	rec, err := j.append(topic, at, func(seq uint64) ([]byte, error) { return build(seq, link) })
	if err == nil {
		j.mu.Lock()
		j.audits, j.last = link.N, link.Hash
		j.mu.Unlock()
	}
	return rec, err
}

func (j *captureJournal) Pending(after uint64, max int) ([]journal.Record, error) { return nil, nil }
func (j *captureJournal) Delete(seqs ...uint64) error                             { return nil }
func (j *captureJournal) NextSeq() (uint64, error)                                { return j.seq + 1, nil }
func (j *captureJournal) Committed() <-chan struct{}                              { return make(chan struct{}) }

// wire returns what the uplink stored for the last record, as the hub
// receives it: the drainer writes historical first into the stored object.
func (j *captureJournal) wire(t *testing.T, historical bool) []byte {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.recs[len(j.recs)-1].Payload
	return append([]byte(`{"historical":`+strconv.FormatBool(historical)+`,`), p[1:]...)
}

func newCaptureUplink(t *testing.T) (*uplink.Uplink, *captureJournal) {
	t.Helper()
	j := &captureJournal{}
	u, err := uplink.New(uplink.Config{Broker: "tcp://127.0.0.1:1", Pod: "pod-7", Boot: "0123456789abcdef", Version: "test", Simulated: true,
		ClockSynced: func() bool { return true }}, j)
	if err != nil {
		t.Fatal(err)
	}
	return u, j
}

func ptr[T any](v T) *T { return &v }

// mutate decodes payload, applies f, and encodes it again.
func mutate(t *testing.T, payload []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Payloads built by the uplink's encoders validate; the same payloads with
// a field missing, a value out of its enum or a field the pod never sends
// are rejected.
func TestSchemasRejectWhatThePodNeverSends(t *testing.T) {
	u, j := newCaptureUplink(t)
	at := time.Date(2026, 11, 29, 21, 0, 0, 123456789, time.UTC)
	if _, err := u.Telemetry(uplink.Telemetry{
		State: "merged", Session: ptr("m-1"), Safety: "warn",
		Vitals: uplink.Vitals{HeartRateBPM: ptr(58.2), SpO2Pct: ptr(97.0)},
	}, at); err != nil {
		t.Fatal(err)
	}
	telemetry := j.wire(t, false)
	mustValidate(t, "telemetry", telemetry)
	mustValidate(t, "telemetry", j.wire(t, true))
	if _, err := u.Event(uplink.Event{Type: "consent", Fields: map[string]any{"action": "withdrawn", "source": "api"}, Audit: true}, at); err != nil {
		t.Fatal(err)
	}
	consent := j.wire(t, false)
	mustValidate(t, "event", consent)
	status, err := json.Marshal(uplink.Status{Online: true, State: "idle", Version: "v1", Since: uplink.FormatTime(at), Boot: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, "status", status)

	bad := []struct {
		name, schema string
		payload      []byte
	}{
		{"telemetry without seq", "telemetry", mutate(t, telemetry, func(m map[string]any) { delete(m, "seq") })},
		{"telemetry without historical", "telemetry", mutate(t, telemetry, func(m map[string]any) { delete(m, "historical") })},
		{"telemetry with an unknown state", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["state"] = "dreaming" })},
		{"telemetry in state offline", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["state"] = "offline" })},
		{"telemetry with an unknown safety level", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["safety"] = "fine" })},
		{"telemetry with an extra field", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["raw_ppg"] = []int{1, 2, 3} })},
		{"telemetry with an extra vital", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["vitals"].(map[string]any)["name"] = "x" })},
		{"telemetry with stability above 1", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["stability"] = 1.5 })},
		{"telemetry with a ts that is not a date-time", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["ts"] = "yesterday" })},
		{"telemetry with a negative seq", "telemetry", mutate(t, telemetry, func(m map[string]any) { m["seq"] = -1 })},
		{"event without seq", "event", mutate(t, consent, func(m map[string]any) { delete(m, "seq") })},
		{"event of an unknown type", "event", mutate(t, consent, func(m map[string]any) { m["type"] = "party" })},
		{"consent with an extra field", "event", mutate(t, consent, func(m map[string]any) { m["person"] = "Ada" })},
		{"consent with an unknown action", "event", mutate(t, consent, func(m map[string]any) { m["action"] = "maybe" })},
		{"consent granted without expiry", "event", mutate(t, consent, func(m map[string]any) { m["action"] = "granted" })},
		{"consent without its audit link", "event", mutate(t, consent, func(m map[string]any) { delete(m, "audit") })},
		{"an audit link with a short hash", "event", mutate(t, consent, func(m map[string]any) { m["audit"].(map[string]any)["hash"] = "abc" })},
		{"an audit link numbered 0", "event", mutate(t, consent, func(m map[string]any) { m["audit"].(map[string]any)["n"] = 0 })},
		{"an audit link with an extra field", "event", mutate(t, consent, func(m map[string]any) { m["audit"].(map[string]any)["seq"] = 1 })},
		{"status with an unknown state", "status", mutate(t, status, func(m map[string]any) { m["state"] = "asleep" })},
		{"status without boot", "status", mutate(t, status, func(m map[string]any) { delete(m, "boot") })},
		{"status with an extra field", "status", mutate(t, status, func(m map[string]any) { m["seq"] = 4 })},
		{"status offline but online", "status", mutate(t, status, func(m map[string]any) { m["state"] = "offline" })},
		{"status not online but idle", "status", mutate(t, status, func(m map[string]any) { m["online"] = false })},
	}
	for _, b := range bad {
		if err := validate(t, b.schema, b.payload); err == nil {
			t.Errorf("%s: accepted by %s.json: %s", b.name, b.schema, b.payload)
		}
	}
}
