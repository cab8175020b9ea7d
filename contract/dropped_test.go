package contract_test

import (
	"testing"
	"time"

	"github.com/sleegation/podd/uplink"
)

// A dropped event of a full outbox may list the seqs it kept between from
// and to; the schema takes that list only with outbox_full, non-empty, of
// seqs, each once.
func TestTheDroppedSchemaTakesKeptOnlyWithOutboxFull(t *testing.T) {
	u, j := newCaptureUplink(t)
	at := time.Date(2026, 11, 29, 21, 0, 0, 123456789, time.UTC)
	if _, err := u.Event(uplink.Event{Type: "state", Fields: map[string]any{"from": "idle", "to": "idle"}}, at); err != nil {
		t.Fatal(err)
	}
	dropped := mutate(t, j.wire(t, false), func(m map[string]any) {
		for k := range m {
			switch k {
			case "pod", "boot", "seq", "ts", "clock_synced", "historical", "simulated":
			default:
				delete(m, k)
			}
		}
		m["type"], m["reason"], m["from"], m["to"], m["count"] = "dropped", "outbox_full", 1, 9, 6
		m["kept"] = []int{4, 6, 7}
	})
	mustValidate(t, "event", dropped)
	mustValidate(t, "event", mutate(t, dropped, func(m map[string]any) { delete(m, "kept") }))
	for _, b := range []struct {
		name    string
		payload []byte
	}{
		{"kept with corrupt", mutate(t, dropped, func(m map[string]any) { m["reason"] = "corrupt" })},
		{"kept with store_damaged", mutate(t, dropped, func(m map[string]any) { m["reason"] = "store_damaged" })},
		{"kept empty", mutate(t, dropped, func(m map[string]any) { m["kept"] = []int{} })},
		{"kept seq 0", mutate(t, dropped, func(m map[string]any) { m["kept"] = []int{0, 4} })},
		{"kept twice", mutate(t, dropped, func(m map[string]any) { m["kept"] = []int{4, 4} })},
		{"kept not a list", mutate(t, dropped, func(m map[string]any) { m["kept"] = 4 })},
		{"kept not seqs", mutate(t, dropped, func(m map[string]any) { m["kept"] = []string{"4"} })},
	} {
		if err := validate(t, "event", b.payload); err == nil {
			t.Errorf("%s: accepted by event.json: %s", b.name, b.payload)
		}
	}
}
