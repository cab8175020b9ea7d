package hubcmd

import (
	"fmt"
	"strings"
)

// Reason is the stable code of a refusal: it is the reply's error and the
// audit's reason, and it never changes meaning. A Reason is also an error, so
// errors.Is(err, ReasonExpired) tells a refusal's reason.
type Reason string

// The reasons a command is refused (or, for merge/abort, why it is not Signed).
const (
	ReasonOversized       Reason = "oversized"        // longer than MaxCommandSize; not parsed
	ReasonMalformed       Reason = "malformed"        // not a compact JWS, or its header or claims are not a JSON object
	ReasonUnsigned        Reason = "unsigned"         // alg "none", no alg, or an empty signature
	ReasonBadSignature    Reason = "bad_signature"    // an algorithm other than EdDSA, or a signature that does not verify
	ReasonUnknownKey      Reason = "unknown_key"      // no kid, or a kid not in the hub's key set
	ReasonUnknownCommand  Reason = "unknown_command"  // cmd missing or not one of the commands
	ReasonBadArgument     Reason = "bad_argument"     // a claim missing, of the wrong type, out of bounds, or not one of the command's
	ReasonWrongAudience   Reason = "wrong_audience"   // aud names neither this pod nor its current merge
	ReasonClockUnsynced   Reason = "clock_unsynced"   // the pod cannot check times: its clock is not synchronised
	ReasonExpired         Reason = "expired"          // now is at or after exp
	ReasonNotYetValid     Reason = "not_yet_valid"    // iat later than now by more than IssuedAtLeeway
	ReasonReplayed        Reason = "replayed"         // the jti was accepted before and has not expired
	ReasonReplayUnchecked Reason = "replay_unchecked" // the replay cache could not record the jti: refused, fail closed
)

// Error implements error, so that a Reason can be matched with errors.Is.
func (r Reason) Error() string { return string(r) }

// Error is a refusal. Field names the claim at fault, when one is.
type Error struct {
	Reason Reason
	Field  string
	Msg    string
	// JTI is the command's jti as read before any check, for the reply to
	// name the command it refuses; it is empty when there is none or it is not
	// a well-formed jti. It is not authenticated.
	JTI string
	// Signed is true when the refused command's signature verified by a
	// key of the set: it came from the hub (a refusal for its claims,
	// times, audience or replay), and it is worth an answer. False: anyone
	// could have sent it.
	Signed bool
	// Err is the underlying error, when another package reported it (the
	// replay cache).
	Err error
}

func (e *Error) Error() string {
	s := "hubcmd: " + string(e.Reason)
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Detail is the refusal without its reason: the claim at fault, the
// message and the underlying error, joined by ": "; "refused" when none
// is set. Reason + ": " + Detail is how a reply states it.
func (e *Error) Detail() string {
	var parts []string
	for _, p := range []string{e.Field, e.Msg} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	if len(parts) == 0 {
		return "refused"
	}
	return strings.Join(parts, ": ")
}

// Is reports whether target is this error's Reason.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(r Reason, field, format string, args ...any) *Error {
	return &Error{Reason: r, Field: field, Msg: fmt.Sprintf(format, args...)}
}
