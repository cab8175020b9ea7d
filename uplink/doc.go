// Package uplink is the pod's MQTT link to the city hub (contract v1): it owns
// the topics and payloads under sleegation/v1/pods/{pod}/, the retained
// status with its birth and will, the connection and its reconnection loop,
// the check that no other pod publishes under the same id, and the drainer
// that moves the journal's outbox to the broker. It must not
// decide anything about safety and must never be waited on by it: a dead
// network costs the hub its view, not the sleeper anything.
//
// # Delivery rule
//
// Every telemetry and event message is appended to the journal, with its seq,
// before any attempt to send it, and is sent only once it is on disk. Event
// returns once its event is on disk (journal.Store.Append), together with
// the telemetry queued before it. Telemetry returns once its record is
// queued in the journal's batch (journal.Store.AppendLazy): it is on disk
// within the journal's CommitInterval (10 s), and a power cut before then
// loses it before it was ever sent. The drainer looks again at each commit
// (Journal.Committed). A dropped report is an event, durable. When the
// journal's outbox is full, an append drops its oldest telemetry (events
// only once none is left) and the uplink reports it at once, right after
// the record that caused it: a "dropped" event with from and to, the
// first and last seq dropped, count, how many records (fewer than
// to-from+1 when records between them were kept or already delivered),
// kept, the seqs between from and to the outbox still holds (the events
// it kept, journal.Dropped.Kept; absent when none), and reason
// "outbox_full". A hub must not count a kept seq as lost: with
// RequireHub, a receipt over a kept event the broker lost would delete
// it unsent. A drop whose report fails is reported before the next
// append, each drop in its own report: two drops merged into one range
// would hide the seqs between them that neither dropped. When the
// append fails (a full disk: an error wrapping
// syscall.ENOSPC; a journal not open yet: journal.ErrNotOpen) they return
// that error, wrapped: nothing is stored, nothing is sent, no seq is used,
// and the caller decides what the record was worth.
//
// An Event with Audit set is also an entry of the journal's hash-chained
// audit log (journal.Store.AppendAudited): its type and fields, written in
// the transaction that stores the event, so the two are stored together or
// not at all. The event carries the entry's link, "audit": {"n", "prev",
// "hash"}, as its last key, for the hub to match the event to the entry
// and check the chain on the events it holds. Which events are audited is
// the caller's decision (package controller's), not the uplink's.
//
// One drainer per connection sends the outbox in seq order, QoS 1, with at
// most Window messages in flight. A record is deleted from the journal only
// when its publish token completed without error AND the connection it was
// sent on is still the current one (and, with Config.RequireHub, only once
// the hub has receipted it: see "The hub's receipts" below). The current
// connection is a counter, the epoch, advanced in paho's OnConnect and
// OnConnectionLost handlers and when
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
// The drainer's loop, per wake-up (an acknowledgement at the head of the
// window, a commit of the journal, an appended event, and with RequireHub
// the hub's status or receipt, or the receipt timeout):
//
//   - reap: every completed token at once; the trusted ones are handed to
//     the journal in one Delete, which only queues them (Pending leaves
//     them out from then on) and never commits: the journal's writer
//     goroutine commits them, at once when MaxBatch are queued, so the
//     window is never left idle for a commit's fsyncs;
//   - fill: the window is refilled to Window at once, from the records
//     read ahead. The journal is read (Pending: committed records only,
//     after the highest seq read) only when those are all published, and
//     then a whole window's worth; once a read comes back short (the
//     drainer has caught up with the journal), not again before the
//     journal's next commit, the only way a record becomes visible to
//     Pending. What was read ahead is dropped on a rewind and at the end
//     of the connection, and read again from the journal: the read-ahead
//     never outlives the connection, and holds at most Window records.
//
// A record the journal drops from a full outbox while it waits in the
// read-ahead may still go out once after its "dropped" report, as one
// already in flight may: the hub then has a record it was told it lost,
// never the other way round.
//
// What this loop cost and what changed, measured with scripts/uplink-bench.sh
// (README, "Measuring"): the journal used to commit MaxBatch queued
// deletions inside Delete, in the drainer's goroutine, about 2 ms of two
// fdatasyncs every 256 acknowledgements during which nothing was reaped nor
// sent (17% of the drain's time, timed in the drainer, rows 2 and 4);
// and the journal was read once per wake-up for the few slots it freed
// (about 6 records a read), and again at every acknowledgement once the
// drainer had caught up with the appends. All three are gone. Each
// record's envelope is written without encoding/json (pod and boot escaped
// once, in New), which leaves the body's json.Marshal as an append's only
// reflection.
//
// # The hub's receipts (Config.RequireHub)
//
// A broker's PUBACK says the broker has the record, not that the hub does.
// With RequireHub, the pod reads the hub's side of the contract on every
// connection: the hub's retained status on HubStatusTopic
// ({"online":bool,"ts":...}, with its will of online false) and its own
// retained receipt on Root(pod)+"receipt" ({"upto":N,"ts":...}: the hub
// holds every record of this pod with seq <= N, or was told by a dropped
// event that it is lost). Both are parsed strictly (ParseHubStatus,
// ParseReceipt); a payload that does not parse is logged and changes
// nothing. Then:
//
//   - The hub's status is unknown on each new connection until it arrives
//     (an empty retained status makes it unknown again). The drainer fills
//     the window only while it is online; otherwise the backlog is held in
//     the journal (the records already in flight complete). The window is
//     still paced by the broker's PUBACK.
//   - A hub that restarts can be online again before the broker gives up
//     on its old connection (1.5 keep-alives) and publishes that
//     connection's will, retained, after the new online status. The will
//     carries the ts of its connection's CONNECT, older than that
//     connection's online status, and a restarted hub connects after its
//     previous connection announced itself. So once an online status
//     newer than the online status applied before it arrives, an offline
//     status older than that earlier online status is the will of a
//     replaced connection: it is ignored, logged once per ts, for the
//     Uplink's life (across connections and a cleared status). The
//     current connection's own will, older than its own online status but
//     newer than every status of the connection before, is applied: "older
//     than the status last applied" would ignore every hub's will. An
//     online status is never ignored: one older than the newest applied (a
//     hub's clock stepped back) starts the order again from it. A status
//     without a parsable ts is refused by ParseHubStatus and changes
//     nothing. What it assumes: a hub announces itself online once per
//     connection (package hubclient announces at Connect unless
//     DeferOnline, and at each FollowWith with receipts: hubctl follow
//     --receipts connects with DeferOnline and follows once); a hub that
//     announces twice on one connection has its own will taken for a
//     replaced one's, and is believed online after it died, until its
//     next connection.
//   - A PUBACK no longer deletes: the seq waits, in memory, for a receipt
//     (the awaiting seqs: sent on this connection and acknowledged by the
//     broker). A receipt above the one applied deletes (Delete, queued as
//     ever) every awaiting seq it covers, and nothing else: a record this
//     pod has not sent, or sent and not seen acknowledged, is never
//     deleted by a receipt. A record read from the journal that a receipt
//     already covers (a deletion lost, a receipt retained from before a
//     restart) is sent all the same, and deleted once the broker
//     acknowledges it; the hub deduplicates. A receipt lower than the one
//     applied is ignored; one at or above the journal's next seq names
//     records this pod never made (a hub's mistake, or another pod under
//     this id) and is ignored, logged once per value: clamping it would
//     delete records the hub never saw.
//   - Receipts and the hub's status are not signed, unlike the hub's
//     commands. The broker's ACL must let only the hub publish on the
//     pod's receipt topic and on HubStatusTopic, as on the pod's cmd
//     topic: whoever else may publish there can hold the backlog (an
//     offline status) or forge a receipt. A forged receipt deletes only
//     what a broker acknowledged, the guarantee without RequireHub, never
//     a record it has not been handed.
//   - What was sent and not receipted is sent again from the oldest record
//     in the journal (a rewind, as after a failed publish): on every
//     connection; at every status that announces the hub (a change to
//     online, or an online status that is not retained, which a hub
//     publishes once it is subscribed and ready to read); and when no
//     receipt has advanced for ReceiptTimeout (30 s) while the hub is
//     online and seqs await a receipt, then after twice as long after each
//     such resend, up to 16 times ReceiptTimeout (8 min), until a receipt
//     advances or the hub announces itself. The hub deduplicates on (pod,
//     seq). Each such rewind sends every record not yet receipted, however
//     many: a hub that never receipts (one that does not publish receipts)
//     gets the whole backlog every 8 min, and the outbox fills until its
//     oldest telemetry is dropped and reported.
//
// The delivery guarantee, end to end (pod to hub), for a record on disk:
//
//   - Without RequireHub: at least once to the broker. The record is
//     deleted on the broker's PUBACK; from then on the broker alone holds
//     it. A broker that loses it after that (killed without persistence
//     before delivering it, a subscriber queue it overflowed, a hub that
//     was not subscribed) loses it for good, silently: no dropped event,
//     since the pod no longer knows. Only an outbox that overflows is
//     reported.
//   - With RequireHub: at least once to the hub, as the hub defines
//     holding a record. A record leaves the outbox only when the hub's
//     receipt covers it; a broker that loses records it acknowledged costs
//     a resend, not the records. Every record is either receipted or
//     reported in a dropped event (a full outbox, a corrupt record), which
//     the hub receipts in turn: from..to less the seqs it lists kept. What it costs: the backlog grows while no
//     hub is online or receipting (55 h of 1 Hz telemetry by default
//     before the oldest is dropped), and resends. What it cannot cover: a
//     lost receipt deletion (a power cut before the journal's commit)
//     only sends records again; a store lost with its file is reported as
//     ever; a hub that receipts what it did not hold (package hubclient
//     documents how its reference hub decides) is believed.
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
// discards the will. Every status, the will included, names the boot that
// published it.
//
// # Another pod with this id
//
// Two pods with one pod id (a configuration copied to a second pod) would
// interleave their records under one id with seqs that collide, and the
// second, connecting under the same client id, would make the broker drop
// the first. So before every connection, the first and each reconnection,
// Run checks for another pod, and while there is one it publishes nothing.
//
// The check is a probe: a connection to the same broker under the client
// id ClientID + "-probe-" + Boot and without a will, which subscribes to
// the pod's status, telemetry and events topics, publishes nothing and is
// closed once it has judged. The pod's own client id is not used for it,
// since a connection under it would drop the other pod's. The probe finds:
//
//   - nothing retained within ProbeWait (2 s), and nothing live: no other
//     pod;
//   - a retained status that says offline, or names this start's boot, or
//     a boot that Config.PreviousBoot says is one of this pod's own
//     earlier starts: no other pod;
//   - a record, or an online status, published while it listens, by another
//     boot: another pod, at once;
//   - a retained online status of another boot: either another pod, or an
//     earlier start of this pod that died without a word (a crash, a power
//     cut), whose will the broker fires only when the keep-alive has run
//     out, 1.5 × KeepAlive after its last packet by the protocol, a few
//     seconds later by the broker's schedule. The probe listens on for
//     DuplicateGrace (2 × KeepAlive + 10 s): a record or an online status
//     from another boot means another pod; a status going offline (the
//     will, or a goodbye) or cleared means none; the grace ending with the
//     status still online means another pod.
//
// Each connection also subscribes to its own status, before its birth: an
// online status from another boot arriving then (one retained from a
// previous boot excepted) means another pod came online since the probe,
// under another client id. The connection is then left at once, with a
// clean DISCONNECT, which discards the will, and no offline status: either
// would overwrite the other pod's status.
//
// While another pod is found, Duplicate returns it (a *DuplicateError,
// which wraps ErrDuplicate), the pod's own connection is not made (no
// status, no will, no records), and Telemetry and Event still append to
// the journal; nothing is deleted. One Error line names the other boot
// when the episode starts (and again if that boot changes), one Info line
// when it ends. The check is repeated after DuplicateBackoff (30 s, then
// less often, down to every 5 minutes); once the other pod is gone (its
// goodbye, or its will), the next check passes and the pod connects and
// sends what it kept, as historical.
//
// A connection the broker drops just after it was made, again and again (a
// client connecting under the same client id drops the one before), is
// not taken as proof of another pod by itself: a broker drops a client for
// other reasons too (an ACL, a session limit, a restart). The probe before
// the next connection sees the newcomer instead: its birth follows its
// CONNECT, and its records follow.
//
// What the caller provides: Config.PreviousBoot. After a crash or a kill
// the kernel closes the socket and the broker fires the will at once; after
// a power cut, a hang (the hardware watchdog's reboot) or a lost network,
// the old status still says online, under the previous boot, until the
// broker gives up on the old connection. Without PreviousBoot (nil) the
// probe waits that out (up to DuplicateGrace, 70 s with the default
// KeepAlive): such a restart publishes late, but is not taken for another
// pod. With it, the restart connects at once. For it, the caller draws a
// new Boot per start; stores it, durably, before Run (in the journal, which
// travels with the seq counter, or in a file beside it); and answers
// PreviousBoot from the last few boots it read at start (a start can die
// before it connects, so the latest alone is not enough).
//
// Limits:
//
//   - Two pods that start at the same moment can both pass the probe. The
//     watch on each connection and the probe before each reconnection then
//     settle it: a pod that sees the other's online status leaves; if both
//     leave, the retained status names one of them, which passes its next
//     check while the other is kept out.
//   - DuplicateGrace assumes the other connection's keep-alive is no longer
//     than this pod's (the same configuration).
//   - A status left online by a pod that is gone, whose will the broker
//     lost (a broker restored from its persistence file while that pod was
//     away), looks like a pod still there: this pod stays out and logs the
//     other boot. Clearing the retained status lets it in:
//     mosquitto_pub -r -n -t sleegation/v1/pods/{pod}/status.
//   - Two copies of one journal, or of the file holding the boots, share
//     their previous boots and their seq counter: the check keeps the two
//     from publishing at once, not their seqs apart. Each pod needs its own
//     pod id.
//   - The broker must let the pod subscribe to its own topics and accept
//     the probe's client id. A refused subscription is logged once and the
//     check passes; a broker that grants it and delivers nothing (an ACL
//     on reading) makes every check pass.
//   - A connection left while the broker does not answer ends with its
//     socket closed, and the broker then fires the will over the other
//     pod's status.
//   - Every connection costs a second TCP (and TLS) handshake for the
//     probe, and up to ProbeWait when no status is retained.
//
// # Commands from the hub
//
// On every connection, after the status watch, the uplink subscribes at
// QoS 1 to the pod's cmd topic and to every merge-wide abort
// (sleegation/v1/merges/+/abort). paho hands each message to a handler that
// never blocks: a retained message is ignored and counted (a command is
// acted on only when it is sent, never replayed by the broker to a pod that
// connects later), and the others are queued (16 at most; more are let go
// and counted) for Commands, which the pod reads. The uplink does not
// verify them: package hubcmd does, in the pod. Reply journals the pod's
// reply to a command durably, as Event does, on the reply topic.
//
// The hub's merge/abort on the cmd topic is never let go for another
// command: whoever may publish there could otherwise fill the queue with
// junk ahead of it. When the queue is full, the handler ranks the arriving
// command, unverified (hubcmd.PeekName and PeekSession: the claims' cmd and
// session of a compact JWS, at most hubcmd.MaxCommandSize bytes): a
// merge/abort of the pod's merge (SetMergeSession) above any other
// merge/abort, above any other command. It lets the oldest queued message
// of a lower rank go (counted as let go, as any other) to queue it. Those
// of its rank or above that waited ahead of the one let go are queued
// again behind the rest, in their order (a channel is taken only from its
// head); the others keep their order. So junk naming merge/abort of
// another merge never crowds out an abort of the pod's merge; junk naming
// the pod's merge could, which only the broker's ACL on the cmd topic
// prevents. A peek decides nothing else: a junk payload is queued, and
// refused by the pod's verification, like any other. Merge-wide aborts
// keep their own queue (MergeAborts). The pod handles merge/aborts on a
// path that never waits for the disk (controller's commandLoop).
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
//   - Deletions are queued by the journal and committed by it, in its
//     next commit: never in the drainer's goroutine. A commit that fails
//     leaves them queued; a Delete that fails (a journal closed, or not
//     open) queues nothing. A deletion lost (a power cut, a journal that
//     could not take it) leaves the record in the outbox: it goes out again
//     when the drain next starts from the oldest record (a rewind, or the
//     next connection), a duplicate the hub discards, never a loss. A
//     Delete that fails is logged likewise.
//
// # Stopping
//
// systemd gives the whole daemon TimeoutStopSec (10 s) to stop before it
// SIGKILLs it, and a killed daemon never does the hardware watchdog's magic
// close, so the board reboots. The uplink's part is bounded: once ctx is
// done, Run returns within Config.StopTimeout (default 1 s) plus the 250 ms
// DISCONNECT quiesce, whatever the broker or the network does.
//
//   - Between attempts, and while another pod holds the id: at once.
//   - During a connection attempt: a dial or a TLS handshake in progress
//     is abandoned, and the socket is closed at once, which ends paho's
//     wait for a CONNACK (otherwise up to ConnectTimeout); the attempt is
//     then waited for at most StopTimeout.
//   - During a probe: as during a connection attempt; one that is
//     listening has its socket closed at once, and owes nothing.
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
