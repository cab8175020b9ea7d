// Package hubclient is the signing side of a reference city hub, for the
// city's developers and for podd's tests: it generates Ed25519 keys as JWK
// Sets (a private file kept by the hub, a public file for the pods), and
// signs commands of every kind as package hubcmd verifies them: EdDSA, the
// key's kid in the header, iat from a clock, exp a lifetime later, a fresh
// random jti.
//
// It does not send anything: connecting to a broker, sending commands and
// following pods are not part of it yet. It must not depend on the pod's
// state or configuration.
package hubclient
