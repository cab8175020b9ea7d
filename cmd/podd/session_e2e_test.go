package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/internal/mqtttest"
)

// The real binary on an empty pod, with a start-up grace of 5 s and
// vitals_stale after 1 s: well past the 6 s after which a pod without
// vitals would latch it, nothing is latched, the status says
// the sensor sees no one and vitals_stale is disarmed; the sleeper's
// consent is given and withdrawn with podctl, and each is an event the hub
// receives.
func TestAnEmptyPodNeverLatchesAndTakesConsent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the podd binary against mosquitto")
	}
	m := mqtttest.Start(t, false)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/v1/pods/e2e-pod/#", "hub", true)
	b := newBench(t, m.URL(), `
name: e2e-empty
baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
occupied: false
`)
	b.extraEnv = []string{"PODD_SAFETY_STARTUP_GRACE=5s", "PODD_SAFETY_STALE_AFTER=1s"}
	d := b.start()
	defer d.stop()

	// The sensor's first judgement of contact comes a second after it
	// starts sampling; from then on nothing may latch. The daemon runs on
	// the real clock.
	mqtttest.WaitFor(t, 10*time.Second, "the sensor to see no one", func() bool { return b.status().Vitals.Contact == "none" })
	time.Sleep(8 * time.Second)
	st := b.status()
	if st.State != "idle" || st.Safety.Latched != nil || st.Vitals.Contact != "none" || strings.Contains(strings.Join(st.Safety.Armed, ","), "vitals_stale") {
		t.Fatalf("status of an empty pod: %+v", st)
	}

	out, code := b.podctl("consent", "grant", "--for", "2h", "--json")
	var r api.ConsentReply
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || !r.OK || !r.Consent.Granted || r.Consent.ExpiresAt == nil {
		t.Fatalf("podctl consent grant: exit %d: %s", code, out)
	}
	if left := time.Until(*r.Consent.ExpiresAt); left < 119*time.Minute || left > 2*time.Hour {
		t.Fatalf("consent expires in %v, want 2 h", left)
	}
	if out, code := b.podctl("consent", "grant", "--for", "25h"); code == 0 || !strings.Contains(out, "for 25h0m0s is outside 1m0s..24h0m0s") {
		t.Fatalf("podctl consent grant --for 25h: exit %d: %s", code, out)
	}
	if out, code := b.podctl("consent", "withdraw"); code != 0 || out != "consent    not given\n" {
		t.Fatalf("podctl consent withdraw: exit %d: %q", code, out)
	}
	var actions []string
	mqtttest.WaitFor(t, 15*time.Second, "the consent events at the hub", func() bool {
		actions = actions[:0]
		for _, msg := range received(t, sub, b.podID) {
			if msg.kind == "events" && msg.body["type"] == "consent" {
				actions = append(actions, msg.body["action"].(string)+" by "+msg.body["source"].(string))
			}
		}
		return len(actions) == 2
	})
	if want := "granted by api,withdrawn by api"; strings.Join(actions, ",") != want {
		t.Fatalf("consent events %v, want %s", actions, want)
	}
	for _, msg := range received(t, sub, b.podID) {
		if msg.kind == "events" && msg.body["type"] == "abort" {
			t.Fatalf("an empty pod sent an abort: %v", msg.body)
		}
	}
}
