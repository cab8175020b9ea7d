package hubcmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Claims are a command's claims (RFC 7519 and the command's own).
type Claims struct {
	ID       string    // jti
	IssuedAt time.Time // iat; zero when absent (only an unsigned merge/abort may omit it)
	Expires  time.Time // exp; zero when absent (idem)
	Audience []string  // aud; empty when absent (idem)
	Args     Args      // cmd and the command's arguments
}

// Name is the command's name, "" when Args is nil.
func (c Claims) Name() Name {
	if c.Args == nil {
		return ""
	}
	return c.Args.Name()
}

// EncodeClaims is the JSON payload of a command, for a hub to sign (package
// hubclient does). It checks everything the pod checks that does not depend
// on the pod's clock or state: jti, iat and exp present with exp after iat
// by at most MaxLifetime, an aud, and the arguments. iat, exp and start are
// encoded as whole seconds.
func EncodeClaims(c Claims) ([]byte, error) {
	if c.Args == nil {
		return nil, errorf(ReasonUnknownCommand, "cmd", "required")
	}
	if _, ok := argClaims[c.Args.Name()]; !ok {
		return nil, errorf(ReasonUnknownCommand, "cmd", "%q is not a command", c.Args.Name())
	}
	if err := checkJTI(c.ID); err != nil {
		return nil, err
	}
	if c.IssuedAt.IsZero() {
		return nil, errorf(ReasonBadArgument, "iat", "required")
	}
	if c.Expires.IsZero() {
		return nil, errorf(ReasonBadArgument, "exp", "required")
	}
	iat, exp := time.Unix(c.IssuedAt.Unix(), 0), time.Unix(c.Expires.Unix(), 0)
	if err := checkLifetime(iat, exp); err != nil {
		return nil, err
	}
	if len(c.Audience) == 0 {
		return nil, errorf(ReasonBadArgument, "aud", "required")
	}
	if err := checkAudience(c.Audience); err != nil {
		return nil, err
	}
	if err := c.Args.check(); err != nil {
		return nil, err
	}
	m := map[string]any{
		"jti": c.ID,
		"iat": iat.Unix(),
		"exp": exp.Unix(),
		"cmd": string(c.Args.Name()),
	}
	if len(c.Audience) == 1 {
		m["aud"] = c.Audience[0]
	} else {
		m["aud"] = c.Audience
	}
	c.Args.encode(m)
	return json.Marshal(m)
}

func checkLifetime(iat, exp time.Time) *Error {
	if !exp.After(iat) {
		return errorf(ReasonBadArgument, "exp", "not after iat")
	}
	if l := exp.Sub(iat); l > MaxLifetime {
		return errorf(ReasonBadArgument, "exp", "the command lives %s (exp - iat), more than %s", l, MaxLifetime)
	}
	return nil
}

// decoded are claims as read from a payload, before any check that needs
// the signature, the clock or the pod's state.
type decoded struct {
	Claims
	cmd                    Name // set as soon as cmd is read and known
	hasIAT, hasExp, hasJTI bool
}

// decodeClaims reads a payload: a JSON object with each member once, no
// claim besides jti, iat, exp, aud, cmd and the command's arguments, each of
// its type and within its bounds. jti, iat, exp and aud may be absent here
// (only an unsigned merge/abort may lack them). d.ID is set as soon as a
// well-formed jti is read, so that a refusal can name it.
func decodeClaims(payload []byte) (d decoded, err *Error) {
	obj, jerr := decodeObject(payload)
	if jerr != nil {
		return d, errorf(ReasonMalformed, "", "claims: %v", jerr)
	}
	if raw, ok := obj["jti"]; ok {
		s, err := decodeString("jti", raw)
		if err != nil {
			return d, err
		}
		if err := checkJTI(s); err != nil {
			return d, err
		}
		d.ID, d.hasJTI = s, true
	}
	raw, ok := obj["cmd"]
	if !ok {
		return d, errorf(ReasonUnknownCommand, "cmd", "required")
	}
	name, err := decodeString("cmd", raw)
	if err != nil {
		return d, err
	}
	allowed, ok := argClaims[Name(name)]
	if !ok {
		return d, errorf(ReasonUnknownCommand, "cmd", "%q is not a command", truncate(name))
	}
	d.cmd = Name(name)
	for k := range obj {
		switch k {
		case "jti", "iat", "exp", "aud", "cmd":
		default:
			if !slices.Contains(allowed, k) {
				return d, errorf(ReasonBadArgument, fieldName(k), "not a claim of %s", name)
			}
		}
	}
	if raw, ok := obj["iat"]; ok {
		if d.IssuedAt, err = decodeNumericDate("iat", raw); err != nil {
			return d, err
		}
		d.hasIAT = true
	}
	if raw, ok := obj["exp"]; ok {
		if d.Expires, err = decodeNumericDate("exp", raw); err != nil {
			return d, err
		}
		d.hasExp = true
	}
	if raw, ok := obj["aud"]; ok {
		if d.Audience, err = decodeAudience(raw); err != nil {
			return d, err
		}
	}
	if d.Args, err = decodeArgs(Name(name), obj); err != nil {
		return d, err
	}
	return d, d.Args.check()
}

func decodeArgs(name Name, obj map[string]json.RawMessage) (Args, *Error) {
	str := func(k string) (string, *Error) {
		raw, ok := obj[k]
		if !ok {
			return "", nil
		}
		return decodeString(k, raw)
	}
	var err *Error
	switch name {
	case MergeStartName:
		var a MergeStart
		if a.Session, err = str(claimSession); err != nil {
			return nil, err
		}
		if a.Dreamscape, err = str(claimDreamscape); err != nil {
			return nil, err
		}
		if raw, ok := obj[claimStart]; ok {
			if a.Start, err = decodeNumericDate(claimStart, raw); err != nil {
				return nil, err
			}
		}
		if a.MaxDuration, err = decodeWhole(obj, claimMaxDuration, time.Second); err != nil {
			return nil, err
		}
		return a, nil
	case MergeEndName:
		var a MergeEnd
		a.Session, err = str(claimSession)
		return a, err
	case MergeAbortName:
		var a MergeAbort
		if a.Session, err = str(claimSession); err != nil {
			return nil, err
		}
		if _, ok := obj[claimSession]; ok && a.Session == "" {
			return nil, errorf(ReasonBadArgument, claimSession, "empty; omit it instead")
		}
		a.Reason, err = str(claimReason)
		return a, err
	case IdentifyName:
		var a Identify
		a.Duration, err = decodeWhole(obj, claimDuration, time.Second)
		return a, err
	case TelemetryIntervalName:
		var a TelemetryInterval
		a.Interval, err = decodeWhole(obj, claimIntervalMS, time.Millisecond)
		return a, err
	}
	return nil, errorf(ReasonUnknownCommand, "cmd", "%q is not a command", name)
}

// decodeObject reads a JSON object whose members are each named once: a
// claim written twice would be read one way here and perhaps another way by
// the hub's tools.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	obj := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		if _, dup := obj[k]; dup {
			return nil, fmt.Errorf("member %q appears twice", truncate(k))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		obj[k] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return obj, nil
}

func decodeString(field string, raw json.RawMessage) (string, *Error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", errorf(ReasonBadArgument, field, "not a string")
	}
	return s, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z: later dates are not times a
// command means.
const maxNumericDate = 253402300799

// decodeNumericDate reads a NumericDate (RFC 7519): seconds since the epoch,
// a fraction allowed, from 0 to the end of year 9999.
func decodeNumericDate(field string, raw json.RawMessage) (time.Time, *Error) {
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return time.Time{}, errorf(ReasonBadArgument, field, "not a number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errorf(ReasonBadArgument, field, "%s is not a date between 1970 and 9999 in seconds", truncate(string(raw)))
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), nil
}

// decodeWhole reads a whole number of units; absent is zero, which the
// bounds refuse.
func decodeWhole(obj map[string]json.RawMessage, field string, unit time.Duration) (time.Duration, *Error) {
	raw, ok := obj[field]
	if !ok {
		return 0, errorf(ReasonBadArgument, field, "required")
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, errorf(ReasonBadArgument, field, "%s is not a whole number", truncate(string(raw)))
	}
	if n < 0 || n > int64(math.MaxInt64/unit) {
		return 0, errorf(ReasonBadArgument, field, "%d is out of range", n)
	}
	return time.Duration(n) * unit, nil
}

func decodeAudience(raw json.RawMessage) ([]string, *Error) {
	var aud []string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		s, err := decodeString("aud", raw)
		if err != nil {
			return nil, err
		}
		aud = []string{s}
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &aud); err != nil {
			return nil, errorf(ReasonBadArgument, "aud", "not a string or an array of strings")
		}
		if len(aud) == 0 {
			return nil, errorf(ReasonBadArgument, "aud", "an empty array")
		}
	default:
		return nil, errorf(ReasonBadArgument, "aud", "not a string or an array of strings")
	}
	return aud, checkAudience(aud)
}

// fieldName is a claim name from outside as an Error's Field: itself when
// it is a plain name (a-z, 0-9, _), else quoted and shortened, so that no
// sender can put a newline or an escape into a reply or the audit.
func fieldName(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return strconv.Quote(truncate(k))
		}
	}
	if k == "" || len(k) > MaxIDLen {
		return strconv.Quote(truncate(k))
	}
	return k
}

// truncate shortens text from outside for an error message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// EncodeUnsignedAbort is an unsecured JWS (RFC 7519 section 6: header
// {"alg":"none"}, an empty signature) carrying a merge/abort: what anyone
// may send to make a pod safer without the hub's key. id and aud may be
// empty.
func EncodeUnsignedAbort(id string, aud []string, a MergeAbort) ([]byte, error) {
	m := map[string]any{"cmd": string(MergeAbortName)}
	if id != "" {
		if err := checkJTI(id); err != nil {
			return nil, err
		}
		m["jti"] = id
	}
	if len(aud) > 0 {
		if err := checkAudience(aud); err != nil {
			return nil, err
		}
		m["aud"] = aud
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	a.encode(m)
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	enc := base64.RawURLEncoding
	return []byte(enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."), nil
}
