package hubcmd

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds of the envelope and of a command's times.
const (
	// MaxCommandSize is the largest command read, in bytes, checked before
	// any parsing. A merge/start with every field at its maximum and two
	// audiences is under 1 KiB signed (hubclient's TestLargestCommandFits);
	// 4 KiB leaves room for a longer aud array and bounds what an
	// unauthenticated sender can make the pod decode.
	MaxCommandSize = 4096
	// IssuedAtLeeway is how far iat may be ahead of the pod's clock: two
	// clocks synchronised by NTP differ by milliseconds, a pod's by up to
	// seconds after a resync; 30 s covers both and no more.
	IssuedAtLeeway = 30 * time.Second
	// MaxLifetime bounds exp - iat. A hub signs a command when it sends it;
	// ten minutes covers a broker queueing it through a short outage, and a
	// command older than that (a merge/start held back for hours) is
	// refused rather than acted on late. exp has no leeway, so a jti is
	// needed in the replay cache no longer than exp (at most
	// MaxRemainingLife after it is accepted).
	MaxLifetime = 10 * time.Minute
	// MaxRemainingLife bounds exp - now for a command accepted now: its exp
	// may be MaxLifetime after an iat up to IssuedAtLeeway ahead of the
	// pod's clock. A replay cache must keep a jti, or refuse the jtis it
	// lost, this long.
	MaxRemainingLife = MaxLifetime + IssuedAtLeeway
)

// Command is a verified command.
type Command struct {
	Claims
	// KeyID is the kid of the set key whose signature verified, "" when
	// none did.
	KeyID string
	// Signed reports that the command passed every check a hub command
	// must pass: a valid EdDSA signature by a key of the set, an aud naming
	// this pod or its current merge, a synchronised clock, iat, exp and jti
	// present, within their bounds and fresh, and a jti never seen before.
	// Only a merge/abort is ever returned with Signed false.
	Signed bool
	// Unverified is why a merge/abort is not Signed (an *Error whose
	// Reason is the first check it failed); nil when Signed.
	Unverified error
}

// VerifierConfig is what a Verifier needs.
type VerifierConfig struct {
	// PodID is the aud that names this pod.
	PodID string
	// Keys are the hub's keys. nil: the pod has none, and accepts only
	// merge/abort (never Signed); every other command is refused
	// unknown_key.
	Keys *KeySet
	// Replay remembers the jtis of the commands accepted.
	Replay ReplayCache
	// Session reports the pod's current merge session, "" when there is
	// none: "merge:{session}" addresses the pod only while it is in that
	// session. nil means the pod is never in one.
	Session func() string
}

// Verifier verifies the hub's commands. It is safe for concurrent use when
// its ReplayCache and Session are.
type Verifier struct {
	c VerifierConfig
}

// NewVerifier checks c and makes a Verifier.
func NewVerifier(c VerifierConfig) (*Verifier, error) {
	switch {
	case c.PodID == "":
		return nil, errors.New("hubcmd.NewVerifier: no pod id")
	case strings.HasPrefix(c.PodID, mergePrefix):
		return nil, fmt.Errorf("hubcmd.NewVerifier: pod id %q would be read as a merge audience", c.PodID)
	case c.Keys != nil && len(c.Keys.keys) == 0:
		return nil, errors.New("hubcmd.NewVerifier: an empty key set (nil means none)")
	case c.Replay == nil:
		return nil, errors.New("hubcmd.NewVerifier: no replay cache")
	}
	if c.Session == nil {
		c.Session = func() string { return "" }
	}
	return &Verifier{c: c}, nil
}

// Verify reads a command received at now; clockSynced reports whether the
// pod's clock is synchronised, so that now can be compared with the
// command's times. It returns the command, or an *Error saying why it is
// refused.
//
// A command other than merge/abort is accepted only when it is Signed (see
// Command). A merge/abort only makes the pod safer, so it is accepted
// unsigned, badly signed, signed by an unknown key, stale, replayed, while
// the clock is not synchronised, or when the replay cache fails, with
// Signed false and Unverified saying why. It still must be a compact JWS
// (an unsecured one, RFC 7519 section 6: header {"alg":"none"} and an empty
// signature, will do) whose claims are well-formed: cmd "merge/abort" and,
// each optional, jti, iat, exp, aud, session and reason within their bounds,
// and nothing else. If it has an aud, the aud must name this pod or its
// current merge. Such an abort can only end a merge and say why; it carries
// nothing that could loosen a limit, disarm a rule, clear a latch or start
// anything. Its jti is not recorded in the replay cache, so it cannot spend
// the jti of a signed command.
func (v *Verifier) Verify(raw []byte, now time.Time, clockSynced bool) (Command, error) {
	if len(raw) > MaxCommandSize {
		return Command{}, errorf(ReasonOversized, "", "%d bytes, more than %d", len(raw), MaxCommandSize)
	}
	env, err := parseEnvelope(raw)
	if err != nil {
		return Command{}, err
	}
	kid, payload, sigErr := v.checkSignature(raw, env)
	if sigErr != nil {
		d, cerr := decodeClaims(env.payload)
		if d.cmd != MergeAbortName {
			sigErr.JTI = d.ID
			return Command{}, sigErr
		}
		if cerr != nil { // an abort's own fault, whatever its signature
			cerr.JTI = d.ID
			return Command{}, cerr
		}
		return v.unverified(Command{Claims: d.Claims}, sigErr)
	}
	d, cerr := decodeClaims(payload)
	if cerr != nil {
		cerr.JTI, cerr.Signed = d.ID, true
		return Command{}, cerr
	}
	cmd := Command{Claims: d.Claims, KeyID: kid}
	refuse := func(e *Error) (Command, error) {
		if d.Name() == MergeAbortName {
			return v.unverified(cmd, e)
		}
		e.JTI, e.Signed = d.ID, true
		return Command{}, e
	}
	if len(d.Audience) == 0 {
		return refuse(errorf(ReasonWrongAudience, "aud", "required"))
	}
	if err := v.matchAudience(d.Audience); err != nil {
		err.JTI, err.Signed = d.ID, true
		return Command{}, err // a command for someone else, abort or not
	}
	if err := checkTimes(d, now, clockSynced); err != nil {
		return refuse(err)
	}
	seen, rerr := v.c.Replay.Seen(d.ID, d.Expires)
	if rerr != nil {
		return refuse(&Error{Reason: ReasonReplayUnchecked, Field: "jti", Msg: "the replay cache cannot record it", Err: rerr})
	}
	if seen {
		return refuse(errorf(ReasonReplayed, "jti", "%q was accepted before", d.ID))
	}
	cmd.Signed = true
	return cmd, nil
}

// unverified accepts a merge/abort that is not Signed, after checking its
// aud when it has one.
func (v *Verifier) unverified(cmd Command, why *Error) (Command, error) {
	if len(cmd.Audience) > 0 {
		if err := v.matchAudience(cmd.Audience); err != nil {
			err.JTI = cmd.ID
			return Command{}, err
		}
	}
	cmd.Signed = false
	cmd.Unverified = why
	return cmd, nil
}

// matchAudience reports whether an entry of aud names this pod, or
// "merge:{session}" for its current session.
func (v *Verifier) matchAudience(aud []string) *Error {
	session := v.c.Session()
	for _, a := range aud {
		if a == v.c.PodID {
			return nil
		}
		if s, ok := strings.CutPrefix(a, mergePrefix); ok && session != "" && s == session {
			return nil
		}
	}
	return errorf(ReasonWrongAudience, "aud", "%q names neither pod %q nor its current merge", truncate(strings.Join(aud, ",")), v.c.PodID)
}

// checkTimes checks what needs a clock: the presence of jti, iat and exp and
// the command's lifetime first (they need none), then the clock, then
// freshness and merge/start's start.
func checkTimes(d decoded, now time.Time, clockSynced bool) *Error {
	switch {
	case !d.hasJTI:
		return errorf(ReasonBadArgument, "jti", "required")
	case !d.hasIAT:
		return errorf(ReasonBadArgument, "iat", "required")
	case !d.hasExp:
		return errorf(ReasonBadArgument, "exp", "required")
	}
	if err := checkLifetime(d.IssuedAt, d.Expires); err != nil {
		return err
	}
	if !clockSynced {
		return errorf(ReasonClockUnsynced, "", "the pod's clock is not synchronised, so exp and iat cannot be checked")
	}
	if !now.Before(d.Expires) {
		return errorf(ReasonExpired, "exp", "%s is not after the pod's clock (%s)", d.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if d.IssuedAt.After(now.Add(IssuedAtLeeway)) {
		return errorf(ReasonNotYetValid, "iat", "%s is more than %s after the pod's clock (%s)", d.IssuedAt.UTC().Format(time.RFC3339), IssuedAtLeeway, now.UTC().Format(time.RFC3339))
	}
	if s, ok := d.Args.(MergeStart); ok {
		return s.checkAt(now)
	}
	return nil
}

// envelope is a compact JWS split and decoded, before its signature is
// checked.
type envelope struct {
	alg, kid  string
	payload   []byte
	signature []byte
}

// headerParams are the protected header parameters accepted. Anything else
// (crit, b64, jwk, jku, x5c, x5u, ...) would change what is signed or where
// the key comes from, and no hub needs it.
var headerParams = map[string]bool{"alg": true, "kid": true, "typ": true}

// parseEnvelope splits a compact JWS and decodes its header, so that an
// unsigned or wrongly signed command gets its own reason; the signature is
// then checked by go-jose on the same bytes.
func parseEnvelope(raw []byte) (envelope, *Error) {
	var env envelope
	parts, ok := splitCompact(raw)
	if !ok {
		return env, errorf(ReasonMalformed, "", "not a compact JWS (three base64url parts separated by dots)")
	}
	dec := base64.RawURLEncoding.Strict()
	header, err := dec.DecodeString(string(parts[0]))
	if err != nil {
		return env, errorf(ReasonMalformed, "", "header: not base64url")
	}
	if env.payload, err = dec.DecodeString(string(parts[1])); err != nil {
		return env, errorf(ReasonMalformed, "", "payload: not base64url")
	}
	if env.signature, err = dec.DecodeString(string(parts[2])); err != nil {
		return env, errorf(ReasonMalformed, "", "signature: not base64url")
	}
	h, jerr := decodeObject(header)
	if jerr != nil {
		return env, errorf(ReasonMalformed, "", "header: %v", jerr)
	}
	for k, raw := range h {
		if !headerParams[k] {
			return env, errorf(ReasonMalformed, "", "header parameter %q is not accepted", truncate(k))
		}
		s, e := decodeString(k, raw)
		if e != nil {
			return env, errorf(ReasonMalformed, "", "header parameter %q is not a string", k)
		}
		switch k {
		case "alg":
			env.alg = s
		case "kid":
			env.kid = s
		case "typ":
			if !strings.EqualFold(s, "JWT") {
				return env, errorf(ReasonMalformed, "", "typ %q; only JWT is accepted", truncate(s))
			}
		}
	}
	return env, nil
}

// splitCompact splits a compact JWS into its header, payload and
// signature (still base64url), or reports that raw is not three parts.
func splitCompact(raw []byte) ([][]byte, bool) {
	parts := bytes.Split(raw, []byte("."))
	return parts, len(parts) == 3
}

// checkSignature verifies a command's signature with go-jose, EdDSA only,
// with the set key its kid names. It returns the kid and the verified
// payload.
func (v *Verifier) checkSignature(raw []byte, env envelope) (string, []byte, *Error) {
	if env.alg == "" || strings.EqualFold(env.alg, "none") || len(env.signature) == 0 {
		return "", nil, errorf(ReasonUnsigned, "", "no signature (alg %q)", truncate(env.alg))
	}
	if env.alg != string(jose.EdDSA) {
		return "", nil, errorf(ReasonBadSignature, "", "alg %q is not accepted; only EdDSA", truncate(env.alg))
	}
	if env.kid == "" {
		return "", nil, errorf(ReasonUnknownKey, "", "no kid in the header")
	}
	var pub ed25519.PublicKey
	if v.c.Keys != nil {
		pub = v.c.Keys.key(env.kid)
	}
	if pub == nil {
		return "", nil, errorf(ReasonUnknownKey, "", "kid %q is not in the hub's key set", truncate(env.kid))
	}
	jws, err := jose.ParseSignedCompact(string(raw), []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "", nil, errorf(ReasonMalformed, "", "%v", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != env.kid {
		return "", nil, errorf(ReasonMalformed, "", "the header reads differently to go-jose")
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return "", nil, errorf(ReasonBadSignature, "", "the signature does not verify with key %q", env.kid)
	}
	if !bytes.Equal(payload, env.payload) {
		return "", nil, errorf(ReasonMalformed, "", "the payload reads differently to go-jose")
	}
	return env.kid, payload, nil
}
