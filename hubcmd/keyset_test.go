package hubcmd_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleegation/podd/hubcmd"
)

func TestLoadKeySet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hub-keys.json")
	if err := os.WriteFile(path, keySet(pubJWK("hub-2", hub2), pubJWK("hub-1", hub1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ks, err := hubcmd.LoadKeySet(path)
	if err != nil {
		t.Fatalf("LoadKeySet: %v", err)
	}
	if got := ks.KeyIDs(); !slices.Equal(got, []string{"hub-2", "hub-1"}) {
		t.Errorf("KeyIDs = %q", got)
	}
	_, err = hubcmd.LoadKeySet(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"keys":[`+pubJWK("hub-1", hub1)+`],"x":"`+strings.Repeat("x", hubcmd.MaxKeySetSize)+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = hubcmd.LoadKeySet(big)
	if want := fmt.Sprintf("hubcmd.LoadKeySet: %s: key set larger than %d bytes", big, hubcmd.MaxKeySetSize); err == nil || err.Error() != want {
		t.Errorf("a file too big: %v, want %q", err, want)
	}
}

func TestParseKeySetRefuses(t *testing.T) {
	x1 := b64.EncodeToString(hub1.Public().(ed25519.PublicKey))
	d1 := b64.EncodeToString(hub1.Seed())
	okp := func(extra string) string {
		return `{"kty":"OKP","crv":"Ed25519","kid":"hub-1","x":"` + x1 + `"` + extra + `}`
	}
	many := make([]string, hubcmd.MaxKeys+1)
	for i := range many {
		many[i] = pubJWK(fmt.Sprintf("hub-%d", i), ed25519.NewKeyFromSeed(make([]byte, 32)))
	}
	cases := []struct {
		name, data, want string
	}{
		{"empty file", ``, "key set: the file is empty"},
		{"blank file", "\n", "key set: the file is empty"},
		{"not JSON", `keys: []`, "key set: invalid character 'k' looking for beginning of value"},
		{"an array", `[` + okp("") + `]`, "key set: not a JSON object"},
		{"no keys member", `{"key":[]}`, `key set: no "keys" member`},
		{"keys not an array", `{"keys":{}}`, `key set: "keys" is not an array`},
		{"keys twice", `{"keys":[],"keys":[` + okp("") + `]}`, `key set: member "keys" appears twice`},
		{"an empty set", `{"keys":[]}`, "key set: no keys; the pod would accept no signed command"},
		{"too many keys", string(keySet(many...)), fmt.Sprintf("key set: %d keys, more than %d", hubcmd.MaxKeys+1, hubcmd.MaxKeys)},
		{"a private key", string(keySet(okp(`,"d":"` + d1 + `"`))), `key set: key 0 (kid "hub-1"): holds private key material ("d"): the pod's file must hold the hub's public keys only`},
		{"a symmetric key", string(keySet(`{"kty":"oct","kid":"hub-1","k":"c2VjcmV0"}`)), `key set: key 0 (kid "hub-1"): holds private key material ("k"): the pod's file must hold the hub's public keys only`},
		{"an RSA public key", string(keySet(`{"kty":"RSA","kid":"hub-1","n":"0vx7","e":"AQAB"}`)), `key set: key 0 (kid "hub-1"): kty "RSA" crv "" is not an Ed25519 public key (kty "OKP", crv "Ed25519")`},
		{"an EC public key", string(keySet(`{"kty":"EC","crv":"P-256","kid":"hub-1","x":"AA","y":"AA"}`)), `key set: key 0 (kid "hub-1"): kty "EC" crv "P-256" is not an Ed25519 public key (kty "OKP", crv "Ed25519")`},
		{"an X25519 key", string(keySet(`{"kty":"OKP","crv":"X25519","kid":"hub-1","x":"` + x1 + `"}`)), `key set: key 0 (kid "hub-1"): kty "OKP" crv "X25519" is not an Ed25519 public key (kty "OKP", crv "Ed25519")`},
		{"no kty", string(keySet(`{"crv":"Ed25519","kid":"hub-1","x":"` + x1 + `"}`)), `key set: key 0 (kid "hub-1"): kty "" crv "Ed25519" is not an Ed25519 public key (kty "OKP", crv "Ed25519")`},
		{"no kid", string(keySet(`{"kty":"OKP","crv":"Ed25519","x":"` + x1 + `"}`)), "key set: key 0: no kid: a command names its key by kid"},
		{"an empty kid", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":"","x":"` + x1 + `"}`)), "key set: key 0: no kid: a command names its key by kid"},
		{"a kid with a space", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":"hub 1","x":"` + x1 + `"}`)), `key set: key 0: kid: holds ' ' at byte 3; only printable ASCII without space is allowed`},
		{"a kid a number", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":1,"x":"` + x1 + `"}`)), "key set: key 0: kid is not a string"},
		{"a duplicate kid", string(keySet(pubJWK("hub-1", hub1), pubJWK("hub-1", hub2))), `key set: key 1: kid "hub-1" is used twice`},
		{"alg HS256", string(keySet(okp(`,"alg":"HS256"`))), `key set: key 0 (kid "hub-1"): alg "HS256"; only EdDSA is accepted`},
		{"use enc", string(keySet(okp(`,"use":"enc"`))), `key set: key 0 (kid "hub-1"): use "enc"; a hub key is for signatures ("sig")`},
		{"key_ops sign", string(keySet(okp(`,"key_ops":["sign","verify"]`))), `key set: key 0 (kid "hub-1"): key_ops may hold only "verify"`},
		{"no x", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":"hub-1"}`)), `key set: key 0 (kid "hub-1"): invalid Ed key, missing x value`},
		{"x too short", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":"hub-1","x":"AAAA"}`)), `key set: key 0 (kid "hub-1"): invalid Ed25519 public key, wrong length for x`},
		{"x a low-order point", string(keySet(`{"kty":"OKP","crv":"Ed25519","kid":"hub-1","x":"` + b64.EncodeToString(append([]byte{1}, make([]byte, 31)...)) + `"}`)), `key set: key 0 (kid "hub-1"): invalid Ed25519 public key, low-order point`},
		{"a key that is a string", `{"keys":["hub-1"]}`, "key set: key 0: not a JSON object: not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ks, err := hubcmd.ParseKeySet([]byte(c.data))
			if err == nil || err.Error() != c.want {
				t.Fatalf("ParseKeySet = %v, %v; want the error %q", ks, err, c.want)
			}
		})
	}
}

func TestParseKeySetAccepts(t *testing.T) {
	x1 := b64.EncodeToString(hub1.Public().(ed25519.PublicKey))
	ks, err := hubcmd.ParseKeySet([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"hub-1","x":"` + x1 + `","alg":"EdDSA","use":"sig","key_ops":["verify"]}],"comment":"members other than keys are ignored"}`))
	if err != nil {
		t.Fatalf("ParseKeySet: %v", err)
	}
	if got := ks.KeyIDs(); !slices.Equal(got, []string{"hub-1"}) {
		t.Errorf("KeyIDs = %q", got)
	}
}
