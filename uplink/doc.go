// Package uplink is the pod's MQTT link to the city hub (contract v1): it owns
// the topics and payloads under sleegation/v1/pods/{pod}/, the retained
// status with its birth and will, the connection and its reconnection loop,
// and the drainer that moves the journal's outbox to the broker. It must not
// decide anything about safety and must never be waited on by it: a dead
// network costs the hub its view, not the sleeper anything.
//
// # Delivery rule
//
// Every telemetry and event message is appended to the journal, with its seq,
// before any attempt to send it; Telemetry and Event return once it is on
// disk. When the append fails (a full disk: an error wrapping
// syscall.ENOSPC; a journal not open yet: journal.ErrNotOpen) they return
// that error, wrapped: nothing is stored, nothing is sent, no seq is used,
// and the caller decides what the record was worth.
//
// One drainer per connection sends the outbox in seq order, QoS 1, with at
// most Window messages in flight. A record is deleted from the journal only
// when its publish token completed without error AND the connection it was
// sent on is still the current one. The current connection is a counter, the
// epoch, advanced in paho's OnConnect and OnConnectionLost handlers and when
// this package closes a connection itself; a token that reports success
// after the epoch moved is not trusted, because paho completes tokens without
// a PUBACK when it resends or abandons them around a reconnect. The record
// is then sent again on the next connection: delivery is at least once, and
// the hub deduplicates on (pod, seq).
//
// A token that fails while its connection is current stops the drainer from
// sending further; once the window has emptied it starts again from the
// oldest undelivered record. A window that sees no acknowledgement for
// PublishTimeout ends the connection, which is then re-established.
//
// historical is written into each message when it is sent, not when it is
// stored: it is true when the record was appended before the connection it
// goes out on was established. "Before" is decided by seq, not by wall-clock
// time, which a Raspberry Pi cannot trust until its clock is synchronised:
// the connection's boundary is the journal's next seq, read when the drainer
// starts. If that read fails, the boundary is taken at the first read that
// succeeds on that connection, or at the seq of the first record appended
// on it, whichever comes first; until then the drainer sends nothing, since
// it could not mark what it sends.
//
// status is not journaled: it is a state, and only the latest matters. It is
// published retained on every change and on every connection (the birth);
// its will, registered with each connection, is the same topic retained
// with online false and state "offline". On a clean stop Run publishes that
// offline status itself before disconnecting, since a clean DISCONNECT
// discards the will.
//
// # Brokers, TLS and credentials
//
// A broker URL is tcp:// or mqtt:// for plain TCP, ssl://, tls:// or
// mqtts:// for TLS, with a host and a port. All the brokers of an Uplink
// use one transport, and a Config.TLS with plain brokers is refused: a
// list that mixed them would let whoever blocks the TLS brokers move the
// vitals into the clear, and a TLS configuration that goes unused says the
// link is private when it is not. A TLS broker with a nil Config.TLS is
// checked against the system's roots, under its host name. TLS 1.2 is the
// least accepted. The handshake is made in this package's dialer, under
// Run's context and inside ConnectTimeout (dial, handshake and CONNACK
// together), so a stop abandons a handshake as it abandons a dial.
//
// A pod starts with its clock wrong (a Raspberry Pi at 1970) until it is
// synchronised, and a broker's certificate is then "not yet valid": the
// attempt fails, the log says the clock is not known to be synchronised,
// and the retries connect once it is.
//
// Username and Password go in the CONNECT. New warns when a password
// would cross a network in the clear (a plain broker not on loopback).
// MQTT 3.1.1 is asked for explicitly: paho would otherwise answer a
// refused CONNECT with a second connection in MQTT 3.1.
//
// On start (every Run) the brokers are tried in their order. After an
// attempt fails, the next attempt goes to the next broker in the list,
// round robin, after the backoff; the backoff grows with consecutive
// failures across the list, not per broker, so a list of dead brokers is
// not tried more often than a single one. After a connection that worked
// is lost, the first attempt goes to that same broker: the broker that just
// worked is the likeliest to work again (a restart, a network blip), and
// the hub sees a pod that stays put rather than one that hops at every
// blip; if it fails, the next attempt goes on down the list. A pod
// connected to a later broker does not go back to an earlier one by
// itself: every broker of the list must reach the hub. Broker reports the
// broker of the current connection.
//
// A failed attempt is logged once per failure episode: a broker's failure
// when it starts and when its cause changes (a refused connection, an
// untrusted certificate, refused credentials: "not authorized"), at debug
// level at every other retry; the episode ends with the next connection,
// whose line counts the attempts that failed.
//
// # A journal that fails
//
// The uplink runs whether or not its journal does (a journal.Slot not yet
// open, a disk that fails): the connection, the birth, the status and the
// will never wait on it, and a journal error never ends a connection.
//
//   - A read that fails (NextSeq or Pending) stops the drain, not the
//     connection. The drainer tries again when next woken (a record
//     appended, an acknowledgement) and otherwise every second. It logs the
//     fault once when it starts and once when it ends, not at every try.
//   - A Delete that fails leaves the acknowledged records in the outbox: they
//     go out again when the drain next starts from the oldest record (a
//     rewind, or the next connection), a duplicate the hub discards, never a
//     loss. Logged likewise.
//
// # Stopping
//
// systemd gives the whole daemon TimeoutStopSec (10 s) to stop before it
// SIGKILLs it, and a killed daemon never does the hardware watchdog's magic
// close, so the board reboots. The uplink's part is bounded: once ctx is
// done, Run returns within Config.StopTimeout (default 1 s) plus the 250 ms
// DISCONNECT quiesce, whatever the broker or the network does.
//
//   - Between attempts: at once.
//   - During a connection attempt: a dial or a TLS handshake in progress
//     is abandoned, and the socket is closed at once, which ends paho's
//     wait for a CONNACK (otherwise up to ConnectTimeout); the attempt is
//     then waited for at most StopTimeout.
//   - On a connection: the offline status is published and its
//     acknowledgement waited for at most StopTimeout (not PublishTimeout).
//     StopTimeout after ctx ended, a socket still open is closed under
//     paho: that fails every pending publish, and releases a Publish that
//     paho blocks while its writer is stuck on a network that no longer
//     takes bytes (otherwise held up to PublishTimeout, paho's write
//     timeout). The broker then publishes the will, which says the same as
//     the goodbye; a goodbye not yet tried by then is not tried at all.
//     paho's Disconnect returns after the quiesce at the latest.
//
// The one wait not bounded is a journal call already in progress: bbolt
// cannot abandon a transaction, so a hung disk holds Run. The socket is
// still closed at StopTimeout, so the hub learns the pod is offline.
//
// # Goroutines
//
// Run owns every goroutine this package starts (the stop guard that closes
// the socket at StopTimeout among them) and returns only after they have
// stopped; paho's handlers only touch atomics and close channels, so they
// never block paho.
package uplink
