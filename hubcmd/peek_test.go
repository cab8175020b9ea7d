package hubcmd_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

// PeekName reads the cmd of signed, badly signed, unsigned and expired
// commands alike (it verifies nothing), and refuses what is not a compact
// JWS whose claims name a command.
func TestPeekNameReadsTheCommandWithoutVerifyingIt(t *testing.T) {
	for _, name := range allCommands {
		for what, raw := range map[string][]byte{
			"signed":        signed(claims(name, nil)),
			"an outsider's": token(edHeader("hub-x"), claims(name, nil), outsider),
			"tampered":      tamper(signed(claims(name, nil))),
			"alg none":      token(map[string]any{"alg": "none"}, claims(name, nil), nil),
			"expired":       signed(claims(name, map[string]any{"exp": t0.Add(-time.Hour).Unix()})),
			"unknown claim": signed(claims(name, map[string]any{"nbf": t0.Unix()})),
			"without a jti": signed(claims(name, map[string]any{"jti": del})),
		} {
			if got, ok := hubcmd.PeekName(raw); !ok || string(got) != name {
				t.Errorf("%s %s: PeekName = %q, %v; want %q, true", what, name, got, ok, name)
			}
		}
	}
	abort, err := hubcmd.EncodeUnsignedAbort("a-1", nil, hubcmd.MergeAbort{Session: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := hubcmd.PeekName(abort); !ok || got != hubcmd.MergeAbortName {
		t.Errorf("EncodeUnsignedAbort: PeekName = %q, %v", got, ok)
	}
	pad := strings.Repeat("x", hubcmd.MaxCommandSize)
	for what, raw := range map[string][]byte{
		"empty":               nil,
		"junk":                []byte("x.y.z"),
		"two parts":           []byte(b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64.EncodeToString([]byte(`{"cmd":"merge/abort"}`))),
		"four parts":          append(signed(claims("merge/abort", nil)), ".x"...),
		"payload padded":      []byte("e30." + b64.EncodeToString([]byte(`{"cmd":"merge/abort"}`)) + "=."),
		"payload not JSON":    token(edHeader("hub-1"), "merge/abort", hub1),
		"payload an array":    token(edHeader("hub-1"), `["merge/abort"]`, hub1),
		"cmd twice":           token(edHeader("hub-1"), `{"cmd":"identify","cmd":"merge/abort"}`, hub1),
		"cmd not a string":    token(edHeader("hub-1"), `{"cmd":["merge/abort"]}`, hub1),
		"no cmd":              signed(claims("merge/abort", map[string]any{"cmd": del})),
		"unknown command":     signed(claims("merge/abort", map[string]any{"cmd": "merge/abort "})),
		"longer than the max": signed(claims("merge/abort", map[string]any{"reason": pad})),
		"data after payload":  token(edHeader("hub-1"), `{"cmd":"merge/abort"} {}`, hub1),
	} {
		if got, ok := hubcmd.PeekName(raw); ok || got != "" {
			t.Errorf("%s: PeekName = %q, %v; want \"\", false", what, got, ok)
		}
	}
}

// FuzzPeekName: no input panics; a name peeked is a command of the
// package; whatever Verify accepts peeks to its Name; and a raw longer
// than MaxCommandSize never peeks.
func FuzzPeekName(f *testing.F) {
	for _, name := range allCommands {
		f.Add(signed(claims(name, nil)))
		f.Add(token(map[string]any{"alg": "none"}, claims(name, nil), nil))
		f.Add(tamper(signed(claims(name, nil))))
	}
	f.Add([]byte("x.y.z"))
	f.Add([]byte("..."))
	f.Add([]byte(""))
	f.Add([]byte(`eyJhbGciOiJub25lIn0.eyJjbWQiOiJtZXJnZS9hYm9ydCJ9.`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		name, ok := hubcmd.PeekName(raw)
		if ok != (name != "") {
			t.Fatalf("PeekName = %q, %v", name, ok)
		}
		if ok && !containsName(name) {
			t.Fatalf("peeked %q, not a command", name)
		}
		if ok && len(raw) > hubcmd.MaxCommandSize {
			t.Fatalf("peeked %q in %d bytes", name, len(raw))
		}
		fx := newFixture(t)
		fx.session = "s-1"
		if cmd, err := fx.v.Verify(raw, t0, true); err == nil && (!ok || cmd.Name() != name) {
			t.Fatalf("Verify accepted %s; PeekName = %q, %v", cmd.Name(), name, ok)
		}
		if bytes.Count(raw, []byte(".")) != 2 && ok {
			t.Fatalf("peeked %q from %d parts", name, bytes.Count(raw, []byte("."))+1)
		}
	})
}

func containsName(n hubcmd.Name) bool {
	for _, c := range allCommands {
		if string(n) == c {
			return true
		}
	}
	return false
}
