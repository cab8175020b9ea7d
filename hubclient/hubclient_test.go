package hubclient_test

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)

const podID = "pod-7"

// pod is a verifier for podID trusting the public set of keys, in session.
func pod(t *testing.T, session string, keys ...hubclient.Key) *hubcmd.Verifier {
	t.Helper()
	set, err := hubclient.PublicSet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := hubcmd.ParseKeySet(set)
	if err != nil {
		t.Fatalf("the pod refuses the public set: %v", err)
	}
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{
		PodID:   podID,
		Keys:    ks,
		Replay:  hubcmd.NewMemoryReplayCache(0, func() time.Time { return t0 }),
		Session: func() string { return session },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signer(t *testing.T, k hubclient.Key, o hubclient.Options) *hubclient.Signer {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0.Add(400 * time.Millisecond) }
	}
	s, err := hubclient.NewSigner(k, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustKey(t *testing.T, kid string) hubclient.Key {
	t.Helper()
	k, err := hubclient.GenerateKey(kid)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRoundTrip: each command signed here is accepted by the pod, with the
// same arguments, its jti, times and key.
func TestRoundTrip(t *testing.T) {
	k := mustKey(t, "hub-2026")
	s := signer(t, k, hubclient.Options{})
	cases := []struct {
		args hubcmd.Args
		aud  []string
	}{
		{hubcmd.MergeStart{Session: "s-1", Dreamscape: "ocean-drift", Start: t0.Add(5 * time.Minute), MaxDuration: 8 * time.Hour}, []string{podID}},
		{hubcmd.MergeEnd{Session: "s-1"}, []string{hubcmd.MergeAudience("s-1")}},
		{hubcmd.MergeAbort{Session: "s-1", Reason: "the merge is unstable"}, []string{hubcmd.MergeAudience("s-1")}},
		{hubcmd.MergeAbort{}, []string{podID}},
		{hubcmd.Identify{Duration: 30 * time.Second}, []string{"pod-1", podID}},
		{hubcmd.TelemetryInterval{Interval: 250 * time.Millisecond}, []string{podID}},
	}
	for _, c := range cases {
		t.Run(string(c.args.Name()), func(t *testing.T) {
			tok, err := s.Sign(c.args, c.aud...)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !tok.IssuedAt.Equal(t0) || !tok.Expires.Equal(t0.Add(hubclient.DefaultLifetime)) || len(tok.ID) != 22 {
				t.Fatalf("Token = %+v", tok)
			}
			cmd, err := pod(t, "s-1", k).Verify(tok.Raw, t0.Add(time.Second), true)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !cmd.Signed || cmd.KeyID != "hub-2026" || cmd.ID != tok.ID || !cmd.IssuedAt.Equal(tok.IssuedAt) || !cmd.Expires.Equal(tok.Expires) {
				t.Errorf("Command = %+v, token %+v", cmd, tok)
			}
			if !equalArgs(cmd.Args, c.args) {
				t.Errorf("Args = %#v, want %#v", cmd.Args, c.args)
			}
		})
	}
}

func equalArgs(a, b hubcmd.Args) bool {
	if s, ok := a.(hubcmd.MergeStart); ok {
		w, ok := b.(hubcmd.MergeStart)
		return ok && s.Session == w.Session && s.Dreamscape == w.Dreamscape && s.Start.Equal(w.Start) && s.MaxDuration == w.MaxDuration
	}
	return a == b
}

// TestRotation: during a rotation the pod trusts both keys; once the old
// key is removed from its set, what it signs is refused.
func TestRotation(t *testing.T) {
	old, next := mustKey(t, "hub-2026"), mustKey(t, "hub-2027")
	byOld, byNext := signer(t, old, hubclient.Options{}), signer(t, next, hubclient.Options{})
	both, after := pod(t, "", old, next), pod(t, "", next)
	for _, s := range []*hubclient.Signer{byOld, byNext} {
		tok, err := s.Sign(hubcmd.Identify{Duration: time.Second}, podID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := both.Verify(tok.Raw, t0, true); err != nil {
			t.Errorf("during the rotation: %v", err)
		}
	}
	tok, err := byOld.Sign(hubcmd.Identify{Duration: time.Second}, podID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Verify(tok.Raw, t0, true); !errors.Is(err, hubcmd.ReasonUnknownKey) {
		t.Errorf("the old key after the rotation: %v, want unknown_key", err)
	}
	// A key outside the set that takes the name of one inside it.
	impostor := mustKey(t, "hub-2027")
	tok, err = signer(t, impostor, hubclient.Options{}).Sign(hubcmd.Identify{Duration: time.Second}, podID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Verify(tok.Raw, t0, true); !errors.Is(err, hubcmd.ReasonBadSignature) {
		t.Errorf("an impostor: %v, want bad_signature", err)
	}
}

func TestUnsignedAbort(t *testing.T) {
	tok, err := hubclient.UnsignedAbort(hubcmd.MergeAbort{Session: "s-1", Reason: "operator"}, hubcmd.MergeAudience("s-1"))
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := pod(t, "s-1", mustKey(t, "hub-1")).Verify(tok.Raw, time.Unix(10, 0), false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cmd.Signed || !errors.Is(cmd.Unverified, hubcmd.ReasonUnsigned) || cmd.ID != tok.ID ||
		cmd.Args != (hubcmd.MergeAbort{Session: "s-1", Reason: "operator"}) {
		t.Errorf("Command = %+v", cmd)
	}
	if _, err := hubclient.UnsignedAbort(hubcmd.MergeAbort{Reason: "a\nb"}); !errors.Is(err, hubcmd.ReasonBadArgument) {
		t.Errorf("an unprintable reason: %v", err)
	}
}

// TestLargestCommandFits: a merge/start with every field at its maximum
// and two audiences is under 1 KiB, a quarter of the pod's size limit.
func TestLargestCommandFits(t *testing.T) {
	long := strings.Repeat("x", hubcmd.MaxIDLen)
	s := signer(t, mustKey(t, long), hubclient.Options{})
	tok, err := s.Sign(hubcmd.MergeStart{Session: long, Dreamscape: long, Start: t0.Add(hubcmd.MaxStartAhead), MaxDuration: hubcmd.MaxMergeDuration},
		strings.Repeat("p", hubcmd.MaxAudienceLen), hubcmd.MergeAudience(long))
	if err != nil {
		t.Fatal(err)
	}
	// A hub may use a jti of MaxIDLen characters; this one has 22.
	n := len(tok.Raw) + (hubcmd.MaxIDLen-len(tok.ID))*4/3 + 1
	if n >= 1024 || 4*n > hubcmd.MaxCommandSize {
		t.Errorf("the largest merge/start is %d bytes", n)
	}
}

func TestSignRefusesWhatThePodWouldRefuse(t *testing.T) {
	s := signer(t, mustKey(t, "hub-1"), hubclient.Options{})
	cases := []struct {
		name  string
		args  hubcmd.Args
		aud   []string
		want  hubcmd.Reason
		field string
	}{
		{"no aud", hubcmd.Identify{Duration: time.Second}, nil, hubcmd.ReasonBadArgument, "aud"},
		{"no args", nil, []string{podID}, hubcmd.ReasonUnknownCommand, "cmd"},
		{"a session with /", hubcmd.MergeEnd{Session: "a/b"}, []string{podID}, hubcmd.ReasonBadArgument, "session"},
		{"a merge too long", hubcmd.MergeStart{Session: "s", Dreamscape: "d", Start: t0, MaxDuration: 13 * time.Hour}, []string{podID}, hubcmd.ReasonBadArgument, "max_duration_s"},
		{"a merge of fractional seconds", hubcmd.MergeStart{Session: "s", Dreamscape: "d", Start: t0, MaxDuration: time.Hour + time.Millisecond}, []string{podID}, hubcmd.ReasonBadArgument, "max_duration_s"},
		{"no start", hubcmd.MergeStart{Session: "s", Dreamscape: "d", MaxDuration: time.Hour}, []string{podID}, hubcmd.ReasonBadArgument, "start"},
		{"an interval under the pod's bound", hubcmd.TelemetryInterval{Interval: 99 * time.Millisecond}, []string{podID}, hubcmd.ReasonBadArgument, "interval_ms"},
		{"an identify of 0", hubcmd.Identify{}, []string{podID}, hubcmd.ReasonBadArgument, "duration_s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Sign(c.args, c.aud...)
			var e *hubcmd.Error
			if !errors.As(err, &e) || e.Reason != c.want || e.Field != c.field {
				t.Fatalf("Sign: %v; want %s on %q", err, c.want, c.field)
			}
		})
	}
}

func TestNewSignerLifetime(t *testing.T) {
	k := mustKey(t, "hub-1")
	for _, l := range []time.Duration{-time.Second, time.Millisecond, hubcmd.MaxLifetime + time.Second, 90*time.Second + time.Millisecond} {
		if _, err := hubclient.NewSigner(k, hubclient.Options{Lifetime: l}); err == nil {
			t.Errorf("lifetime %s accepted", l)
		}
	}
	s := signer(t, k, hubclient.Options{Lifetime: hubcmd.MaxLifetime})
	tok, err := s.Sign(hubcmd.Identify{Duration: time.Second}, podID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pod(t, "", k).Verify(tok.Raw, t0.Add(hubcmd.MaxLifetime-time.Second), true); err != nil {
		t.Errorf("a command at the longest lifetime: %v", err)
	}
	if _, err := hubclient.NewSigner(hubclient.Key{}, hubclient.Options{}); err == nil {
		t.Error("a signer without a key")
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "hub.jwks"), filepath.Join(dir, "pod-keys.json")
	k := mustKey(t, "hub-2026")
	if err := hubclient.WriteKeyFiles(k, priv, pub); err != nil {
		t.Fatalf("WriteKeyFiles: %v", err)
	}
	for path, mode := range map[string]fs.FileMode{priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&^mode != 0 {
			t.Errorf("%s has mode %v, want at most %v", path, fi.Mode().Perm(), mode)
		}
	}
	// The pod reads the public file and refuses the private one.
	ks, err := hubcmd.LoadKeySet(pub)
	if err != nil {
		t.Fatalf("LoadKeySet(public): %v", err)
	}
	if ids := ks.KeyIDs(); len(ids) != 1 || ids[0] != "hub-2026" {
		t.Errorf("KeyIDs = %q", ids)
	}
	if _, err := hubcmd.LoadKeySet(priv); err == nil || !strings.Contains(err.Error(), `holds private key material ("d")`) {
		t.Errorf("LoadKeySet(private): %v", err)
	}
	keys, err := hubclient.LoadKeys(priv)
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].ID != "hub-2026" || !keys[0].Private.Equal(k.Private) {
		t.Fatalf("LoadKeys = %+v", keys)
	}
	if _, err := hubclient.LoadKeys(pub); err == nil {
		t.Error("LoadKeys took a public set")
	}
	// Never overwritten.
	other := mustKey(t, "hub-2027")
	if err := hubclient.WriteKeyFiles(other, priv, filepath.Join(dir, "other.json")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteKeyFiles over a private key: %v", err)
	}
	if err := hubclient.WriteKeyFiles(other, filepath.Join(dir, "other.jwks"), pub); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteKeyFiles over a public set: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.jwks")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed WriteKeyFiles left its private file: %v", err)
	}
	again, err := hubclient.LoadKeys(priv)
	if err != nil || !again[0].Private.Equal(k.Private) {
		t.Fatalf("the private key changed: %v", err)
	}
	if !ed25519.PublicKey(k.Public()).Equal(again[0].Public()) {
		t.Fatal("public halves differ")
	}
}
