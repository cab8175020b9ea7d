package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/mqtttest"
)

// podStatus is the part of podctl status --json these tests read.
type podStatus struct {
	State   string `json:"state"`
	Consent struct {
		Granted bool   `json:"granted"`
		Source  string `json:"source"`
	} `json:"consent"`
	Safety struct {
		Latched *struct {
			Rule string `json:"rule"`
		} `json:"latched"`
	} `json:"safety"`
	Outputs struct {
		Safe  bool     `json:"safe"`
		Holds []string `json:"holds"`
	} `json:"outputs"`
}

func statusOf(t *testing.T, podctl, socket string) podStatus {
	t.Helper()
	out, code := run(t, podctl, "--socket", socket, "status", "--json")
	var st podStatus
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("podctl status: exit %d: %s", code, out)
	}
	return st
}

// TestAMergeWideAbortAndAPanicPressEndAMerge: driven by hubctl against a
// real mosquitto, a pod merged in one session leaves it on that session's
// merge-wide abort (the sleeper's consent stays: the hub ended a merge, not
// the consent), and, merged again, leaves the next on the sleeper's panic
// press (a scenario press on the simulated panic
// line) at once, its outputs safe, its consent withdrawn, nothing latched.
func TestAMergeWideAbortAndAPanicPressEndAMerge(t *testing.T) {
	t.Parallel()
	podd, podctl, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	private, public, _ := hubKeys(t, hubctl, "hub-e2e")
	const pressAt = 40 * time.Second
	began := time.Now()
	socket, _ := startPodWith(t, podd, m.URL(), public, `
name: e2e-panic
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 40s, press: panic}
`, "PODD_SESSION_BASELINE_DURATION=10s")

	merge := func(session string) {
		t.Helper()
		if out, code := run(t, podctl, "--socket", socket, "consent", "grant", "--for", "1h"); code != 0 {
			t.Fatalf("podctl consent grant: exit %d: %s", code, out)
		}
		start := []string{"send", "--broker", m.URL(), "--key", private, "--pod", "e2e-pod", "--timeout", "3s",
			"merge-start", "--session", session, "--dreamscape", "ocean-drift", "--max", "1h"}
		// Until the pod has subscribed (it connects after its 2 s check
		// for another pod) a command has no one to reach (exit 4), and
		// until its vitals are valid a merge/start is refused.
		mqtttest.WaitFor(t, 30*time.Second, "merge-start "+session+" accepted", func() bool {
			out, code := run(t, hubctl, start...)
			if code != 0 && code != 4 && !strings.Contains(out, "sensors") {
				t.Fatalf("merge-start %s: exit %d: %s", session, code, out)
			}
			return code == 0
		})
		mqtttest.WaitFor(t, 20*time.Second, session+" merged after its 10 s baseline", func() bool {
			return statusOf(t, podctl, socket).State == "merged"
		})
	}

	merge("s-wide")
	if out, code := run(t, hubctl, "abort-merge", "--broker", m.URL(), "--session", "s-wide"); code != 0 {
		t.Fatalf("hubctl abort-merge: exit %d: %s", code, out)
	}
	mqtttest.WaitFor(t, 10*time.Second, "the merge-wide abort obeyed", func() bool {
		return statusOf(t, podctl, socket).State == "idle"
	})
	st := statusOf(t, podctl, socket)
	// The hub ended one merge; the sleeper's consent is theirs, and stays.
	if !st.Consent.Granted || st.Safety.Latched != nil || !st.Outputs.Safe || !slices.Contains(st.Outputs.Holds, "merge_left") {
		t.Fatalf("status after the merge-wide abort %+v: want consent kept, nothing latched, outputs safe and held (merge_left)", st)
	}

	merge("s-panic")
	if time.Since(began) > pressAt-2*time.Second {
		t.Fatalf("the second merge was reached %v after the pod started, too late for the press at %v", time.Since(began), pressAt)
	}
	mqtttest.WaitFor(t, pressAt, "the panic press obeyed", func() bool {
		return statusOf(t, podctl, socket).State == "idle"
	})
	st = statusOf(t, podctl, socket)
	if st.Consent.Granted || st.Consent.Source != "panic" || st.Safety.Latched != nil || !st.Outputs.Safe || !slices.Contains(st.Outputs.Holds, "merge_left") {
		t.Fatalf("status after the panic press %+v: want consent withdrawn by panic, nothing latched, outputs safe and held (merge_left)", st)
	}
}

// TestCommandsThatFailVerificationAreRefusedByARealPod: against a real
// mosquitto, a real pod answers a merge/start signed by a key it does not
// trust (under the trusted kid, and under another), an expired one and an
// unsigned one each with its reason, and none of them changes anything.
func TestCommandsThatFailVerificationAreRefusedByARealPod(t *testing.T) {
	t.Parallel()
	podd, podctl, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	_, public, trusted := hubKeys(t, hubctl, "hub-e2e")
	signer := func(kid string, o hubclient.Options) *hubclient.Signer {
		t.Helper()
		k := trusted[0]
		if kid != "" {
			var err error
			if k, err = hubclient.GenerateKey(kid); err != nil {
				t.Fatal(err)
			}
		}
		s, err := hubclient.NewSigner(k, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	socket, _ := startPod(t, podd, m.URL(), public)
	if out, code := run(t, podctl, "--socket", socket, "consent", "grant", "--for", "1h"); code != 0 {
		t.Fatalf("podctl consent grant: exit %d: %s", code, out)
	}
	hub, err := hubclient.Connect(m.URL(), "hub-e2e", hubclient.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	start := hubcmd.MergeStart{Session: "s-forged", Dreamscape: "ocean-drift", Start: time.Now().Truncate(time.Second), MaxDuration: time.Hour}
	request := func(tok hubclient.Token) hubclient.Reply {
		t.Helper()
		var r hubclient.Reply
		// Until the pod has subscribed, a command reaches no one.
		mqtttest.WaitFor(t, 20*time.Second, "a reply to "+tok.ID, func() bool {
			var err error
			r, err = hub.Request("e2e-pod", tok, 2*time.Second)
			if err != nil && !errors.Is(err, hubclient.ErrNoReply) {
				t.Fatal(err)
			}
			return err == nil
		})
		return r
	}
	sign := func(s *hubclient.Signer) hubclient.Token {
		t.Helper()
		tok, err := s.Sign(start, "e2e-pod")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unsigned := sign(signer("", hubclient.Options{}))
	dot := bytes.IndexByte(unsigned.Raw, '.')
	unsigned.Raw = append([]byte("eyJhbGciOiJub25lIn0"), unsigned.Raw[dot:bytes.LastIndexByte(unsigned.Raw, '.')+1]...) // {"alg":"none"}, no signature
	for _, tt := range []struct {
		name   string
		tok    hubclient.Token
		reason string
	}{
		{"a forged key under the hub's kid", sign(signer("hub-e2e", hubclient.Options{})), "bad_signature"},
		{"a key the pod does not know", sign(signer("hub-other", hubclient.Options{})), "unknown_key"},
		{"expired", sign(signer("", hubclient.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})), "expired"},
		{"unsigned", unsigned, "unsigned"},
	} {
		if r := request(tt.tok); r.OK || r.Reason() != tt.reason || r.JTI != tt.tok.ID {
			t.Errorf("%s: reply %+v, want refused for %s", tt.name, r, tt.reason)
		}
	}
	if st := statusOf(t, podctl, socket); st.State != "idle" || !st.Consent.Granted || st.Safety.Latched != nil {
		t.Fatalf("status after the refused commands %+v: want idle, consent as granted, nothing latched", st)
	}
	// Each refusal is audited: the chain holds the configuration at start,
	// the consent and the four refusals (a command sent before the pod had
	// subscribed reached no one), and it verifies.
	out, code := run(t, podctl, "--socket", socket, "audit", "verify", "--json")
	var audit struct {
		Entries uint64          `json:"entries"`
		Broken  json.RawMessage `json:"broken"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &audit) != nil || audit.Entries != 6 || audit.Broken != nil {
		t.Fatalf("podctl audit verify --json: exit %d: %s; want an intact chain of 6 entries (config, consent, 4 refusals)", code, out)
	}
}
