package controller

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/safety"
)

// rawHub signs any claims with a key the pod trusts: a hub that went
// hostile, or whose key was stolen. The pod must still only get safer.
type rawHub struct {
	*hub
	signer jose.Signer
	n      int
}

func newRawHub(t *testing.T) *rawHub {
	t.Helper()
	k, err := hubclient.GenerateKey("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	set, err := hubclient.PublicSet(k)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := hubcmd.ParseKeySet(set)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := hubclient.NewSigner(k, hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	return &rawHub{hub: &hub{t: t, trusted: trusted, keys: keys}, signer: s}
}

// sign signs claims over the envelope's own (a fresh jti, iat now, exp two
// minutes later, aud pod-1); a claim given as nil is left out.
func (h *rawHub) sign(claims map[string]any) (jti string, raw []byte) {
	h.t.Helper()
	h.n++
	now := time.Now().Unix()
	c := map[string]any{"jti": fmt.Sprintf("hostile-%d", h.n), "iat": now, "exp": now + 120, "aud": "pod-1"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		h.t.Fatal(err)
	}
	jws, err := h.signer.Sign(payload)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		h.t.Fatal(err)
	}
	id, _ := c["jti"].(string)
	return id, []byte(s)
}

// hostile is a command a hostile hub signs, and the reason the pod must
// refuse it with.
type hostile struct {
	name   string
	claims map[string]any
	reason string
}

// hostileCommands are every command kind, each with arguments out of
// bounds, of the wrong type, or with claims that try to reach the pod's
// safety (limits, rules, the latch, consent); and commands that do not
// exist. merge/start with valid arguments is one of them: without the
// sleeper's consent it must be refused. wantStart and wantIdentify are the
// reasons the pod's state gives those two.
func hostileCommands(now time.Time, wantStart, wantIdentify string) []hostile {
	start := func(extra map[string]any) map[string]any {
		c := map[string]any{"cmd": "merge/start", "session": "m-h", "dreamscape": "tide", "start": now.Unix(), "max_duration_s": 3600}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	const bad = string(hubcmd.ReasonBadArgument)
	out := []hostile{
		{"merge/start valid", start(nil), wantStart},
		{"merge/start granting consent", start(map[string]any{"consent": true}), bad},
		{"merge/start with limits", start(map[string]any{"limits": map[string]any{"heart_rate_high_bpm": 250, "spo2_low_pct": 50}}), bad},
		{"merge/start disarming rules", start(map[string]any{"armed": []string{}, "disarm": []string{"vitals_stale", "heart_rate_high"}}), bad},
		{"merge/start clearing the latch", start(map[string]any{"ack": true, "latch": nil}), bad},
		{"merge/start max_duration 0", start(map[string]any{"max_duration_s": 0}), bad},
		{"merge/start max_duration huge", start(map[string]any{"max_duration_s": int64(1) << 50}), bad},
		{"merge/start max_duration negative", start(map[string]any{"max_duration_s": -1}), bad},
		{"merge/start max_duration fractional", start(map[string]any{"max_duration_s": 3600.5}), bad},
		{"merge/start max_duration string", start(map[string]any{"max_duration_s": "3600"}), bad},
		{"merge/start session wildcard", start(map[string]any{"session": "#"}), bad},
		{"merge/start session with a slash", start(map[string]any{"session": "m/+"}), bad},
		{"merge/start start far ahead", start(map[string]any{"start": now.Add(48 * time.Hour).Unix()}), bad},
		{"merge/start for every pod", start(map[string]any{"aud": "*"}), string(hubcmd.ReasonWrongAudience)},
		{"merge/start for any merge", start(map[string]any{"aud": "merge:"}), string(hubcmd.ReasonWrongAudience)},

		{"merge/end of no merge", map[string]any{"cmd": "merge/end", "session": "m-h"}, RefuseNoSession},
		{"merge/end acknowledging", map[string]any{"cmd": "merge/end", "session": "m-h", "ack": true}, bad},

		{"merge/abort clearing the latch", map[string]any{"cmd": "merge/abort", "clear_latch": true}, bad},
		{"merge/abort granting consent", map[string]any{"cmd": "merge/abort", "session": "m-h", "consent": "granted"}, bad},

		{"identify 0 s", map[string]any{"cmd": "identify", "duration_s": 0}, bad},
		{"identify too long", map[string]any{"cmd": "identify", "duration_s": 121}, bad},
		{"identify flashing", map[string]any{"cmd": "identify", "duration_s": 10, "flash_hz": 30}, bad},
		{"identify brightness", map[string]any{"cmd": "identify", "duration_s": 10, "color": []int{255, 255, 255}}, bad},
		{"identify", map[string]any{"cmd": "identify", "duration_s": 10}, wantIdentify},

		{"telemetry/interval 0", map[string]any{"cmd": "telemetry/interval", "interval_ms": 0}, bad},
		{"telemetry/interval too fast", map[string]any{"cmd": "telemetry/interval", "interval_ms": 99}, bad},
		{"telemetry/interval too slow", map[string]any{"cmd": "telemetry/interval", "interval_ms": 60001}, bad},
		{"telemetry/interval disabling safety", map[string]any{"cmd": "telemetry/interval", "interval_ms": 1000, "safety": "off"}, bad},
		{"telemetry/interval missing", map[string]any{"cmd": "telemetry/interval"}, bad},
	}
	for _, name := range []string{"safety/disarm", "latch/clear", "ack", "consent/grant", "limits/set", "rules/disarm", "merge/force"} {
		out = append(out, hostile{"unknown " + name, map[string]any{"cmd": name}, string(hubcmd.ReasonUnknownCommand)})
	}
	out = append(out, hostile{"no cmd", map[string]any{"cmd": nil}, string(hubcmd.ReasonUnknownCommand)})
	return out
}

// safetySnapshot is what no command may change: the state, the merge,
// consent, the latch, the armed rules and the telemetry cadence.
type safetySnapshot struct {
	state    string
	session  string
	consent  bool
	latched  string
	armed    []string
	interval time.Duration
}

func snapshot(r *rig) safetySnapshot {
	st := r.pod.Status()
	s := safetySnapshot{state: st.State, consent: st.Consent.Granted, armed: st.Safety.Armed, interval: time.Duration(r.pod.telemetryEvery.Load())}
	if st.Session != nil {
		s.session = st.Session.ID + "/" + st.Session.State
	}
	if l := st.Safety.Latched; l != nil {
		s.latched = l.Rule + "@" + l.At.String()
	}
	return s
}

func (s safetySnapshot) equal(o safetySnapshot) bool {
	return s.state == o.state && s.session == o.session && s.consent == o.consent && s.latched == o.latched &&
		slices.Equal(s.armed, o.armed) && s.interval == o.interval
}

// sendHostile sends every hostile command and checks each reply's reason
// and that the pod's safety is as it was before.
func sendHostile(t *testing.T, r *rig, h *rawHub, cases []hostile) {
	t.Helper()
	before := snapshot(r)
	for _, c := range cases {
		jti, raw := h.sign(c.claims)
		send(r, raw)
		rep := lastReply(t, r)
		reason, _, _ := strings.Cut(rep.Error, ": ")
		if rep.JTI != jti || rep.OK || reason != c.reason {
			t.Errorf("%s: reply %+v; want refused %s", c.name, rep, c.reason)
		}
		if after := snapshot(r); !after.equal(before) {
			t.Fatalf("%s changed the pod's safety: %+v, was %+v", c.name, after, before)
		}
	}
}

// The hub can only make the pod safer (issue 7, part 9). Every command
// kind, signed by a key the pod trusts, with hostile arguments, is refused
// with its exact reason and changes nothing: no limit loosened (a heart
// rate past the default 130 bpm still aborts, the abort naming limit 130),
// no rule disarmed, no consent granted, no merge started without consent,
// and, once an abort is latched, the latch kept.
func TestNoHostileCommandMakesThePodLessSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newRawHub(t)
		r := commandRig(t, h.hub, calm+"timeline:\n  - {at: 3m, ramp: 10s, set: {heart_rate_bpm: 140}}\n", false)
		defer r.stop()
		until(start, 30*time.Second)
		if st := r.pod.Status(); st.State != StateIdle || st.Vitals.Contact != "skin" || len(st.Safety.Armed) != 8 || st.Outputs.Safe {
			t.Fatalf("status at 30 s %+v: want idle, someone in the pod, every rule armed, outputs open", st)
		}
		sendHostile(t, r, h, hostileCommands(time.Now(), RefuseNoConsent, RefuseOccupied))
		if n := len(r.up.Replies()); n != len(hostileCommands(time.Now(), "", "")) {
			t.Fatalf("%d replies, want one per command", n)
		}

		// The limits are the configured ones: 140 bpm trips heart_rate_high
		// at its limit of 130, after its 10 s delay.
		until(start, 3*time.Minute+40*time.Second)
		ab := r.up.Events("abort")
		if len(ab) != 1 || ab[0].Fields["rule"] != safety.RuleHeartRateHigh || ab[0].Fields["limit"] != float64(130) {
			t.Fatalf("aborts %+v; want one heart_rate_high at limit 130", ab)
		}

		// Latched: the same commands again, and merge/start and identify
		// are refused for the latch too; nothing clears it.
		sendHostile(t, r, h, hostileCommands(time.Now(), RefuseNoConsent+","+RefuseLatched, RefuseOccupied+","+RefuseLatched+","+RefuseOutputsHeld))
		if st := r.pod.Status(); st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh || st.Consent.Granted {
			t.Fatalf("status after the hostile commands %+v: want aborted, heart_rate_high latched, no consent", st)
		}
	})
}

// mergedArmed are the rules armed once a merge has its baseline, on a pod
// with only the pulse oximeter (no sensor_stale).
var mergedArmed = []string{
	safety.RuleHeartRateHigh, safety.RuleHeartRateLow, safety.RuleSpO2Low, safety.RuleSpO2Critical,
	safety.RuleTempLow, safety.RuleTempHigh, safety.RuleVitalsStale, safety.RulePipeline, safety.RuleStress,
	safety.RuleHeartRateRise, safety.RuleEEGArousal, safety.RuleStabilityLow,
}

// During a merge the same commands are refused too, and no rule is
// disarmed: vitals_stale stays armed with the others.
func TestNoHostileCommandDisarmsARuleDuringAMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newRawHub(t)
		r := commandRig(t, h.hub, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatal(err)
		}
		until(start, 81*time.Second)
		st := r.pod.Status()
		if st.State != StateMerged || !slices.Contains(st.Safety.Armed, safety.RuleVitalsStale) || len(st.Safety.Armed) != len(mergedArmed) {
			t.Fatalf("status %+v: want merged, every rule armed", st)
		}
		cases := hostileCommands(time.Now(), RefuseBusy, RefuseOccupied+","+RefuseBusy)
		for i := range cases {
			if cases[i].claims["cmd"] == "merge/end" && cases[i].reason == RefuseNoSession {
				// The merge under way is m-1: another merge's end changes nothing.
				cases[i].name = "merge/end of another merge"
			}
		}
		sendHostile(t, r, h, cases)
		if st := r.pod.Status(); st.State != StateMerged || len(st.Safety.Armed) != len(mergedArmed) || !st.Consent.Granted {
			t.Fatalf("status after the hostile commands %+v: want still merged, every rule armed, consent kept", st)
		}
	})
}

// Unsigned, a merge/abort that carries anything beyond its own claims is
// refused, and one that names no merge of this pod changes nothing: an
// unsigned message can only end this pod's merge.
func TestAnUnsignedAbortCarriesNothingElse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newRawHub(t)
		r := commandRig(t, h.hub, calm+"timeline:\n  - {at: 20s, ramp: 5s, set: {heart_rate_bpm: 150}}\n", false)
		defer r.stop()
		until(start, 60*time.Second)
		before := snapshot(r)
		if before.latched == "" {
			t.Fatal("not latched")
		}
		for _, claims := range []string{
			`{"cmd":"merge/abort","ack":true}`,
			`{"cmd":"merge/abort","clear_latch":true,"jti":"u-1"}`,
			`{"cmd":"merge/abort","consent":true}`,
			`{"cmd":"merge/abort","session":"m-1"}`,
			`{"cmd":"merge/abort","reason":"latch/clear"}`,
		} {
			raw := unsecured(claims)
			send(r, raw)
			if after := snapshot(r); !after.equal(before) {
				t.Fatalf("unsigned %s changed the pod: %+v, was %+v", claims, after, before)
			}
		}
		// Each is refused and reported (within the budget for what anyone
		// could have sent), the one with a jti answered as refused.
		if rs := r.up.Replies(); len(rs) != 1 || rs[0].JTI != "u-1" || rs[0].OK || !strings.HasPrefix(rs[0].Error, "bad_argument: ") {
			t.Fatalf("replies to unsigned messages %+v; want u-1 refused bad_argument", rs)
		}
		ev := r.up.Events("command")
		if len(ev) != 5 {
			t.Fatalf("command events %+v; want 5, each unsigned and refused", ev)
		}
		for _, e := range ev {
			if e.Fields["signed"] != false || e.Fields["ok"] != false {
				t.Fatalf("command event %+v; want unsigned and refused", e.Fields)
			}
		}
	})
}

// unsecured is an unsecured JWS (RFC 7519 section 6) of claims.
func unsecured(claims string) []byte {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return []byte(enc(`{"alg":"none"}`) + "." + enc(claims) + ".")
}
