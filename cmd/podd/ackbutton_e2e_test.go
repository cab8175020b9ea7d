package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/internal/mqtttest"
)

// A night whose heart rate climbs past the limit and comes back, then
// three presses of the simulated acknowledgement button: one while the
// heart rate is still high, then two once it is back.
const ackPresses = `
name: e2e-ack-button
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 5s, ramp: 5s, set: {heart_rate_bpm: 150}}
  - {at: 27s, press: ack}
  - {at: 30s, ramp: 5s, set: {heart_rate_bpm: 62}}
  - {at: 55s, press: ack}
  - {at: 65s, press: ack}
`

// Through the daemon, in sim mode: the scenario's ack press holds the
// simulated button a second past hardware.ack_hold. Held while the heart
// rate is still high, it is refused and the pod stays aborted; once the
// vitals are back, it clears the latch, and the hub's ack event and
// podctl status say it was the button.
func TestTheAckButtonThroughTheDaemon(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), ackPresses)
	b.extraEnv = append(b.extraEnv, "PODD_HARDWARE_ACK_HOLD=2s")
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-e2e-ack", true)
	d := b.start()
	defer d.stop()
	mqtttest.WaitFor(t, 40*time.Second, "an abort event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "abort" })
		return ok
	})
	abort, _ := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "abort" })
	// The first press (27 s to 30 s, recognised at 29 s) comes while the heart rate is 150.
	mqtttest.WaitFor(t, 30*time.Second, "the first press to be over", func() bool {
		return strings.Contains(d.output(), "acknowledgement button: not acknowledged")
	})
	if st := b.status(); st.State != "aborted" || st.Safety.Latched == nil || st.Safety.LastAck != nil {
		t.Fatalf("after a press while the heart rate is high: %+v; want still aborted", st.Safety)
	}
	mqtttest.WaitFor(t, 60*time.Second, "the ack event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "ack" })
		return ok
	})
	ack, _ := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "ack" })
	if ack["source"] != "button" || ack["by"] != "local" || ack["rule"] != abort["rule"] || ack["detected_at"] != abort["detected_at"] || ack["uid"] != nil || ack["user"] != nil {
		t.Fatalf("ack event %v; want by the button, clearing %v", ack, abort)
	}
	st := b.status()
	if st.State != "idle" || st.Safety.Latched != nil || st.Safety.LastAck == nil || st.Safety.LastAck.Kind != "button" {
		t.Fatalf("status after the button's ack: %+v", st.Safety)
	}
	if text, _ := b.podctl("status"); !strings.Contains(text, "last ack   heart_rate_high (detected ") || !strings.Contains(text, " by button\n") {
		t.Fatalf("podctl status does not say the button cleared it:\n%s", text)
	}
}
