package uplink

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseReceiptAcceptsExactlyTheContractsShape(t *testing.T) {
	r, err := ParseReceipt([]byte(`{"upto":249,"ts":"2026-11-29T23:00:01.5Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Upto != 249 || !r.TS.Equal(time.Date(2026, 11, 29, 23, 0, 1, 5e8, time.UTC)) {
		t.Fatalf("got %+v", r)
	}
	if r, err := ParseReceipt([]byte(`{"ts":"2026-11-29T23:00:00Z","upto":9007199254740991}`)); err != nil || r.Upto != 1<<53-1 {
		t.Fatalf("largest upto: %+v, %v", r, err)
	}
	for _, bad := range []string{
		``, `null`, `[]`, `{}`, `{"upto":1}`, `{"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":-1,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1.5,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1e3,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":"1","ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":01,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":9007199254740992,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":18446744073709551616,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1,"ts":"yesterday"}`,
		`{"upto":1,"ts":null}`,
		`{"upto":null,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1,"ts":"2026-11-29T23:00:00Z","pod":"p1"}`,
		`{"upto":1,"upto":2,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1,"ts":"2026-11-29T23:00:00Z"} {}`,
		`{"upto":1,"ts":"2026-11-29T23:00:00Z"}x`,
		`{"upto":1,"ts":"2026-11-29T23:00:00Z","x":"` + strings.Repeat("a", 256) + `"}`,
	} {
		if r, err := ParseReceipt([]byte(bad)); err == nil {
			t.Errorf("ParseReceipt(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestParseHubStatusAcceptsExactlyTheContractsShape(t *testing.T) {
	for in, want := range map[string]bool{
		`{"online":true,"ts":"2026-11-29T23:00:00Z"}`:            true,
		`{"ts":"2026-11-29T23:00:00.123456789Z","online":false}`: false,
	} {
		st, err := ParseHubStatus([]byte(in))
		if err != nil || st.Online != want {
			t.Errorf("ParseHubStatus(%q) = %+v, %v; want online %v", in, st, err, want)
		}
	}
	for _, bad := range []string{
		``, `true`, `{}`, `{"online":true}`, `{"ts":"2026-11-29T23:00:00Z"}`,
		`{"online":"true","ts":"2026-11-29T23:00:00Z"}`,
		`{"online":1,"ts":"2026-11-29T23:00:00Z"}`,
		`{"online":true,"ts":"2026-11-29"}`,
		`{"online":true,"ts":"2026-11-29T23:00:00Z","state":"x"}`,
		`{"online":true,"online":false,"ts":"2026-11-29T23:00:00Z"}`,
		`{"online":true,"ts":"2026-11-29T23:00:00Z"}{}`,
	} {
		if st, err := ParseHubStatus([]byte(bad)); err == nil {
			t.Errorf("ParseHubStatus(%q) = %+v, want an error", bad, st)
		}
	}
}

// What ParseReceipt accepts is a JSON object of upto and ts alone, within
// bounds, and reads back the same after encoding.
func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{
		`{"upto":249,"ts":"2026-11-29T23:00:01.5Z"}`, `{"upto":0,"ts":"2026-11-29T23:00:00+01:00"}`,
		`{"upto":1,"upto":2,"ts":"2026-11-29T23:00:00Z"}`, `{"upto":1e3,"ts":"x"}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			return
		}
		if len(b) > maxHubPayload || r.Upto > 1<<53-1 {
			t.Fatalf("accepted %q as %+v", b, r)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil || len(m) != 2 {
			t.Fatalf("accepted %q: not an object of two keys (%v)", b, err)
		}
		again, err := ParseReceipt([]byte(`{"upto":` + jsonUint(r.Upto) + `,"ts":"` + r.TS.Format(time.RFC3339Nano) + `"}`))
		if err != nil || again.Upto != r.Upto || !again.TS.Equal(r.TS) {
			t.Fatalf("%q: %+v does not read back: %+v, %v", b, r, again, err)
		}
	})
}

// What ParseHubStatus accepts is a JSON object of online and ts alone.
func FuzzParseHubStatus(f *testing.F) {
	for _, s := range []string{
		`{"online":true,"ts":"2026-11-29T23:00:00Z"}`, `{"online":false,"ts":"2026-11-29T23:00:00.1-05:00"}`,
		`{"online":true,"online":false,"ts":"2026-11-29T23:00:00Z"}`, `{"online":null}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseHubStatus(b)
		if err != nil {
			return
		}
		var v struct {
			Online bool   `json:"online"`
			TS     string `json:"ts"`
		}
		var m map[string]json.RawMessage
		if len(b) > maxHubPayload || json.Unmarshal(b, &m) != nil || len(m) != 2 || json.Unmarshal(b, &v) != nil || v.Online != st.Online {
			t.Fatalf("accepted %q as %+v", b, st)
		}
	})
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }
