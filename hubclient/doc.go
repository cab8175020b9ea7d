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
// that neither arrived later nor is reported lost by a dropped event: its
// from..to less its kept)
// and passes historical through; with receipts (FollowWith), it publishes
// each pod's receipt (see "Receipts"). A Client does not reconnect: once its
// connection is lost (Lost) the caller connects again. Every goroutine it
// starts is stopped by Close, which waits for them.
//
// # Receipts
//
// A broker's PUBACK tells a pod that the broker has a record, not that the
// hub does: a broker without persistence that dies before the hub read
// what it acknowledged loses it. A pod with uplink.require_hub therefore
// deletes a record only once the hub has receipted it. FollowWith with
// FollowOptions.Receipts publishes, per pod, retained, QoS 1, on
// sleegation/v1/pods/{pod}/receipt, {"upto":N,"ts":RFC 3339}: the hub holds
// every record of that pod with seq <= N, or knows it lost it.
//
//   - Held means handed to the reader of Updates. A record queued and let
//     go because nobody read Updates (Lost) is not held, and is forgotten,
//     so that the pod's next sending of it is delivered.
//   - A dropped event's from..to, less the seqs it lists in kept, counts
//     as held once the event is handed on: the pod says those records are
//     gone. A kept seq is a record the pod still has (a full outbox drops
//     telemetry around the events it keeps): it is held only once it
//     arrives, and until then it is a gap like any other, so the receipt
//     stays below a kept event that a broker lost, and the pod, which
//     deletes only what is receipted, sends it again. A kept that does
//     not parse (not a list of integer seqs, ascending, within from..to)
//     makes the event count for nothing.
//   - A gap is never given up on: a pod requiring the hub keeps every
//     record until it is receipted and sends what is not again (after its
//     receipt timeout, on reconnecting, when the hub announces itself), so
//     a gap is a record still on its way. The receipt stays below it.
//   - Where N starts: the receipt the broker kept for the pod (published by
//     an earlier hub) if there is one, otherwise the lowest seq handed on
//     before the first receipt turn (every ReceiptEvery) that follows the
//     pod's first record, less one.
//     Without a kept receipt, the first record the hub sees must be the
//     pod's oldest not receipted: the hub connects with
//     ConnectOptions.DeferOnline, and FollowWith announces it online only
//     once subscribed, so that a pod requiring the hub sends nothing
//     before then and sends its backlog from the oldest record after.
//   - A receipt is published at most every ReceiptEvery (1 s) per pod, and
//     only when N advanced.
//
// Limits: a hub's "held" is this process's memory; a hub that persists
// nothing and restarts starts from the kept receipt, so records between
// it and what the previous hub handed on are handed on again (duplicates,
// never a loss). A kept receipt below records the pod deleted without a
// receipt (uplink.require_hub turned off, then on again) leaves a hole the
// receipt never passes: clear the kept receipt
// (mosquitto_pub -r -n -t sleegation/v1/pods/{pod}/receipt) when turning
// it on.
//
// cmd/hubctl is its command line. It must not depend on the pod's state or
// configuration.
package hubclient
