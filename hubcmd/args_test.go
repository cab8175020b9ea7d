package hubcmd_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

func TestVerifyArguments(t *testing.T) {
	bad := func(field string) outcome { return outcome{want: hubcmd.ReasonBadArgument, field: field} }
	at := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	long := strings.Repeat("x", hubcmd.MaxIDLen)
	cases := []struct {
		cmd, name string
		over      map[string]any
		o         outcome
	}{
		{"merge/start", "a UUID session", map[string]any{"session": "0b0e7e7c-5a8f-4c59-9d8e-0e8a1c3f6a10"}, accepted},
		{"merge/start", "session at its bound", map[string]any{"session": long}, accepted},
		{"merge/start", "session past its bound", map[string]any{"session": long + "x"}, bad("session")},
		{"merge/start", "no session", map[string]any{"session": del}, bad("session")},
		{"merge/start", "empty session", map[string]any{"session": ""}, bad("session")},
		{"merge/start", "session with /", map[string]any{"session": "s/1"}, bad("session")},
		{"merge/start", "session with +", map[string]any{"session": "s+"}, bad("session")},
		{"merge/start", "session with #", map[string]any{"session": "#"}, bad("session")},
		{"merge/start", "session with NUL", map[string]any{"session": "s\x001"}, bad("session")},
		{"merge/start", "session with :", map[string]any{"session": "s:1"}, bad("session")},
		{"merge/start", "session with a space", map[string]any{"session": "s 1"}, bad("session")},
		{"merge/start", "session $SYS", map[string]any{"session": "$SYS"}, bad("session")},
		{"merge/start", "session non-ASCII", map[string]any{"session": "séance"}, bad("session")},
		{"merge/start", "session a number", map[string]any{"session": 1}, bad("session")},
		{"merge/start", "session null", map[string]any{"session": nil}, bad("session")},
		{"merge/start", "no dreamscape", map[string]any{"dreamscape": del}, bad("dreamscape")},
		{"merge/start", "dreamscape a path", map[string]any{"dreamscape": "../../etc/passwd"}, bad("dreamscape")},
		{"merge/start", "dreamscape past its bound", map[string]any{"dreamscape": long + "x"}, bad("dreamscape")},
		{"merge/start", "no start", map[string]any{"start": del}, bad("start")},
		{"merge/start", "start a string", map[string]any{"start": "now"}, bad("start")},
		{"merge/start", "start at the latest", map[string]any{"start": at(hubcmd.MaxStartAhead)}, accepted},
		{"merge/start", "start too far ahead", map[string]any{"start": at(hubcmd.MaxStartAhead + time.Second)}, bad("start")},
		{"merge/start", "start at the earliest", map[string]any{"start": at(-hubcmd.MaxStartLate)}, accepted},
		{"merge/start", "start too long ago", map[string]any{"start": at(-hubcmd.MaxStartLate - time.Second)}, bad("start")},
		{"merge/start", "start in 1970", map[string]any{"start": 0}, bad("start")},
		{"merge/start", "shortest merge", map[string]any{"max_duration_s": int64(hubcmd.MinMergeDuration / time.Second)}, accepted},
		{"merge/start", "merge too short", map[string]any{"max_duration_s": int64(hubcmd.MinMergeDuration/time.Second) - 1}, bad("max_duration_s")},
		{"merge/start", "longest merge", map[string]any{"max_duration_s": int64(hubcmd.MaxMergeDuration / time.Second)}, accepted},
		{"merge/start", "merge too long", map[string]any{"max_duration_s": int64(hubcmd.MaxMergeDuration/time.Second) + 1}, bad("max_duration_s")},
		{"merge/start", "max_duration_s zero", map[string]any{"max_duration_s": 0}, bad("max_duration_s")},
		{"merge/start", "max_duration_s negative", map[string]any{"max_duration_s": -3600}, bad("max_duration_s")},
		{"merge/start", "max_duration_s fractional", map[string]any{"max_duration_s": 3600.5}, bad("max_duration_s")},
		{"merge/start", "max_duration_s a float with no fraction", map[string]any{"max_duration_s": 3.6e3}, accepted},
		{"merge/start", "max_duration_s overflowing", map[string]any{"max_duration_s": uint64(1) << 63}, bad("max_duration_s")},
		{"merge/start", "max_duration_s a string", map[string]any{"max_duration_s": "3600"}, bad("max_duration_s")},
		{"merge/start", "no max_duration_s", map[string]any{"max_duration_s": del}, bad("max_duration_s")},
		{"merge/start", "an abort's claim", map[string]any{"reason": "x"}, bad("reason")},
		{"merge/start", "nbf", map[string]any{"nbf": t0.Unix()}, bad("nbf")},
		{"merge/start", "a consent claim", map[string]any{"consent": true}, bad("consent")},
		{"merge/start", "a claim named with a newline", map[string]any{"x\nlevel=ERROR": 1}, bad(`"x\nlevel=ERROR"`)},
		{"merge/start", "a claim with an empty name", map[string]any{"": 1}, bad(`""`)},
		{"merge/end", "no session", map[string]any{"session": del}, bad("session")},
		{"merge/end", "session with /", map[string]any{"session": "a/b"}, bad("session")},
		{"merge/end", "a start's claim", map[string]any{"dreamscape": "x"}, bad("dreamscape")},
		{"merge/abort", "no session", map[string]any{"session": del}, accepted},
		{"merge/abort", "no reason", map[string]any{"reason": del}, accepted},
		{"merge/abort", "nothing but cmd", map[string]any{"session": del, "reason": del}, accepted},
		{"merge/abort", "empty session", map[string]any{"session": ""}, bad("session")},
		{"merge/abort", "session with #", map[string]any{"session": "s#"}, bad("session")},
		{"merge/abort", "reason at its bound", map[string]any{"reason": strings.Repeat("r", hubcmd.MaxReasonLen)}, accepted},
		{"merge/abort", "reason past its bound", map[string]any{"reason": strings.Repeat("r", hubcmd.MaxReasonLen+1)}, bad("reason")},
		{"merge/abort", "reason in another script", map[string]any{"reason": "Träume überall instabil"}, accepted},
		{"merge/abort", "reason with a newline", map[string]any{"reason": "ok\nlevel=INFO msg=forged"}, bad("reason")},
		{"merge/abort", "reason with an escape", map[string]any{"reason": "\x1b[2J"}, bad("reason")},
		{"merge/abort", "reason a number", map[string]any{"reason": 1}, bad("reason")},
		{"merge/abort", "a latch claim", map[string]any{"latch": false}, bad("latch")},
		{"merge/abort", "a clear claim", map[string]any{"clear": true}, bad("clear")},
		{"identify", "shortest", map[string]any{"duration_s": 1}, accepted},
		{"identify", "longest", map[string]any{"duration_s": int64(hubcmd.MaxIdentify / time.Second)}, accepted},
		{"identify", "too long", map[string]any{"duration_s": int64(hubcmd.MaxIdentify/time.Second) + 1}, bad("duration_s")},
		{"identify", "zero", map[string]any{"duration_s": 0}, bad("duration_s")},
		{"identify", "missing", map[string]any{"duration_s": del}, bad("duration_s")},
		{"identify", "a boolean", map[string]any{"duration_s": true}, bad("duration_s")},
		{"telemetry/interval", "the pod's minimum", map[string]any{"interval_ms": hubcmd.MinTelemetryInterval.Milliseconds()}, accepted},
		{"telemetry/interval", "under the minimum", map[string]any{"interval_ms": hubcmd.MinTelemetryInterval.Milliseconds() - 1}, bad("interval_ms")},
		{"telemetry/interval", "the pod's maximum", map[string]any{"interval_ms": hubcmd.MaxTelemetryInterval.Milliseconds()}, accepted},
		{"telemetry/interval", "over the maximum", map[string]any{"interval_ms": hubcmd.MaxTelemetryInterval.Milliseconds() + 1}, bad("interval_ms")},
		{"telemetry/interval", "zero", map[string]any{"interval_ms": 0}, bad("interval_ms")},
		{"telemetry/interval", "fractional", map[string]any{"interval_ms": 1000.5}, bad("interval_ms")},
		{"telemetry/interval", "a Go duration", map[string]any{"interval_ms": "1s"}, bad("interval_ms")},
		{"telemetry/interval", "in seconds instead", map[string]any{"interval_ms": del, "interval_s": 1}, bad("interval_s")},
	}
	for _, c := range cases {
		t.Run(c.cmd+"/"+c.name, func(t *testing.T) {
			check(t, newFixture(t), signed(claims(c.cmd, c.over)), t0, true, c.o)
		})
	}
}

func TestVerifyUnknownCommand(t *testing.T) {
	for _, c := range []struct {
		name string
		over map[string]any
	}{
		{"unknown name", map[string]any{"cmd": "safety/disable"}},
		{"upper case", map[string]any{"cmd": "MERGE/ABORT"}},
		{"missing", map[string]any{"cmd": del}},
		{"empty", map[string]any{"cmd": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			check(t, newFixture(t), signed(claims("identify", c.over)), t0, true, outcome{want: hubcmd.ReasonUnknownCommand, field: "cmd"})
		})
	}
	t.Run("not a string", func(t *testing.T) {
		check(t, newFixture(t), signed(claims("identify", map[string]any{"cmd": []string{"identify"}})), t0, true, outcome{want: hubcmd.ReasonBadArgument, field: "cmd"})
	})
	t.Run("unsigned", func(t *testing.T) {
		// An unsigned command is refused for its signature first.
		check(t, newFixture(t), token(map[string]any{"alg": "none"}, claims("identify", map[string]any{"cmd": "reboot"}), nil), t0, true, outcome{want: hubcmd.ReasonUnsigned})
	})
}

func TestVerifyAudience(t *testing.T) {
	cases := []struct {
		name    string
		session string
		aud     any
		o       outcome
	}{
		{"the pod", "", podID, accepted},
		{"the pod in an array", "", []string{"pod-1", podID}, accepted},
		{"the current merge", "s-1", "merge:s-1", accepted},
		{"the current merge in an array", "s-1", []string{"pod-1", "merge:s-1"}, accepted},
		{"another pod", "", "pod-8", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"a pod whose id starts with ours", "", "pod-77", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"the pod in upper case", "", "POD-7", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"another merge", "s-1", "merge:s-2", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"a merge while in none", "", "merge:s-1", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"an empty merge while in none", "", "merge:", outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"other pods only", "s-1", []string{"pod-1", "pod-2", "merge:s-2"}, outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"missing", "", del, outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"an empty array", "", []string{}, outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"an empty string", "", "", outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"a number", "", 7, outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"an array with a number", "", []any{podID, 7}, outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"an array with null", "", []any{podID, nil}, outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"too many entries", "", append(make([]string, hubcmd.MaxAudiences), podID), outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
		{"an entry too long", "", []string{podID, strings.Repeat("p", hubcmd.MaxAudienceLen+1)}, outcome{want: hubcmd.ReasonBadArgument, field: "aud"}},
	}
	for _, name := range allCommands {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				f.session = c.session
				o := c.o
				if name == "merge/abort" && c.aud == del {
					o = outcome{unverified: hubcmd.ReasonWrongAudience} // an abort may omit aud, unsigned
				}
				check(t, f, signed(claims(name, map[string]any{"aud": c.aud})), t0, true, o)
			})
		}
	}
}

// TestVerifyUnsignedAbort: what an abort with no signature may carry.
func TestVerifyUnsignedAbort(t *testing.T) {
	none := map[string]any{"alg": "none"}
	unsigned := outcome{unverified: hubcmd.ReasonUnsigned}
	cases := []struct {
		name    string
		session string
		claims  any
		synced  bool
		o       outcome
	}{
		{"only cmd", "", `{"cmd":"merge/abort"}`, true, unsigned},
		{"only cmd, the clock not synchronised", "", `{"cmd":"merge/abort"}`, false, unsigned},
		{"every claim a signed abort has", "s-1", claims("merge/abort", nil), true, unsigned},
		{"expired long ago", "", claims("merge/abort", map[string]any{"iat": 1, "exp": 2}), true, unsigned},
		{"the pod as aud", "", `{"cmd":"merge/abort","aud":"pod-7"}`, true, unsigned},
		{"its merge as aud", "s-1", `{"cmd":"merge/abort","aud":"merge:s-1"}`, true, unsigned},
		{"another pod as aud", "", `{"cmd":"merge/abort","aud":"pod-8"}`, true, outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"another merge as aud", "s-1", `{"cmd":"merge/abort","aud":"merge:s-2"}`, true, outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"a merge as aud while in none", "", `{"cmd":"merge/abort","aud":"merge:s-1"}`, true, outcome{want: hubcmd.ReasonWrongAudience, field: "aud"}},
		{"an ill-formed session", "", `{"cmd":"merge/abort","session":"a/#"}`, true, outcome{want: hubcmd.ReasonBadArgument, field: "session"}},
		{"a claim an abort does not take", "", `{"cmd":"merge/abort","safety":"off"}`, true, outcome{want: hubcmd.ReasonBadArgument, field: "safety"}},
		{"a merge/start claim", "", `{"cmd":"merge/abort","dreamscape":"x"}`, true, outcome{want: hubcmd.ReasonBadArgument, field: "dreamscape"}},
		{"claims not JSON", "", `cmd=merge/abort`, true, outcome{want: hubcmd.ReasonUnsigned}},
		{"another command", "", `{"cmd":"merge/end","session":"s-1"}`, true, outcome{want: hubcmd.ReasonUnsigned}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.session = c.session
			cmd := check(t, f, token(none, c.claims, nil), t0, c.synced, c.o)
			if c.o.want == "" && (cmd.KeyID != "" || f.cache.Len() != 0) {
				t.Errorf("KeyID %q, replay cache holds %d: an unsigned abort is neither", cmd.KeyID, f.cache.Len())
			}
		})
	}
}

// TestVerifyReplay: a jti is accepted once while it lives; an abort replayed
// is still accepted, marked.
func TestVerifyReplay(t *testing.T) {
	for _, name := range allCommands {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			raw := signed(claims(name, nil))
			check(t, f, raw, t0, true, accepted)
			again := outcome{want: hubcmd.ReasonReplayed, field: "jti"}
			if name == "merge/abort" {
				again = outcome{unverified: hubcmd.ReasonReplayed}
			}
			check(t, f, raw, t0.Add(time.Minute), true, again)
			// The same jti in another command, signed by the other key.
			check(t, f, token(edHeader("hub-2"), claims("identify", nil), hub2), t0.Add(time.Minute), true,
				outcome{want: hubcmd.ReasonReplayed, field: "jti"})
			// Another jti is a new command.
			check(t, f, signed(claims(name, map[string]any{"jti": "c-2"})), t0.Add(time.Minute), true, accepted)
		})
	}
}

type failingCache struct{ err error }

func (c failingCache) Seen(string, time.Time) (bool, error) { return false, c.err }

// TestVerifyReplayCacheFailureFailsClosed: a jti that cannot be recorded is
// a command refused, except an abort.
func TestVerifyReplayCacheFailureFailsClosed(t *testing.T) {
	cacheErr := errors.New("store: disk full")
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{PodID: podID, Keys: standardSet(t), Replay: failingCache{cacheErr}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range allCommands {
		t.Run(name, func(t *testing.T) {
			cmd, err := v.Verify(signed(claims(name, nil)), t0, true)
			if name == "merge/abort" {
				if err != nil || cmd.Signed || !errors.Is(cmd.Unverified, hubcmd.ReasonReplayUnchecked) || !errors.Is(cmd.Unverified, cacheErr) {
					t.Fatalf("Verify = %+v, %v; want accepted, unverified replay_unchecked", cmd, err)
				}
				return
			}
			if !errors.Is(err, hubcmd.ReasonReplayUnchecked) || !errors.Is(err, cacheErr) {
				t.Fatalf("Verify: %v; want replay_unchecked wrapping %v", err, cacheErr)
			}
		})
	}
}

// TestErrorNamesTheCommand: a refusal carries the jti for the reply, and
// its message says what is wrong.
func TestErrorNamesTheCommand(t *testing.T) {
	f := newFixture(t)
	_, err := f.v.Verify(signed(claims("identify", map[string]any{"duration_s": 600})), t0, true)
	var e *hubcmd.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *hubcmd.Error", err)
	}
	if e.JTI != "c-1" || e.Reason != hubcmd.ReasonBadArgument || e.Field != "duration_s" {
		t.Errorf("Error = %+v", e)
	}
	if want := "hubcmd: bad_argument: duration_s: 10m0s is outside 1s..2m0s"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	// A forged command's jti is named too, unauthenticated.
	_, err = f.v.Verify(token(edHeader("hub-1"), claims("identify", map[string]any{"jti": "forged-1"}), outsider), t0, true)
	if !errors.As(err, &e) || e.JTI != "forged-1" || e.Reason != hubcmd.ReasonBadSignature {
		t.Errorf("a forged command: %+v", e)
	}
	if want := `hubcmd: bad_signature: the signature does not verify with key "hub-1"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if errors.Is(err, hubcmd.ReasonUnsigned) {
		t.Error("bad_signature matches unsigned")
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	ks := standardSet(t)
	cache := hubcmd.NewMemoryReplayCache(0, time.Now)
	for _, c := range []struct {
		name string
		cfg  hubcmd.VerifierConfig
		want string
	}{
		{"no pod id", hubcmd.VerifierConfig{Keys: ks, Replay: cache}, "hubcmd.NewVerifier: no pod id"},
		{"a merge audience as pod id", hubcmd.VerifierConfig{PodID: "merge:s-1", Keys: ks, Replay: cache}, `hubcmd.NewVerifier: pod id "merge:s-1" would be read as a merge audience`},
		{"an empty key set", hubcmd.VerifierConfig{PodID: podID, Keys: &hubcmd.KeySet{}, Replay: cache}, "hubcmd.NewVerifier: an empty key set (nil means none)"},
		{"no replay cache", hubcmd.VerifierConfig{PodID: podID, Keys: ks}, "hubcmd.NewVerifier: no replay cache"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := hubcmd.NewVerifier(c.cfg); err == nil || err.Error() != c.want {
				t.Fatalf("NewVerifier: %v, want %q", err, c.want)
			}
		})
	}
}

// A pod without hub keys accepts only merge/abort, never Signed; a signed
// command of any other kind is refused unknown_key.
func TestAVerifierWithoutKeysAcceptsOnlyAborts(t *testing.T) {
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{PodID: podID, Replay: hubcmd.NewMemoryReplayCache(0, func() time.Time { return t0 })})
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]any{"alg": "EdDSA", "kid": "hub-1"}
	if _, err := v.Verify(token(hdr, claims("merge/end", nil), hub1), t0, true); !errors.Is(err, hubcmd.ReasonUnknownKey) {
		t.Fatalf("a signed merge/end: %v, want unknown_key", err)
	}
	c, err := v.Verify(token(hdr, claims("merge/abort", nil), hub1), t0, true)
	if err != nil || c.Signed || !errors.Is(c.Unverified, hubcmd.ReasonUnknownKey) {
		t.Fatalf("a signed merge/abort: %+v, %v; want accepted unsigned (unknown_key)", c, err)
	}
}

// A refusal says whether the command's signature verified: a refusal of a
// signed command (expired, replayed, for another pod) came from the hub;
// one of an unsigned or forged command could come from anyone.
func TestARefusalSaysWhetherItWasSigned(t *testing.T) {
	f := newFixture(t)
	hdr := map[string]any{"alg": "EdDSA", "kid": "hub-1"}
	for _, tt := range []struct {
		name   string
		raw    []byte
		signed bool
	}{
		{"expired", token(hdr, claims("merge/end", map[string]any{"exp": t0.Unix() - 1, "iat": t0.Unix() - 60}), hub1), true},
		{"for another pod", token(hdr, claims("merge/end", map[string]any{"aud": "pod-8"}), hub1), true},
		{"forged", token(hdr, claims("merge/end", nil), outsider), false},
		{"unsigned", token(map[string]any{"alg": "none"}, claims("merge/end", nil), nil), false},
	} {
		_, err := f.v.Verify(tt.raw, t0, true)
		var e *hubcmd.Error
		if !errors.As(err, &e) || e.Signed != tt.signed || e.JTI != "c-1" {
			t.Errorf("%s: %v (signed %v), want a refusal with signed %v and the jti", tt.name, err, e != nil && e.Signed, tt.signed)
		}
	}
}
