package hubcmd_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/hubcmd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the pod's clock in these tests.
var t0 = time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)

const podID = "pod-7"

// Deterministic keys: hub1 and hub2 are in the pod's set, outsider is not.
var (
	hub1     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	hub2     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	outsider = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
)

var b64 = base64.RawURLEncoding

func pubJWK(kid string, k ed25519.PrivateKey) string {
	return fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","kid":%q,"x":%q}`, kid, b64.EncodeToString(k.Public().(ed25519.PublicKey)))
}

// keySet is a JWK Set of the given JWK objects.
func keySet(jwks ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(jwks, ",") + `]}`)
}

func mustKeySet(t testing.TB, data []byte) *hubcmd.KeySet {
	t.Helper()
	ks, err := hubcmd.ParseKeySet(data)
	if err != nil {
		t.Fatalf("ParseKeySet: %v", err)
	}
	return ks
}

// standardSet holds hub-1 and hub-2.
func standardSet(t testing.TB) *hubcmd.KeySet {
	return mustKeySet(t, keySet(pubJWK("hub-1", hub1), pubJWK("hub-2", hub2)))
}

// fixture is a Verifier for podID with the standard set, a memory replay
// cache on the clock *now, and the session *session.
type fixture struct {
	v       *hubcmd.Verifier
	cache   *hubcmd.MemoryReplayCache
	now     time.Time
	session string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{now: t0}
	f.cache = hubcmd.NewMemoryReplayCache(0, func() time.Time { return f.now })
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{
		PodID:   podID,
		Keys:    standardSet(t),
		Replay:  f.cache,
		Session: func() string { return f.session },
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	f.v = v
	return f
}

// del removes a claim in claims' overrides.
type deleted struct{}

var del = deleted{}

// claims are valid claims for cmd at t0, with overrides.
func claims(cmd string, over map[string]any) map[string]any {
	c := map[string]any{
		"jti": "c-1",
		"iat": t0.Unix(),
		"exp": t0.Add(2 * time.Minute).Unix(),
		"aud": podID,
		"cmd": cmd,
	}
	switch hubcmd.Name(cmd) {
	case hubcmd.MergeStartName:
		c["session"] = "s-1"
		c["dreamscape"] = "ocean-drift"
		c["start"] = t0.Unix()
		c["max_duration_s"] = 3600
	case hubcmd.MergeEndName:
		c["session"] = "s-1"
	case hubcmd.MergeAbortName:
		c["session"] = "s-1"
		c["reason"] = "instability across the merge"
	case hubcmd.IdentifyName:
		c["duration_s"] = 10
	case hubcmd.TelemetryIntervalName:
		c["interval_ms"] = 1000
	}
	for k, v := range over {
		if v == del {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// encode is v as JSON, or v itself when it is a string or []byte.
func encode(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// token is a compact JWS of header and payload signed with key by hand (an
// empty signature for a nil key), so that any header can be tested.
func token(header, payload any, key ed25519.PrivateKey) []byte {
	input := b64.EncodeToString(encode(header)) + "." + b64.EncodeToString(encode(payload))
	var sig []byte
	if key != nil {
		sig = ed25519.Sign(key, []byte(input))
	}
	return []byte(input + "." + b64.EncodeToString(sig))
}

func edHeader(kid string) map[string]any { return map[string]any{"alg": "EdDSA", "kid": kid} }

// signed is claims signed by hub-1.
func signed(c any) []byte { return token(edHeader("hub-1"), c, hub1) }
