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
// disk. One drainer per connection sends the outbox in seq order, QoS 1, with
// at most Window messages in flight. A record is deleted from the journal only
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
// goes out on was established. "Before" is decided by seq (the journal's next
// seq is read when the connection comes up), not by wall-clock time, which a
// Raspberry Pi cannot trust until its clock is synchronised.
//
// status is not journaled: it is a state, and only the latest matters. It is
// published retained on every change and on every connection (the birth);
// its will, registered with each connection, is the same topic retained
// with online false and state "offline". On a clean stop Run publishes that
// offline status itself before disconnecting, since a clean DISCONNECT
// discards the will.
//
// # Goroutines
//
// Run owns every goroutine this package starts and returns only after they
// have stopped; paho's handlers only touch atomics and close channels, so
// they never block paho.
package uplink
