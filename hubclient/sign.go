package hubclient

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sleegation/podd/hubcmd"
)

// DefaultLifetime is how long a command lives (exp - iat) when Options
// leaves it 0: long enough for a broker to deliver it over a pod's brief
// reconnect, short enough that a captured command is soon worthless.
const DefaultLifetime = 2 * time.Minute

// Options are a Signer's clock, lifetime and randomness.
type Options struct {
	Now      func() time.Time // time.Now when nil
	Lifetime time.Duration    // DefaultLifetime when 0; whole seconds up to hubcmd.MaxLifetime
	Rand     io.Reader        // for jtis; crypto/rand when nil
}

// Signer signs commands with one key.
type Signer struct {
	key      Key
	signer   jose.Signer
	now      func() time.Time
	lifetime time.Duration
	rand     io.Reader
}

// NewSigner makes a Signer for k.
func NewSigner(k Key, o Options) (*Signer, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Lifetime < time.Second || o.Lifetime > hubcmd.MaxLifetime || o.Lifetime%time.Second != 0 {
		return nil, fmt.Errorf("hubclient.NewSigner: lifetime %s is not whole seconds from 1s to %s", o.Lifetime, hubcmd.MaxLifetime)
	}
	if k.ID == "" || len(k.Private) == 0 {
		return nil, errors.New("hubclient.NewSigner: no key or no kid")
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("hubclient.NewSigner: %w", err)
	}
	return &Signer{key: k, signer: s, now: o.Now, lifetime: o.Lifetime, rand: o.Rand}, nil
}

// Token is a signed command.
type Token struct {
	Raw      []byte // the compact JWS, the MQTT payload
	ID       string // its jti, which the pod's reply names
	IssuedAt time.Time
	Expires  time.Time
}

// Sign signs a command for aud: a pod id, or hubcmd.MergeAudience(session)
// for every pod in a merge. iat is the clock's time in whole seconds and exp
// the lifetime later.
func (s *Signer) Sign(args hubcmd.Args, aud ...string) (Token, error) {
	jti, err := NewID(s.rand)
	if err != nil {
		return Token{}, err
	}
	iat := s.now().Truncate(time.Second)
	c := hubcmd.Claims{ID: jti, IssuedAt: iat, Expires: iat.Add(s.lifetime), Audience: aud, Args: args}
	payload, err := hubcmd.EncodeClaims(c)
	if err != nil {
		return Token{}, fmt.Errorf("hubclient.Sign: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return Token{}, fmt.Errorf("hubclient.Sign: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return Token{}, fmt.Errorf("hubclient.Sign: %w", err)
	}
	return Token{Raw: []byte(raw), ID: jti, IssuedAt: c.IssuedAt, Expires: c.Expires}, nil
}

// UnsignedAbort is a merge/abort with no signature, which a pod accepts
// (marked unsigned) when aud is empty or names it or its merge.
func UnsignedAbort(a hubcmd.MergeAbort, aud ...string) (Token, error) {
	jti, err := NewID(rand.Reader)
	if err != nil {
		return Token{}, err
	}
	raw, err := hubcmd.EncodeUnsignedAbort(jti, aud, a)
	if err != nil {
		return Token{}, fmt.Errorf("hubclient.UnsignedAbort: %w", err)
	}
	return Token{Raw: raw, ID: jti}, nil
}

// NewID is a fresh command id: 128 random bits in base64url (22 characters).
func NewID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("hubclient: a random jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
