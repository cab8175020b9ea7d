package hubclient

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// Key is one of the hub's signing keys.
type Key struct {
	ID      string // the kid that names it in the pods' key set
	Private ed25519.PrivateKey
}

// GenerateKey makes an Ed25519 key named kid from crypto/rand.
func GenerateKey(kid string) (Key, error) {
	if kid == "" {
		return Key{}, errors.New("hubclient.GenerateKey: no kid")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("hubclient.GenerateKey: %w", err)
	}
	return Key{ID: kid, Private: priv}, nil
}

// Public is the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

type jwkSet struct {
	Keys []jose.JSONWebKey `json:"keys"`
}

// PublicSet is the JWK Set of the keys' public halves: the file a pod is
// given (security.hub_keys). Each key carries its kid, alg EdDSA and use
// sig.
func PublicSet(keys ...Key) ([]byte, error) {
	return marshalSet(keys, func(k Key) any { return k.Public() })
}

// PrivateSet is the JWK Set of the keys themselves: the hub's secret, never
// given to a pod.
func PrivateSet(keys ...Key) ([]byte, error) {
	return marshalSet(keys, func(k Key) any { return k.Private })
}

func marshalSet(keys []Key, material func(Key) any) ([]byte, error) {
	set := jwkSet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		if k.ID == "" || len(k.Private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("hubclient: key %q is not a named Ed25519 key", k.ID)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: material(k), KeyID: k.ID, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	out, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("hubclient: %w", err)
	}
	return append(out, '\n'), nil
}

// WriteKeyFiles writes k's private set to privatePath (mode 0600) and its
// public set to publicPath (0644). It never overwrites a file: a hub key
// replaced by accident cannot be recovered.
func WriteKeyFiles(k Key, privatePath, publicPath string) error {
	priv, err := PrivateSet(k)
	if err != nil {
		return err
	}
	pub, err := PublicSet(k)
	if err != nil {
		return err
	}
	if err := writeNew(privatePath, priv, 0o600); err != nil {
		return err
	}
	if err := writeNew(publicPath, pub, 0o644); err != nil {
		return errors.Join(err, os.Remove(privatePath))
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("hubclient.WriteKeyFiles: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("hubclient.WriteKeyFiles: %w", err), os.Remove(path))
	}
	return nil
}

// maxPrivateSetSize bounds a private set file read.
const maxPrivateSetSize = 1 << 20

// LoadKeys reads the hub's private JWK Set: every key in it must be a named
// Ed25519 private key.
func LoadKeys(privatePath string) ([]Key, error) {
	f, err := os.Open(privatePath)
	if err != nil {
		return nil, fmt.Errorf("hubclient.LoadKeys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPrivateSetSize+1))
	if err != nil {
		return nil, fmt.Errorf("hubclient.LoadKeys: %w", err)
	}
	if len(data) > maxPrivateSetSize {
		return nil, fmt.Errorf("hubclient.LoadKeys: %s: larger than %d bytes", privatePath, maxPrivateSetSize)
	}
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("hubclient.LoadKeys: %s: %w", privatePath, err)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("hubclient.LoadKeys: %s: no keys", privatePath)
	}
	keys := make([]Key, 0, len(set.Keys))
	for i, jwk := range set.Keys {
		priv, ok := jwk.Key.(ed25519.PrivateKey)
		if !ok || jwk.KeyID == "" {
			return nil, fmt.Errorf("hubclient.LoadKeys: %s: key %d is not a named Ed25519 private key", privatePath, i)
		}
		keys = append(keys, Key{ID: jwk.KeyID, Private: priv})
	}
	return keys, nil
}
