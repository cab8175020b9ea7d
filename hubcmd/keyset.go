package hubcmd

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Bounds of the hub's key set file.
const (
	// MaxKeySetSize is the largest key set file read: an Ed25519 public JWK
	// is about 150 bytes, so 64 KiB is hundreds of times what MaxKeys need.
	MaxKeySetSize = 64 << 10
	// MaxKeys bounds the keys in the set: rotation needs two or three at
	// once; every key in the set is a key that can command the pod.
	MaxKeys = 16
)

// privateMembers are the JWK members that hold private or secret key
// material (RFC 7517, RFC 7518 section 6, RFC 8037).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// KeySet is the hub's public keys, by kid: the keys whose signatures the pod
// accepts.
type KeySet struct {
	keys map[string]ed25519.PublicKey
	ids  []string
}

// LoadKeySet reads the hub's JWK Set (RFC 7517) from path; see ParseKeySet.
func LoadKeySet(path string) (*KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hubcmd.LoadKeySet: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeySetSize+1))
	if err != nil {
		return nil, fmt.Errorf("hubcmd.LoadKeySet: %s: %w", path, err)
	}
	ks, err := ParseKeySet(data)
	if err != nil {
		return nil, fmt.Errorf("hubcmd.LoadKeySet: %s: %w", path, err)
	}
	return ks, nil
}

// ParseKeySet reads a JWK Set: a JSON object whose "keys" holds 1 to MaxKeys
// Ed25519 public keys (kty "OKP", crv "Ed25519"), each with its own kid (1 to
// MaxIDLen printable ASCII characters) and, when they are present, alg
// "EdDSA", use "sig" and key_ops holding only "verify". It refuses, naming the
// key: any other key type or curve, a key holding private material (the
// pod's file holds public keys only: a private key there is a key that
// leaked), a missing or repeated kid, and an empty set.
func ParseKeySet(data []byte) (*KeySet, error) {
	if len(data) > MaxKeySetSize {
		return nil, fmt.Errorf("key set larger than %d bytes", MaxKeySetSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("key set: the file is empty")
	}
	top, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	rawKeys, ok := top["keys"]
	if !ok {
		return nil, errors.New(`key set: no "keys" member`)
	}
	var keys []json.RawMessage
	if err := json.Unmarshal(rawKeys, &keys); err != nil {
		return nil, errors.New(`key set: "keys" is not an array`)
	}
	if len(keys) == 0 {
		return nil, errors.New("key set: no keys; the pod would accept no signed command")
	}
	if len(keys) > MaxKeys {
		return nil, fmt.Errorf("key set: %d keys, more than %d", len(keys), MaxKeys)
	}
	ks := &KeySet{keys: make(map[string]ed25519.PublicKey, len(keys))}
	for i, raw := range keys {
		kid, pub, err := parseKey(raw)
		if err != nil {
			if kid != "" {
				return nil, fmt.Errorf("key set: key %d (kid %q): %w", i, kid, err)
			}
			return nil, fmt.Errorf("key set: key %d: %w", i, err)
		}
		if _, dup := ks.keys[kid]; dup {
			return nil, fmt.Errorf("key set: key %d: kid %q is used twice", i, kid)
		}
		ks.keys[kid] = pub
		ks.ids = append(ks.ids, kid)
	}
	return ks, nil
}

func parseKey(raw json.RawMessage) (kid string, pub ed25519.PublicKey, err error) {
	m, err := decodeObject(raw)
	if err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %w", err)
	}
	member := func(k string) (string, bool, error) {
		v, ok := m[k]
		if !ok {
			return "", false, nil
		}
		s, e := decodeString(k, v)
		if e != nil {
			return "", true, fmt.Errorf("%s is not a string", k)
		}
		return s, true, nil
	}
	kid, hasKID, err := member("kid")
	if err != nil {
		return "", nil, err
	}
	if !hasKID || kid == "" {
		return "", nil, errors.New("no kid: a command names its key by kid")
	}
	if e := checkJTI(kid); e != nil { // a kid follows the jti's rules
		return "", nil, fmt.Errorf("kid: %s", e.Msg)
	}
	for _, p := range privateMembers {
		if _, ok := m[p]; ok {
			return kid, nil, fmt.Errorf("holds private key material (%q): the pod's file must hold the hub's public keys only", p)
		}
	}
	kty, _, err := member("kty")
	if err != nil {
		return kid, nil, err
	}
	crv, _, err := member("crv")
	if err != nil {
		return kid, nil, err
	}
	if kty != "OKP" || crv != "Ed25519" {
		return kid, nil, fmt.Errorf("kty %q crv %q is not an Ed25519 public key (kty \"OKP\", crv \"Ed25519\")", truncate(kty), truncate(crv))
	}
	if alg, ok, err := member("alg"); err != nil {
		return kid, nil, err
	} else if ok && alg != string(jose.EdDSA) {
		return kid, nil, fmt.Errorf("alg %q; only EdDSA is accepted", truncate(alg))
	}
	if use, ok, err := member("use"); err != nil {
		return kid, nil, err
	} else if ok && use != "sig" {
		return kid, nil, fmt.Errorf("use %q; a hub key is for signatures (\"sig\")", truncate(use))
	}
	if v, ok := m["key_ops"]; ok {
		var ops []string
		if json.Unmarshal(v, &ops) != nil || len(ops) == 0 || slices.ContainsFunc(ops, func(op string) bool { return op != "verify" }) {
			return kid, nil, errors.New(`key_ops may hold only "verify"`)
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return kid, nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
	}
	pub, ok := jwk.Key.(ed25519.PublicKey)
	if !ok || !jwk.Valid() {
		return kid, nil, fmt.Errorf("not an Ed25519 public key (%T)", jwk.Key)
	}
	return kid, pub, nil
}

// KeyIDs are the set's kids, in the file's order.
func (s *KeySet) KeyIDs() []string { return slices.Clone(s.ids) }

// key is the public key named kid, nil when there is none.
func (s *KeySet) key(kid string) ed25519.PublicKey { return s.keys[kid] }
