package hubcmd

import "encoding/base64"

// PeekName reads the command name (the claims' "cmd") of raw, a compact
// JWS, without verifying anything: no signature, time, audience or other
// claim is checked. It is for deciding how to queue a message before
// Verify reads it (a merge/abort ahead of other commands), never for acting
// on it: anyone who may publish on a pod's cmd topic can write any name.
//
// ok is false, and name "", when raw is longer than MaxCommandSize, is not
// three base64url parts separated by dots, its payload is not a JSON object
// whose members are each named once, or its cmd is absent, not a string, or
// not a command of this package. A raw that Verify accepts always peeks to
// the Command's Name.
func PeekName(raw []byte) (name Name, ok bool) {
	s, ok := peekString(raw, "cmd")
	if !ok {
		return "", false
	}
	if _, known := argClaims[Name(s)]; !known {
		return "", false
	}
	return Name(s), true
}

// PeekSession reads the claims' "session" of raw, a compact JWS, as
// PeekName reads "cmd": unverified, for queueing only. ok is false when
// raw is not a compact JWS whose claims are a JSON object with a string
// session.
func PeekSession(raw []byte) (session string, ok bool) { return peekString(raw, "session") }

// peekString reads the string claim name of raw without verifying it.
func peekString(raw []byte, name string) (string, bool) {
	if len(raw) > MaxCommandSize {
		return "", false
	}
	parts, ok := splitCompact(raw)
	if !ok {
		return "", false
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(string(parts[1]))
	if err != nil {
		return "", false
	}
	obj, err := decodeObject(payload)
	if err != nil {
		return "", false
	}
	v, found := obj[name]
	if !found {
		return "", false
	}
	s, e := decodeString(name, v)
	if e != nil {
		return "", false
	}
	return s, true
}
