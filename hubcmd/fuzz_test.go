package hubcmd_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

var reasons = []hubcmd.Reason{
	hubcmd.ReasonOversized, hubcmd.ReasonMalformed, hubcmd.ReasonUnsigned, hubcmd.ReasonBadSignature,
	hubcmd.ReasonUnknownKey, hubcmd.ReasonUnknownCommand, hubcmd.ReasonBadArgument, hubcmd.ReasonWrongAudience,
	hubcmd.ReasonClockUnsynced, hubcmd.ReasonExpired, hubcmd.ReasonNotYetValid, hubcmd.ReasonReplayed,
	hubcmd.ReasonReplayUnchecked,
}

// FuzzVerify: no input panics; a refusal is an *Error with a known reason
// and no command; what is accepted Signed was signed by a key of the set
// (checked here with crypto/ed25519 alone), and anything else accepted is a
// merge/abort.
func FuzzVerify(f *testing.F) {
	for _, name := range allCommands {
		f.Add(signed(claims(name, nil)), true, int64(0))
		f.Add(token(edHeader("hub-2"), claims(name, map[string]any{"aud": []string{"pod-1", podID}}), hub2), true, int64(0))
		f.Add(token(map[string]any{"alg": "none"}, claims(name, nil), nil), false, int64(0))
		f.Add(hmacToken("HS256", hub1.Public().(ed25519.PublicKey), claims(name, nil)), true, int64(0))
		f.Add(tamper(signed(claims(name, nil))), true, int64(0))
		f.Add(token(edHeader("hub-x"), claims(name, nil), outsider), true, int64(0))
		f.Add(signed(claims(name, nil)), true, int64(3600))
	}
	f.Add([]byte(`eyJhbGciOiJub25lIn0.eyJjbWQiOiJtZXJnZS9hYm9ydCJ9.`), false, int64(0))
	f.Add([]byte("..."), true, int64(0))
	f.Add([]byte(""), true, int64(0))
	f.Add([]byte(`{"payload":"e30","signatures":[]}`), true, int64(0))
	sets := map[string]ed25519.PublicKey{"hub-1": hub1.Public().(ed25519.PublicKey), "hub-2": hub2.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, raw []byte, synced bool, offset int64) {
		fx := newFixture(t)
		fx.session = "s-1"
		now := t0.Add(time.Duration(offset%(48*3600)) * time.Second)
		cmd, err := fx.v.Verify(raw, now, synced)
		if err != nil {
			var e *hubcmd.Error
			if !errors.As(err, &e) || !slices.Contains(reasons, e.Reason) {
				t.Fatalf("error %v (%T) has no known reason", err, err)
			}
			if cmd.Args != nil || cmd.Signed || cmd.KeyID != "" {
				t.Fatalf("a refusal came with a command: %+v", cmd)
			}
			return
		}
		if cmd.Args == nil {
			t.Fatal("accepted with no command")
		}
		if !cmd.Signed {
			if cmd.Name() != hubcmd.MergeAbortName || cmd.Unverified == nil {
				t.Fatalf("%s accepted unsigned (%v)", cmd.Name(), cmd.Unverified)
			}
			return
		}
		// Signed: check the signature without go-jose.
		parts := bytes.Split(raw, []byte("."))
		if len(parts) != 3 {
			t.Fatalf("accepted Signed with %d parts", len(parts))
		}
		var h struct{ Alg, Kid string }
		hb, err := b64.DecodeString(string(parts[0]))
		if err != nil || json.Unmarshal(hb, &h) != nil {
			t.Fatalf("accepted Signed with an unreadable header: %v", err)
		}
		sig, err := b64.DecodeString(string(parts[2]))
		pub := sets[h.Kid]
		if h.Alg != "EdDSA" || h.Kid != cmd.KeyID || pub == nil || err != nil ||
			!ed25519.Verify(pub, raw[:len(parts[0])+1+len(parts[1])], sig) {
			t.Fatalf("accepted Signed by kid %q alg %q, but the signature does not verify", h.Kid, h.Alg)
		}
		if !synced || !now.Before(cmd.Expires) || cmd.IssuedAt.After(now.Add(hubcmd.IssuedAtLeeway)) || cmd.Expires.Sub(cmd.IssuedAt) > hubcmd.MaxLifetime {
			t.Fatalf("accepted Signed outside its times: %+v at %s (synced %v)", cmd.Claims, now, synced)
		}
		if !slices.Contains(cmd.Audience, podID) && !slices.Contains(cmd.Audience, "merge:s-1") {
			t.Fatalf("accepted Signed for %q", cmd.Audience)
		}
		if _, err := fx.v.Verify(raw, now, synced); err == nil && cmd.Name() != hubcmd.MergeAbortName {
			t.Fatal("accepted twice")
		}
	})
}

// FuzzParseKeySet: no input panics, and a set accepted has 1 to MaxKeys
// distinct, non-empty kids, and reads the same again.
func FuzzParseKeySet(f *testing.F) {
	f.Add(standardSetBytes())
	f.Add(keySet(pubJWK("hub-1", hub1)))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"hub-1","x":"` + b64.EncodeToString(hub1.Public().(ed25519.PublicKey)) + `","d":"` + b64.EncodeToString(hub1.Seed()) + `"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","n":"0vx7","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"AA","y":"AA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := hubcmd.ParseKeySet(data)
		if err != nil {
			if ks != nil {
				t.Fatal("a key set with an error")
			}
			return
		}
		ids := ks.KeyIDs()
		if len(ids) == 0 || len(ids) > hubcmd.MaxKeys {
			t.Fatalf("%d keys accepted", len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || seen[id] {
				t.Fatalf("kids %q", ids)
			}
			seen[id] = true
		}
		again, err := hubcmd.ParseKeySet(data)
		if err != nil || !slices.Equal(again.KeyIDs(), ids) {
			t.Fatalf("read twice: %v", err)
		}
	})
}

func standardSetBytes() []byte { return keySet(pubJWK("hub-1", hub1), pubJWK("hub-2", hub2)) }
