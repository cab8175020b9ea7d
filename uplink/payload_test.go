package uplink

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// encodeRecord is the stored payload written with encoding/json: the
// reference envelope.encode must match byte for byte.
func encodeRecord(h storedHeader, body []byte) ([]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	return joinObjects(hb, body)
}

func TestEnvelopeWritesWhatEncodingJSONWrites(t *testing.T) {
	at := []time.Time{
		time.Date(2031, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 7200)),
		time.Unix(0, 0),
		time.Date(1970, 1, 1, 0, 0, 0, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1, time.Local),
	}
	bodies := [][]byte{[]byte(`{"state":"idle"}`), []byte(`{"a":1,"b":{"c":[1,2]}}`)}
	for _, pod := range []string{"p1", `p"1\`, "pod <&> \u2028 \u00e9 \x01", "é😀"} {
		for _, boot := range []string{"b1", "0123456789abcdef", `"<>"`} {
			for _, sim := range []bool{false, true} {
				e := newEnvelope(pod, boot, sim)
				for _, seq := range []uint64{0, 1, 7, 1 << 53} {
					for _, ts := range at {
						for _, synced := range []bool{false, true} {
							for _, body := range bodies {
								want, err := encodeRecord(storedHeader{Pod: pod, Boot: boot, Seq: seq, TS: FormatTime(ts), ClockSynced: synced, Simulated: sim}, body)
								if err != nil {
									t.Fatal(err)
								}
								got, err := e.encode(seq, ts, synced, body)
								if err != nil || string(got) != string(want) {
									t.Fatalf("encode(%d, %v, %v, %s) for pod %q boot %q = %s, %v\nwant %s", seq, ts, synced, body, pod, boot, got, err, want)
								}
							}
						}
					}
				}
			}
		}
	}
	for _, body := range []string{"", "{}", "[]", `{"a":1`, "null"} {
		if got, err := newEnvelope("p1", "b1", false).encode(1, at[0], true, []byte(body)); err == nil {
			t.Errorf("encode of body %q = %s, want an error", body, got)
		}
	}
}

// BenchmarkEnvelope is the envelope of one record: encoding/json and a
// join (before), and envelope.encode.
func BenchmarkEnvelope(b *testing.B) {
	body, err := json.Marshal(benchTelemetry())
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now()
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeRecord(storedHeader{Pod: "p1", Boot: "0123456789abcdef", Seq: 123456, TS: FormatTime(at), ClockSynced: true}, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envelope", func(b *testing.B) {
		e := newEnvelope("p1", "0123456789abcdef", false)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.encode(123456, at, true, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestTelemetryRecordHasTheContractFieldNamesAndNullForUnknownVitals(t *testing.T) {
	body, err := json.Marshal(Telemetry{
		State:     "merged",
		Session:   ptr("s-42"),
		Vitals:    Vitals{HeartRateBPM: ptr(58.5), SpO2Pct: ptr(97.0), EEG: map[string]float64{"delta": 0.5, "alpha": 0.25}},
		Stability: ptr(0.75),
		Safety:    "warn",
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := encodeRecord(storedHeader{
		Pod: "p1", Boot: "b1", Seq: 7, TS: FormatTime(time.Date(2031, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 7200))),
		ClockSynced: true, Simulated: true,
	}, body)
	if err != nil {
		t.Fatal(err)
	}
	sent, ok := withHistorical(stored, true)
	if !ok {
		t.Fatal("withHistorical rejected a record written by encodeRecord")
	}
	want := `{"historical":true,"pod":"p1","boot":"b1","seq":7,"ts":"2031-01-02T01:04:05.000000600Z",` +
		`"clock_synced":true,"simulated":true,"state":"merged","session":"s-42",` +
		`"vitals":{"heart_rate_bpm":58.5,"spo2_pct":97,"skin_conductance_us":null,"body_temp_c":null,"eeg":{"alpha":0.25,"delta":0.5}},` +
		`"stability":0.75,"safety":"warn"}`
	if string(sent) != want {
		t.Fatalf("sent payload\n got %s\nwant %s", sent, want)
	}

	var h Header
	if err := json.Unmarshal(sent, &h); err != nil {
		t.Fatal(err)
	}
	wantH := Header{Pod: "p1", Boot: "b1", Seq: 7, TS: "2031-01-02T01:04:05.000000600Z", ClockSynced: true, Historical: true, Simulated: true}
	if h != wantH {
		t.Fatalf("decoded header = %+v, want %+v", h, wantH)
	}
	if _, err := time.Parse(time.RFC3339Nano, h.TS); err != nil {
		t.Fatalf("ts does not parse as RFC 3339: %v", err)
	}
}

func TestTelemetryWithNothingKnownSendsNulls(t *testing.T) {
	body, err := json.Marshal(Telemetry{State: "idle", Safety: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"state":"idle","session":null,"vitals":{"heart_rate_bpm":null,"spo2_pct":null,"skin_conductance_us":null,"body_temp_c":null},"stability":null,"safety":"ok"}`
	if string(body) != want {
		t.Fatalf("got  %s\nwant %s", body, want)
	}
}

func TestWithHistoricalFalseAndBadPayloads(t *testing.T) {
	got, ok := withHistorical([]byte(`{"pod":"p"}`), false)
	if !ok || string(got) != `{"historical":false,"pod":"p"}` {
		t.Fatalf("withHistorical = %s, %v", got, ok)
	}
	for _, bad := range []string{``, `{}`, `{ }`, `[1,2]`, `"x"`, `{"a":1`, `garbage`} {
		if _, ok := withHistorical([]byte(bad), true); ok {
			t.Errorf("withHistorical(%q) accepted it", bad)
		}
	}
}

func TestStatusFieldNames(t *testing.T) {
	b, err := json.Marshal(Status{Online: true, State: "idle", Version: "1.2.3", Simulated: true, Since: "2031-01-02T03:04:05.000000000Z", Boot: "5eed"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"online":true,"state":"idle","version":"1.2.3","simulated":true,"since":"2031-01-02T03:04:05.000000000Z","boot":"5eed"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestEventMarshalsFlatAfterTheHeader(t *testing.T) {
	body, err := json.Marshal(Event{Type: "abort", Fields: map[string]any{"rule": "spo2_low", "value": 84, "latency_ms": 12}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := encodeRecord(storedHeader{Pod: "p1", Boot: "b1", Seq: 3, TS: "T"}, body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pod":"p1","boot":"b1","seq":3,"ts":"T","clock_synced":false,"simulated":false,"type":"abort","latency_ms":12,"rule":"spo2_low","value":84}`
	if string(stored) != want {
		t.Fatalf("got  %s\nwant %s", stored, want)
	}

	var e Event
	if err := json.Unmarshal(stored, &e); err != nil {
		t.Fatal(err)
	}
	wantE := Event{Type: "abort", Fields: map[string]any{"rule": "spo2_low", "value": 84.0, "latency_ms": 12.0}}
	if !reflect.DeepEqual(e, wantE) {
		t.Fatalf("decoded %+v, want %+v", e, wantE)
	}

	if b, err := json.Marshal(Event{Type: "state"}); err != nil || string(b) != `{"type":"state"}` {
		t.Fatalf("event without fields = %s, %v", b, err)
	}
}

func TestEventRejectsEnvelopeFieldsAndMissingType(t *testing.T) {
	for _, k := range []string{"pod", "seq", "historical", "type", "ts"} {
		_, err := json.Marshal(Event{Type: "x", Fields: map[string]any{k: 1}})
		if err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("field %q: err = %v, want reserved", k, err)
		}
	}
	if _, err := json.Marshal(Event{}); err == nil {
		t.Error("event without a type marshalled")
	}
	if _, err := json.Marshal(Event{Type: "x", Fields: map[string]any{"f": func() {}}}); err == nil {
		t.Error("unmarshallable field marshalled")
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"pod":"p"}`), &e); err == nil {
		t.Error("event without type decoded")
	}
}
