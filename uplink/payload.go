package uplink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sleegation/podd/journal"
)

// TimeFormat is how ts and since are written: RFC 3339 in UTC with all nine
// fractional digits, so timestamps have one width and sort as strings. It
// parses with time.RFC3339Nano.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// FormatTime writes t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Header is the envelope every telemetry and event message carries, as the
// hub decodes it.
type Header struct {
	Pod         string `json:"pod"`
	Boot        string `json:"boot"`
	Seq         uint64 `json:"seq"`
	TS          string `json:"ts"`
	ClockSynced bool   `json:"clock_synced"`
	Historical  bool   `json:"historical"`
	Simulated   bool   `json:"simulated"`
}

// storedHeader is Header as it is written to the journal: without
// historical, which is only known when the record is sent (see
// withHistorical).
type storedHeader struct {
	Pod         string `json:"pod"`
	Boot        string `json:"boot"`
	Seq         uint64 `json:"seq"`
	TS          string `json:"ts"`
	ClockSynced bool   `json:"clock_synced"`
	Simulated   bool   `json:"simulated"`
}

// Status is the retained state of the pod, and its will. Boot is the boot
// of the start that published it (the will: of the connection it guards),
// so a pod can tell its own status from another pod's under the same id.
type Status struct {
	Online    bool   `json:"online"`
	State     string `json:"state"`
	Version   string `json:"version"`
	Simulated bool   `json:"simulated"`
	Since     string `json:"since"`
	Boot      string `json:"boot"`
	// Degraded names the pod's parts that are not working (the store, the
	// local API...), so the hub learns at once why a pod stays "starting"
	// or sends nothing: the events that say so wait in the pod until its
	// store takes them.
	Degraded []string `json:"degraded,omitempty"`
}

// Vitals are the derived vitals the city may see. A nil value is unknown
// (no valid reading) and is sent as null, never as 0.
type Vitals struct {
	HeartRateBPM      *float64           `json:"heart_rate_bpm"`
	SpO2Pct           *float64           `json:"spo2_pct"`
	SkinConductanceUS *float64           `json:"skin_conductance_us"`
	BodyTempC         *float64           `json:"body_temp_c"`
	EEG               map[string]float64 `json:"eeg,omitempty"`
}

// Telemetry is the body of one telemetry record.
type Telemetry struct {
	State     string   `json:"state"`
	Session   *string  `json:"session"`
	Vitals    Vitals   `json:"vitals"`
	Stability *float64 `json:"stability"`
	Safety    string   `json:"safety"` // ok, warn or abort
	// LatchStored is set while an abort is latched: false until the pod's
	// store has confirmed the latch (it is retried until then).
	LatchStored *bool `json:"latch_stored,omitempty"`
	// Sensors is the health of each biometric sensor by chip name, the
	// pulse oximeter's (max30102) included: podd always sends it.
	Sensors map[string]SensorHealth `json:"sensors,omitempty"`
}

// SensorHealth is a sensor's health in telemetry (sensing.Health).
type SensorHealth struct {
	// State is ok, starting, stale, bus_error, flatline, saturated,
	// lead_off or no_contact.
	State string `json:"state"`
	// PollErrors and OpenErrors count the failed polls and opens since
	// the pod started; Reopens the times the device was dropped and
	// opened anew.
	PollErrors uint64 `json:"poll_errors"`
	OpenErrors uint64 `json:"open_errors"`
	Reopens    uint64 `json:"reopens"`
}

// Event is the body of one event record. It marshals flat: its fields sit
// next to type, not under a key of their own.
type Event struct {
	Type   string
	Fields map[string]any
	// Audit asks Uplink.Event to make the event an entry of the journal's
	// audit log as well; the event then carries the entry's link as
	// "audit". It is not marshalled.
	Audit bool
	// ClearLatch asks Uplink.Event to delete the journal's latched abort
	// in the transaction that stores the event and its audit entry
	// (journal.Store.ClearLatchAudited): a local acknowledgement's event.
	// It needs Audit, and a journal that implements LatchClearer. It is
	// not marshalled.
	ClearLatch bool
}

// reserved are the keys of the envelope and of Event itself (audit is the
// link of an audited event); an event field with one of these names would
// be ambiguous on the wire.
var reserved = map[string]bool{
	"pod": true, "boot": true, "seq": true, "ts": true, "clock_synced": true,
	"historical": true, "simulated": true, "type": true, "audit": true,
}

// withAuditLink returns the event body b with "audit": link added last.
func withAuditLink(b []byte, link journal.AuditLink) ([]byte, error) {
	l, err := json.Marshal(struct {
		Audit journal.AuditLink `json:"audit"`
	}{link})
	if err != nil {
		return nil, err
	}
	return joinObjects(b, l)
}

var errEmptyObject = errors.New("empty JSON object")

// MarshalJSON writes {"type":..., fields...}. A field named like an envelope
// key is an error.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.Type == "" {
		return nil, errors.New("event without a type")
	}
	for k := range e.Fields {
		if reserved[k] {
			return nil, fmt.Errorf("event %q: field %q is reserved", e.Type, k)
		}
	}
	typ, err := json.Marshal(map[string]string{"type": e.Type})
	if err != nil {
		return nil, err
	}
	if len(e.Fields) == 0 {
		return typ, nil
	}
	fields, err := json.Marshal(e.Fields)
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", e.Type, err)
	}
	return joinObjects(typ, fields)
}

// UnmarshalJSON reads a flat event; envelope keys are left out of Fields.
func (e *Event) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	typ, ok := m["type"].(string)
	if !ok || typ == "" {
		return errors.New("event without a string type")
	}
	e.Type, e.Fields = typ, nil
	for k, v := range m {
		if reserved[k] {
			continue
		}
		if e.Fields == nil {
			e.Fields = make(map[string]any)
		}
		e.Fields[k] = v
	}
	return nil
}

// joinObjects merges two JSON objects written by encoding/json into one,
// keeping a's keys first. Neither may be empty: the result would need a
// comma rule for nothing.
func joinObjects(a, b []byte) ([]byte, error) {
	if len(a) < 3 || len(b) < 3 || a[0] != '{' || b[0] != '{' || a[len(a)-1] != '}' || b[len(b)-1] != '}' {
		return nil, errEmptyObject
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...), nil
}

// historicalTrue and historicalFalse are the key written first into every
// message at send time.
var (
	historicalTrue  = []byte(`{"historical":true,`)
	historicalFalse = []byte(`{"historical":false,`)
)

// withHistorical returns the stored payload p with historical set, as a new
// slice: one allocation and a copy, no JSON parsing. ok is false when p is
// not a non-empty JSON object, which only a damaged record can be.
func withHistorical(p []byte, historical bool) (out []byte, ok bool) {
	// encoding/json writes no whitespace, so an object with keys starts `{"`.
	if len(p) < 3 || p[0] != '{' || p[1] != '"' || p[len(p)-1] != '}' {
		return nil, false
	}
	prefix := historicalFalse
	if historical {
		prefix = historicalTrue
	}
	out = make([]byte, 0, len(prefix)+len(p)-1)
	out = append(out, prefix...)
	return append(out, p[1:]...), true
}

// envelope writes the journal payload of this pod's messages: the
// envelope without historical (storedHeader, as encoding/json writes it),
// then the body's keys. What never changes (pod and boot, escaped by
// encoding/json once) is written once, in New; the rest is appended without
// reflection, into the one slice returned: an append's JSON is its body's
// alone.
type envelope struct {
	head      []byte // {"pod":...,"boot":...,"seq":
	simulated bool
}

func newEnvelope(pod, boot string, simulated bool) envelope {
	p, _ := json.Marshal(pod) // a string: Marshal cannot fail
	b, _ := json.Marshal(boot)
	head := append([]byte(`{"pod":`), p...)
	head = append(head, `,"boot":`...)
	head = append(head, b...)
	return envelope{head: append(head, `,"seq":`...), simulated: simulated}
}

// encode writes one record's payload. body must be a non-empty JSON object
// as encoding/json writes it.
func (e envelope) encode(seq uint64, at time.Time, synced bool, body []byte) ([]byte, error) {
	if len(body) < 3 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, errEmptyObject
	}
	const rest = len(`,"ts":"2006-01-02T15:04:05.000000000Z","clock_synced":false,"simulated":false,`)
	out := make([]byte, 0, len(e.head)+20+rest+len(body))
	out = append(out, e.head...)
	out = strconv.AppendUint(out, seq, 10)
	out = append(out, `,"ts":"`...)
	// TimeFormat writes digits and -:.TZ only: nothing JSON escapes.
	out = at.UTC().AppendFormat(out, TimeFormat)
	out = append(out, `","clock_synced":`...)
	out = strconv.AppendBool(out, synced)
	out = append(out, `,"simulated":`...)
	out = strconv.AppendBool(out, e.simulated)
	out = append(out, ',')
	return append(out, body[1:]...), nil
}
