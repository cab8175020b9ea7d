package contract_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/uplink"
)

// The ack event says who cleared the latch: an API caller by uid and pid
// (and user, note), the button by nothing more. A hub, an API ack without
// its credentials, a button with them, a note too long or padded: the
// schema rejects them.
func TestTheAckSchemaSaysWhoCleared(t *testing.T) {
	u, j := newCaptureUplink(t)
	at := time.Date(2026, 11, 30, 4, 0, 0, 123456789, time.UTC)
	detected := uplink.FormatTime(at.Add(-time.Hour))
	if _, err := u.Event(uplink.Event{Type: "ack", Fields: map[string]any{
		"rule": "spo2_low", "detected_at": detected, "by": "local", "source": "api",
		"uid": uint32(1000), "pid": int32(4242), "user": "tech", "note": "refixed the sensor",
	}, Audit: true}, at); err != nil {
		t.Fatal(err)
	}
	api := j.wire(t, false)
	mustValidate(t, "event", api)
	if _, err := u.Event(uplink.Event{Type: "ack", Fields: map[string]any{
		"rule": "spo2_low", "detected_at": detected, "by": "local", "source": "button",
	}, Audit: true}, at); err != nil {
		t.Fatal(err)
	}
	button := j.wire(t, false)
	mustValidate(t, "event", button)

	for _, b := range []struct {
		name    string
		payload []byte
	}{
		{"an ack without its source", mutate(t, api, func(m map[string]any) { delete(m, "source") })},
		{"an ack by the hub", mutate(t, api, func(m map[string]any) { m["source"] = "hub" })},
		{"an ack by another than local", mutate(t, api, func(m map[string]any) { m["by"] = "hub" })},
		{"an API ack without a uid", mutate(t, api, func(m map[string]any) { delete(m, "uid") })},
		{"an API ack without a pid", mutate(t, api, func(m map[string]any) { delete(m, "pid") })},
		{"an API ack with a negative uid", mutate(t, api, func(m map[string]any) { m["uid"] = -1 })},
		{"an API ack with pid 0", mutate(t, api, func(m map[string]any) { m["pid"] = 0 })},
		{"a button ack with a uid", mutate(t, button, func(m map[string]any) { m["uid"] = 0 })},
		{"a button ack with a user", mutate(t, button, func(m map[string]any) { m["user"] = "root" })},
		{"a note of 201 characters", mutate(t, api, func(m map[string]any) { m["note"] = strings.Repeat("x", 201) })},
		{"a note with a leading space", mutate(t, api, func(m map[string]any) { m["note"] = " x" })},
		{"an empty note", mutate(t, api, func(m map[string]any) { m["note"] = "" })},
		{"an ack with an extra field", mutate(t, api, func(m map[string]any) { m["claimed_user"] = "root" })},
	} {
		if err := validate(t, "event", b.payload); err == nil {
			t.Errorf("%s: accepted: %s", b.name, b.payload)
		}
	}
}
