// Package hubclient is the signing side of a reference city hub, for the
// city's developers and for podd's tests: it generates Ed25519 keys as JWK
// Sets (a private file kept by the hub, a public file for the pods), and
// signs commands of every kind as package hubcmd verifies them: EdDSA, the
// key's kid in the header, iat from a clock, exp a lifetime later, a fresh
// random jti.
//
// Its MQTT side (Connect) is the hub's end of the contract: the hub's
// retained status (online, ts) with its will of online false; Send, which
// publishes a command on sleegation/v1/pods/{pod}/cmd (QoS 1, never
// retained), and Await, which waits for the pod's reply with that jti on
// .../reply; AbortMerge, on sleegation/v1/merges/{session}/abort; and
// Follow, which follows pods' status, telemetry, events and reply, delivers
// each record once per (pod, seq), reports gaps in the seqs (a seq missing
// that neither arrived later nor is covered by a dropped event's from..to)
// and passes historical through. A Client does not reconnect: once its
// connection is lost (Lost) the caller connects again. Every goroutine it
// starts is stopped by Close, which waits for them.
//
// cmd/hubctl is its command line. It must not depend on the pod's state or
// configuration.
package hubclient
