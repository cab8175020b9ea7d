// Package hubcmd owns the city hub's command envelope, its verification and
// its claims: a command is a JWS (RFC 7515) in compact serialization, signed
// with EdDSA over Ed25519 (RFC 8037) by a key of the hub's JWK Set (RFC 7517)
// named by the header's kid, whose claims (RFC 7519) are jti, iat, exp, aud,
// cmd and the command's arguments. A Verifier turns the bytes received into
// a Command or an *Error with a stable Reason for the reply and the audit.
//
// It must not touch MQTT, the store or the pod's state: the caller passes the
// time, whether the clock is synchronised, the current merge session and a
// ReplayCache, and decides what to do with the Command.
//
// # The rules
//
// A command longer than MaxCommandSize is refused before it is parsed. The
// signature is checked by go-jose with EdDSA as the only algorithm: "none",
// HS256 (with the public key as its secret) or any other alg is refused, as
// is a header parameter other than alg, kid and typ. The claims are read
// strictly: a member written twice, a claim the command does not take (nbf
// included), a value of the wrong type or outside its bounds is refused,
// naming the claim. A signed command needs jti, iat, exp and aud. It is
// refused when the pod's clock is not synchronised, when now is at or after
// exp (no leeway, so that the replay cache need keep a jti only until exp),
// when iat is more than IssuedAtLeeway ahead of now, when it lives longer
// than MaxLifetime (exp - iat), when its aud names neither the pod nor
// "merge:{session}" for the pod's current session, and when its jti was
// accepted before. The jti is recorded last, once everything else passed;
// if it cannot be recorded the command is refused (fail closed).
//
// merge/abort is the exception: it only makes the pod safer, so it is
// accepted whatever its signature, times or jti, marked Signed false with
// the reason it is not Signed (Command.Unverified). An abort that is not
// Signed may carry exactly cmd and, each optional, jti, iat, exp, aud,
// session and reason, each well-formed and within its bounds; any other
// claim refuses it, and an aud that names neither the pod nor its current
// merge refuses it. Nothing in it can loosen a limit, disarm a rule, clear
// a latch, grant consent or start anything: it can only end a merge and say
// why, and its times are not checked, so the caller must not rely on them.
// It is never recorded in the replay cache.
//
// No command clears a latched abort: the commands are merge/start,
// merge/end, merge/abort, identify and telemetry/interval, none of which
// takes an argument that acknowledges, and any other name ("ack",
// "latch/clear") is refused unknown_command. The latch is cleared only
// locally (package controller, Pod.Ack).
//
// PeekName reads a command's name without verifying anything, so that a
// merge/abort can be queued ahead of other commands before Verify; it is
// never a reason to act.
//
// Reasons (Reason values, also usable with errors.Is): oversized, malformed,
// unsigned, bad_signature, unknown_key, unknown_command, bad_argument,
// wrong_audience, clock_unsynced, expired, not_yet_valid, replayed,
// replay_unchecked.
package hubcmd
