package controller

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// hub is the city's side in these tests: a key the pod trusts, one it does
// not, and a signer for each on the bubble's clock.
type hub struct {
	t               *testing.T
	trusted, forger *hubclient.Signer
	keys            *hubcmd.KeySet
}

func newHub(t *testing.T) *hub {
	t.Helper()
	k, err := hubclient.GenerateKey("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	f, err := hubclient.GenerateKey("hub-1") // the same kid, another key
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
	h := &hub{t: t, keys: keys}
	if h.trusted, err = hubclient.NewSigner(k, hubclient.Options{}); err != nil {
		t.Fatal(err)
	}
	if h.forger, err = hubclient.NewSigner(f, hubclient.Options{}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hub) sign(s *hubclient.Signer, args hubcmd.Args) hubclient.Token {
	h.t.Helper()
	tok, err := s.Sign(args, "pod-1")
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// send hands the pod a command as the uplink would, and lets it act.
func send(r *rig, raw []byte) {
	r.up.Commands() // made on first use
	r.up.cmds <- uplink.Inbound{Topic: uplink.Root("pod-1") + uplink.TopicCmd, Payload: raw, Received: time.Now()}
	synctest.Wait()
}

func commandRig(t *testing.T, h *hub, scenarioYAML string, unsynced bool) *rig {
	up := &fakeUplink{}
	up.connected.Store(true)
	return newRigWith(t, scenarioYAML, &memStore{}, rigOpts{up: up, hubKeys: h.keys, unsynced: unsynced})
}

func lastReply(t *testing.T, r *rig) uplink.Reply {
	t.Helper()
	rs := r.up.Replies()
	if len(rs) == 0 {
		t.Fatal("no reply")
	}
	return rs[len(rs)-1]
}

// start1 is a merge/start of m-1 starting now.
func start1() hubcmd.MergeStart {
	return hubcmd.MergeStart{Session: "m-1", Dreamscape: "tide", Start: time.Now(), MaxDuration: time.Hour}
}

// A signed merge/start is refused without the sleeper's consent, with the
// reason, and accepted once it is given: the pod goes through baseline to
// merged. The same token again is refused as replayed.
func TestASignedMergeStartNeedsLocalConsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		tok := h.sign(h.trusted, start1())
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.JTI != tok.ID || rep.OK || !strings.HasPrefix(rep.Error, "no_consent: ") {
			t.Fatalf("reply %+v, want refused for no_consent", rep)
		}
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state %s after a refused merge/start", st.State)
		}
		if _, err := r.pod.GrantConsent("button", 0); err != nil {
			t.Fatal(err)
		}
		// The same token again (a broker's redelivery, or the hub resending
		// it now that consent is given): the jti was answered, and gets the
		// same answer; only a new command can start the merge.
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.JTI != tok.ID || rep.OK || !strings.HasPrefix(rep.Error, "no_consent: ") || len(r.up.Replies()) != 2 {
			t.Fatalf("reply to the same token %+v, want the first answer again", rep)
		}
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state %s after the same token again", st.State)
		}
		tok2 := h.sign(h.trusted, start1())
		send(r, tok2.Raw)
		if rep := lastReply(t, r); rep.JTI != tok2.ID || !rep.OK || rep.Error != "" {
			t.Fatalf("reply %+v, want ok", rep)
		}
		until(start, 81*time.Second)
		if st := r.pod.Status(); st.State != StateMerged || st.Session.ID != "m-1" || st.Session.Dreamscape != "tide" {
			t.Fatalf("status %+v, want merged in m-1", st)
		}
		ev := r.up.Events("command")
		if len(ev) != 2 || ev[1].Fields["ok"] != true || ev[1].Fields["signed"] != true || ev[1].Fields["kid"] != "hub-1" || ev[0].Fields["ok"] != false {
			t.Fatalf("command events %+v", ev)
		}
	})
}

// Forged, unsigned, expired and clock-less commands change nothing and are
// each answered with their reason and reported.
func TestCommandsThatFailVerificationChangeNothing(t *testing.T) {
	for _, tt := range []struct {
		name     string
		unsynced bool
		token    func(h *hub) []byte
		reason   string
	}{
		{"signed by a key the pod does not trust", false, func(h *hub) []byte { return h.sign(h.forger, start1()).Raw }, "bad_signature"},
		{"unsigned", false, func(h *hub) []byte {
			// An unsecured JWS of a merge/start: only a merge/abort may be unsigned.
			tok := h.sign(h.trusted, start1()).Raw
			i := strings.LastIndexByte(string(tok), '.')
			hdr := []byte("eyJhbGciOiJub25lIn0") // {"alg":"none"}
			return append(hdr, tok[strings.IndexByte(string(tok), '.'):i+1]...)
		}, "unsigned"},
		{"expired", false, func(h *hub) []byte {
			tok := h.sign(h.trusted, start1()).Raw
			time.Sleep(hubclient.DefaultLifetime)
			return tok
		}, "expired"},
		{"the clock not synchronised", true, func(h *hub) []byte { return h.sign(h.trusted, start1()).Raw }, "clock_unsynced"},
		{"not a JWS", false, func(*hub) []byte { return []byte(`{"cmd":"merge/start"}`) }, "malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				h := newHub(t)
				r := commandRig(t, h, calm, tt.unsynced)
				defer r.stop()
				until(start, 20*time.Second)
				if _, err := r.pod.GrantConsent("button", 0); err != nil {
					t.Fatal(err)
				}
				send(r, tt.token(h))
				ev := r.up.Events("command")
				if len(ev) != 1 || ev[0].Fields["ok"] != false || !strings.HasPrefix(ev[0].Fields["error"].(string), tt.reason+": ") {
					t.Fatalf("command events %+v, want one refused for %s", ev, tt.reason)
				}
				// Every refusal naming a jti is answered, signed or not;
				// a message with no jti cannot be.
				wantReplies := 1
				if tt.reason == "malformed" {
					wantReplies = 0
				}
				if rs := r.up.Replies(); len(rs) != wantReplies || (len(rs) == 1 && (rs[0].OK || rs[0].JTI == "" || !strings.HasPrefix(rs[0].Error, tt.reason+": "))) {
					t.Fatalf("replies %+v, want %d refused for %s", rs, wantReplies, tt.reason)
				}
				if st := r.pod.Status(); st.State != StateIdle || st.Session != nil {
					t.Fatalf("status %+v after a refused command", st)
				}
			})
		})
	}
}

// merge/abort needs no signature: unsigned, or on the merge-wide topic, it
// ends the merge at once, not latched; an abort of another merge is
// ignored.
func TestAbortsNeedNoSignature(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   func(h *hub) uplink.Inbound
	}{
		{"unsigned merge/abort", func(h *hub) uplink.Inbound {
			tok, err := hubclient.UnsignedAbort(hubcmd.MergeAbort{Session: "m-1", Reason: "instability"}, "pod-1")
			if err != nil {
				t.Fatal(err)
			}
			return uplink.Inbound{Topic: uplink.Root("pod-1") + uplink.TopicCmd, Payload: tok.Raw}
		}},
		{"merge-wide abort", func(*hub) uplink.Inbound {
			return uplink.Inbound{Topic: "sleegation/v1/merges/m-1/abort", Session: "m-1"}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				h := newHub(t)
				r := commandRig(t, h, calm, true) // no clock: an abort still counts
				defer r.stop()
				until(start, 20*time.Second)
				if _, err := r.pod.GrantConsent("api", 0); err != nil {
					t.Fatal(err)
				}
				if err := r.pod.StartMerge(merge1); err != nil {
					t.Fatal(err)
				}
				r.up.Commands()
				r.up.MergeAborts()
				r.up.mu.Lock()
				session := r.up.session
				r.up.mu.Unlock()
				if session != "m-1" {
					t.Fatalf("the uplink was told the merge is %q, want m-1", session)
				}
				// An abort of another merge that got through the uplink's filter
				// (the session changed meanwhile) is ignored.
				r.up.aborts <- uplink.Inbound{Topic: "sleegation/v1/merges/m-2/abort", Session: "m-2"}
				synctest.Wait()
				if st := r.pod.Status(); st.State != StateBaseline {
					t.Fatalf("another merge's abort changed the state to %s", st.State)
				}
				gen := r.pod.parts.Gate.Generation()
				if in := tt.in(h); in.Session != "" {
					r.up.aborts <- in
				} else {
					r.up.cmds <- in
				}
				synctest.Wait()
				st := r.pod.Status()
				if st.State != StateIdle || st.Session != nil || st.Safety.Latched != nil || r.pod.parts.Gate.Generation() == gen {
					t.Fatalf("status %+v after the abort (safe state applied: %v)", st, r.pod.parts.Gate.Generation() != gen)
				}
				ev := r.up.Events("command")
				if len(ev) != 1 || ev[0].Fields["ok"] != true || ev[0].Fields["signed"] != false {
					t.Fatalf("command events %+v", ev)
				}
			})
		})
	}
}

// The hub can only make the pod safer: while an abort is latched, no
// command clears it or starts a merge, and none grants consent.
func TestNoCommandClearsALatchOrGrantsConsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm+"timeline:\n  - {at: 20s, ramp: 5s, set: {heart_rate_bpm: 150}}\n", false)
		defer r.stop()
		until(start, 60*time.Second)
		latched := r.pod.Status().Safety.Latched
		if latched == nil {
			t.Fatal("not latched")
		}
		for _, args := range []hubcmd.Args{
			start1(), hubcmd.MergeEnd{Session: "m-1"}, hubcmd.MergeAbort{Session: "m-1"},
			hubcmd.Identify{Duration: 10 * time.Second}, hubcmd.TelemetryInterval{Interval: 5 * time.Second},
		} {
			send(r, h.sign(h.trusted, args).Raw)
		}
		st := r.pod.Status()
		if st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh || st.Consent.Granted || st.State != StateAborted {
			t.Fatalf("status %+v after every command", st)
		}
		var got []string
		for _, e := range r.up.Events("command") {
			reason, _ := e.Fields["error"].(string)
			got = append(got, e.Fields["cmd"].(string)+"="+strings.SplitN(reason+":", ":", 2)[0])
		}
		// Only telemetry/interval is done; the rest is refused.
		want := []string{"merge/start=no_consent,latched", "merge/end=no_session", "merge/abort=no_session", "identify=occupied,latched,outputs_held", "telemetry/interval="}
		if !slices.Equal(got, want) {
			t.Fatalf("commands %v, want %v", got, want)
		}
	})
}

// telemetry/interval changes the cadence from the next record on.
func TestTelemetryIntervalCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 10*time.Second+500*time.Millisecond)
		before := len(r.up.telemetrySnapshot())
		send(r, h.sign(h.trusted, hubcmd.TelemetryInterval{Interval: 5 * time.Second}).Raw)
		until(start, 30*time.Second+600*time.Millisecond)
		if got := len(r.up.telemetrySnapshot()) - before; got != 4 {
			t.Fatalf("%d records in the 20 s after telemetry/interval 5s, want 4", got)
		}
	})
}
