package hubcmd_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sleegation/podd/hubcmd"
)

var allCommands = []string{"merge/start", "merge/end", "merge/abort", "identify", "telemetry/interval"}

// outcome is what Verify should do: refuse with want (and field), or
// accept, Signed or not.
type outcome struct {
	want       hubcmd.Reason // "" when accepted
	field      string
	signed     bool
	unverified hubcmd.Reason // why an accepted merge/abort is not Signed
}

var accepted = outcome{signed: true}

func check(t *testing.T, f *fixture, raw []byte, now time.Time, synced bool, o outcome) hubcmd.Command {
	t.Helper()
	cmd, err := f.v.Verify(raw, now, synced)
	if o.want != "" {
		var e *hubcmd.Error
		if !errors.As(err, &e) {
			t.Fatalf("Verify = %+v, %v; want an *hubcmd.Error %s", cmd, err, o.want)
		}
		if e.Reason != o.want || e.Field != o.field {
			t.Fatalf("Verify: %v; want reason %s field %q", err, o.want, o.field)
		}
		if !errors.Is(err, o.want) {
			t.Fatalf("errors.Is(%v, %s) = false", err, o.want)
		}
		if cmd.Args != nil || cmd.Signed {
			t.Fatalf("a refused command came with %+v", cmd)
		}
		return cmd
	}
	if err != nil {
		t.Fatalf("Verify: %v; want it accepted", err)
	}
	if cmd.Signed != o.signed {
		t.Fatalf("Signed = %v, want %v (Unverified %v)", cmd.Signed, o.signed, cmd.Unverified)
	}
	if o.signed {
		if cmd.Unverified != nil {
			t.Fatalf("a Signed command has Unverified %v", cmd.Unverified)
		}
		return cmd
	}
	if cmd.Name() != hubcmd.MergeAbortName {
		t.Fatalf("%s accepted unsigned", cmd.Name())
	}
	if !errors.Is(cmd.Unverified, o.unverified) {
		t.Fatalf("Unverified = %v, want %s", cmd.Unverified, o.unverified)
	}
	return cmd
}

func TestVerifyAcceptsEachCommand(t *testing.T) {
	want := map[string]hubcmd.Args{
		"merge/start":        hubcmd.MergeStart{Session: "s-1", Dreamscape: "ocean-drift", Start: time.Unix(t0.Unix(), 0), MaxDuration: time.Hour},
		"merge/end":          hubcmd.MergeEnd{Session: "s-1"},
		"merge/abort":        hubcmd.MergeAbort{Session: "s-1", Reason: "instability across the merge"},
		"identify":           hubcmd.Identify{Duration: 10 * time.Second},
		"telemetry/interval": hubcmd.TelemetryInterval{Interval: time.Second},
	}
	for _, name := range allCommands {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			cmd := check(t, f, signed(claims(name, nil)), t0, true, accepted)
			if cmd.ID != "c-1" || cmd.KeyID != "hub-1" || !cmd.IssuedAt.Equal(t0) || !cmd.Expires.Equal(t0.Add(2*time.Minute)) ||
				len(cmd.Audience) != 1 || cmd.Audience[0] != podID {
				t.Errorf("claims = %+v", cmd.Claims)
			}
			if got := cmd.Args; !equalArgs(got, want[name]) {
				t.Errorf("Args = %#v, want %#v", got, want[name])
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

func TestVerifyEnvelope(t *testing.T) {
	valid := string(signed(claims("identify", nil)))
	parts := strings.Split(valid, ".")
	cases := []struct {
		name string
		raw  []byte
		o    outcome
	}{
		{"empty", nil, outcome{want: hubcmd.ReasonMalformed}},
		{"two parts", []byte(parts[0] + "." + parts[1]), outcome{want: hubcmd.ReasonMalformed}},
		{"four parts", []byte(valid + ".x"), outcome{want: hubcmd.ReasonMalformed}},
		{"padded base64", []byte(parts[0] + "=." + parts[1] + "." + parts[2]), outcome{want: hubcmd.ReasonMalformed}},
		{"standard base64 alphabet", []byte(strings.NewReplacer("-", "+", "_", "/").Replace(valid)), outcome{want: hubcmd.ReasonMalformed}},
		{"JSON serialization", []byte(`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`), outcome{want: hubcmd.ReasonMalformed}},
		{"header not JSON", token("alg EdDSA", claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"header an array", token(`["EdDSA"]`, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"header alg twice", token(`{"alg":"none","alg":"EdDSA","kid":"hub-1"}`, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"header crit", token(map[string]any{"alg": "EdDSA", "kid": "hub-1", "crit": []string{"b64"}, "b64": false}, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"header embedded jwk", token(map[string]any{"alg": "EdDSA", "kid": "hub-1", "jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(outsider.Public().(ed25519.PublicKey))}}, claims("identify", nil), outsider), outcome{want: hubcmd.ReasonMalformed}},
		{"header jku", token(map[string]any{"alg": "EdDSA", "kid": "hub-1", "jku": "https://evil.example/keys"}, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"header kid a number", token(map[string]any{"alg": "EdDSA", "kid": 1}, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"typ JWT", token(map[string]any{"alg": "EdDSA", "kid": "hub-1", "typ": "JWT"}, claims("identify", nil), hub1), accepted},
		{"typ other", token(map[string]any{"alg": "EdDSA", "kid": "hub-1", "typ": "at+jwt"}, claims("identify", nil), hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claims not JSON", token(edHeader("hub-1"), "cmd=identify", hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claims an array", token(edHeader("hub-1"), `[{"cmd":"identify"}]`, hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claims not UTF-8", token(edHeader("hub-1"), "{\"cmd\":\"identify\xff\"}", hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claims with trailing data", token(edHeader("hub-1"), string(encode(claims("identify", nil)))+"{}", hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claim written twice", token(edHeader("hub-1"), `{"jti":"c-1","iat":1795986000,"exp":1795986120,"aud":"pod-7","cmd":"identify","duration_s":10,"duration_s":120}`, hub1), outcome{want: hubcmd.ReasonMalformed}},
		{"claim written twice, once escaped", token(edHeader("hub-1"), `{"jti":"c-1","iat":1795986000,"exp":1795986120,"aud":"pod-7","cmd":"identify","duration_s":10,"duration\u005fs":120}`, hub1), outcome{want: hubcmd.ReasonMalformed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, newFixture(t), c.raw, t0, true, c.o) })
	}
}

func TestVerifySizeIsCheckedBeforeParsing(t *testing.T) {
	f := newFixture(t)
	junk := []byte(strings.Repeat("A", hubcmd.MaxCommandSize+1))
	check(t, f, junk, t0, true, outcome{want: hubcmd.ReasonOversized})
	// A validly signed command just over the limit is refused as well,
	// before its signature is checked.
	c := claims("identify", nil)
	for n := 1; len(signed(c)) <= hubcmd.MaxCommandSize; n++ {
		c["aud"] = []string{podID, strings.Repeat("a", n)}
	}
	check(t, f, signed(c), t0, true, outcome{want: hubcmd.ReasonOversized})
	// At the limit it is parsed.
	check(t, f, []byte(strings.Repeat("A", hubcmd.MaxCommandSize)), t0, true, outcome{want: hubcmd.ReasonMalformed})
}

func hmacToken(alg string, secret []byte, payload any) []byte {
	input := b64.EncodeToString(encode(map[string]any{"alg": alg, "kid": "hub-1"})) + "." + b64.EncodeToString(encode(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return []byte(input + "." + b64.EncodeToString(m.Sum(nil)))
}

func joseToken(t *testing.T, alg jose.SignatureAlgorithm, key any, payload any) []byte {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: "hub-1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(encode(payload))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(raw)
}

// TestVerifyOnlyEdDSAByASetKey: none, algorithm confusion, other keys.
func TestVerifyOnlyEdDSAByASetKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub1 := hub1.Public().(ed25519.PublicKey)
	for _, name := range allCommands {
		c := claims(name, nil)
		// Whatever its signature, an abort is accepted, marked unsigned.
		refusedOr := func(r hubcmd.Reason) outcome {
			if name == "merge/abort" {
				return outcome{unverified: r}
			}
			return outcome{want: r}
		}
		cases := []struct {
			name string
			raw  []byte
			o    outcome
		}{
			{"alg none", token(map[string]any{"alg": "none"}, c, nil), refusedOr(hubcmd.ReasonUnsigned)},
			{"alg none with a kid", token(map[string]any{"alg": "none", "kid": "hub-1"}, c, nil), refusedOr(hubcmd.ReasonUnsigned)},
			{"alg None", token(map[string]any{"alg": "None", "kid": "hub-1"}, c, nil), refusedOr(hubcmd.ReasonUnsigned)},
			{"alg NONE with a signature", token(map[string]any{"alg": "NONE", "kid": "hub-1"}, c, hub1), refusedOr(hubcmd.ReasonUnsigned)},
			{"no alg", token(map[string]any{"kid": "hub-1"}, c, hub1), refusedOr(hubcmd.ReasonUnsigned)},
			{"EdDSA without a signature", token(edHeader("hub-1"), c, nil), refusedOr(hubcmd.ReasonUnsigned)},
			{"HS256 keyed with the raw public key", hmacToken("HS256", pub1, c), refusedOr(hubcmd.ReasonBadSignature)},
			{"HS256 keyed with the public JWK", hmacToken("HS256", []byte(pubJWK("hub-1", hub1)), c), refusedOr(hubcmd.ReasonBadSignature)},
			{"HS512", hmacToken("HS512", pub1, c), refusedOr(hubcmd.ReasonBadSignature)},
			{"RS256", joseToken(t, jose.RS256, rsaKey, c), refusedOr(hubcmd.ReasonBadSignature)},
			{"PS256", joseToken(t, jose.PS256, rsaKey, c), refusedOr(hubcmd.ReasonBadSignature)},
			{"ES256", joseToken(t, jose.ES256, ecKey, c), refusedOr(hubcmd.ReasonBadSignature)},
			{"Ed25519 as alg", token(map[string]any{"alg": "Ed25519", "kid": "hub-1"}, c, hub1), refusedOr(hubcmd.ReasonBadSignature)},
			{"eddsa in lower case", token(map[string]any{"alg": "eddsa", "kid": "hub-1"}, c, hub1), refusedOr(hubcmd.ReasonBadSignature)},
			{"EdDSA by go-jose", joseToken(t, jose.EdDSA, hub1, c), accepted},
			{"no kid", token(map[string]any{"alg": "EdDSA"}, c, hub1), refusedOr(hubcmd.ReasonUnknownKey)},
			{"empty kid", token(edHeader(""), c, hub1), refusedOr(hubcmd.ReasonUnknownKey)},
			{"a key outside the set", token(edHeader("hub-x"), c, outsider), refusedOr(hubcmd.ReasonUnknownKey)},
			{"a key outside the set naming a set kid", token(edHeader("hub-1"), c, outsider), refusedOr(hubcmd.ReasonBadSignature)},
			{"the other set key", token(edHeader("hub-2"), c, hub2), accepted},
			{"signed by hub-2, kid swapped to hub-1", swapKID(token(edHeader("hub-2"), c, hub2), "hub-1"), refusedOr(hubcmd.ReasonBadSignature)},
			{"signed by hub-1, naming hub-2", token(edHeader("hub-2"), c, hub1), refusedOr(hubcmd.ReasonBadSignature)},
			{"a claim changed after signing", tamper(signed(c)), refusedOr(hubcmd.ReasonBadSignature)},
			{"a signature bit flipped", flipSig(signed(c)), refusedOr(hubcmd.ReasonBadSignature)},
			{"a truncated signature", truncSig(signed(c)), refusedOr(hubcmd.ReasonBadSignature)},
		}
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				cmd := check(t, newFixture(t), tc.raw, t0, true, tc.o)
				if tc.o.want == "" && !tc.o.signed && cmd.KeyID != "" {
					t.Errorf("KeyID = %q for a signature that did not verify", cmd.KeyID)
				}
			})
		}
	}
}

// swapKID replaces the header of a token by one naming kid, keeping the
// payload and signature.
func swapKID(raw []byte, kid string) []byte {
	p := strings.Split(string(raw), ".")
	return []byte(b64.EncodeToString(encode(edHeader(kid))) + "." + p[1] + "." + p[2])
}

// tamper rewrites the payload's aud to another pod and back to this one by
// adding an entry: the payload changes, the signature does not.
func tamper(raw []byte) []byte {
	p := strings.Split(string(raw), ".")
	payload, _ := b64.DecodeString(p[1])
	payload = []byte(strings.Replace(string(payload), `"aud":"pod-7"`, `"aud":["pod-7","pod-8"]`, 1))
	return []byte(p[0] + "." + b64.EncodeToString(payload) + "." + p[2])
}

func flipSig(raw []byte) []byte {
	p := strings.Split(string(raw), ".")
	sig, _ := b64.DecodeString(p[2])
	sig[10] ^= 1
	return []byte(p[0] + "." + p[1] + "." + b64.EncodeToString(sig))
}

func truncSig(raw []byte) []byte {
	p := strings.Split(string(raw), ".")
	sig, _ := b64.DecodeString(p[2])
	return []byte(p[0] + "." + p[1] + "." + b64.EncodeToString(sig[:63]))
}

// TestVerifyKeyRotation: a key removed from the pod's set no longer commands
// it; the one that replaced it does.
func TestVerifyKeyRotation(t *testing.T) {
	rotated, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{
		PodID:  podID,
		Keys:   mustKeySet(t, keySet(pubJWK("hub-2", hub2))),
		Replay: hubcmd.NewMemoryReplayCache(0, func() time.Time { return t0 }),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rotated.Verify(signed(claims("identify", nil)), t0, true)
	if !errors.Is(err, hubcmd.ReasonUnknownKey) {
		t.Fatalf("a command by the removed key: %v, want unknown_key", err)
	}
	cmd, err := rotated.Verify(token(edHeader("hub-2"), claims("identify", nil), hub2), t0, true)
	if err != nil || !cmd.Signed || cmd.KeyID != "hub-2" {
		t.Fatalf("a command by the new key: %+v, %v", cmd, err)
	}
}

func TestVerifyTimes(t *testing.T) {
	at := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	refused := func(r hubcmd.Reason, field string) outcome { return outcome{want: r, field: field} }
	unverified := func(r hubcmd.Reason) outcome { return outcome{unverified: r} }
	cases := []struct {
		name   string
		over   map[string]any
		now    time.Time
		synced bool
		o      outcome // for every command but merge/abort
		abort  outcome // for merge/abort
	}{
		{"fresh", nil, t0, true, accepted, accepted},
		{"a second before exp", nil, t0.Add(2*time.Minute - time.Second), true, accepted, accepted},
		{"a nanosecond before exp", nil, t0.Add(2*time.Minute - 1), true, accepted, accepted},
		{"at exp", nil, t0.Add(2 * time.Minute), true, refused(hubcmd.ReasonExpired, "exp"), unverified(hubcmd.ReasonExpired)},
		{"after exp", nil, t0.Add(time.Hour), true, refused(hubcmd.ReasonExpired, "exp"), unverified(hubcmd.ReasonExpired)},
		{"iat at the leeway", map[string]any{"iat": at(hubcmd.IssuedAtLeeway), "exp": at(5 * time.Minute)}, t0, true, accepted, accepted},
		{"iat past the leeway", map[string]any{"iat": at(hubcmd.IssuedAtLeeway + time.Second), "exp": at(5 * time.Minute)}, t0, true, refused(hubcmd.ReasonNotYetValid, "iat"), unverified(hubcmd.ReasonNotYetValid)},
		{"iat a day ahead", map[string]any{"iat": at(24 * time.Hour), "exp": at(24*time.Hour + time.Minute)}, t0, true, refused(hubcmd.ReasonNotYetValid, "iat"), unverified(hubcmd.ReasonNotYetValid)},
		{"lifetime at the bound", map[string]any{"exp": at(hubcmd.MaxLifetime)}, t0, true, accepted, accepted},
		{"lifetime a second past the bound", map[string]any{"exp": at(hubcmd.MaxLifetime + time.Second)}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
		{"a command that lives a year", map[string]any{"exp": at(365 * 24 * time.Hour)}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
		{"exp before iat", map[string]any{"iat": at(time.Minute), "exp": at(0)}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
		{"exp equal to iat", map[string]any{"exp": at(0)}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
		{"fractional dates", map[string]any{"iat": float64(t0.Unix()) + 0.5, "exp": float64(at(time.Minute)) + 0.25}, t0.Add(time.Minute + 200*time.Millisecond), true, accepted, accepted},
		{"fractional exp passed", map[string]any{"exp": float64(at(time.Minute)) + 0.25}, t0.Add(time.Minute + 250*time.Millisecond), true, refused(hubcmd.ReasonExpired, "exp"), unverified(hubcmd.ReasonExpired)},
		{"no exp", map[string]any{"exp": del}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
		{"no iat", map[string]any{"iat": del}, t0, true, refused(hubcmd.ReasonBadArgument, "iat"), unverified(hubcmd.ReasonBadArgument)},
		{"no jti", map[string]any{"jti": del}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), unverified(hubcmd.ReasonBadArgument)},
		// Ill-formed claims refuse even an abort.
		{"exp a string", map[string]any{"exp": "2026-11-29T21:02:00Z"}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), refused(hubcmd.ReasonBadArgument, "exp")},
		{"exp null", map[string]any{"exp": nil}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), refused(hubcmd.ReasonBadArgument, "exp")},
		{"exp negative", map[string]any{"exp": -1}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), refused(hubcmd.ReasonBadArgument, "exp")},
		{"exp past year 9999", map[string]any{"exp": 1e12}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), refused(hubcmd.ReasonBadArgument, "exp")},
		{"exp beyond float64", map[string]any{"exp": json.RawMessage("1e400")}, t0, true, refused(hubcmd.ReasonBadArgument, "exp"), refused(hubcmd.ReasonBadArgument, "exp")},
		{"iat in milliseconds", map[string]any{"iat": t0.UnixMilli()}, t0, true, refused(hubcmd.ReasonBadArgument, "iat"), refused(hubcmd.ReasonBadArgument, "iat")},
		{"jti empty", map[string]any{"jti": ""}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), refused(hubcmd.ReasonBadArgument, "jti")},
		{"jti a number", map[string]any{"jti": 7}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), refused(hubcmd.ReasonBadArgument, "jti")},
		{"jti at its bound", map[string]any{"jti": strings.Repeat("j", hubcmd.MaxIDLen)}, t0, true, accepted, accepted},
		{"jti past its bound", map[string]any{"jti": strings.Repeat("j", hubcmd.MaxIDLen+1)}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), refused(hubcmd.ReasonBadArgument, "jti")},
		{"jti with a space", map[string]any{"jti": "c 1"}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), refused(hubcmd.ReasonBadArgument, "jti")},
		{"jti with a newline", map[string]any{"jti": "c-1\nforged audit line"}, t0, true, refused(hubcmd.ReasonBadArgument, "jti"), refused(hubcmd.ReasonBadArgument, "jti")},
		{"clock not synchronised", nil, t0, false, refused(hubcmd.ReasonClockUnsynced, ""), unverified(hubcmd.ReasonClockUnsynced)},
		{"clock not synchronised, a 1970 clock", nil, time.Unix(30, 0), false, refused(hubcmd.ReasonClockUnsynced, ""), unverified(hubcmd.ReasonClockUnsynced)},
		{"clock not synchronised and no exp", map[string]any{"exp": del}, t0, false, refused(hubcmd.ReasonBadArgument, "exp"), unverified(hubcmd.ReasonBadArgument)},
	}
	for _, name := range allCommands {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				o := c.o
				if name == "merge/abort" {
					o = c.abort
				}
				cmd := check(t, newFixture(t), signed(claims(name, c.over)), c.now, c.synced, o)
				if o.want == "" && cmd.KeyID != "hub-1" {
					t.Errorf("KeyID = %q: the signature verified", cmd.KeyID)
				}
			})
		}
	}
}
